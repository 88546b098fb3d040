//! Resources and resource templates: what `resources/list`,
//! `resources/templates/list` and `resources/read` serve.
//!
//! A [`Resource`] has one URI; a [`ResourceTemplate`] has an RFC 6570 URI
//! template and serves every URI that matches it. Templates support the
//! level-1 form the specification's examples use (`{var}`, a value without
//! `/`, `?` or `#`) and the reserved form `{+var}` (any value). Reading a
//! URI tries the resources first, then the templates in the order they were
//! added.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use regex::Regex;
use serde_json::{Value, json};

use super::describe::Describe;
use crate::server::RequestContext;
use crate::server::api::content::ResourceContents;
use crate::server::api::handler::{BoxFuture, HandlerError};
use crate::server::api::icon::Icon;
use crate::sync::Arc;

type ReadHandler = dyn Fn(ReadRequest, RequestContext) -> BoxFuture<Result<Vec<ResourceContents>, HandlerError>>
    + Send
    + Sync;

/// What a read handler is asked for: the URI, and the template's variables
/// when the resource is a template's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    uri: String,
    vars: HashMap<String, String>,
}

impl ReadRequest {
    /// The URI to read.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The value of the template variable `name` (percent-decoded).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

struct Inner {
    /// The URI (a resource) or URI template (a template).
    uri: String,
    describe: Describe,
    handler: Box<ReadHandler>,
}

macro_rules! described {
    ($ty:ident) => {
        impl $ty {
            /// Sets the human-readable title.
            pub fn title(self, title: impl Into<String>) -> Self {
                self.edit(|d| d.title = Some(title.into()))
            }

            /// Sets the description.
            pub fn description(self, description: impl Into<String>) -> Self {
                self.edit(|d| d.description = Some(description.into()))
            }

            /// Sets the MIME type.
            pub fn mime_type(self, mime_type: impl Into<String>) -> Self {
                self.edit(|d| d.mime_type = Some(mime_type.into()))
            }

            /// Adds an icon a client may show beside it.
            pub fn icon(self, icon: Icon) -> Self {
                self.edit(|d| d.icons.push(icon))
            }

            /// The name.
            pub fn name(&self) -> &str {
                &self.inner.describe.name
            }

            fn edit(mut self, f: impl FnOnce(&mut Describe)) -> Self {
                let inner = Arc::get_mut(&mut self.inner)
                    .unwrap_or_else(|| panic!("{} is configured before it is registered", stringify!($ty)));
                f(&mut inner.describe);
                self
            }

            pub(crate) fn read(
                &self,
                request: ReadRequest,
                ctx: RequestContext,
            ) -> BoxFuture<Result<Vec<ResourceContents>, HandlerError>> {
                (self.inner.handler)(request, ctx)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("uri", &self.inner.uri)
                    .field("name", &self.inner.describe.name)
                    .finish_non_exhaustive()
            }
        }
    };
}

fn boxed<F, Fut>(handler: F) -> Box<ReadHandler>
where
    F: Fn(ReadRequest, RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
{
    Box::new(move |request, ctx| Box::pin(handler(request, ctx)))
}

/// A resource with one URI. Cheap to clone.
#[derive(Clone)]
pub struct Resource {
    inner: Arc<Inner>,
}

described!(Resource);

impl Resource {
    /// A resource at `uri` called `name`, read by `handler`.
    ///
    /// # Panics
    ///
    /// The setters (`title`, `description`, `mime_type`) panic if called on
    /// a clone that is shared (configure a resource before registering it).
    pub fn new<F, Fut>(uri: impl Into<String>, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ReadRequest, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
    {
        Self {
            inner: Arc::new(Inner {
                uri: uri.into(),
                describe: Describe {
                    name: name.into(),
                    ..Describe::default()
                },
                handler: boxed(handler),
            }),
        }
    }

    /// The URI.
    pub fn uri(&self) -> &str {
        &self.inner.uri
    }

    pub(crate) fn describe(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("uri".into(), json!(self.inner.uri));
        self.inner.describe.fill(&mut out);
        Value::Object(out)
    }
}

/// Resources whose URIs match an RFC 6570 template. Cheap to clone.
#[derive(Clone)]
pub struct ResourceTemplate {
    inner: Arc<Inner>,
    pattern: Arc<UriTemplate>,
}

described!(ResourceTemplate);

impl ResourceTemplate {
    /// Resources matching `uri_template` (e.g. `file:///{path}`) called
    /// `name`, read by `handler`, which gets the variables in its
    /// [`ReadRequest`].
    ///
    /// # Panics
    ///
    /// As [`Resource::new`].
    pub fn new<F, Fut>(uri_template: impl Into<String>, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(ReadRequest, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + Send + 'static,
    {
        let uri = uri_template.into();
        Self {
            pattern: Arc::new(UriTemplate::parse(&uri)),
            inner: Arc::new(Inner {
                uri,
                describe: Describe {
                    name: name.into(),
                    ..Describe::default()
                },
                handler: boxed(handler),
            }),
        }
    }

    /// The URI template.
    pub fn uri_template(&self) -> &str {
        &self.inner.uri
    }

    /// The variables of `uri` if it matches this template.
    pub(crate) fn matches(&self, uri: &str) -> Option<ReadRequest> {
        self.pattern.matches(uri).map(|vars| ReadRequest {
            uri: uri.to_owned(),
            vars,
        })
    }

    pub(crate) fn describe(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("uriTemplate".into(), json!(self.inner.uri));
        self.inner.describe.fill(&mut out);
        Value::Object(out)
    }
}

/// A request for a resource with one URI.
pub(crate) fn exact(uri: &str) -> ReadRequest {
    ReadRequest {
        uri: uri.to_owned(),
        vars: HashMap::new(),
    }
}

/// For the fuzz targets (`crate::fuzzing`): the variables of `uri` under
/// `template`.
#[cfg(fuzzing)]
pub(crate) fn template_vars(template: &str, uri: &str) -> Option<HashMap<String, String>> {
    UriTemplate::parse(template).matches(uri)
}

/// A parsed URI template, matched with a regular expression: literal text
/// as it is, `{var}` as `[^/?#]+?` and `{+var}` as `.+?`, anchored at both
/// ends. A variable takes the shortest value after which the rest matches,
/// and the regex engine finds that in time linear in the URI (a
/// backtracking matcher took exponential time on templates with adjacent
/// variables; found by fuzz/uri_template).
#[derive(Debug)]
struct UriTemplate {
    regex: Regex,
    /// The variables' names, in the order of the regex's groups.
    names: Vec<String>,
}

impl UriTemplate {
    /// Parses `template`; a `{` without its `}` is taken literally.
    fn parse(template: &str) -> Self {
        let mut pattern = String::from("^(?s:");
        let mut names = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            pattern.push_str(&regex::escape(&rest[..open]));
            let expr = &rest[open + 1..open + close];
            let (class, name) = match expr.strip_prefix('+') {
                Some(name) => ("(.+?)", name),
                None => ("([^/?#]+?)", expr),
            };
            pattern.push_str(class);
            names.push(name.to_owned());
            rest = &rest[open + close + 1..];
        }
        pattern.push_str(&regex::escape(rest));
        pattern.push_str(")$");
        Self {
            regex: Regex::new(&pattern).expect("an escaped template is a valid regex"),
            names,
        }
    }

    /// The variables of `uri`, if it matches (a name given twice keeps its
    /// first value).
    fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        let captures = self.regex.captures(uri)?;
        let mut vars = HashMap::new();
        for (name, value) in self.names.iter().zip(captures.iter().skip(1)) {
            if let Some(value) = value {
                vars.entry(name.clone())
                    .or_insert_with(|| percent_decode(value.as_str()));
            }
        }
        Some(vars)
    }
}

/// Decodes `%XX` escapes; a malformed escape is kept as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        let mut v: Vec<_> = UriTemplate::parse(template).matches(uri)?.into_iter().collect();
        v.sort();
        Some(v)
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn simple_variables_match_one_segment() {
        assert_eq!(
            vars("test://template/{id}/data", "test://template/42/data"),
            Some(vec![pair("id", "42")])
        );
        assert_eq!(
            vars("test://template/{id}/data", "test://template/4/2/data"),
            None
        );
        assert_eq!(vars("test://template/{id}/data", "test://template//data"), None);
        assert_eq!(
            vars("test://template/{id}/data", "test://template/42/datax"),
            None
        );
        assert_eq!(
            vars("db://{table}/{row}", "db://users/7"),
            Some(vec![pair("row", "7"), pair("table", "users")])
        );
    }

    #[test]
    fn reserved_variables_take_slashes_and_values_are_decoded() {
        assert_eq!(
            vars("file:///{+path}", "file:///a/b%20c.txt"),
            Some(vec![pair("path", "a/b c.txt")])
        );
        assert_eq!(vars("file:///{path}", "file:///a/b"), None);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn adjacent_variables_take_the_shortest_values_in_linear_time() {
        assert_eq!(
            vars("x://{a}{b}", "x://abc"),
            Some(vec![pair("a", "a"), pair("b", "bc")])
        );
        // Exponential for a backtracking matcher: 30 adjacent variables and
        // a URI that almost matches.
        let template = format!("x://{}!", "{v}".repeat(30));
        let uri = format!("x://{}", "a".repeat(200));
        assert_eq!(vars(&template, &uri), None);
        assert_eq!(vars("x://{a}.{a}", "x://1.2"), Some(vec![pair("a", "1")]));
    }

    #[test]
    fn a_template_without_variables_matches_only_itself() {
        assert_eq!(vars("a://b", "a://b"), Some(vec![]));
        assert_eq!(vars("a://b", "a://bc"), None);
        assert_eq!(vars("a://{unclosed", "a://{unclosed"), Some(vec![]));
    }
}
