//! What a server offers: its tools, resources, resource templates, prompts
//! and completion handler, which may change while it runs.
//!
//! The catalog is an immutable snapshot behind a lock (`LiveCatalog`):
//! a request clones the `Arc` of the current snapshot (the lock is held for
//! that clone only) and works on it without any lock; a change copies the
//! snapshot, edits the copy and swaps it in. So a request sees one
//! consistent catalog, and a change never waits for a request.

pub mod completion;
mod describe;
pub(crate) mod listing;
pub(crate) mod pages;
pub mod prompts;
pub mod resources;
pub mod skills;

use serde_json::{Value, json};

use crate::protocol::tasks::TASKS_EXTENSION;
use crate::server::api::tools::{TaskSupport, Tool};
use crate::sync::{Arc, Mutex};
use completion::Completer;
use listing::Listing;
use pages::FirstPages;
use prompts::Prompt;
use resources::{ReadRequest, Resource, ResourceTemplate};
use skills::Skill;

/// The skills extension's identifier (SEP-2640).
pub(crate) const SKILLS_EXTENSION: &str = "io.modelcontextprotocol/skills";

/// The kinds of the catalog that have a `list_changed` notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tools,
    Resources,
    Prompts,
}

impl Kind {
    /// The notification that tells clients this kind changed.
    pub(crate) fn list_changed(self) -> &'static str {
        match self {
            Self::Tools => "notifications/tools/list_changed",
            Self::Resources => "notifications/resources/list_changed",
            Self::Prompts => "notifications/prompts/list_changed",
        }
    }
}

/// One snapshot of what the server offers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) tools: Listing<Tool>,
    pub(crate) resources: Listing<Resource>,
    pub(crate) templates: Listing<ResourceTemplate>,
    pub(crate) prompts: Listing<Prompt>,
    /// Skills (SEP-2640), by path; their files are among `resources`.
    pub(crate) skills: Listing<Skill>,
    pub(crate) completer: Option<Completer>,
    /// The first page of each list, encoded when the snapshot is installed.
    pub(crate) first_pages: Option<Arc<FirstPages>>,
}

/// What a `resources/read` of one URI is served by.
pub(crate) enum ReadTarget {
    Resource(Resource, ReadRequest),
    Template(ResourceTemplate, ReadRequest),
}

impl Catalog {
    pub(crate) fn add_tool(&mut self, tool: Tool) -> bool {
        let name = tool.name().to_owned();
        self.tools.insert(&name, tool)
    }

    pub(crate) fn add_resource(&mut self, resource: Resource) -> bool {
        let uri = resource.uri().to_owned();
        self.resources.insert(&uri, resource)
    }

    /// Adds `skill` (replacing one at the same path) and its files as
    /// resources.
    pub(crate) fn add_skill(&mut self, skill: Skill) -> bool {
        self.remove_skill(skill.path());
        for resource in skill.resources() {
            self.add_resource(resource);
        }
        let path = skill.path().to_owned();
        self.skills.insert(&path, skill)
    }

    /// Removes the skill at `path` and its files; false if there was none.
    pub(crate) fn remove_skill(&mut self, path: &str) -> bool {
        let Some(skill) = self.skills.get(path).cloned() else {
            return false;
        };
        for resource in skill.resources() {
            self.resources.remove(resource.uri());
        }
        self.skills.remove(path)
    }

    /// The skill whose `SKILL.md` is at `uri`.
    pub(crate) fn skill_at(&self, uri: &str) -> Option<&Skill> {
        let path = uri.strip_prefix("skill://")?.strip_suffix("/SKILL.md")?;
        self.skills.get(path)
    }

    pub(crate) fn add_template(&mut self, template: ResourceTemplate) -> bool {
        let uri = template.uri_template().to_owned();
        self.templates.insert(&uri, template)
    }

    pub(crate) fn add_prompt(&mut self, prompt: Prompt) -> bool {
        let name = prompt.name().to_owned();
        self.prompts.insert(&name, prompt)
    }

    /// The server capabilities this catalog offers: a kind is advertised
    /// when something of it is registered (`logging` always: every server
    /// can log to its clients).
    pub(crate) fn capabilities(&self) -> Value {
        let mut caps = json!({"logging": {}});
        if !self.tools.is_empty() {
            caps["tools"] = json!({"listChanged": true});
        }
        if !self.resources.is_empty() || !self.templates.is_empty() {
            caps["resources"] = json!({"subscribe": true, "listChanged": true});
        }
        if !self.prompts.is_empty() {
            caps["prompts"] = json!({"listChanged": true});
        }
        if self.completer.is_some() {
            caps["completions"] = json!({});
        }
        if self
            .tools
            .iter()
            .any(|t| t.runs_as_task() != TaskSupport::Forbidden)
        {
            caps["extensions"][TASKS_EXTENSION] = json!({});
        }
        if !self.skills.is_empty() {
            // Skill files are resources, so `resources` is declared too.
            caps["extensions"][SKILLS_EXTENSION] = json!({"directoryRead": true});
        }
        caps
    }

    /// What serves `uri`: the resource with that URI, else the first
    /// template it matches.
    pub(crate) fn read_target(&self, uri: &str) -> Option<ReadTarget> {
        if let Some(resource) = self.resources.get(uri) {
            return Some(ReadTarget::Resource(resource.clone(), resources::exact(uri)));
        }
        self.templates.iter().find_map(|template| {
            template
                .matches(uri)
                .map(|request| ReadTarget::Template(template.clone(), request))
        })
    }
}

/// The catalog of a running server.
#[derive(Debug)]
pub(crate) struct LiveCatalog {
    current: Mutex<Arc<Catalog>>,
    /// The page size of the lists.
    page_size: usize,
}

impl LiveCatalog {
    pub(crate) fn new(mut catalog: Catalog, page_size: usize) -> Self {
        catalog.first_pages = Some(Arc::new(FirstPages::of(&catalog, page_size)));
        Self {
            current: Mutex::new(Arc::new(catalog)),
            page_size,
        }
    }

    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> Arc<Catalog> {
        Arc::clone(&self.current.lock())
    }

    /// Applies `edit` to a copy of the catalog and installs the copy if
    /// `edit` says it changed something. Returns what `edit` returned.
    pub(crate) fn change(&self, edit: impl FnOnce(&mut Catalog) -> bool) -> bool {
        let mut current = self.current.lock();
        let mut next = Catalog::clone(&current);
        next.first_pages = None;
        let changed = edit(&mut next);
        if changed {
            next.first_pages = Some(Arc::new(FirstPages::of(&next, self.page_size)));
            *current = Arc::new(next);
        }
        changed
    }
}
