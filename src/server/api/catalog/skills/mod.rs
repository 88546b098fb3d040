//! Skills (the `io.modelcontextprotocol/skills` extension, SEP-2640): a
//! [`Skill`] is a directory of files with a `SKILL.md` at its root, served
//! as resources under `skill://<skill-path>/<file>` and described by an
//! entry (its URI, its `SKILL.md` frontmatter, every file with its SHA-256
//! digest and size) that `skills/list` and `skills/get` answer with.
//!
//! A skill is checked when it is made (the frontmatter, the naming rules,
//! the limits), so a server never serves one a client must refuse.

mod frontmatter;
mod tree;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::server::api::catalog::resources::{ReadRequest, Resource};
use crate::server::api::content::ResourceContents;
use crate::server::api::handler::HandlerError;
use crate::sync::Arc;
pub(crate) use tree::directory;

/// Files one skill may have (SEP-2640's limit, `SKILL.md` included).
pub const MAX_SKILL_FILES: usize = 512;
/// Bytes all of one skill's files may hold together (SEP-2640: 16 MiB).
pub const MAX_SKILL_BYTES: usize = 16 * 1024 * 1024;

/// The URI scheme skills are served under.
const SCHEME: &str = "skill://";

/// Why a skill was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("skill {path}: {why}")]
pub struct SkillError {
    path: String,
    why: String,
}

/// A skill: its path in the server's skill namespace (`git-workflow`, or
/// `acme/billing/refunds`, whose last segment is the skill's name) and its
/// files. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Skill {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: String,
    frontmatter: Map<String, Value>,
    /// Each file's bytes, by its path within the skill (`SKILL.md`,
    /// `references/GUIDE.md`).
    files: BTreeMap<String, Arc<[u8]>>,
    /// The entry `skills/list` and `skills/get` answer with.
    entry: Value,
}

