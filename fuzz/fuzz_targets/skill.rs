//! A skill's `SKILL.md` and path through `Skill::new`: any bytes give a
//! skill or a refusal that names the skill's path, never a panic (the
//! frontmatter goes through a YAML parser). A skill that is made keeps the
//! Agent Skills rules (checked here against their own statement): its
//! `SKILL.md` opens with a `---` line, its name is 1 to 64 lowercase
//! letters, digits and single hyphens and is its path's last segment, and
//! its entry carries that name, a non-empty description, and each file's
//! URI, SHA-256 digest and size.
//!
//! Input: the skill's path, its `SKILL.md`, then optionally another file's
//! path and bytes, split at 0 bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::skill_entry;
use serde_json::Value;

fn keeps_the_naming_rules(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fuzz_target!(|input: &[u8]| {
    let mut parts = input.splitn(4, |b| *b == 0);
    let Ok(path) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return;
    };
    let mut files = vec![("SKILL.md".to_owned(), parts.next().unwrap_or_default().to_vec())];
    if let (Some(other), Some(bytes)) = (parts.next(), parts.next()) {
        files.push((String::from_utf8_lossy(other).into_owned(), bytes.to_vec()));
    }
    // The last file of a name is the one kept.
    let manifest = files
        .iter()
        .rev()
        .find(|(f, _)| f == "SKILL.md")
        .expect("SKILL.md")
        .1
        .clone();
    let count = files
        .iter()
        .map(|(f, _)| f)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let entry = match skill_entry(path, files) {
        Ok(entry) => entry,
        Err(why) => {
            assert!(why.starts_with(&format!("skill {path}: ")), "{why}");
            assert!(why.len() > format!("skill {path}: ").len(), "a refusal says why");
            return;
        }
    };
    let text = std::str::from_utf8(&manifest).expect("a SKILL.md that is not UTF-8 was taken");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    assert!(
        text.starts_with("---\n") || text.starts_with("---\r\n"),
        "{text:?}"
    );
    let name = entry["frontmatter"]["name"].as_str().expect("a name");
    assert!(keeps_the_naming_rules(name), "{name:?}");
    assert_eq!(path.rsplit('/').next(), Some(name), "the path ends with the name");
    let description = entry["frontmatter"]["description"]
        .as_str()
        .expect("a description");
    assert!(!description.trim().is_empty());
    assert_eq!(entry["uri"], format!("skill://{path}/SKILL.md"));
    let resources = entry["resources"].as_array().expect("resources");
    assert_eq!(resources.len(), count);
    assert_eq!(resources[0]["uri"], entry["uri"], "SKILL.md first");
    assert_eq!(resources[0]["size"], manifest.len());
    for resource in resources {
        let digest = resource["digest"].as_str().expect("a digest");
        let hex = digest.strip_prefix("sha256:").expect("sha256");
        assert!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{digest}"
        );
        assert!(matches!(resource["size"], Value::Number(_)));
    }
});
