//! A 2025 HTTP client of a tool that closes its request's stream
//! (SEP-1699 polling): it reads the POST's stream to its end, then resumes
//! it with a GET naming the last event it read, again and again (it hangs
//! up on a resumed stream now and then, which parks the stream again),
//! until the answer comes. Every event id is heard once, the progress
//! only goes forward, and the call is answered once; with no fault, it is
//! answered.

#![allow(unreachable_pub)]

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use super::clients::{Book, request};
use super::http_client::{Events, http, open_events, open_get};
use super::workers::{Crew, WAIT, http_initialize};
use super::world::Rng;

/// `ops` calls of `poll`, each resumed until its answer.
pub async fn poll_worker(crew: Crew, who: String, mut rng: Rng, ops: usize) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let mut sid = match http_initialize(&mut book).await {
        Ok(sid) => sid,
        Err(e) => {
            crew.lost(&book, format_args!("initialize: {e}"));
            crew.leave();
            return Ok(());
        }
    };
    for _ in 0..ops {
        let session = [
            ("mcp-session-id", sid.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        let id = book.open();
        let ms = rng.below(800);
        let params = json!({"name": "poll", "arguments": {"ms": ms}, "_meta": {"progressToken": id}});
        let mut call = Call::default();
        let first =
            tokio::time::timeout(WAIT, open_events(&session, &request(&id, "tools/call", params))).await;
        match first {
            Ok(Ok(mut stream)) if stream.status == 200 => call.read(&mut book, &mut stream, None).await,
            Ok(Ok(stream)) if stream.status == 404 => {
                book.abandon(&id);
                crew.lost(&book, format_args!("{id}: session gone (404)"));
                break;
            }
            Ok(Ok(stream)) => book.violation(format_args!("the POST was answered {}", stream.status)),
            Ok(Err(e)) => crew.lost(&book, format_args!("{id}: the POST: {e}")),
            Err(_) => crew.lost(&book, format_args!("{id}: the POST timed out")),
        }
        // Now and then walk away from a parked call: the session ends with
        // its stream parked, which cancels the call; then a new session.
        if !call.answered && call.last.is_some() && rng.below(4) == 0 {
            book.abandon(&id);
            book.note(format_args!("{id} left parked: the session ends"));
            let _ = tokio::time::timeout(WAIT, http("DELETE", &[session[0]], None)).await;
            match http_initialize(&mut book).await {
                Ok(new) => sid = new,
                Err(e) => {
                    crew.lost(&book, format_args!("initialize: {e}"));
                    crew.leave();
                    return Ok(());
                }
            }
            continue;
        }
        let mut waited = Duration::ZERO;
        while !call.answered && waited < WAIT {
            let Some(last) = call.last.clone() else { break };
            let resume = [session[0], session[1], ("last-event-id", last.as_str())];
            let opened = tokio::time::timeout(WAIT, open_get(&resume)).await;
            match opened {
                Ok(Ok(mut stream)) if stream.status == 200 => {
                    // Now and then hang up after a few events: the stream
                    // is parked again for the next GET.
                    let cut = (rng.below(3) == 0).then(|| 1 + rng.below(3) as usize);
                    call.read(&mut book, &mut stream, cut).await;
                }
                Ok(Ok(stream)) if stream.status == 404 => break,
                // 409: the server still holds the last stream; else a fault.
                Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {}
            }
            if call.answered {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += Duration::from_millis(100);
        }
        if call.answered {
            book.note(format_args!(
                "{id} polled: {} resumes, progress {}",
                call.streams.saturating_sub(1),
                call.progress
            ));
        } else {
            book.abandon(&id);
            crew.lost(
                &book,
                format_args!("{id}: no answer after {} resumes", call.streams.saturating_sub(1)),
            );
        }
    }
    let _ = tokio::time::timeout(WAIT, http("DELETE", &[("mcp-session-id", &sid)], None)).await;
    crew.leave();
    Ok(())
}

/// One polled call, across its streams.
#[derive(Default)]
pub struct Call {
    ids: HashSet<String>,
    /// The last event id read (the priming event's included).
    pub last: Option<String>,
    progress: u64,
    pub answered: bool,
    pub streams: usize,
}

impl Call {
    /// Reads `stream` to its end, its answer, or (`cut`) that many events.
    pub async fn read(&mut self, book: &mut Book, stream: &mut Events, cut: Option<usize>) {
        self.streams += 1;
        let mut read = 0;
        loop {
            if cut.is_some_and(|cut| read >= cut) {
                return;
            }
            let message = match tokio::time::timeout(WAIT, stream.next()).await {
                Ok(Ok(Some(message))) => message,
                // Its end, or a fault: resumed from the last event read.
                _ => break,
            };
            read += 1;
            if let Some(id) = stream.last_id.clone() {
                if !self.ids.insert(id.clone()) {
                    book.violation(format_args!("event {id} heard twice: {message}"));
                }
                self.last = Some(id);
            }
            if let Some(progress) = message["params"]["progress"].as_f64().map(|p| p as u64) {
                if progress <= self.progress {
                    book.violation(format_args!("progress {progress} after {}", self.progress));
                }
                self.progress = progress;
            } else if book.answer(&message).is_some() {
                if message["result"]["content"][0]["text"] != "polled" {
                    book.violation(format_args!("the poll answered {message}"));
                }
                self.answered = true;
                return;
            }
        }
        // The priming event carries an id and no message: keep it too.
        if let Some(id) = stream.last_id.clone() {
            self.last = Some(id);
        }
    }
}