impl Skill {
    /// The skill at `path` made of `files` (each a path within the skill,
    /// `/`-separated, and its bytes).
    ///
    /// # Errors
    ///
    /// [`SkillError`] when there is no `SKILL.md`, its frontmatter is not
    /// YAML with a `name` and a `description`, `name` breaks the Agent
    /// Skills naming rules or is not `path`'s last segment, a file path is
    /// empty, absolute or climbs (`..`), or there are more than
    /// [`MAX_SKILL_FILES`] files or [`MAX_SKILL_BYTES`] bytes.
    pub fn new<P, B>(
        path: impl Into<String>,
        files: impl IntoIterator<Item = (P, B)>,
    ) -> Result<Self, SkillError>
    where
        P: Into<String>,
        B: Into<Vec<u8>>,
    {
        let path = path.into();
        let refuse = |why: String| SkillError {
            path: path.clone(),
            why,
        };
        let segments: Vec<&str> = path.split('/').collect();
        if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
            return Err(refuse(
                "a skill path is one or more non-empty /-separated segments".into(),
            ));
        }
        let mut stored = BTreeMap::new();
        let mut total = 0usize;
        for (file, bytes) in files {
            let (file, bytes) = (file.into(), bytes.into());
            if file.is_empty()
                || file.starts_with('/')
                || file.split('/').any(|s| s.is_empty() || s == "." || s == "..")
            {
                return Err(refuse(format!("{file:?} is not a relative file path")));
            }
            total += bytes.len();
            stored.insert(file, Arc::from(bytes));
        }
        if stored.len() > MAX_SKILL_FILES {
            return Err(refuse(format!(
                "{} files, more than {MAX_SKILL_FILES}",
                stored.len()
            )));
        }
        if total > MAX_SKILL_BYTES {
            return Err(refuse(format!("{total} bytes, more than {MAX_SKILL_BYTES}")));
        }
        let manifest = stored
            .get("SKILL.md")
            .ok_or_else(|| refuse("it has no SKILL.md".into()))?;
        let text = std::str::from_utf8(manifest).map_err(|_| refuse("SKILL.md is not UTF-8".into()))?;
        let frontmatter = frontmatter::parse(text).map_err(refuse)?;
        let name = frontmatter["name"].as_str().unwrap_or_default();
        if !frontmatter::is_skill_name(name) {
            return Err(refuse(format!(
                "name {name:?} breaks the naming rules (1-64 lowercase letters, digits and single hyphens)"
            )));
        }
        if segments.last() != Some(&name) {
            return Err(refuse(format!(
                "the path's last segment must be the skill's name {name:?}"
            )));
        }
        let entry = entry(&path, &frontmatter, &stored);
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                frontmatter,
                files: stored,
                entry,
            }),
        })
    }

    /// The skill at `path` made of the files under the directory `dir`
    /// (every regular file, at any depth; symbolic links are not followed).
    ///
    /// # Errors
    ///
    /// [`SkillError`] for a directory that cannot be read, and as
    /// [`Skill::new`].
    pub fn from_dir(path: impl Into<String>, dir: impl AsRef<Path>) -> Result<Self, SkillError> {
        let path = path.into();
        let dir = dir.as_ref();
        let files = tree::read_files(dir).map_err(|why| SkillError {
            path: path.clone(),
            why: format!("{}: {why}", dir.display()),
        })?;
        Self::new(path, files)
    }

    /// Every skill under the folder `root`: each folder below it (at any
    /// depth) that holds a `SKILL.md` is one, at the folder's path relative
    /// to `root` (`root/acme/refunds` is the skill `acme/refunds`).
    ///
    /// # Errors
    ///
    /// The first [`SkillError`]: a folder that cannot be read, or a skill
    /// refused as by [`Skill::new`].
    pub fn all_in(root: impl AsRef<Path>) -> Result<Vec<Skill>, SkillError> {
        let root = root.as_ref();
        let dirs = tree::skill_dirs(root).map_err(|why| SkillError {
            path: root.display().to_string(),
            why,
        })?;
        let in_root = |dir: &String| Skill::from_dir(dir.clone(), root.join(dir));
        dirs.iter().map(in_root).collect()
    }

    /// The skill's path in the server's namespace.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The skill's name (its frontmatter's `name`).
    pub fn name(&self) -> &str {
        self.inner.frontmatter["name"].as_str().unwrap_or_default()
    }

    /// The URI of its `SKILL.md`: `skill://<path>/SKILL.md`.
    pub fn uri(&self) -> String {
        format!("{SCHEME}{}/SKILL.md", self.inner.path)
    }

    /// The entry of `skills/list` and `skills/get`.
    pub(crate) fn entry(&self) -> &Value {
        &self.inner.entry
    }

    /// The skill's files, by their path within it.
    pub(crate) fn files(&self) -> impl Iterator<Item = &str> {
        self.inner.files.keys().map(String::as_str)
    }

    /// One resource per file, read from memory: `SKILL.md` named and
    /// described from its frontmatter (`text/markdown`), the others named
    /// by their path.
    pub(crate) fn resources(&self) -> Vec<Resource> {
        let describe = self.inner.frontmatter["description"].as_str().unwrap_or_default();
        let resource = |file: &String| {
            let uri = format!("{SCHEME}{}/{file}", self.inner.path);
            let mime = mime_type(file);
            let contents = contents(&uri, &self.inner.files[file], mime);
            let read =
                move |_: ReadRequest, _| std::future::ready(Ok::<_, HandlerError>(vec![contents.clone()]));
            match file.as_str() {
                "SKILL.md" => Resource::new(uri, self.name(), read).description(describe),
                _ => Resource::new(uri, file.as_str(), read),
            }
            .mime_type(mime)
        };
        self.inner.files.keys().map(resource).collect()
    }
}

/// A file's contents as `resources/read` gives them: text when it is UTF-8,
/// else base64.
fn contents(uri: &str, bytes: &[u8], mime: &str) -> ResourceContents {
    match std::str::from_utf8(bytes) {
        Ok(text) => ResourceContents::text(uri, text),
        Err(_) => ResourceContents::blob(uri, STANDARD.encode(bytes)),
    }
    .mime_type(mime)
}

/// The MIME type of a file, by its extension.
fn mime_type(file: &str) -> &'static str {
    let extension = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("md" | "markdown") => "text/markdown",
        Some("txt") => "text/plain",
        Some("py") => "text/x-python",
        Some("sh") => "text/x-shellscript",
        Some("js" | "mjs") => "text/javascript",
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        Some("html" | "htm") => "text/html",
        Some("csv") => "text/csv",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// `{uri, frontmatter, resources: [{uri, digest, size}]}`, `SKILL.md` first.
fn entry(path: &str, frontmatter: &Map<String, Value>, files: &BTreeMap<String, Arc<[u8]>>) -> Value {
    let resource = |file: &str, bytes: &[u8]| {
        let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        json!({"uri": format!("{SCHEME}{path}/{file}"), "digest": format!("sha256:{digest}"), "size": bytes.len()})
    };
    let manifest = files.iter().filter(|(f, _)| f.as_str() == "SKILL.md");
    let others = files.iter().filter(|(f, _)| f.as_str() != "SKILL.md");
    let resources: Vec<Value> = manifest.chain(others).map(|(f, b)| resource(f, b)).collect();
    json!({"uri": format!("{SCHEME}{path}/SKILL.md"), "frontmatter": frontmatter, "resources": resources})
}
