//! The 2026-07-28 additions under the simulation: listen streams that must
//! hear exactly what they asked for (an operator publishes a seeded mix of
//! notifications), and task clients whose tasks must end once (polled past
//! their end, a terminal status never changes; cancels race completion).

#![allow(unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use mcp_server_core::Notification;
use serde_json::{Value, json};

use super::clients::{Book, request};
use super::http_client::{http, mcp_name, open_events, stateless_headers, stateless_params};
use super::workers::{Crew, WAIT};
use super::world::{Rng, ServerSide, config};

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// What the operator has published: the rounds, once it is done.
#[derive(Clone, Default)]
pub struct Board {
    /// Listen streams acknowledged so far.
    pub ready: Rc<Cell<usize>>,
    /// `Some(rounds)` once every round is out.
    pub published: Rc<Cell<Option<usize>>>,
}

/// Waits for `listeners` streams, then publishes `rounds` rounds of: the
/// tool list changed, `a://x` and `a://other` updated, a log message (for
/// sessions, never for listen streams).
pub async fn publisher(
    board: Board,
    side: Rc<RefCell<ServerSide>>,
    mut rng: Rng,
    listeners: usize,
    rounds: usize,
) -> turmoil::Result {
    while board.ready.get() < listeners {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..rounds {
        tokio::time::sleep(rng.millis(10, 300)).await;
        let handle = side.borrow().handle.clone().expect("the server is up");
        handle.broadcast(&Notification::new("notifications/tools/list_changed", None));
        for uri in ["a://x", "a://other"] {
            handle.broadcast(&Notification::new(
                "notifications/resources/updated",
                Some(json!({"uri": uri})),
            ));
        }
        handle.broadcast(&Notification::log("info", None, json!("for sessions only")));
    }
    board.published.set(Some(rounds));
    Ok(())
}

/// A listen stream asking for the tool list (`tools`) and `uris`: it must
/// hear nothing else, and (when no fault strikes) every round of each.
pub async fn listener(
    crew: Crew,
    board: Board,
    who: String,
    tools: bool,
    uris: Vec<&'static str>,
) -> turmoil::Result {
    crew.enlist();
    let book = Book::new(&who, crew.ledger.clone());
    let wanted = json!({"notifications": {"toolsListChanged": tools, "resourceSubscriptions": uris}});
    let body = request("listen", "subscriptions/listen", stateless_params(wanted));
    let mut stream = open_events(&stateless_headers("subscriptions/listen", None), &body).await?;
    if stream.status != 200 {
        book.violation(format_args!("the listen request was answered {}", stream.status));
    }
    let ack = stream.next().await?.unwrap_or_default();
    if ack["method"] != "notifications/subscriptions/acknowledged" {
        book.violation(format_args!("the first event was not the acknowledgement: {ack}"));
    }
    board.ready.set(board.ready.get() + 1);
    let (mut heard_tools, mut heard_uris) = (0, 0);
    let mut idle_since_done = Duration::ZERO;
    loop {
        if let Some(rounds) = board.published.get() {
            let want_uris = rounds * uris.iter().filter(|u| **u == "a://x").count();
            let want_tools = if tools { rounds } else { 0 };
            if heard_tools == want_tools && heard_uris == want_uris {
                break;
            }
            if idle_since_done >= WAIT {
                crew.lost(
                    &book,
                    format_args!(
                        "heard {heard_tools}/{want_tools} tool lists, {heard_uris}/{want_uris} updates"
                    ),
                );
                break;
            }
        }
        let message = match tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
            Err(_) => {
                if board.published.get().is_some() {
                    idle_since_done += Duration::from_millis(500);
                }
                continue;
            }
            Ok(Ok(Some(message))) => message,
            Ok(Ok(None)) | Ok(Err(_)) => {
                crew.lost(&book, "the listen stream ended");
                break;
            }
        };
        match message["method"].as_str() {
            Some("notifications/tools/list_changed") if tools => heard_tools += 1,
            Some("notifications/resources/updated")
                if uris.contains(&message["params"]["uri"].as_str().unwrap_or("")) =>
            {
                heard_uris += 1;
            }
            _ => book.violation(format_args!("heard what it did not ask for: {message}")),
        }
    }
    book.note(format_args!(
        "heard {heard_tools} tool lists, {heard_uris} updates"
    ));
    drop(stream);
    crew.leave();
    Ok(())
}

/// One 2026-07-28 request declaring `capabilities`; its answer.
async fn call(
    book: &mut Book,
    crew: &Crew,
    method: &str,
    mut params: Value,
    capabilities: &Value,
) -> Option<Value> {
    params["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities": capabilities});
    let id = book.open();
    let name = mcp_name(&params);
    let headers = stateless_headers(method, name.as_deref());
    let body = request(&id, method, stateless_params(params));
    match tokio::time::timeout(WAIT, http("POST", &headers, Some(&body))).await {
        Ok(Ok(reply)) => {
            let answer = reply.messages.into_iter().find(|m| m["id"] == id.as_str());
            match &answer {
                Some(answer) => {
                    book.answer(answer);
                }
                None => {
                    book.abandon(&id);
                    crew.lost(book, format_args!("{} without an answer to {id}", reply.status));
                }
            }
            answer
        }
        Ok(Err(e)) => {
            book.abandon(&id);
            crew.lost(book, e);
            None
        }
        Err(_) => {
            book.abandon(&id);
            crew.lost(book, format_args!("no answer to {id} in time"));
            None
        }
    }
}

