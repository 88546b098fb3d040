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
use super::http_client::{http, open_events, stateless_headers, stateless_params};
use super::workers::{Crew, WAIT};
use super::world::{Rng, ServerSide};

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

/// One 2026-07-28 request with the tasks extension declared; its answer.
async fn call(book: &mut Book, crew: &Crew, method: &str, mut params: Value) -> Option<Value> {
    params["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS: {}}}});
    let id = book.open();
    // `Mcp-Name` carries a tool's name, or a task's id for tasks/*.
    let name = params["name"]
        .as_str()
        .or(params["taskId"].as_str())
        .map(str::to_owned);
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
    for op in 0..ops {
        let ms = 50 + rng.below(1500);
        let created = call(
            &mut book,
            &crew,
            "tools/call",
            json!({"name": "work", "arguments": {"ms": ms}}),
        )
        .await;
        let Some(task) = created.and_then(|c| c["result"]["taskId"].as_str().map(str::to_owned)) else {
            continue;
        };
        if rng.below(3) == 0 {
            tokio::time::sleep(rng.millis(0, 800)).await;
            call(&mut book, &crew, "tasks/cancel", json!({"taskId": task})).await;
        }
        let mut ended: Option<String> = None;
        let mut after_end = 0;
        while after_end < 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let Some(got) = call(&mut book, &crew, "tasks/get", json!({"taskId": task})).await else {
                break;
            };
            let Some(status) = got["result"]["status"].as_str().map(str::to_owned) else {
                crew.lost(&book, format_args!("tasks/get of {task}: {got}"));
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
