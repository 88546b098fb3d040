//! Skills (the `io.modelcontextprotocol/skills` extension, SEP-2640) over
//! TCP and Streamable HTTP, in a 2025 session and as 2026-07-28 requests:
//! the extension declared with `resources`, `skills/list` in pages,
//! `skills/get`, the files read as resources, directories walked, skills
//! added at run time; a malformed skill refused when it is made, and the
//! binary's `--skills-dir`.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::process::{Command, Stdio};

use mcp_server_core::{Server, ServerConfig, Skill};
use serde_json::{Value, json};
use support::wire::{Way, Wire};
use support::{TestServer, error_code};

fn manifest(name: &str) -> String {
    format!("---\nname: {name}\ndescription: the {name} skill\nlicense: MIT\n---\n\n# {name}\n")
}

fn pdf() -> Skill {
    let files = [
        ("SKILL.md", manifest("pdf")),
        ("references/FORMS.md", "# Forms\n".to_owned()),
        ("references/deep/notes.txt", "notes".to_owned()),
    ];
    Skill::new("pdf", files).unwrap()
}

fn refunds() -> Skill {
    Skill::new("acme/billing/refunds", [("SKILL.md", manifest("refunds"))]).unwrap()
}

fn skilled() -> Server {
    Server::builder()
        .config(ServerConfig::default().page_size(1))
        .skill(pdf())
        .skill(refunds())
        .build()
}

#[test]
fn a_skill_is_checked_when_it_is_made() {
    let refused = |path: &str, files: Vec<(&str, String)>| Skill::new(path, files).unwrap_err().to_string();
    for (path, files, why) in [
        ("pdf", vec![("README.md", "x".to_owned())], "no SKILL.md"),
        (
            "pdf",
            vec![("SKILL.md", "# no frontmatter".to_owned())],
            "does not begin",
        ),
        (
            "pdf",
            vec![("SKILL.md", "---\nname: pdf\n---\n".to_owned())],
            "`description`",
        ),
        ("other", vec![("SKILL.md", manifest("pdf"))], "last segment"),
        (
            "Bad_Name",
            vec![("SKILL.md", manifest("Bad_Name"))],
            "naming rules",
        ),
        (
            "pdf",
            vec![("SKILL.md", manifest("pdf")), ("../escape", "x".to_owned())],
            "not a relative file path",
        ),
        ("a//pdf", vec![("SKILL.md", manifest("pdf"))], "non-empty"),
    ] {
        let error = refused(path, files);
        assert!(
            error.contains(why) && error.starts_with(&format!("skill {path}: ")),
            "{error}"
        );
    }
    let many: Vec<(String, String)> = (0..512).map(|i| (format!("f{i}.txt"), String::new())).collect();
    let too_many = Skill::new(
        "pdf",
        many.into_iter().chain([("SKILL.md".to_owned(), manifest("pdf"))]),
    );
    assert!(too_many.unwrap_err().to_string().contains("more than 512"));
    let entry_uri = pdf().uri();
    assert_eq!(entry_uri, "skill://pdf/SKILL.md");
}

/// `method` with `params` on `wire`; its result (panics on an error).
async fn ask(wire: &mut Wire, id: u64, method: &str, params: Value) -> Value {
    let response = wire.request(id, method, params).await;
    assert!(response.get("error").is_none(), "{method}: {response}");
    response["result"].clone()
}

