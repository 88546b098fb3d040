//! Content blocks (text, image, audio, embedded resources, resource links)
//! and resource contents: what tools return, prompts carry and resources
//! read. Each serializes to the JSON shape the MCP schema gives it.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

/// One block of content for the model: the `content` items of a tool
/// result and the `content` of a prompt message.
#[derive(Debug, Clone, PartialEq)]
pub struct Content(Block);

/// A text block is kept as its text and written straight into the answer
/// (the common case); the others as JSON.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Text(String),
    Json(Value),
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self(Block::Text(text.into()))
    }

    /// An image, base64-encoded `data` of MIME type `mime_type`.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self(Block::Json(
            json!({"type": "image", "data": data.into(), "mimeType": mime_type.into()}),
        ))
    }

    /// Audio, base64-encoded `data` of MIME type `mime_type`.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Self(Block::Json(
            json!({"type": "audio", "data": data.into(), "mimeType": mime_type.into()}),
        ))
    }

    /// A resource's contents, embedded.
    pub fn resource(contents: ResourceContents) -> Self {
        Self(Block::Json(
            json!({"type": "resource", "resource": contents.into_value()}),
        ))
    }

    /// A link to a resource the client may read (`resource_link`).
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self(Block::Json(
            json!({"type": "resource_link", "uri": uri.into(), "name": name.into()}),
        ))
    }

    /// The block as JSON.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// Appends the block's JSON text.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Block::Text(text) => {
                out.extend_from_slice(br#"{"type":"text","text":"#);
                serde_json::to_writer(&mut *out, text).expect("a string serializes");
                out.push(b'}');
            }
            Block::Json(value) => serde_json::to_writer(out, value).expect("a JSON value serializes"),
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self.0 {
            Block::Text(text) => {
                // Built by hand: `json!` would copy `text`.
                let mut block = serde_json::Map::new();
                block.insert("type".to_owned(), Value::from("text"));
                block.insert("text".to_owned(), Value::String(text));
                Value::Object(block)
            }
            Block::Json(value) => value,
        }
    }
}

/// The block's JSON, written without building it first.
impl Serialize for Content {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Block::Text(text) => {
                let mut block = serializer.serialize_map(Some(2))?;
                block.serialize_entry("type", "text")?;
                block.serialize_entry("text", text)?;
                block.end()
            }
            Block::Json(value) => value.serialize(serializer),
        }
    }
}

/// The contents of one resource as `resources/read` returns them: text or
/// a base64 blob, with the resource's URI and, optionally, MIME type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceContents {
    uri: String,
    body: Body,
    mime_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Body {
    Text(String),
    Blob(String),
}

impl ResourceContents {
    /// Text contents of the resource at `uri`.
    pub fn text(uri: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            body: Body::Text(text.into()),
            mime_type: None,
        }
    }

    /// Binary contents of the resource at `uri`, base64-encoded.
    pub fn blob(uri: impl Into<String>, base64: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            body: Body::Blob(base64.into()),
            mime_type: None,
        }
    }

    /// Sets the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub(crate) fn into_value(self) -> Value {
        serde_json::to_value(&self).expect("resource contents encode as JSON")
    }
}

/// The contents' JSON (`uri`, `text` or `blob`, `mimeType`), written
/// without building it first.
impl Serialize for ResourceContents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut contents = serializer.serialize_map(None)?;
        contents.serialize_entry("uri", &self.uri)?;
        match &self.body {
            Body::Text(text) => contents.serialize_entry("text", text)?,
            Body::Blob(blob) => contents.serialize_entry("blob", blob)?,
        }
        if let Some(mime_type) = &self.mime_type {
            contents.serialize_entry("mimeType", mime_type)?;
        }
        contents.end()
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_schema_shapes() {
        let text = Content::text("hi");
        assert_eq!(text.to_value(), json!({"type": "text", "text": "hi"}));
        // Written straight, it is the same JSON.
        assert_eq!(serde_json::to_value(&text).unwrap(), text.to_value());
        let image = Content::image("AAA=", "image/png");
        assert_eq!(
            image.to_value(),
            json!({"type": "image", "data": "AAA=", "mimeType": "image/png"})
        );
        assert_eq!(serde_json::to_value(&image).unwrap(), image.to_value());
        let embedded = Content::resource(ResourceContents::text("a://b", "x").mime_type("text/plain"));
        assert_eq!(
            embedded.to_value(),
            json!({"type": "resource", "resource": {"uri": "a://b", "text": "x", "mimeType": "text/plain"}})
        );
        let blob = ResourceContents::blob("a://c", "AA==");
        assert_eq!(blob.uri(), "a://c");
        assert_eq!(blob.into_value(), json!({"uri": "a://c", "blob": "AA=="}));
    }
}
