//! Connections reset mid-call: a client starts a `hold` call (it runs until
//! cancelled, with progress), reads its first progress notification, lets
//! more arrive unread, then drops its connection. A socket closed with
//! unread data sends a reset (RST), not an orderly close, so the server
//! meets the reset on the connection's next read or write.
//!
//! Whatever carried the call (a line session, a 2025 HTTP session's POST,
//! a 2026-07-28 stateless POST), the server must stop it (its key leaves
//! the server's running set) and go on serving: the HTTP session answers
//! its next request, a new line session works.

#![allow(unreachable_pub)]

use std::io;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::clients::{Book, Line, request};
use super::http_client::{http, stateless_headers, stateless_params};
use super::net::connect;
use super::tools::Running;
use super::workers::{Crew, WAIT, end_session, http_initialize};
use super::world::{HTTP, Rng, SERVER};

/// How long the server may take to stop a call whose connection was reset.
const STOPS_WITHIN: Duration = Duration::from_secs(3);

/// Resets `ops` calls, over a line, a 2025 HTTP session or a stateless
/// POST as the seed picks; after each, checks that the server stopped the
/// call and still serves.
pub async fn reset_worker(
    crew: Crew,
    who: String,
    mut rng: Rng,
    ops: usize,
    running: Running,
) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let mut sid: Option<String> = None;
    for op in 0..ops {
        tokio::time::sleep(rng.millis(0, 200)).await;
        if crew.stop.get() {
            break;
        }
        let key = format!("{who}-{op}");
        let unread = rng.millis(250, 600);
        let outcome = match rng.below(3) {
            0 => reset_line(&mut book, &key, unread).await,
            1 => reset_session_post(&mut book, &mut sid, &key, unread).await,
            _ => reset_stateless_post(&mut book, &key, unread).await,
        };
        if let Err(e) = outcome {
            crew.lost(&book, format_args!("{key}: {e}"));
            continue;
        }
        stopped(&crew, &book, &running, &key).await;
    }
    if let Some(sid) = sid {
        end_session(&crew, &book, &sid).await;
    }
    book.note("done");
    crew.leave();
    Ok(())
}

/// The `hold` call's arguments, with a progress token.
fn hold(key: &str) -> Value {
    json!({"name": "hold", "arguments": {"key": key}, "_meta": {"progressToken": key}})
}

/// A line session's call reset; then a new session must answer a ping.
async fn reset_line(book: &mut Book, key: &str, unread: Duration) -> io::Result<()> {
    let mut line = Line::session(book, WAIT).await?;
    let id = book.open();
    line.send(&request(&id, "tools/call", hold(key))).await?;
    // Up to the call's first progress (broadcasts may come first).
    loop {
        let message = tokio::time::timeout(WAIT, line.recv())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no progress"))??
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no progress"))?;
        match message["method"].as_str() {
            Some("notifications/progress") => break,
            Some(_) => {}
            None => {
                book.violation(format_args!("{key}: answered before its progress: {message}"));
                break;
            }
        }
    }
    tokio::time::sleep(unread).await;
    book.abandon(&id);
    drop(line);
    book.note(format_args!("reset the line of {key}"));
    let mut line = Line::session(book, WAIT).await?;
    let ping = book.open();
    line.send(&request(&ping, "ping", json!({}))).await?;
    line.answer_to(book, &ping, WAIT).await.map(drop)
}

/// A 2025 session's POST reset; then the session must answer a ping.
async fn reset_session_post(
    book: &mut Book,
    sid: &mut Option<String>,
    key: &str,
    unread: Duration,
) -> io::Result<()> {
    let id = match sid {
        Some(id) => id.clone(),
        None => sid.insert(http_initialize(book).await?).clone(),
    };
    let headers = [
        ("mcp-session-id", id.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let call = book.open();
    reset_post(&headers, &request(&call, "tools/call", hold(key)), unread).await?;
    book.abandon(&call);
    book.note(format_args!("reset the POST of {key}"));
    let ping = book.open();
    let reply = tokio::time::timeout(
        WAIT,
        http("POST", &headers, Some(&request(&ping, "ping", json!({})))),
    )
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer to the ping"))??;
    if !reply
        .messages
        .iter()
        .any(|m| book.answer(m).as_deref() == Some(ping.as_str()))
    {
        book.violation(format_args!(
            "after a reset the session answered {} without the ping's answer",
            reply.status
        ));
    }
    Ok(())
}

/// A 2026-07-28 POST reset.
async fn reset_stateless_post(book: &mut Book, key: &str, unread: Duration) -> io::Result<()> {
    let call = book.open();
    let body = request(&call, "tools/call", stateless_params(hold(key)));
    reset_post(&stateless_headers("tools/call", Some("hold")), &body, unread).await?;
    book.abandon(&call);
    book.note(format_args!("reset the stateless POST of {key}"));
    Ok(())
}

/// POSTs `body` on a connection of its own, written by hand so that the
/// test, not an HTTP client, decides when the socket goes: reads up to the
/// first progress notification, lets more arrive for `unread`, drops it.
async fn reset_post(headers: &[(&str, &str)], body: &Value, unread: Duration) -> io::Result<()> {
    let mut stream = connect(SERVER, HTTP).await?;
    let body = body.to_string();
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: application/json, text/event-stream\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 512];
    while !contains(&seen, b"notifications/progress") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buffer))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no progress"))??;
        if n == 0 {
            // Without the `date` header: the wall clock, which a replay
            // does not repeat.
            let text = String::from_utf8_lossy(&seen);
            let text: Vec<&str> = text.split("\r\n").filter(|l| !l.starts_with("date:")).collect();
            let text = text.join("\r\n");
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, text));
        }
        seen.extend_from_slice(&buffer[..n]);
    }
    tokio::time::sleep(unread).await;
    drop(stream);
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The call `key` must stop within [`STOPS_WITHIN`] of its reset.
async fn stopped(crew: &Crew, book: &Book, running: &Running, key: &str) {
    let is_running = || running.lock().expect("not poisoned").contains(key);
    let deadline = tokio::time::Instant::now() + STOPS_WITHIN;
    while is_running() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if is_running() {
        crew.lost(
            book,
            format_args!("{key} still runs {STOPS_WITHIN:?} after its reset"),
        );
    } else {
        book.note(format_args!("{key} stopped"));
    }
}
