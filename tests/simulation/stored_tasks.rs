//! Tasks kept in the replicas' shared store while one replica crashes
//! (the scenario of `stored.rs`): a 2026-07-28 client makes tasks of
//! `work` on either replica, cancels some, and polls each on either
//! replica past its end.
//!
//! What must hold: a task the client was told of is found on either
//! replica until its TTL has passed (it is in the store before the client
//! hears of it); its first terminal status never changes; it fails only if
//! its own replica crashed (its lease lapsed: the replica running it
//! stopped), is cancelled only if the client cancelled it, and else
//! completes with its own result; and it is shown ended within its TTL,
//! even when its replica crashed (unless a poll of it was lost).
//! The store's records and the tasks' leases lapse in simulated time (the
//! simulation's wall clock, `world::sim`).

#![allow(unreachable_pub)]

use serde_json::{Value, json};
use tokio::time::Instant;

use super::clients::{Book, request};
use super::http_client::{http_at, mcp_name, stateless_headers, stateless_params};
use super::stored::Board;
use super::workers::{Crew, WAIT};
use super::world::{Rng, config};

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// One 2026-07-28 request to `host`, declaring the tasks extension: its
/// answer; `None` if it had none (lost: allowed only if a replica crashed
/// meanwhile).
async fn call(book: &mut Book, board: &Board, host: &str, method: &str, mut params: Value) -> Option<Value> {
    params["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS: {}}}});
    let id = book.open();
    let crashes = board.crashes.get();
    let name = mcp_name(&params);
    let headers = stateless_headers(method, name.as_deref());
    let body = request(&id, method, stateless_params(params));
    let answer = match tokio::time::timeout(WAIT, http_at(host, "POST", &headers, Some(&body))).await {
        Ok(Ok(reply)) => reply.messages.into_iter().find(|m| m["id"] == id.as_str()),
        Ok(Err(e)) => {
            board.lost(book, crashes, &id, format_args!("{method} on {host}: {e}"));
            return None;
        }
        Err(_) => {
            board.lost(
                book,
                crashes,
                &id,
                format_args!("{method} on {host}: no answer in time"),
            );
            return None;
        }
    };
    if let Some(answer) = &answer {
        book.answer(answer);
    } else {
        board.lost(
            book,
            crashes,
            &id,
            format_args!("{method} on {host} with no answer"),
        );
    }
    answer
}

/// What the client has seen of one task.
struct Seen {
    /// Its number, naming it in the trace (its id is the server's random
    /// choice).
    op: usize,
    ms: u64,
    /// The replica it runs on.
    host: &'static str,
    /// Crashes so far when it was asked for.
    crashes: u32,
    cancelled: bool,
    /// A poll of it went unanswered (a replica went down meanwhile).
    missed: bool,
    ended: Option<String>,
}

impl Seen {
    /// Checks the task as `tasks/get` shows it; true once it has shown
    /// its end three times.
    fn check(&mut self, board: &Board, book: &Book, task: &Value, after_end: &mut u32) -> bool {
        let status = task["status"].as_str().unwrap_or("?").to_owned();
        let op = self.op;
        if let Some(first) = &self.ended {
            if *first != status {
                book.violation(format_args!("task {op} ended {first}, then was {status}: {task}"));
            }
            *after_end += 1;
            return *after_end >= 3;
        }
        let crashed = board.crashes.get() > self.crashes && board.fell(self.host);
        let ok = match status.as_str() {
            "working" => return false,
            "completed" => task["result"]["content"][0]["text"] == format!("worked {} ms", self.ms).as_str(),
            "cancelled" => self.cancelled,
            // Its lease lapsed: only if its replica crashed.
            "failed" => crashed,
            _ => false,
        };
        if !ok {
            book.violation(format_args!("task {op} shown {status}: {task}"));
        }
        book.note(format_args!("task {op} {status}"));
        self.ended = Some(status);
        false
    }
}

/// Polls task `task` on either replica until it has shown its end three
/// times, it is gone past its TTL (`expires`), or its TTL and a wait have
/// passed.
async fn watch(seen: &mut Seen, book: &mut Book, board: &Board, rng: &mut Rng, task: &str, expires: Instant) {
    let op = seen.op;
    let mut after_end = 0;
    while Instant::now() < expires + WAIT {
        tokio::time::sleep(rng.millis(80, 200)).await;
        let at = board.pick(rng);
        let Some(got) = call(book, board, at, "tasks/get", json!({"taskId": task})).await else {
            seen.missed = true;
            continue;
        };
        if got.get("result").is_none() {
            match (got["error"]["code"].as_i64(), Instant::now() >= expires) {
                (Some(-32602), true) => book.note(format_args!("task {op} expired")),
                _ => book.violation(format_args!("tasks/get of task {op} on {at}: {got}")),
            }
            return;
        }
        if seen.check(board, book, &got["result"], &mut after_end) {
            return;
        }
    }
}

/// Makes `ops` tasks of `work` (0.2 to 1.5 s), each on either replica,
/// cancels a quarter of them after a moment, and polls each on either
/// replica past its end.
pub async fn stored_task_worker(
    crew: Crew,
    board: Board,
    who: String,
    mut rng: Rng,
    ops: usize,
) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    for op in 0..ops {
        tokio::time::sleep(rng.millis(0, 300)).await;
        let ms = 200 + rng.below(1300);
        let host = board.pick(&mut rng);
        let crashes = board.crashes.get();
        // The task is kept for its TTL from its creation, which came after
        // this request was sent; it may be gone from then on, never before.
        let expires = Instant::now() + config().task_ttl;
        let work = json!({"name": "work", "arguments": {"ms": ms}});
        let Some(created) = call(&mut book, &board, host, "tools/call", work).await else {
            continue;
        };
        let Some(task) = created["result"]["taskId"].as_str().map(str::to_owned) else {
            book.violation(format_args!("task {op}: no task made: {created}"));
            continue;
        };
        let mut seen = Seen {
            op,
            ms,
            host,
            crashes,
            cancelled: false,
            missed: false,
            ended: None,
        };
        if rng.below(4) == 0 {
            tokio::time::sleep(rng.millis(0, 600)).await;
            let at = board.pick(&mut rng);
            // Sent is enough: a cancel whose answer was lost may still act.
            seen.cancelled = true;
            call(&mut book, &board, at, "tasks/cancel", json!({"taskId": task})).await;
        }
        watch(&mut seen, &mut book, &board, &mut rng, &task, expires).await;
        // Even on a replica that crashed: it is shown failed once its
        // lease lapses, well within its TTL.
        if seen.ended.is_none() && !seen.missed {
            book.violation(format_args!("task {op} never ended, its TTL passed"));
        }
    }
    book.note("done");
    crew.leave();
    Ok(())
}
