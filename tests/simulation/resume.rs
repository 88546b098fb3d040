//! A 2025 session's standalone stream (GET) cut and resumed with
//! `Last-Event-ID` while the operator publishes: what the cut stream
//! carried after the last event read is replayed, what came while no
//! stream was open waits for the next one, and nothing is heard twice.

#![allow(unreachable_pub)]

use std::collections::HashSet;
use std::time::Duration;

use super::clients::Book;
use super::extensions::Board;
use super::http_client::{Events, open_get};
use super::workers::{Crew, WAIT, http_initialize};
use super::world::Rng;

/// Opens the session's standalone stream, reads `cut` tool-list changes,
/// hangs up, waits, and resumes from the last event it read (retrying
/// while the server still holds the cut stream: 409); then reads until it
/// has heard every round the operator published. Every event id is heard
/// once; with no fault, every broadcast of every round is heard once.
pub async fn resume_worker(crew: Crew, board: Board, who: String, mut rng: Rng) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let sid = match http_initialize(&mut book).await {
        Ok(sid) => sid,
        Err(e) => {
            crew.lost(&book, format_args!("initialize: {e}"));
            board.ready.set(board.ready.get() + 1);
            crew.leave();
            return Ok(());
        }
    };
    let session = [
        ("mcp-session-id", sid.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let mut heard = Heard::default();
    let opened = open_get(&session).await;
    board.ready.set(board.ready.get() + 1);
    let mut stream = match opened {
        Ok(stream) if stream.status == 200 => stream,
        Ok(stream) => {
            book.violation(format_args!("the GET was answered {}", stream.status));
            crew.leave();
            return Ok(());
        }
        Err(e) => {
            crew.lost(&book, format_args!("the GET: {e}"));
            crew.leave();
            return Ok(());
        }
    };
    let cut = 1 + rng.below(4) as usize;
    while heard.tools < cut {
        if !heard.read(&book, &crew, &mut stream, &board).await {
            break;
        }
    }
    let Some(last) = stream.last_id.clone() else {
        crew.lost(&book, "no event to resume from");
        crew.leave();
        return Ok(());
    };
    drop(stream);
    book.note(format_args!("cut after {} tool lists", heard.tools));
    tokio::time::sleep(rng.millis(0, 300)).await;
    let resume = [session[0], session[1], ("last-event-id", last.as_str())];
    let mut waited = Duration::ZERO;
    let mut stream = loop {
        let stream = match open_get(&resume).await {
            Ok(stream) => stream,
            Err(e) if waited < WAIT => {
                // Under a partition: try again, as a client would.
                book.note(format_args!("resume failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                waited += Duration::from_millis(100);
                continue;
            }
            Err(e) => {
                crew.lost(&book, format_args!("the resuming GET: {e}"));
                crew.leave();
                return Ok(());
            }
        };
        if stream.status != 409 || waited >= WAIT {
            break stream;
        }
        // The server still holds the cut stream: it lets go once a write
        // to it fails (no peeking at a simulated connection).
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    };
    if stream.status != 200 {
        crew.lost(
            &book,
            format_args!("the resuming GET was answered {}", stream.status),
        );
    } else {
        while heard.read(&book, &crew, &mut stream, &board).await {}
    }
    // Events replayed from the cut stream keep its ids (`<stream>-<n>`).
    let old = format!("{}-", last.split('-').next().unwrap_or_default());
    let replayed = heard.ids.iter().filter(|id| id.starts_with(&old)).count();
    let ms = waited.as_millis();
    book.note(format_args!(
        "heard {} broadcasts; {replayed} events of the cut stream; refused for {ms} ms",
        heard.all
    ));
    crew.leave();
    Ok(())
}

/// What the stream's reader heard across both streams.
#[derive(Default)]
struct Heard {
    ids: HashSet<String>,
    /// Tool-list changes.
    tools: usize,
    /// Every broadcast: a round is four (the tool list, two resource
    /// updates, a log message at `info`, which a session hears by default).
    all: usize,
    idle: Duration,
}

/// Broadcasts per round of the operator's.
const PER_ROUND: usize = 4;

impl Heard {
    /// Reads one event; false once every published round was heard (or
    /// the stream ended, or stayed silent too long after the last round).
    async fn read(&mut self, book: &Book, crew: &Crew, stream: &mut Events, board: &Board) -> bool {
        if let Some(rounds) = board.published.get() {
            if self.all == rounds * PER_ROUND {
                return false;
            }
            if self.idle >= WAIT {
                let want = rounds * PER_ROUND;
                crew.lost(book, format_args!("heard {}/{want} broadcasts", self.all));
                return false;
            }
        }
        let step = Duration::from_millis(500);
        let message = match tokio::time::timeout(step, stream.next()).await {
            Err(_) => {
                if board.published.get().is_some() {
                    self.idle += step;
                }
                return true;
            }
            Ok(Ok(Some(message))) => message,
            Ok(Ok(None)) | Ok(Err(_)) => {
                crew.lost(book, "the standalone stream ended");
                return false;
            }
        };
        let id = stream.last_id.clone().unwrap_or_default();
        if !self.ids.insert(id.clone()) {
            book.violation(format_args!("event {id} heard twice: {message}"));
        }
        // A session hears every broadcast: the tool list, the resource
        // updates and the log message of each round.
        match message["method"].as_str() {
            Some("notifications/tools/list_changed") => self.tools += 1,
            Some("notifications/resources/updated" | "notifications/message") => {}
            _ => book.violation(format_args!("heard what was never sent: {message}")),
        }
        self.all += 1;
        true
    }
}
