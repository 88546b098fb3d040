//! Two replicas keeping their sessions, their streams' events and their
//! tasks in one shared store (the crate's `MemoryStore`, held outside both
//! hosts, as a Redis would be), and one of them crashing and coming back
//! while 2025 HTTP sessions send each request to either replica, as a
//! load balancer with no affinity would.
//!
//! What must hold: a session outlives the replica that created it (no
//! request of a session the client did not end is answered 404, on either
//! replica, before or after the crash, or on the replica that came back);
//! each request gets at most one answer, and never another's; a request
//! with no crash while it ran is answered; a polled call (its stream
//! closed, SEP-1699) resumed with `Last-Event-ID` on either replica hears
//! each event once, progress only forward, and its answer, unless the
//! replica running it crashed meanwhile; and every gauge of both replicas
//! ends at zero.
//!
//! Beside the sessions, two clients make tasks on either replica and poll
//! them on either (`stored_tasks.rs`).

#![allow(unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use mcp_server_core::server::store::MemoryStore;
use serde_json::json;

use super::clients::{Book, request};
use super::faults::audit;
use super::http_client::{http_at, open_events_at, open_get_at};
use super::polls::Call;
use super::replicas::REPLICAS;
use super::stored_tasks::stored_task_worker;
use super::workers::{Crew, WAIT, http_initialize_at};
use super::world::{Ledger, Rng, ServerSide, Shared, replica_host, sim, step_through};

/// What the workers know of the replicas: which is down (a load
/// balancer's health check), and how many crashes there have been.
#[derive(Clone, Default)]
pub struct Board {
    down: Rc<Cell<Option<usize>>>,
    /// The replica that crashed, once one has.
    fallen: Rc<Cell<Option<usize>>>,
    pub crashes: Rc<Cell<u32>>,
}

impl Board {
    /// A replica to send the next request to: either, but not one known
    /// to be down.
    pub fn pick(&self, rng: &mut Rng) -> &'static str {
        let r = rng.below(2) as usize;
        REPLICAS[if self.down.get() == Some(r) { 1 - r } else { r }]
    }

    /// True if replica `name` has crashed.
    pub fn fell(&self, name: &str) -> bool {
        self.fallen.get().is_some_and(|r| REPLICAS[r] == name)
    }

    /// Gives up on `id`, lost for `why`: allowed only if a replica crashed
    /// since the request was sent (`crashes` then).
    pub fn lost(&self, book: &mut Book, crashes: u32, id: &str, why: impl std::fmt::Display) {
        book.abandon(id);
        if self.crashes.get() == crashes {
            book.violation(format_args!("{id} lost with no crash: {why}"));
        } else {
            book.note(format_args!("lost: {id}: {why} (after a replica went down)"));
        }
    }
}

/// A 2025 session created on either replica, then `ops` requests, each
/// to either replica: `echo` calls and polled calls.
async fn session_worker(crew: Crew, board: Board, who: String, mut rng: Rng, ops: usize) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let mut sid = None;
    for _ in 0..3 {
        let host = board.pick(&mut rng);
        match http_initialize_at(&mut book, host).await {
            Ok(id) => {
                sid = Some(id);
                break;
            }
            Err(e) => book.note(format_args!("initialize on {host}: {e}")),
        }
    }
    let Some(sid) = sid else {
        book.violation("no session after three tries");
        crew.leave();
        return Ok(());
    };
    for n in 0..ops {
        let host = board.pick(&mut rng);
        let crashes = board.crashes.get();
        let gone = if rng.below(3) == 0 {
            polled(&board, &mut book, &mut rng, &sid, host, crashes).await
        } else {
            echo(&board, &mut book, &sid, host, crashes, n).await
        };
        if gone {
            book.violation(format_args!(
                "session {sid} gone (404) on {host}: it lives in the store"
            ));
            break;
        }
        tokio::time::sleep(rng.millis(10, 300)).await;
    }
    let host = board.pick(&mut rng);
    let end = tokio::time::timeout(WAIT, http_at(host, "DELETE", &[("mcp-session-id", &sid)], None)).await;
    match end {
        Ok(Ok(reply)) if reply.status < 300 => {}
        other => book.note(format_args!(
            "delete on {host}: {:?}",
            other.map(|r| r.map(|r| r.status))
        )),
    }
    crew.leave();
    Ok(())
}

/// The headers of a request of session `sid`.
fn headers(sid: &str) -> [(&str, &str); 2] {
    [("mcp-session-id", sid), ("mcp-protocol-version", "2025-11-25")]
}

/// `echo` on `host`, answered with its own text; true if the session was
/// not found.
async fn echo(board: &Board, book: &mut Book, sid: &str, host: &str, crashes: u32, n: usize) -> bool {
    let id = book.open();
    let text = format!("{id}/{n}");
    let call = request(
        &id,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": text}}),
    );
    let reply = tokio::time::timeout(WAIT, http_at(host, "POST", &headers(sid), Some(&call))).await;
    let reply = match reply {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            board.lost(book, crashes, &id, format_args!("on {host}: {e}"));
            return false;
        }
        Err(_) => {
            board.lost(
                book,
                crashes,
                &id,
                format_args!("on {host}: no answer within {WAIT:?}"),
            );
            return false;
        }
    };
    if reply.status == 404 {
        book.abandon(&id);
        return true;
    }
    for message in reply.messages.iter().filter(|m| m.get("method").is_none()) {
        if book.answer(message).as_deref() == Some(&id) && message["result"]["content"][0]["text"] != text {
            book.violation(format_args!("echo of {text} answered {message}"));
        }
    }
    if book.is_open(&id) {
        board.lost(
            book,
            crashes,
            &id,
            format_args!("{} on {host} with no answer", reply.status),
        );
    }
    false
}

