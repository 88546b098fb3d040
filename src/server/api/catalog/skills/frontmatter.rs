//! A `SKILL.md`'s YAML frontmatter (the block between its leading `---`
//! lines), rendered as the JSON object a skill entry carries, and the
//! Agent Skills naming rules it must keep.

use serde_json::{Map, Value};

/// The frontmatter of `text` (a `SKILL.md`) as a JSON object with a
/// non-empty `name` and `description`.
///
/// # Errors
///
/// Why not: no frontmatter block, YAML that does not parse or is not a
/// mapping, or `name` or `description` missing or not a non-empty string.
pub(super) fn parse(text: &str) -> Result<Map<String, Value>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("SKILL.md does not begin with a --- line (YAML frontmatter)")?;
    let end = closing_line(body).ok_or("SKILL.md's frontmatter has no closing --- line")?;
    let yaml = &body[..end];
    let value: Value = serde_saphyr::from_str(yaml).map_err(|e| format!("SKILL.md's frontmatter: {e}"))?;
    let Value::Object(map) = value else {
        return Err("SKILL.md's frontmatter is not a mapping".into());
    };
    for field in ["name", "description"] {
        match map.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => {
                return Err(format!(
                    "SKILL.md's frontmatter needs a non-empty string `{field}`"
                ));
            }
        }
    }
    Ok(map)
}

/// Where the line `---` that closes the frontmatter starts in `body` (the
/// text after the opening line).
fn closing_line(body: &str) -> Option<usize> {
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']).trim_end_matches([' ', '\t']) == "---" {
            return Some(at);
        }
        at += line.len();
    }
    None
}

/// True if `name` keeps the Agent Skills naming rules: 1 to 64 lowercase
/// letters, digits and hyphens, no leading, trailing or doubled hyphen.
pub(super) fn is_skill_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_frontmatter_is_read_verbatim() {
        let text = "---\nname: pdf-processing\ndescription: \"Extract: PDFs\"\nlicense: Apache-2.0\n\
                    metadata:\n  version: \"2.1\"\n  n: 3\n---\n\n# Body\n---\nnot frontmatter\n";
        let map = parse(text).unwrap();
        assert_eq!(
            Value::Object(map),
            json!({"name": "pdf-processing", "description": "Extract: PDFs", "license": "Apache-2.0",
                   "metadata": {"version": "2.1", "n": 3}})
        );
        let crlf = "---\r\nname: a\r\ndescription: b\r\n---\r\nbody";
        assert_eq!(
            Value::Object(parse(crlf).unwrap()),
            json!({"name": "a", "description": "b"})
        );
        let bom = "\u{feff}---\nname: a\ndescription: b\n---\n";
        assert!(parse(bom).is_ok());
    }

    #[test]
    fn a_malformed_frontmatter_says_why() {
        for (text, why) in [
            ("# no frontmatter", "does not begin"),
            ("---\nname: a\ndescription: b\n", "no closing"),
            ("---\nname: [a\n---\n", "frontmatter:"),
            ("---\n- a\n- b\n---\n", "not a mapping"),
            ("---\nname: a\n---\n", "`description`"),
            ("---\nname: 3\ndescription: b\n---\n", "`name`"),
            ("---\nname: \"\"\ndescription: b\n---\n", "`name`"),
            ("---\nname: a\ndescription: \" \\t\"\n---\n", "`description`"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(why), "{text:?}: {error}");
        }
    }

    #[test]
    fn names_keep_the_agent_skills_rules() {
        for good in ["a", "pdf-processing", "v2", &"a".repeat(64)] {
            assert!(is_skill_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "PDF", "a_b", "a.b", &"a".repeat(65), "ä"] {
            assert!(!is_skill_name(bad), "{bad}");
        }
    }
}
