//! [`Icon`]: an image a client may show beside a tool, resource, template,
//! prompt or the server itself (2025-11-25 `icons`), checked when it is
//! made so that a list never carries one a client must refuse.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// Longest `src` accepted, in bytes (a `data:` URI holds the image itself,
/// and every list that shows the icon carries it).
pub const MAX_ICON_SRC_BYTES: usize = 64 * 1024;

/// Why an icon was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("icon: {0}")]
pub struct IconError(String);

/// The background an icon is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconTheme {
    /// For a light background.
    Light,
    /// For a dark background.
    Dark,
}

/// An icon: where the image is (an `https` or `http` URL, or a `data:` URI
/// of an image in base64), and optionally its MIME type, the sizes it
/// suits and the theme it is drawn for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    src: String,
    mime_type: Option<String>,
    sizes: Vec<String>,
    theme: Option<IconTheme>,
}

impl Icon {
    /// An icon at `src`.
    ///
    /// # Errors
    ///
    /// [`IconError`] for a `src` that is not an absolute `http(s)` URL with
    /// a host, or a `data:image/...;base64,` URI with valid base64, or is
    /// longer than [`MAX_ICON_SRC_BYTES`].
    pub fn new(src: impl Into<String>) -> Result<Self, IconError> {
        let src = src.into();
        check_src(&src)?;
        Ok(Self {
            src,
            mime_type: None,
            sizes: Vec::new(),
            theme: None,
        })
    }

    /// Names the image's MIME type (`image/png`, `image/svg+xml`, ...).
    ///
    /// # Errors
    ///
    /// [`IconError`] for anything but an `image/` type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Result<Self, IconError> {
        let mime_type = mime_type.into();
        if !is_image_type(&mime_type) {
            return Err(IconError(format!("{mime_type:?} is not an image MIME type")));
        }
        self.mime_type = Some(mime_type);
        Ok(self)
    }

    /// The sizes the icon suits: each `WxH` in pixels (`48x48`) or `any`
    /// (a scalable image).
    ///
    /// # Errors
    ///
    /// [`IconError`] for a size of another form.
    pub fn sizes<S: Into<String>>(mut self, sizes: impl IntoIterator<Item = S>) -> Result<Self, IconError> {
        for size in sizes {
            let size = size.into();
            if !is_size(&size) {
                return Err(IconError(format!("{size:?} is not WxH or any")));
            }
            self.sizes.push(size);
        }
        Ok(self)
    }

    /// The theme the icon is drawn for.
    pub fn theme(mut self, theme: IconTheme) -> Self {
        self.theme = Some(theme);
        self
    }

    /// The icon as the protocol writes it.
    pub(crate) fn to_json(&self) -> Value {
        let mut out = json!({"src": self.src});
        if let Some(mime_type) = &self.mime_type {
            out["mimeType"] = json!(mime_type);
        }
        if !self.sizes.is_empty() {
            out["sizes"] = json!(self.sizes);
        }
        if let Some(theme) = self.theme {
            out["theme"] = json!(match theme {
                IconTheme::Light => "light",
                IconTheme::Dark => "dark",
            });
        }
        out
    }
}

/// `icons` for a list of icons, or `None` for none.
pub(crate) fn icons_json(icons: &[Icon]) -> Option<Value> {
    (!icons.is_empty()).then(|| Value::Array(icons.iter().map(Icon::to_json).collect()))
}

fn check_src(src: &str) -> Result<(), IconError> {
    let refuse = |why: &str| Err(IconError(format!("{:.80}: {why}", src)));
    if src.len() > MAX_ICON_SRC_BYTES {
        return refuse("longer than 64 KiB");
    }
    if let Some(rest) = src.strip_prefix("data:") {
        let Some((media, data)) = rest.split_once(";base64,") else {
            return refuse("a data: URI must be base64 (data:image/...;base64,...)");
        };
        if !is_image_type(media) {
            return refuse("a data: URI must hold an image/ type");
        }
        if data.is_empty() || STANDARD.decode(data).is_err() {
            return refuse("a data: URI must hold valid base64");
        }
        return Ok(());
    }
    let rest = src
        .strip_prefix("https://")
        .or_else(|| src.strip_prefix("http://"));
    let Some(rest) = rest else {
        return refuse("must be an https, http or data: URI");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || src.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("not an absolute URL with a host");
    }
    Ok(())
}

fn is_image_type(mime_type: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    mime_type.strip_prefix("image/").is_some_and(token)
}

fn is_size(size: &str) -> bool {
    let pixels = |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()) && s != "0";
    size == "any" || size.split_once('x').is_some_and(|(w, h)| pixels(w) && pixels(h))
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn good_icons_are_written_as_the_protocol_says() {
        let icon = Icon::new("https://example.com/icon.png")
            .and_then(|i| i.mime_type("image/png"))
            .and_then(|i| i.sizes(["48x48", "96x96"]))
            .unwrap()
            .theme(IconTheme::Dark);
        assert_eq!(
            icon.to_json(),
            json!({"src": "https://example.com/icon.png", "mimeType": "image/png",
                   "sizes": ["48x48", "96x96"], "theme": "dark"})
        );
        for src in [
            "http://127.0.0.1:8080/i.svg",
            "data:image/png;base64,iVBORw0KGgo=",
            "data:image/svg+xml;base64,PHN2Zy8+",
        ] {
            assert_eq!(Icon::new(src).unwrap().to_json(), json!({"src": src}));
        }
        assert!(Icon::new("https://x.org/a").unwrap().sizes(["any"]).is_ok());
        assert_eq!(icons_json(&[]), None);
    }

    #[test]
    fn bad_icons_are_refused_with_why() {
        for src in [
            "",
            "icon.png",
            "/icon.png",
            "ftp://example.com/icon.png",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://",
            "https:///path",
            "https://exa mple.com/i.png",
            "data:text/html;base64,PGgxPg==",
            "data:image/png,rawbytes",
            "data:image/png;base64,",
            "data:image/png;base64,not base64!",
        ] {
            assert!(Icon::new(src).is_err(), "{src:?} accepted");
        }
        let huge = format!("data:image/png;base64,{}", "A".repeat(MAX_ICON_SRC_BYTES));
        assert!(Icon::new(huge).is_err());
        let icon = || Icon::new("https://example.com/i.png").unwrap();
        for mime in ["text/html", "image/", "image", "png", "image/png; charset=x"] {
            assert!(icon().mime_type(mime).is_err(), "{mime:?} accepted");
        }
        for size in ["48", "48x", "x48", "0x48", "48X48", "-1x2", "123456x1", "big"] {
            assert!(icon().sizes([size]).is_err(), "{size:?} accepted");
        }
        let why = Icon::new("ftp://example.com/i.png").unwrap_err().to_string();
        assert!(why.contains("https, http or data:"), "{why}");
    }
}
