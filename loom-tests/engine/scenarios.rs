//! The engine's scenarios: each builds a real `Server`, serves it over
//! in-memory connections under shuttle, and asserts what the README
//! promises. Choices a client makes (answer or hang up, when to shut down)
//! come from `shuttle::rand`, so a schedule replays them too.

use mcp_server_core::{Resource, ResourceContents, Server, ServerConfig, ServerHandle, Tool, ToolOutput};
use serde_json::{Value, json};
use shuttle::rand::{Rng, thread_rng};

use super::{Answers, Client, Running, assert_drained, config, serve};

/// `step`: yields a few times, then answers. `hold`: waits for its
/// cancellation. `ask`: elicits from the client and says what came back.
fn tools(running: &Running) -> Vec<Tool> {
    let (r1, r2, r3) = (running.clone(), running.clone(), running.clone());
    vec![
        Tool::new(
            "step",
            "yields, then answers",
            json!({"type": "object"}),
            move |_, _| {
                let slot = r1.enter();
                async move {
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    drop(slot);
                    Ok(ToolOutput::text("stepped"))
                }
            },
        ),
        Tool::new(
            "hold",
            "waits for its cancellation",
            json!({"type": "object"}),
            move |_, ctx| {
                let slot = r2.enter();
                async move {
                    ctx.cancelled().await;
                    drop(slot);
                    Ok(ToolOutput::text("stopped"))
                }
            },
        ),
        Tool::new("ask", "elicits", json!({"type": "object"}), move |_, ctx| {
            let slot = r3.enter();
            async move {
                let answer = ctx.elicit("go on?", json!({"type": "object"})).await;
                drop(slot);
                Ok(ToolOutput::text(format!("{}", answer.is_ok())))
            }
        }),
    ]
}

pub(super) fn server(running: &Running, max_in_flight: usize) -> Server {
    with_tools(running, config().max_in_flight_per_session(max_in_flight))
}

pub(super) fn with_tools(running: &Running, config: ServerConfig) -> Server {
    let mut builder = Server::builder().config(config);
    for tool in tools(running) {
        builder = builder.tool(tool);
    }
    builder
        .resource(Resource::new("mem://a", "a", |request, _| async move {
            Ok(vec![ResourceContents::text(request.uri(), "a")])
        }))
        .build()
}

/// Reads until `until` holds or the server hangs up, recording answers;
/// returns the other messages (notifications, requests to the client).
pub(super) async fn read_until(
    client: &mut Client,
    answers: &mut Answers,
    until: impl Fn(&Answers) -> bool,
) -> Vec<Value> {
    let mut others = Vec::new();
    while !until(answers) {
        let Some(message) = client.recv().await else { break };
        if answers.record(&message).is_none() {
            others.push(message);
        }
    }
    others
}

/// Ends the run: shutdown, the serve loop's return, nothing left behind.
pub(super) async fn finish(
    handle: &ServerHandle,
    served: tokio::task::JoinHandle<mcp_server_core::ShutdownReport>,
    running: &Running,
) {
    handle.shutdown();
    // Time passes: every deadline set so far (a grace already begun among
    // them) passes now, at the step the schedule reached.
    super::pass_deadlines();
    served.await.expect("the serve loop returns");

    assert_drained(handle, config().max_sessions);
    running.assert_all_ended();
}

/// **Calls at the in-flight cap, with cancellations.** One session sends
/// `hold`, `step`, cancels the hold, `step`, `hold`, cancels that, with a cap
/// of 2: the session stops reading at its cap and goes on as calls end.
///
/// - Never more than 2 handlers of the session at once.
/// - Each `step` is answered exactly once; a cancelled `hold` at most once.
/// - Once answered, a request's id may be used again.
/// - After shutdown nothing is live, held or running.
pub fn calls_at_the_cap() {
    let running = Running::new(2);
    shuttle::future::block_on(async move {
        let (dialer, handle, served) = serve(server(&running, 2));
        let mut client = dialer.connect().await.expect("the server listens");
        assert!(client.initialize().await, "the session starts");
        let mut answers = Answers::default();
        for (id, tool) in [(1, "hold"), (2, "step")] {
            answers.sent(id);
            client.call(id, tool, json!({})).await;
        }
        client.cancel(1).await;
        for (id, tool) in [(3, "step"), (4, "hold")] {
            answers.sent(id);
            client.call(id, tool, json!({})).await;
        }
        client.cancel(4).await;
        read_until(&mut client, &mut answers, |a| {
            a.is_answered(2) && a.is_answered(3)
        })
        .await;
        assert!(
            answers.is_answered(2) && answers.is_answered(3),
            "a step went unanswered"
        );
        // A finished request's id may be used again.
        client.call(2, "step", json!({})).await;
        loop {
            let message = client.recv().await.expect("the session stays");
            if message["id"] == 2 {
                let refused = message.get("result").is_none();
                assert!(!refused, "the id of a finished request was refused: {message}");
                break;
            }
            answers.record(&message);
        }
        client.hang_up().await;
        finish(&handle, served, &running).await;
    });
}

