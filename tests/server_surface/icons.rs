//! Icons and titles (2025-11-25): on tools, resources, templates, prompts
//! and the server's own info, in every way a client reaches them; and the
//! values refused when an icon is made.

use mcp_server_core::{Icon, IconTheme};

use super::*;

fn icon() -> Icon {
    Icon::new("https://example.com/icon.svg")
        .and_then(|i| i.mime_type("image/svg+xml"))
        .and_then(|i| i.sizes(["any"]))
        .unwrap()
        .theme(IconTheme::Dark)
}

fn decorated() -> Server {
    let read = |_: ReadRequest, _| async { Ok(vec![ResourceContents::text("mem://a", "a")]) };
    Server::builder()
        .tool(
            Tool::new(
                "painted",
                "has an icon",
                json!({"type": "object"}),
                |_, _| async { Ok(ToolOutput::text("ok")) },
            )
            .title("Painted Tool")
            .icon(icon()),
        )
        .resource(
            Resource::new("mem://a", "a", read)
                .title("Resource A")
                .icon(icon()),
        )
        .resource_template(
            ResourceTemplate::new("mem://t/{id}", "t", |_: ReadRequest, _| async { Ok(vec![]) })
                .title("Template T")
                .icon(icon()),
        )
        .prompt(
            Prompt::new("p", vec![], |_, _| async { Ok(PromptOutput::new()) })
                .title("Prompt P")
                .icon(icon()),
        )
        // The typed API builds the same values.
        .tool(adder().title("Adder").icon(icon()))
        .prompt(trip().title("Trip").icon(icon()))
        .server_info("decorated", "1.0.0")
        .server_title("A Decorated Server")
        .server_icon(icon())
        .website_url("https://example.com")
        .build()
}

#[tokio::test]
async fn icons_and_titles_are_listed_in_every_way() {
    let expected = json!([{"src": "https://example.com/icon.svg", "mimeType": "image/svg+xml",
                           "sizes": ["any"], "theme": "dark"}]);
    for http in [false, true] {
        let server = TestServer::serve(decorated(), http).await;
        for way in Way::ALL.into_iter().filter(|w| w.is_http() == http) {
            let mut wire = Wire::open(way, server.addr).await;
            for (id, method, key, title) in [
                (1, "tools/list", "tools", "Painted Tool"),
                (2, "resources/list", "resources", "Resource A"),
                (3, "resources/templates/list", "resourceTemplates", "Template T"),
                (4, "prompts/list", "prompts", "Prompt P"),
            ] {
                let listed = wire.request(id, method, json!({})).await;
                let items = listed["result"][key].as_array().unwrap().clone();
                assert_eq!(items[0]["title"], title, "{way:?} {method}: {listed}");
                for item in &items {
                    assert_eq!(item["icons"], expected, "{way:?} {method}: {item}");
                }
            }
            let discovered = wire.request(5, "server/discover", json!({})).await;
            let info = &discovered["result"]["serverInfo"];
            assert_eq!(info["title"], "A Decorated Server", "{way:?}: {discovered}");
            assert_eq!(info["icons"], expected, "{way:?}");
            assert_eq!(info["websiteUrl"], "https://example.com", "{way:?}");
        }
        server.stop().await;
    }
}

#[test]
fn an_icon_a_client_must_refuse_is_never_made() {
    for src in [
        "icon.png",
        "javascript:alert(1)",
        "data:text/html;base64,PGI+",
        "https://",
    ] {
        let refused = Icon::new(src).unwrap_err();
        assert!(refused.to_string().starts_with("icon: "), "{refused}");
    }
    let icon = || Icon::new("https://example.com/i.png").unwrap();
    assert!(icon().mime_type("text/plain").is_err());
    assert!(icon().sizes(["48x48", "huge"]).is_err());
    assert!(icon().sizes(["48x48", "any"]).is_ok());
}