/// A call of `poll` on `host` (it reports progress, closes its stream,
/// then goes on for up to 0.8 s), resumed on either replica until its
/// answer; true if the session was not found.
async fn polled(board: &Board, book: &mut Book, rng: &mut Rng, sid: &str, host: &str, crashes: u32) -> bool {
    let id = book.open();
    let params = json!({"name": "poll", "arguments": {"ms": rng.below(800)}, "_meta": {"progressToken": id}});
    let mut call = Call::default();
    let first = tokio::time::timeout(
        WAIT,
        open_events_at(host, &headers(sid), &request(&id, "tools/call", params)),
    )
    .await;
    match first {
        Ok(Ok(stream)) if stream.status == 404 => {
            book.abandon(&id);
            return true;
        }
        Ok(Ok(mut stream)) if stream.status == 200 => call.read(book, &mut stream, None).await,
        Ok(Ok(stream)) => book.violation(format_args!(
            "{id}: the POST on {host} answered {}",
            stream.status
        )),
        Ok(Err(_)) | Err(_) => {}
    }
    let give_up = tokio::time::Instant::now() + 2 * WAIT;
    while !call.answered && tokio::time::Instant::now() < give_up {
        let Some(last) = call.last.clone() else { break };
        let at = board.pick(rng);
        let resume = [headers(sid)[0], headers(sid)[1], ("last-event-id", last.as_str())];
        match tokio::time::timeout(WAIT, open_get_at(at, &resume)).await {
            Ok(Ok(stream)) if stream.status == 404 => {
                book.note(format_args!("{id}: resuming on {at}: 404"));
                break;
            }
            Ok(Ok(mut stream)) if stream.status == 200 => call.read(book, &mut stream, None).await,
            // 409: a replica still holds the last stream; else a fault.
            _ => {}
        }
        if !call.answered {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if call.answered {
        book.note(format_args!(
            "{id} polled from {host}: {} resumes",
            call.streams.saturating_sub(1)
        ));
    } else {
        let why = format_args!("polled from {host}, no answer after {} streams", call.streams);
        board.lost(book, crashes, &id, why);
    }
    false
}

/// Two replicas over one store, four sessions across them, one replica
/// crashing 0.5 to 2.5 s in and coming back 0.3 to 2 s later, and an
/// auditor per replica.
pub fn sessions_outlive_a_replica(seed: u64) -> Ledger {
    let ledger = Shared::default();
    // Losses are checked here against the crashes, not by the crew.
    let crew = Crew::new(Rc::clone(&ledger), true);
    let mut rng = Rng::new(seed);
    let mut sim = sim(seed, 1, 20);
    let store = MemoryStore::new();
    let sides: [Rc<RefCell<ServerSide>>; 2] = Default::default();
    for (name, side) in REPLICAS.iter().zip(&sides) {
        replica_host(&mut sim, name, Rc::clone(side), false, Some(store.clone()));
    }
    let board = Board::default();
    for i in 0..4 {
        let who = format!("session{i}");
        let run = session_worker(crew.clone(), board.clone(), who.clone(), rng.fork(), 12);
        sim.client(who, run);
    }
    for i in 0..2 {
        let who = format!("tasks{i}");
        let run = stored_task_worker(crew.clone(), board.clone(), who.clone(), rng.fork(), 6);
        sim.client(who, run);
    }
    for (i, side) in sides.iter().enumerate() {
        let run = audit(crew.clone(), Rc::clone(side), Duration::from_secs(20));
        sim.client(format!("auditor{i}"), run);
    }
    let victim = rng.below(2) as usize;
    let crash_at = rng.millis(500, 2500);
    let down_for = rng.millis(300, 2000);
    let mut crashed: Option<Duration> = None;
    step_through(&mut sim, &ledger, |sim, now| {
        let name = REPLICAS[victim];
        match crashed {
            None if now >= crash_at => {
                sim.crash(name);
                sides[victim].borrow_mut().handle = None;
                board.down.set(Some(victim));
                board.fallen.set(Some(victim));
                board.crashes.set(board.crashes.get() + 1);
                ledger
                    .borrow_mut()
                    .event_at(now, "sim", format_args!("{name} crashed"));
                crashed = Some(now);
            }
            Some(at) if board.down.get().is_some() && now >= at + down_for => {
                sim.bounce(name);
                board.down.set(None);
                ledger
                    .borrow_mut()
                    .event_at(now, "sim", format_args!("{name} back"));
            }
            _ => {}
        }
    });
    drop(sim);
    std::mem::take(&mut *ledger.borrow_mut())
}