#[tokio::test]
async fn skills_are_listed_got_read_and_walked_in_every_way() {
    for http in [false, true] {
        let server = TestServer::serve(skilled(), http).await;
        for way in Way::ALL.into_iter().filter(|w| w.is_http() == http) {
            let mut wire = Wire::open(way, server.addr).await;
            let caps = ask(&mut wire, 1, "server/discover", json!({})).await["capabilities"].clone();
            assert_eq!(
                caps["extensions"]["io.modelcontextprotocol/skills"],
                json!({"directoryRead": true})
            );
            assert!(
                caps["resources"].is_object(),
                "{way:?}: skills need resources: {caps}"
            );

            // One entry a page (page_size 1), each whole.
            let first = ask(&mut wire, 2, "skills/list", json!({})).await;
            assert_eq!(first["skills"].as_array().unwrap().len(), 1, "{way:?}: {first}");
            let second = ask(
                &mut wire,
                3,
                "skills/list",
                json!({"cursor": first["nextCursor"]}),
            )
            .await;
            assert!(second.get("nextCursor").is_none());
            let uris = [&first["skills"][0]["uri"], &second["skills"][0]["uri"]];
            assert_eq!(
                uris,
                ["skill://pdf/SKILL.md", "skill://acme/billing/refunds/SKILL.md"]
            );
            if way.is_stateless() {
                assert_eq!(
                    (first["ttlMs"].is_u64(), &first["cacheScope"]),
                    (true, &json!("public"))
                );
            }

            let got = ask(&mut wire, 4, "skills/get", json!({"uri": "skill://pdf/SKILL.md"})).await;
            let entry = &got["skill"];
            assert_eq!(
                entry["frontmatter"],
                json!({"name": "pdf", "description": "the pdf skill", "license": "MIT"})
            );
            let files: Vec<&str> = entry["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["uri"].as_str().unwrap())
                .collect();
            assert_eq!(
                files,
                [
                    "skill://pdf/SKILL.md",
                    "skill://pdf/references/FORMS.md",
                    "skill://pdf/references/deep/notes.txt"
                ]
            );
            let text = manifest("pdf");
            assert_eq!(entry["resources"][0]["size"], text.len());
            let digest = entry["resources"][0]["digest"].as_str().unwrap();
            assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
            assert!(got.get("nextCursor").is_none());
            let unknown = wire
                .request(5, "skills/get", json!({"uri": "skill://nope/SKILL.md"}))
                .await;
            assert_eq!(error_code(&unknown), -32602, "{way:?}");

            let read = ask(
                &mut wire,
                6,
                "resources/read",
                json!({"uri": "skill://pdf/SKILL.md"}),
            )
            .await;
            assert_eq!(read["contents"][0]["text"], text);
            assert_eq!(read["contents"][0]["mimeType"], "text/markdown");
            let listed = ask(&mut wire, 7, "resources/list", json!({})).await;
            assert_eq!(listed["resources"][0]["name"], "pdf", "{way:?}: {listed}");
            assert_eq!(listed["resources"][0]["description"], "the pdf skill");

            let root = ask(
                &mut wire,
                8,
                "resources/directory/read",
                json!({"uri": "skill://pdf"}),
            )
            .await;
            let children: Vec<(&str, &str)> = root["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["name"].as_str().unwrap(), c["mimeType"].as_str().unwrap()))
                .collect();
            assert_eq!(
                children,
                [("SKILL.md", "text/markdown"), ("references", "inode/directory")]
            );
            let above = ask(
                &mut wire,
                9,
                "resources/directory/read",
                json!({"uri": "skill://acme"}),
            )
            .await;
            assert_eq!(above["resources"][0]["uri"], "skill://acme/billing");
            let file = wire
                .request(
                    10,
                    "resources/directory/read",
                    json!({"uri": "skill://pdf/SKILL.md"}),
                )
                .await;
            assert_eq!(error_code(&file), -32602, "{way:?}: not a directory");
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn without_skills_their_methods_are_not_found_and_one_added_is_announced() {
    let server = TestServer::serve(Server::builder().builtin_tools().build(), false).await;
    let mut client = server.client().await;
    client.initialize().await;
    for (id, method) in [
        (1, "skills/list"),
        (2, "skills/get"),
        (3, "resources/directory/read"),
    ] {
        let response = client
            .request(id, method, json!({"uri": "skill://pdf/SKILL.md"}))
            .await;
        assert_eq!(error_code(&response), -32601, "{method}: {response}");
    }
    let report = server.handle.add_skill(pdf());
    assert_eq!(report.queued, 1, "the session hears of it");
    client.notification("notifications/resources/list_changed").await;
    let listed = client.request(4, "skills/list", json!({})).await;
    assert_eq!(listed["result"]["skills"][0]["uri"], "skill://pdf/SKILL.md");
    server.handle.remove_skill("pdf");
    client.notification("notifications/resources/list_changed").await;
    let gone = client
        .request(5, "resources/read", json!({"uri": "skill://pdf/SKILL.md"}))
        .await;
    assert!(gone.get("error").is_some(), "its files went with it: {gone}");
    server.stop().await;
}

#[test]
fn the_binary_serves_a_folder_of_skills_and_refuses_a_malformed_one() {
    let bin = env!("CARGO_BIN_EXE_mcp-server-core");
    let root = std::env::temp_dir().join(format!("mcp-skills-{}", std::process::id()));
    let skill_dir = root.join("good/acme/refunds");
    std::fs::create_dir_all(skill_dir.join("examples")).unwrap();
    std::fs::write(skill_dir.join("SKILL.md"), manifest("refunds")).unwrap();
    std::fs::write(skill_dir.join("examples/email.md"), "Dear customer").unwrap();
    let found = Skill::all_in(root.join("good")).unwrap();
    assert_eq!(
        found.iter().map(Skill::path).collect::<Vec<_>>(),
        ["acme/refunds"]
    );

    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "skills/get",
        "params": support::stateless(json!({"uri": "skill://acme/refunds/SKILL.md"}))});
    let mut child = Command::new(bin)
        .arg("--stdio")
        .arg("--skills-dir")
        .arg(root.join("good"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{request}").unwrap();
    let output = child.wait_with_output().unwrap();
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        answer["result"]["skill"]["resources"].as_array().unwrap().len(),
        2,
        "{answer}"
    );

    let bad = root.join("bad/broken");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("SKILL.md"), "---\nname: broken\n---\n").unwrap();
    let refused = Command::new(bin)
        .arg("--stdio")
        .arg("--skills-dir")
        .arg(root.join("bad"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("skill broken") && stderr.contains("`description`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&root).ok();
}
