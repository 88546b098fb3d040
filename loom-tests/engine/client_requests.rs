//! **Calls waiting on the client** (`elicitation/create` from a tool):
//! at the in-flight cap, and racing the session's end and their own
//! deadline. The tools and the helpers are the scenarios' (`scenarios.rs`).

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use serde_json::{Value, json};
use shuttle::rand::{Rng, thread_rng};
use shuttle::sync::Arc;
use shuttle::sync::atomic::AtomicBool;

use super::scenarios::{finish, read_until, server, with_tools};
use super::{Answers, Running, config, serve};

/// **Calls waiting on the client at the in-flight cap.** With a cap of 1,
/// one session sends `ask`, `ask` and `step`; the client answers neither
/// question until it has both, in an order the schedule picks. Calls
/// waiting on the client do not count against the cap (README), so the
/// session reads the second `ask` and the `step` while the first waits,
/// and the client's answers behind them.
///
/// - Both questions arrive before either is answered (else: deadlock).
/// - Every call is answered once; each `ask` with the client's answer.
///
/// Known-bad variant `client_waits_count_against_cap` deadlocks.
pub fn client_requests_at_the_cap() {
    // One call counted by the cap, and the two waiting on the client.
    let running = Running::new(3);
    shuttle::future::block_on(async move {
        let (dialer, handle, served) = serve(server(&running, 1));
        let mut client = dialer.connect().await.expect("the server listens");
        assert!(client.initialize().await, "the session starts");
        let mut answers = Answers::default();
        for (id, tool) in [(1, "ask"), (2, "ask"), (3, "step")] {
            answers.sent(id);
            client.call(id, tool, json!({})).await;
        }
        let mut questions = Vec::new();
        while questions.len() < 2 {
            let message = client.recv().await.expect("the session stays");
            if message["method"] == "elicitation/create" {
                questions.push(message["id"].clone());
            } else {
                answers.record(&message);
            }
        }
        if thread_rng().gen_bool(0.5) {
            questions.reverse();
        }
        for question in questions {
            let reply = json!({"jsonrpc": "2.0", "id": question,
                "result": {"action": "accept", "content": {}}});
            client.send(reply).await;
        }
        let others = read_until(&mut client, &mut answers, |a| a.answered() == 3).await;
        assert!(others.is_empty(), "unexpected messages: {others:?}");
        assert_eq!(answers.answered(), 3, "a call went unanswered");
        client.hang_up().await;
        finish(&handle, served, &running).await;
    });
}

/// **A call waiting on the client races the session's end, and its own
/// deadline.** `ask` sends `elicitation/create`; the client answers it,
/// hangs up, or the server shuts down, or the client stays silent until
/// the client-request timeout (10 s here, the call's own 300 s) passes on
/// the model clock (in steps of 10 s) and then answers late, as the
/// schedule chooses.
///
/// - The waiting handler always ends: answered, failed or dropped (a
///   waiter left hanging shows as a deadlock, or as a handler never ended).
/// - The call is answered at most once, and exactly once when the client
///   answered and stayed, or when it timed out (then with `false`: the
///   elicitation failed).
/// - An answer after the timeout is ignored and counted as unmatched.
/// - Nothing stays registered after the drain.
pub fn client_request_races_session_end() {
    let running = Running::new(2);
    shuttle::future::block_on(async move {
        let config = config()
            .client_request_timeout(Duration::from_secs(10))
            .request_timeout(Duration::from_secs(300));
        let (dialer, handle, served) = serve(with_tools(&running, config));
        let mut client = dialer.connect().await.expect("the server listens");
        assert!(client.initialize().await, "the session starts");
        let mut answers = Answers::default();
        answers.sent(1);
        client.call(1, "ask", json!({})).await;
        let choice = thread_rng().gen_range(0..4);
        let shutter = handle.clone();
        let early = tokio::spawn(async move {
            if choice == 2 {
                shutter.shutdown();
            }
        });
        let question = loop {
            match client.recv().await {
                Some(message) if message["method"] == "elicitation/create" => break Some(message),
                Some(message) => assert!(answers.record(&message).is_none(), "answered before asking"),
                None => break None,
            }
        };
        let accept = |question: &Value| {
            json!({"jsonrpc": "2.0", "id": question["id"],
                "result": {"action": "accept", "content": {}}})
        };
        match (choice, question) {
            (0, Some(question)) => {
                client.send(accept(&question)).await;
                read_until(&mut client, &mut answers, |a| a.is_answered(1)).await;
                assert!(
                    answers.is_answered(1),
                    "the client answered and stayed, but the call went unanswered"
                );
                client.hang_up().await;
            }
            (3, Some(question)) => {
                // Time passes in steps of the client-request timeout (the
                // handler may start its wait after a step: the question
                // can reach the client first), never as far as the call's
                // own 300 s.
                let answered = Arc::new(AtomicBool::new(false));
                let seen = Arc::clone(&answered);
                let clock = tokio::spawn(async move {
                    for _ in 0..8 {
                        if seen.load(SeqCst) {
                            break;
                        }
                        mcp_server_core::sync::advance_model_clock(10_001);
                        tokio::task::yield_now().await;
                    }
                });
                let mut texts = Vec::new();
                while !answers.is_answered(1) {
                    let message = client.recv().await.expect("the session stays");
                    if answers.record(&message).is_some() {
                        texts.push(message["result"]["content"][0]["text"].clone());
                    }
                }
                answered.store(true, SeqCst);
                clock.await.unwrap();
                assert_eq!(
                    texts,
                    [json!("false")],
                    "the timed-out elicitation did not fail the call"
                );
                client.send(accept(&question)).await;
                answers.sent(2);
                client.request(2, "ping", json!({})).await;
                read_until(&mut client, &mut answers, |a| a.is_answered(2)).await;
                assert_eq!(
                    handle.metrics().responses_unmatched,
                    1,
                    "the late answer went uncounted"
                );
                client.hang_up().await;
            }
            (_, _) => client.hang_up().await,
        }
        early.await.unwrap();
        finish(&handle, served, &running).await;
    });
}
