//! The descriptive fields resources and resource templates share (the
//! `BaseMetadata` and `Icons` of the specification's schema, and a MIME
//! type), and how they are written in a list.

use serde_json::{Map, Value, json};

use crate::server::api::icon::{Icon, icons_json};

/// A resource's or template's name, title, description, MIME type and
/// icons.
#[derive(Debug, Clone, Default)]
pub(super) struct Describe {
    pub(super) name: String,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) mime_type: Option<String>,
    pub(super) icons: Vec<Icon>,
}

impl Describe {
    /// Writes the fields that are set into `out`.
    pub(super) fn fill(&self, out: &mut Map<String, Value>) {
        out.insert("name".into(), json!(self.name));
        for (key, value) in [
            ("title", &self.title),
            ("description", &self.description),
            ("mimeType", &self.mime_type),
        ] {
            if let Some(value) = value {
                out.insert(key.into(), json!(value));
            }
        }
        if let Some(icons) = icons_json(&self.icons) {
            out.insert("icons".into(), icons);
        }
    }
}