/// Makes `ops` tasks of `work`, cancels a third of them after a moment,
/// and polls each past its end: its first terminal status must stay.
pub async fn task_worker(crew: Crew, who: String, mut rng: Rng, ops: usize) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let caps = json!({"extensions": {TASKS: {}}});
    for op in 0..ops {
        let ms = 50 + rng.below(1500);
        // The task is kept for its TTL from its creation, which came after
        // this request was sent; it may be gone from then on, never before.
        let expires = tokio::time::Instant::now() + config().task_ttl;
        let created = call(
            &mut book,
            &crew,
            "tools/call",
            json!({"name": "work", "arguments": {"ms": ms}}),
            &caps,
        )
        .await;
        let Some(task) = created.and_then(|c| c["result"]["taskId"].as_str().map(str::to_owned)) else {
            continue;
        };
        if rng.below(3) == 0 {
            tokio::time::sleep(rng.millis(0, 800)).await;
            call(&mut book, &crew, "tasks/cancel", json!({"taskId": task}), &caps).await;
        }
        let mut ended: Option<String> = None;
        let mut after_end = 0;
        while after_end < 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Some(got) = call(&mut book, &crew, "tasks/get", json!({"taskId": task}), &caps).await else {
                break;
            };
            let Some(status) = got["result"]["status"].as_str().map(str::to_owned) else {
                let unknown = got["error"]["code"] == -32602;
                if unknown && tokio::time::Instant::now() >= expires {
                    book.note(format_args!("task {op} expired"));
                } else {
                    crew.lost(&book, format_args!("tasks/get of task {op}: {got}"));
                }
                break;
            };
            match &ended {
                Some(first) if *first != status => {
                    book.violation(format_args!(
                        "task {op} ({task}) ended {first}, then was {status}"
                    ));
                }
                Some(_) => after_end += 1,
                None if ["completed", "cancelled", "failed"].contains(&status.as_str()) => {
                    // The task's id is the server's random choice: the trace
                    // names the task by its number, so that a seed replays.
                    book.note(format_args!("task {op} {status}"));
                    ended = Some(status);
                }
                None => {}
            }
        }
    }
    book.note("done");
    crew.leave();
    Ok(())
}

/// `ops` `input_required` rounds of `confirm` (2026-07-28): round one must
/// ask one elicitation and hand back a `requestState`; round two brings the
/// answer the worker picked (yes, no, or declined) with that state, and
/// must be answered from that answer, never from another round's.
pub async fn input_worker(crew: Crew, who: String, mut rng: Rng, ops: usize) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let caps = json!({"elicitation": {}});
    for op in 0..ops {
        tokio::time::sleep(rng.millis(0, 200)).await;
        let question = format!("{who} {op}?");
        let ask = json!({"name": "confirm", "arguments": {"question": question}});
        let Some(round1) = call(&mut book, &crew, "tools/call", ask.clone(), &caps).await else {
            continue;
        };
        let result = &round1["result"];
        let requests = result["inputRequests"].as_object();
        let Some((key, asked)) = requests.and_then(|r| r.iter().next()) else {
            book.violation(format_args!("round one of {op} asked nothing: {round1}"));
            continue;
        };
        if result["resultType"] != "input_required"
            || requests.map_or(0, serde_json::Map::len) != 1
            || asked["method"] != "elicitation/create"
            || asked["params"]["message"] != question.as_str()
            || !result["requestState"].is_string()
        {
            book.violation(format_args!("round one of {op} is not one question: {round1}"));
            continue;
        }
        let (response, expected) = match rng.below(3) {
            0 => (json!({"action": "accept", "content": {"yes": true}}), "yes"),
            1 => (json!({"action": "accept", "content": {"yes": false}}), "no"),
            _ => (json!({"action": "decline"}), "declined"),
        };
        let mut retry = ask;
        retry["requestState"] = result["requestState"].clone();
        retry["inputResponses"] = json!({key.as_str(): response});
        let Some(round2) = call(&mut book, &crew, "tools/call", retry, &caps).await else {
            continue;
        };
        let text = &round2["result"]["content"][0]["text"];
        if round2["result"]["resultType"] != "complete" || text != expected {
            book.violation(format_args!("round two of {op} answered {expected}: {round2}"));
        } else {
            book.note(format_args!("round {op} {expected}"));
        }
    }
    book.note("done");
    crew.leave();
    Ok(())
}
