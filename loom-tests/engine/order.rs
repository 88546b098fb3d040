//! **The order of one session's messages, and what the end of its input
//! still writes.** A handler's notifications are read before its answer,
//! whichever way the answer goes out: held and written through (a call
//! answered on its first poll), queued behind them, or from the call's own
//! task. And when the client ends its input or the server shuts down, what
//! was answered is still written, counted once as sent and never as
//! dropped (README: "answers already queued are still written").

use mcp_server_core::{Server, ServerHandle, ShutdownReport, Tool, ToolOutput};
use serde_json::{Value, json};
use shuttle::rand::{Rng, thread_rng};

use super::{Answers, Running, assert_drained, config, serve};

/// `report`: one progress notification, then answers on its first poll.
/// `steps`: a progress notification per step, yielding between them.
/// `halt`: shuts the server down and answers on its first poll. The
/// outbox has room for every message of a scenario: what is checked is
/// their order, not the backpressure of a full one.
fn server(running: &Running) -> Server {
    let (r1, r2) = (running.clone(), running.clone());
    Server::builder()
        .config(config().outbox_capacity(64))
        .tool(Tool::new(
            "report",
            "reports once",
            json!({"type": "object"}),
            move |_, ctx| {
                let slot = r1.enter();
                async move {
                    let _ = ctx.progress(1.0, None, None);
                    drop(slot);
                    Ok(ToolOutput::text("reported"))
                }
            },
        ))
        .tool(Tool::new(
            "halt",
            "shuts the server down",
            json!({"type": "object"}),
            |_, ctx| {
                ctx.server().shutdown();
                async { Ok(ToolOutput::text("halting")) }
            },
        ))
        .tool(Tool::new(
            "steps",
            "reports each step",
            json!({"type": "object"}),
            move |_, ctx| {
                let slot = r2.enter();
                async move {
                    for step in 1..=STEPS {
                        let _ = ctx.progress(f64::from(step), None, None);
                        tokio::task::yield_now().await;
                    }
                    drop(slot);
                    Ok(ToolOutput::text("stepped"))
                }
            },
        ))
        .build()
}

const STEPS: u32 = 3;

/// `tools/call` of `tool` as request `id`, asking for progress.
fn call(id: u64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": {}, "_meta": {"progressToken": id}}})
}

/// What one client read, checked as it reads: every progress notification
/// comes before its request's answer, in order, and each answer comes
/// after all of its request's notifications.
#[derive(Default)]
struct Reader {
    answers: Answers,
    /// (request, progress notifications read for it so far).
    progress: Vec<(u64, u32)>,
    /// Every message read, the `initialize` answer included.
    read: u64,
}

impl Reader {
    /// Notifications each request sends before its answer.
    fn expected(tool: &str) -> u32 {
        match tool {
            "report" => 1,
            "steps" => STEPS,
            _ => 0,
        }
    }

    fn sent(&mut self, id: u64) {
        self.answers.sent(id);
        self.progress.push((id, 0));
    }

    fn seen(&self, id: u64) -> u32 {
        self.progress
            .iter()
            .find(|(r, _)| *r == id)
            .map_or(0, |(_, n)| *n)
    }

    /// Checks one message; `tools` names each request's tool.
    fn read(&mut self, message: &Value, tools: &[(u64, &str)]) {
        self.read += 1;
        let tool_of = |id: u64| tools.iter().find(|(r, _)| *r == id).map(|(_, t)| *t);
        if message["method"] == "notifications/progress" {
            let id = message["params"]["progressToken"]
                .as_u64()
                .expect("a token we gave");
            assert!(
                !self.answers.is_answered(id),
                "progress after its answer: {message}"
            );
            let entry = self
                .progress
                .iter_mut()
                .find(|(r, _)| *r == id)
                .expect("a request we sent");
            entry.1 += 1;
            assert_eq!(
                message["params"]["progress"],
                f64::from(entry.1),
                "progress out of order"
            );
        } else if let Some(id) = self.answers.record(message)
            && let Some(tool) = tool_of(id)
            && message.get("result").is_some()
        {
            let (seen, expected) = (self.seen(id), Self::expected(tool));
            assert_eq!(
                seen, expected,
                "request {id} ({tool}) answered after {seen} of its {expected} notifications"
            );
        }
    }
}

/// Shuts the server down once the client has read to the end, and checks
/// the drain and its report; that every request read was answered or
/// counted as cancelled; then that everything written was read, once, and
/// nothing queued for the client was dropped.
async fn finish(
    handle: &ServerHandle,
    served: tokio::task::JoinHandle<ShutdownReport>,
    running: &Running,
    reader: &Reader,
) {
    handle.shutdown();
    let report = served.await.expect("the serve loop returns");
    assert_drained(handle, config().max_sessions);
    running.assert_all_ended();
    assert_eq!(
        (report.sessions_closed, report.sessions_aborted),
        (1, 0),
        "one session, closed: {report:?}"
    );
    let m = handle.metrics();
    // Every request the server read (the `initialize` aside) was answered
    // or counted as cancelled, and not both.
    let answered = reader.answers.answered() as u64;
    assert_eq!(
        m.requests_total - 1,
        answered + m.requests_cancelled,
        "{answered} answered, the rest not counted as cancelled: {m:?}"
    );
    assert_eq!(
        m.messages_sent, reader.read,
        "counted as sent, but the client read {}: {m:?}",
        reader.read
    );
    assert_eq!(
        m.messages_dropped, 0,
        "a message queued for the client was dropped: {m:?}"
    );
}

