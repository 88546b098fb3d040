//! What the simulated clients do: a 2025 line session, a 2025 HTTP session
//! and a 2026-07-28 stateless client, each a seeded mix of calls (echo,
//! sleeps with progress, cancellations, pings, crashes mid-request).
//!
//! A worker told there are no faults (`faults: false`) must get every
//! answer: a timeout or a lost connection is then a violation. With
//! faults, losing an answer is allowed; getting a wrong or second one never.

#![allow(unreachable_pub)]

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};

use super::clients::{Book, Line, initialize_params, request};
use super::http_client::{http, http_at, stateless_headers, stateless_params};
use super::world::{Rng, SERVER, Shared};

/// How long a worker waits for one answer.
pub const WAIT: Duration = Duration::from_secs(10);

/// How the workers of one run are told apart and counted.
#[derive(Clone)]
pub struct Crew {
    pub ledger: Shared,
    /// Workers still running.
    pub running: Rc<Cell<usize>>,
    /// Set when the server is gone for good (shutdown): workers stop.
    pub stop: Rc<Cell<bool>>,
    pub faults: bool,
    /// Answers sent to questions the server had already given up on.
    pub late_answers: Rc<Cell<u64>>,
}

impl Crew {
    pub fn new(ledger: Shared, faults: bool) -> Self {
        Self {
            ledger,
            running: Rc::new(Cell::new(0)),
            stop: Rc::new(Cell::new(false)),
            faults,
            late_answers: Rc::new(Cell::new(0)),
        }
    }

    pub fn enlist(&self) {
        self.running.set(self.running.get() + 1);
    }

    pub fn leave(&self) {
        self.running.set(self.running.get() - 1);
    }

    /// Records `what` went wrong: a violation without faults.
    pub fn lost(&self, book: &Book, what: impl std::fmt::Display) {
        if self.faults {
            book.note(format_args!("lost: {what}"));
        } else {
            book.violation(format_args!("lost with no fault injected: {what}"));
        }
    }
}

/// One call: `(method, params)` picked by `rng`, and whether to cancel it.
fn pick(rng: &mut Rng, stateless: bool) -> (&'static str, Value, bool) {
    let meta = |p: Value| if stateless { stateless_params(p) } else { p };
    match rng.below(10) {
        0..=4 => {
            let text = format!("t{}", rng.below(1000));
            (
                "tools/call",
                meta(json!({"name": "echo", "arguments": {"text": text}})),
                false,
            )
        }
        5..=6 => {
            let ms = rng.below(300);
            let params = json!({"name": "sleep", "arguments": {"ms": ms}, "_meta": {"progressToken": 1}});
            ("tools/call", meta(params), false)
        }
        7 => (
            "tools/call",
            meta(json!({"name": "sleep", "arguments": {"ms": 5000}})),
            true,
        ),
        _ if stateless => ("tools/list", meta(json!({})), false),
        _ => ("ping", json!({}), false),
    }
}

/// A 2025 session over TCP making `ops` calls; a lost connection is
/// dropped and the next call starts a new session.
pub async fn line_worker(crew: Crew, who: String, mut rng: Rng, ops: usize) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let mut line: Option<Line> = None;
    for _ in 0..ops {
        tokio::time::sleep(rng.millis(0, 50)).await;
        if crew.stop.get() {
            break;
        }
        let session = match line.as_mut() {
            Some(session) => session,
            None => match Line::session(&mut book, WAIT).await {
                Ok(session) => line.insert(session),
                Err(e) => {
                    crew.lost(&book, format_args!("initialize: {e}"));
                    tokio::time::sleep(rng.millis(100, 1000)).await;
                    continue;
                }
            },
        };
        if rng.below(25) == 0 {
            // A client that crashes mid-request: half a line or a whole
            // request, then its connection is gone.
            let id = book.open();
            let message = request(
                &id,
                "tools/call",
                json!({"name": "sleep", "arguments": {"ms": 200}}),
            );
            let _ = if rng.below(2) == 0 {
                session.send_half(&message).await
            } else {
                session.send(&message).await
            };
            book.abandon(&id);
            book.note("crash");
            line = None;
            continue;
        }
        let (method, params, cancel) = pick(&mut rng, false);
        let id = book.open();
        let outcome = match session.send(&request(&id, method, params)).await {
            Err(e) => Err(e),
            Ok(()) if cancel => cancel_line(session, &mut book, &id, &mut rng).await,
            Ok(()) => session.answer_to(&mut book, &id, WAIT).await.map(drop),
        };
        if let Err(e) = outcome {
            book.abandon(&id);
            crew.lost(&book, e);
            line = None;
        }
    }
    book.note("done");
    crew.leave();
    Ok(())
}

/// Cancels `id` after a moment; its answer may come once or not at all.
async fn cancel_line(session: &mut Line, book: &mut Book, id: &str, rng: &mut Rng) -> io::Result<()> {
    tokio::time::sleep(rng.millis(0, 100)).await;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id}});
    session.send(&note).await?;
    book.abandon(id);
    // A ping after the cancel: its answer comes after any answer the
    // cancelled call still had on its way.
    let ping = book.open();
    session.send(&request(&ping, "ping", json!({}))).await?;
    session.answer_to(book, &ping, WAIT).await.map(drop)
}

