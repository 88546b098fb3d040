//! Skills as a tree of files: reading a skill's directory from disk, and
//! the direct children of a directory resource (`resources/directory/read`)
//! across every skill served.

use std::collections::BTreeMap;
use std::fs::FileType;
use std::path::Path;

use serde_json::{Value, json};

use super::{SCHEME, Skill, mime_type};

/// The MIME type of a directory resource.
const DIRECTORY: &str = "inode/directory";

/// Calls `visit` with each entry below `root` (at any depth, folders
/// before what they hold): its path relative to `root` (`/`-separated) and
/// its type. Symbolic links are visited but never followed.
fn walk(
    root: &Path,
    mut visit: impl FnMut(&Path, &str, FileType) -> Result<(), String>,
) -> Result<(), String> {
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((at, prefix)) = pending.pop() {
        let entries = std::fs::read_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", at.display()))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let name = entry.file_name();
            let name = name
                .to_str()
                .ok_or_else(|| format!("{}: a name that is not UTF-8", path.display()))?;
            let relative = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            visit(&path, &relative, kind)?;
            if kind.is_dir() {
                pending.push((path, relative));
            }
        }
    }
    Ok(())
}

/// Every regular file under `dir` (at any depth), by its `/`-separated
/// path relative to `dir`.
pub(super) fn read_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    walk(dir, |path, relative, kind| {
        if kind.is_file() {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.push((relative.to_owned(), bytes));
            if files.len() > super::MAX_SKILL_FILES {
                return Err(format!("more than {} files", super::MAX_SKILL_FILES));
            }
        }
        Ok(())
    })?;
    Ok(files)
}

/// The paths (relative to `root`, `/`-separated) of the folders under
/// `root` that hold a `SKILL.md`, at any depth.
pub(super) fn skill_dirs(root: &Path) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    walk(root, |_, relative, kind| {
        match relative.rsplit_once('/') {
            Some((folder, "SKILL.md")) if kind.is_file() => found.push(folder.to_owned()),
            None if relative == "SKILL.md" => {
                return Err(format!(
                    "{}: the folder of skills holds skills in folders of their own, not a SKILL.md",
                    root.display()
                ));
            }
            _ => {}
        }
        Ok(())
    })?;
    found.sort();
    Ok(found)
}

/// The direct children of the directory resource `uri` (a skill's root,
/// one of its subdirectories, or a directory of skill paths above them):
/// files with their resource metadata, subdirectories as `inode/directory`.
/// `None` if `uri` is no directory of `skills`.
pub(crate) fn directory<'a>(skills: impl Iterator<Item = &'a Skill>, uri: &str) -> Option<Vec<Value>> {
    let dir = uri.strip_prefix(SCHEME)?;
    if dir.is_empty() || dir.ends_with('/') {
        return None;
    }
    let inside = format!("{dir}/");
    // Each child's name, and whether it is a directory.
    let mut children: BTreeMap<String, bool> = BTreeMap::new();
    for skill in skills {
        for file in skill.files() {
            let full = format!("{}/{file}", skill.path());
            if let Some(rest) = full.strip_prefix(&inside) {
                match rest.split_once('/') {
                    Some((child, _)) => {
                        children.insert(child.to_owned(), true);
                    }
                    None => {
                        children.entry(rest.to_owned()).or_insert(false);
                    }
                }
            }
        }
    }
    if children.is_empty() {
        return None;
    }
    let listed = children
        .into_iter()
        .map(|(name, is_dir)| {
            let mime = if is_dir { DIRECTORY } else { mime_type(&name) };
            json!({"uri": format!("{SCHEME}{dir}/{name}"), "name": name, "mimeType": mime})
        })
        .collect();
    Some(listed)
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    fn skill(path: &str, files: &[&str]) -> Skill {
        let name = path.rsplit('/').next().unwrap();
        let manifest = format!("---\nname: {name}\ndescription: d\n---\n");
        let mut all = vec![("SKILL.md".to_owned(), manifest.into_bytes())];
        all.extend(files.iter().map(|f| ((*f).to_owned(), b"x".to_vec())));
        Skill::new(path, all).unwrap()
    }

    fn names(listed: &[Value]) -> Vec<(String, String)> {
        listed
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_owned(),
                    v["mimeType"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_directory_lists_its_direct_children() {
        let skills = [
            skill("pdf", &["references/FORMS.md", "references/deep/a.txt", "run.py"]),
            skill("acme/billing/refunds", &[]),
        ];
        let root = directory(skills.iter(), "skill://pdf").unwrap();
        assert_eq!(
            names(&root),
            [
                ("SKILL.md".into(), "text/markdown".into()),
                ("references".into(), DIRECTORY.into()),
                ("run.py".into(), "text/x-python".into())
            ]
        );
        assert_eq!(root[1]["uri"], "skill://pdf/references");
        let sub = directory(skills.iter(), "skill://pdf/references").unwrap();
        assert_eq!(names(&sub)[1], ("deep".into(), DIRECTORY.into()));
        let above = directory(skills.iter(), "skill://acme").unwrap();
        assert_eq!(names(&above), [("billing".into(), DIRECTORY.into())]);
        for not_a_directory in [
            "skill://pdf/SKILL.md",
            "skill://nope",
            "skill://pdf/",
            "skill://",
            "file:///pdf",
        ] {
            assert_eq!(
                directory(skills.iter(), not_a_directory),
                None,
                "{not_a_directory}"
            );
        }
    }
}