/// **A handler's notifications come before its answer.** One session
/// sends `report`, `steps`, `report` and `ping` in one write (so answers
/// are held and written through), then `steps`, and `ping` followed by a
/// blank line (its answer held for a line that does not come),
/// while the operator changes the catalog (its notifications queue ahead
/// of answers at points the schedule chooses). The client then ends its
/// input and reads to the end.
///
/// - Each progress notification is read before its answer, in order; each
///   answer after all of its request's notifications.
/// - Every request is answered once (each finished before the input ended).
/// - Everything counted as sent was read; nothing was dropped.
///
/// Known-bad variant `answer_overtakes_notification` (an answer held while
/// notifications are queued, so written ahead of them) fails the first.
pub fn answers_follow_their_notifications() {
    // Two calls in their own tasks (the cap), and one answered at once.
    let running = Running::new(3);
    shuttle::future::block_on(async move {
        let (dialer, handle, served) = serve(server(&running));
        let operator = handle.clone();
        let changes = tokio::spawn(async move {
            for _ in 0..thread_rng().gen_range(0..4) {
                tokio::task::yield_now().await;
            }
            operator.add_tool(Tool::new(
                "extra",
                "added",
                json!({"type": "object"}),
                |_, _| async { Ok(ToolOutput::text("extra")) },
            ));
            operator.remove_tool("extra");
        });
        let mut client = dialer.connect().await.expect("the server listens");
        assert!(client.initialize().await, "the session starts");
        let mut reader = Reader {
            read: 1,
            ..Reader::default()
        };
        let tools = [
            (1, "report"),
            (2, "steps"),
            (3, "report"),
            (4, "ping"),
            (5, "steps"),
            (6, "ping"),
        ];
        for (id, _) in tools {
            reader.sent(id);
        }
        let ping = json!({"jsonrpc": "2.0", "id": 4, "method": "ping"});
        client
            .send_all(&[call(1, "report"), call(2, "steps"), call(3, "report"), ping])
            .await;
        while reader.answers.answered() < 4 {
            let message = client.recv().await.expect("the session stays");
            reader.read(&message, &tools);
        }
        client.send(call(5, "steps")).await;
        while reader.answers.answered() < 5 {
            let message = client.recv().await.expect("the session stays");
            reader.read(&message, &tools);
        }
        changes.await.unwrap();
        // Alone, then a blank line: the answer (no notification before it)
        // is held for a next line that does not come, and must go out all
        // the same.
        let ping = json!({"jsonrpc": "2.0", "id": 6, "method": "ping"});
        client.send_raw(&format!("{ping}\n\n")).await;
        while reader.answers.answered() < tools.len() {
            let message = client.recv().await.expect("the session stays");
            reader.read(&message, &tools);
        }
        client.end_input().await;
        while let Some(message) = client.recv().await {
            reader.read(&message, &tools);
        }
        finish(&handle, served, &running, &reader).await;
    });
}

/// **The end of input, or shutdown, writes what was answered.** One
/// session sends `steps`, `report`, then `report` or `halt`, and `steps`,
/// in one write. The session ends in one of three ways the schedule picks:
/// the client ends its input in the same write; the operator shuts the
/// server down at some point; or `halt` does, from inside the batch, so
/// that the session sees shutdown with answers held for lines read
/// together. The client reads to the end. A `steps` still running at the
/// end is cancelled.
///
/// - Nothing is answered twice; a notification never follows its answer.
/// - Everything counted as sent was read; nothing was dropped.
/// - Both calls answered at once (`report` and `report` or `halt`) are
///   answered, unless the operator's shutdown came before they were read.
///
/// Known-bad variants: `held_answers_not_flushed` (answers held when the
/// session ends are let go instead of written) and
/// `answer_dropped_at_session_end` (a call that finished as its session
/// ended drops its answer beside an outbox with room) fail the second.
pub fn session_end_writes_what_was_answered() {
    // Two calls in their own tasks (the cap), and one answered at once.
    let running = Running::new(3);
    shuttle::future::block_on(async move {
        let (dialer, handle, served) = serve(server(&running));
        let mut client = dialer.connect().await.expect("the server listens");
        assert!(client.initialize().await, "the session starts");
        let mut reader = Reader {
            read: 1,
            ..Reader::default()
        };
        let ending = thread_rng().gen_range(0..3);
        let third = if ending == 2 { "halt" } else { "report" };
        let tools = [(1, "steps"), (2, "report"), (3, third), (4, "steps")];
        let calls: Vec<Value> = tools.iter().map(|(id, tool)| call(*id, tool)).collect();
        for (id, _) in tools {
            reader.sent(id);
        }
        client.send_all(&calls).await;
        let operator = handle.clone();
        let stop = tokio::spawn(async move {
            if ending == 1 {
                for _ in 0..thread_rng().gen_range(0..6) {
                    tokio::task::yield_now().await;
                }
                operator.shutdown();
            }
        });
        if ending == 0 {
            client.end_input().await;
        }
        while let Some(message) = client.recv().await {
            reader.read(&message, &tools);
        }
        assert!(
            ending == 1 || (reader.answers.is_answered(2) && reader.answers.is_answered(3)),
            "a request answered at once went unwritten when the session ended"
        );
        stop.await.unwrap();
        finish(&handle, served, &running, &reader).await;
    });
}