/// A 2025 session over HTTP making `ops` calls; a 404 (the session expired
/// while the client was cut off) starts a new one.
pub async fn http_worker(crew: Crew, who: String, mut rng: Rng, ops: usize) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let mut session: Option<String> = None;
    for _ in 0..ops {
        tokio::time::sleep(rng.millis(0, 50)).await;
        if crew.stop.get() {
            break;
        }
        let sid = match &session {
            Some(sid) => sid.clone(),
            None => match http_initialize(&mut book).await {
                Ok(sid) => session.insert(sid).clone(),
                Err(e) => {
                    crew.lost(&book, format_args!("initialize: {e}"));
                    tokio::time::sleep(rng.millis(100, 1000)).await;
                    continue;
                }
            },
        };
        let (method, params, cancel) = pick(&mut rng, false);
        let id = book.open();
        let headers = [
            ("mcp-session-id", sid.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        let body = request(&id, method, params);
        let post = http("POST", &headers, Some(&body));
        let reply = if cancel {
            // Cancelled after a moment by a notification on a POST of its own.
            let mut post = Box::pin(post);
            match tokio::time::timeout(rng.millis(0, 100), &mut post).await {
                Ok(reply) => Ok(reply),
                Err(_) => {
                    let note = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                      "params": {"requestId": id}});
                    let _ = tokio::time::timeout(WAIT, http("POST", &headers, Some(&note))).await;
                    book.abandon(&id);
                    tokio::time::timeout(WAIT, post).await
                }
            }
        } else {
            tokio::time::timeout(WAIT, post).await
        };
        match reply {
            Ok(Ok(reply)) if reply.status == 404 => {
                book.abandon(&id);
                crew.lost(&book, "session gone (404)");
                session = None;
            }
            Ok(Ok(reply)) => answers(&mut book, &crew, &id, reply.status, &reply.messages),
            Ok(Err(e)) => failed(&mut book, &crew, &id, e),
            Err(_) => failed(&mut book, &crew, &id, "no answer in time"),
        }
    }
    if let Some(sid) = session {
        end_session(&crew, &book, &sid).await;
    }
    book.note("done");
    crew.leave();
    Ok(())
}

/// Ends the 2025 HTTP session `sid` (DELETE), noting how it was answered.
pub async fn end_session(crew: &Crew, book: &Book, sid: &str) {
    match tokio::time::timeout(WAIT, http("DELETE", &[("mcp-session-id", sid)], None)).await {
        Ok(Ok(reply)) => book.note(format_args!("delete {}", reply.status)),
        _ => crew.lost(book, "delete"),
    }
}

/// `initialize` and `notifications/initialized` over HTTP; the session id.
pub async fn http_initialize(book: &mut Book) -> io::Result<String> {
    http_initialize_at(book, SERVER).await
}

/// As [`http_initialize`], with the server host named `host`.
pub async fn http_initialize_at(book: &mut Book, host: &str) -> io::Result<String> {
    let id = book.open();
    let init = request(&id, "initialize", initialize_params());
    let reply = match tokio::time::timeout(WAIT, http_at(host, "POST", &[], Some(&init))).await {
        Ok(reply) => reply,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "initialize")),
    };
    let reply = reply.inspect_err(|_| book.abandon(&id))?;
    for message in &reply.messages {
        book.answer(message);
    }
    let sid = reply
        .session
        .ok_or_else(|| io::Error::other(format!("initialize answered {} without a session", reply.status)))?;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let headers = [
        ("mcp-session-id", sid.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    tokio::time::timeout(WAIT, http_at(host, "POST", &headers, Some(&note)))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "initialized"))??;
    Ok(sid)
}

/// Gives up on `id`, which failed for `why`.
fn failed(book: &mut Book, crew: &Crew, id: &str, why: impl std::fmt::Display) {
    book.abandon(id);
    crew.lost(book, format_args!("{id}: {why}"));
}

/// Checks an HTTP reply to `id`: exactly its answer (notifications aside).
fn answers(book: &mut Book, crew: &Crew, id: &str, status: u16, messages: &[Value]) {
    let mut got = false;
    for message in messages.iter().filter(|m| m.get("method").is_none()) {
        got |= book.answer(message).as_deref() == Some(id);
    }
    if !got && book.is_open(id) {
        book.abandon(id);
        if status == 503 || !crew.faults {
            crew.lost(book, format_args!("{status} with no answer to {id}"));
        } else {
            book.note(format_args!("{status} with no answer to {id}"));
        }
    }
}

/// A 2026-07-28 client: each call its own POST, no session.
pub async fn stateless_worker(crew: Crew, who: String, mut rng: Rng, ops: usize) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    for _ in 0..ops {
        tokio::time::sleep(rng.millis(0, 50)).await;
        if crew.stop.get() {
            break;
        }
        let (method, params, cancel) = pick(&mut rng, true);
        let id = book.open();
        let name = params["name"].as_str().map(str::to_owned);
        let headers = stateless_headers(method, name.as_deref());
        let body = request(&id, method, params);
        // A 2026-07-28 request is cancelled by hanging up.
        let wait = if cancel { rng.millis(0, 100) } else { WAIT };
        match tokio::time::timeout(wait, http("POST", &headers, Some(&body))).await {
            Err(_) if cancel => {
                book.abandon(&id);
                book.note(format_args!("hung up on {id}"));
            }
            Ok(Ok(reply)) => answers(&mut book, &crew, &id, reply.status, &reply.messages),
            Ok(Err(e)) => failed(&mut book, &crew, &id, e),
            Err(_) => failed(&mut book, &crew, &id, "no answer in time"),
        }
    }
    book.note("done");
    crew.leave();
    Ok(())
}
