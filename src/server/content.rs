//! Content blocks (text, image, audio, embedded resources, resource links)
//! and resource contents: what tools return, prompts carry and resources
//! read. Each serializes to the JSON shape the MCP schema gives it.

use serde_json::{Value, json};

/// One block of content for the model: the `content` items of a tool
/// result and the `content` of a prompt message.
#[derive(Debug, Clone, PartialEq)]
pub struct Content(Value);

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        // Built by hand: `json!` would copy `text` (it serializes what it
        // is given).
        let mut block = serde_json::Map::new();
        block.insert("type".to_owned(), Value::from("text"));
        block.insert("text".to_owned(), Value::String(text.into()));
        Self(Value::Object(block))
    }

    /// An image, base64-encoded `data` of MIME type `mime_type`.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self(json!({"type": "image", "data": data.into(), "mimeType": mime_type.into()}))
    }

    /// Audio, base64-encoded `data` of MIME type `mime_type`.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self(json!({"type": "audio", "data": data.into(), "mimeType": mime_type.into()}))
    }

    /// A resource's contents, embedded.
    pub fn resource(contents: ResourceContents) -> Self {
        Self(json!({"type": "resource", "resource": contents.0}))
    }

    /// A link to a resource the client may read (`resource_link`).
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self(json!({"type": "resource_link", "uri": uri.into(), "name": name.into()}))
    }

    /// The block as JSON.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    pub(crate) fn into_value(self) -> Value {
        self.0
    }
}

/// The contents of one resource as `resources/read` returns them: text or
/// a base64 blob, with the resource's URI and, optionally, MIME type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceContents(Value);

impl ResourceContents {
    /// Text contents of the resource at `uri`.
    pub fn text(uri: impl Into<String>, text: impl Into<String>) -> Self {
        Self(json!({"uri": uri.into(), "text": text.into()}))
    }

    /// Binary contents of the resource at `uri`, base64-encoded.
    pub fn blob(uri: impl Into<String>, base64: impl Into<String>) -> Self {
        Self(json!({"uri": uri.into(), "blob": base64.into()}))
    }

    /// Sets the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.0["mimeType"] = Value::from(mime_type.into());
        self
    }

    /// The URI.
    pub fn uri(&self) -> &str {
        self.0["uri"].as_str().unwrap_or_default()
    }

    pub(crate) fn into_value(self) -> Value {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_schema_shapes() {
        assert_eq!(
            Content::text("hi").as_value(),
            &json!({"type": "text", "text": "hi"})
        );
        assert_eq!(
            Content::image("AAA=", "image/png").as_value(),
            &json!({"type": "image", "data": "AAA=", "mimeType": "image/png"})
        );
        let embedded = Content::resource(ResourceContents::text("a://b", "x").mime_type("text/plain"));
        assert_eq!(
            embedded.as_value(),
            &json!({"type": "resource", "resource": {"uri": "a://b", "text": "x", "mimeType": "text/plain"}})
        );
        assert_eq!(ResourceContents::blob("a://c", "AA==").uri(), "a://c");
    }
}
