//! Tool parameters mirrored into HTTP headers (2026-07-28, `x-mcp-header`).
//!
//! A property of a tool's `inputSchema` reachable from the root through
//! `properties` keys alone may carry `"x-mcp-header": "Name"`; a client
//! then sends its value as `Mcp-Param-Name` too (base64 in `=?base64?...?=`
//! when it is not plain visible ASCII), and the server checks that header
//! and body agree: a value in the body with no header, a header that does
//! not decode, or a header that differs is a `HeaderMismatch` (-32020,
//! HTTP 400). This module finds the annotated parameters of a schema and
//! checks one call's arguments against the headers; it is pure.

use serde_json::Value;

/// The prefix of a mirrored parameter's header name.
pub const PARAM_HEADER_PREFIX: &str = "Mcp-Param-";

/// One parameter a client mirrors into a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderParam {
    /// The chain of `properties` keys from the schema root.
    path: Vec<String>,
    /// The `x-mcp-header` value: the header is `Mcp-Param-{name}`.
    name: String,
}

impl HeaderParam {
    /// The full header name.
    pub fn header(&self) -> String {
        format!("{PARAM_HEADER_PREFIX}{}", self.name)
    }
}

/// The annotated parameters of `schema` (statically reachable ones only).
pub fn header_params(schema: &Value) -> Vec<HeaderParam> {
    let mut out = Vec::new();
    collect(schema, &mut Vec::new(), &mut out);
    out
}

fn collect(schema: &Value, path: &mut Vec<String>, out: &mut Vec<HeaderParam>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, property) in properties {
        path.push(key.clone());
        if let Some(name) = property.get("x-mcp-header").and_then(Value::as_str) {
            out.push(HeaderParam {
                path: path.clone(),
                name: name.to_owned(),
            });
        }
        collect(property, path, out);
        path.pop();
    }
}

/// Checks `arguments` against the mirrored headers: `header` looks a header
/// up by name and gives its value already decoded (`Err` when it does not
/// decode or holds characters a header value may not).
///
/// # Errors
///
/// A message naming the first parameter whose header is missing,
/// malformed or different from the body.
pub fn check(
    params: &[HeaderParam],
    arguments: &Value,
    header: impl Fn(&str) -> Option<Result<String, ()>>,
) -> Result<(), String> {
    for param in params {
        let value = param
            .path
            .iter()
            .try_fold(arguments, |v, key| v.get(key))
            .filter(|v| !v.is_null());
        let Some(value) = value else { continue };
        let name = param.header();
        let text = match header(&name) {
            None => {
                return Err(format!(
                    "the {name} header is required: the body has a value for it"
                ));
            }
            Some(Err(())) => return Err(format!("the {name} header is malformed")),
            Some(Ok(text)) => text,
        };
        if !agrees(value, &text) {
            return Err(format!("the {name} header does not match the body"));
        }
    }
    Ok(())
}

/// True if header `text` carries `value`: strings as they are, booleans as
/// `true`/`false`, numbers compared as numbers (`42.0` equals `42`).
fn agrees(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => match (n.as_f64(), text.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "nested": {"type": "object", "properties": {"flag": {"type": "boolean", "x-mcp-header": "Flag"}}},
            "list": {"type": "array", "items": {"type": "string", "x-mcp-header": "Hidden"}},
            "query": {"type": "string"},
        }})
    }

    fn run(args: Value, headers: &[(&str, &str)]) -> Result<(), String> {
        check(&header_params(&schema()), &args, |name| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| if *v == "BAD" { Err(()) } else { Ok((*v).to_owned()) })
        })
    }

    #[test]
    fn finds_only_statically_reachable_annotations() {
        let names: Vec<_> = header_params(&schema()).iter().map(HeaderParam::header).collect();
        assert_eq!(names.len(), 3);
        assert!(names.contains(&"Mcp-Param-Flag".to_owned()));
        assert!(!names.contains(&"Mcp-Param-Hidden".to_owned()));
    }

    #[test]
    fn headers_must_match_present_values() {
        let h = [
            ("mcp-param-region", "us"),
            ("mcp-param-priority", "3.0"),
            ("mcp-param-flag", "true"),
        ];
        assert_eq!(
            run(
                json!({"region": "us", "priority": 3, "nested": {"flag": true}, "query": "q"}),
                &h
            ),
            Ok(())
        );
        assert!(run(json!({"region": "eu"}), &h).is_err());
        assert!(run(json!({"priority": 4}), &h).is_err());
        assert!(run(json!({"nested": {"flag": false}}), &h).is_err());
        // Absent or null values need no header; a value needs one.
        assert_eq!(run(json!({"region": null, "query": "q"}), &[]), Ok(()));
        assert!(
            run(json!({"region": "us"}), &[])
                .unwrap_err()
                .contains("required")
        );
        assert!(
            run(json!({"region": "us"}), &[("mcp-param-region", "BAD")])
                .unwrap_err()
                .contains("malformed")
        );
    }
}