/// **The catalog changes while clients list it; a subscription races the
/// session's end.** One session lists tools three times while the
/// operator adds and removes a tool; it subscribes to `mem://a` and hangs
/// up while the operator sends updates.
///
/// - Each `tools/list` answer is the catalog before or after a change, never
///   a mixture: the base tools, with or without `extra`.
/// - An update sent after the session ended reaches no one (the
///   subscription went with its session).
pub fn catalog_and_subscriptions_race() {
    let running = Running::new(4);
    shuttle::future::block_on(async move {
        let (dialer, handle, served) = serve(server(&running, 4));
        let operator = handle.clone();
        let swaps = tokio::spawn(async move {
            operator.add_tool(Tool::new(
                "extra",
                "added",
                json!({"type": "object"}),
                |_, _| async { Ok(ToolOutput::text("extra")) },
            ));
            tokio::task::yield_now().await;
            operator.remove_tool("extra");
            operator.resource_updated("mem://a");
        });
        let mut client = dialer.connect().await.expect("the server listens");
        assert!(client.initialize().await, "the session starts");
        let mut answers = Answers::default();
        answers.sent(9);
        client
            .request(9, "resources/subscribe", json!({"uri": "mem://a"}))
            .await;
        for id in 1..=3 {
            answers.sent(id);
            client.request(id, "tools/list", json!({})).await;
        }
        let mut lists = Vec::new();
        while answers.answered() < 4 {
            let Some(message) = client.recv().await else { break };
            if answers.record(&message).is_some_and(|id| id != 9) {
                let mut names: Vec<String> = message["result"]["tools"]
                    .as_array()
                    .expect("a tools/list answer")
                    .iter()
                    .map(|t| t["name"].as_str().unwrap().to_owned())
                    .collect();
                names.sort();
                lists.push(names);
            }
        }
        assert_eq!(answers.answered(), 4, "a request went unanswered");
        for names in lists {
            let base = ["ask", "hold", "step"];
            let with_extra = ["ask", "extra", "hold", "step"];
            assert!(names == base || names == with_extra, "a mixed catalog: {names:?}");
        }
        client.hang_up().await;
        swaps.await.unwrap();
        // Wait for the session's end, then update: no one is subscribed.
        while handle.metrics().sessions_active > 0 {
            tokio::task::yield_now().await;
        }
        let report = handle.resource_updated("mem://a");
        assert_eq!(
            report.queued + report.dropped + report.gone,
            0,
            "an update reached a session that ended: {report:?}"
        );
        finish(&handle, served, &running).await;
    });
}

/// **Shutdown races everything.** Three clients (two admitted: the cap is
/// 2 sessions) connect, each calls `hold` and `step`, while the operator
/// shuts the server down at a point the schedule chooses.
///
/// - Never more than 2 sessions; a refused client is told so and hung up on.
/// - No request is answered twice or answered for another.
/// - The serve loop returns (the grace passes when the schedule says), and
///   nothing is live, held or running afterwards.
pub fn shutdown_races_everything() {
    let running = Running::new(4);
    shuttle::future::block_on(async move {
        let (dialer, handle, served) = serve(server(&running, 2));
        let clients: Vec<_> = (0..3)
            .map(|_| {
                let dialer = dialer.clone();
                let watch = handle.clone();
                tokio::spawn(async move {
                    let Some(mut client) = dialer.connect().await else {
                        return;
                    };
                    let mut answers = Answers::default();
                    if !client.initialize().await {
                        return;
                    }
                    assert!(watch.sessions().len() <= 2, "more sessions than max_sessions");
                    for (id, tool) in [(1, "hold"), (2, "step")] {
                        answers.sent(id);
                        if !client.call(id, tool, json!({})).await {
                            return;
                        }
                    }
                    read_until(&mut client, &mut answers, |a| a.is_answered(2)).await;
                    client.hang_up().await;
                })
            })
            .collect();
        let operator = handle.clone();
        let stop = tokio::spawn(async move {
            let steps = thread_rng().gen_range(0..8);
            for _ in 0..steps {
                tokio::task::yield_now().await;
            }
            operator.shutdown();
        });
        stop.await.unwrap();
        finish(&handle, served, &running).await;
        for client in clients {
            client.await.unwrap();
        }
    });
}
