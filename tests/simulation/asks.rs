//! The server asking its 2025 clients (elicitation and sampling, over HTTP
//! sessions and line sessions): each call of `confirm` or `sample` asks
//! one question, and its answer must follow from what the client did with
//! it: answered (yes, no, declined, a completion), refused with an error,
//! left unanswered (the client request timeout), answered too late (the
//! late answer goes nowhere), or the session ended while the server waited
//! (every waiter fails; `client_requests_pending` is back to zero).

#![allow(unreachable_pub)]

use std::io;

use serde_json::{Value, json};

use super::clients::{Book, Line, request};
use super::http_client::{Events, http, open_events};
use super::workers::{Crew, WAIT, end_session, http_initialize};
use super::world::{Rng, config};

/// What the client does with the server's question.
#[derive(Debug, Clone)]
enum Reply {
    /// Accepts `confirm`'s form with yes (true) or no (false).
    Confirm(bool),
    /// Declines `confirm`'s form.
    Decline,
    /// Answers `sample` with this completion.
    Text(String),
    /// Answers with a JSON-RPC error.
    Reject,
    /// Never answers: the server gives up after its client request timeout.
    Silent,
    /// Answers only after the server gave up.
    Late,
    /// Ends the session (DELETE, or hangs up a line) instead of answering.
    Hangup,
}

impl Reply {
    fn pick(rng: &mut Rng, tool: &str) -> Self {
        match (rng.below(10), tool) {
            (0..=4, "confirm") => Self::Confirm(rng.below(2) == 0),
            (0..=4, _) => Self::Text(format!("s{}", rng.below(1000))),
            (5, "confirm") => Self::Decline,
            (5 | 6, _) => Self::Reject,
            (7, _) => Self::Silent,
            (8, _) => Self::Late,
            _ => Self::Hangup,
        }
    }

    /// The client's response to the question `asked`.
    fn response(&self, asked: &Value) -> Value {
        let completion = |text: &str| json!({"role": "assistant", "content": {"type": "text", "text": text}, "model": "sim"});
        let result = match self {
            Self::Reject => {
                return json!({"jsonrpc": "2.0", "id": asked["id"],
                              "error": {"code": -32001, "message": "the user said no"}});
            }
            Self::Confirm(yes) => json!({"action": "accept", "content": {"yes": yes}}),
            Self::Decline => json!({"action": "decline"}),
            Self::Text(text) => completion(text),
            _ if asked["method"] == "sampling/createMessage" => completion("late"),
            _ => json!({"action": "accept", "content": {"yes": true}}),
        };
        json!({"jsonrpc": "2.0", "id": asked["id"], "result": result})
    }

    /// What the call must say: `(is_error, text)`.
    fn expected(&self) -> (bool, String) {
        let waited = config().client_request_timeout.as_millis();
        match self {
            Self::Confirm(true) => (false, "yes".into()),
            Self::Confirm(false) => (false, "no".into()),
            Self::Decline => (false, "declined".into()),
            Self::Text(text) => (false, format!("sampled: {text}")),
            Self::Reject => (
                true,
                "could not ask: the client answered with an error: JSON-RPC error -32001: the user said no"
                    .into(),
            ),
            Self::Silent | Self::Late => (
                true,
                format!("could not ask: the client did not answer within {waited} ms"),
            ),
            Self::Hangup => (
                true,
                "could not ask: the session ended before the client answered".into(),
            ),
        }
    }
}

fn text_of(reply: &Reply) -> Option<&str> {
    match reply {
        Reply::Text(text) => Some(text),
        _ => None,
    }
}

/// A 2025 session: its HTTP session id, or its line.
enum Session {
    Http(String),
    Line(Line),
}

/// One call's conversation: its POST's SSE stream (responses go on POSTs
/// of their own), or the session's line.
enum Talk<'a> {
    Http { events: Events, sid: String },
    Line(&'a mut Line),
}

fn session_headers(sid: &str) -> [(&str, &str); 2] {
    [("mcp-session-id", sid), ("mcp-protocol-version", "2025-11-25")]
}

impl Talk<'_> {
    async fn next(&mut self) -> io::Result<Option<Value>> {
        let next = match self {
            Self::Http { events, .. } => events.next(),
            Self::Line(line) => {
                return tokio::time::timeout(WAIT, line.recv())
                    .await
                    .unwrap_or_else(timed_out);
            }
        };
        tokio::time::timeout(WAIT, next).await.unwrap_or_else(timed_out)
    }

    /// Sends the client's `response` to the server's question.
    async fn respond(&mut self, crew: &Crew, book: &Book, response: &Value) -> io::Result<()> {
        match self {
            Self::Http { sid, .. } => {
                let reply = tokio::time::timeout(WAIT, http("POST", &session_headers(sid), Some(response)))
                    .await
                    .unwrap_or_else(timed_out)?;
                if reply.status != 202 {
                    crew.lost(book, format_args!("a response was answered {}", reply.status));
                }
                Ok(())
            }
            Self::Line(line) => line.send(response).await,
        }
    }
}

fn timed_out<T>(_: tokio::time::error::Elapsed) -> io::Result<T> {
    Err(io::Error::new(io::ErrorKind::TimedOut, "nothing in time"))
}

/// A 2025 session (over HTTP when `over_http`, else a line) making `ops`
/// calls of `confirm` and `sample`, doing with each question what its seed
/// says. A session that ended is followed by a new one.
pub async fn ask_worker(
    crew: Crew,
    who: String,
    mut rng: Rng,
    ops: usize,
    over_http: bool,
) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let mut session: Option<Session> = None;
    for _ in 0..ops {
        tokio::time::sleep(rng.millis(0, 50)).await;
        if crew.stop.get() {
            break;
        }
        let current = match session.as_mut() {
            Some(current) => current,
            None => {
                let opened = if over_http {
                    http_initialize(&mut book).await.map(Session::Http)
                } else {
                    Line::session(&mut book, WAIT).await.map(Session::Line)
                };
                match opened {
                    Ok(opened) => session.insert(opened),
                    Err(e) => {
                        crew.lost(&book, format_args!("initialize: {e}"));
                        tokio::time::sleep(rng.millis(100, 1000)).await;
                        continue;
                    }
                }
            }
        };
        let tool = if rng.below(2) == 0 { "confirm" } else { "sample" };
        let reply = Reply::pick(&mut rng, tool);
        book.note(format_args!("{tool}, then {reply:?}"));
        match ask(&crew, &mut book, current, tool, &reply).await {
            Ok(true) => {}
            Ok(false) => session = None,
            Err(e) => {
                crew.lost(&book, e);
                session = None;
            }
        }
    }
    if let Some(Session::Http(sid)) = session {
        end_session(&crew, &book, &sid).await;
    }
    book.note("done");
    crew.leave();
    Ok(())
}

/// One call of `tool` whose question gets `reply`; false once the
/// session has ended.
async fn ask(
    crew: &Crew,
    book: &mut Book,
    session: &mut Session,
    tool: &str,
    reply: &Reply,
) -> io::Result<bool> {
    let id = book.open();
    let arguments = match text_of(reply) {
        Some(text) => json!({"text": text}),
        None if tool == "sample" => json!({"text": "t"}),
        None => json!({"question": "go on?"}),
    };
    let call = request(&id, "tools/call", json!({"name": tool, "arguments": arguments}));
    let mut talk = match session {
        Session::Http(sid) => {
            let events = open_events(&session_headers(sid), &call).await;
            Talk::Http {
                events: events.inspect_err(|_| book.abandon(&id))?,
                sid: sid.clone(),
            }
        }
        Session::Line(line) => {
            line.send(&call).await.inspect_err(|_| book.abandon(&id))?;
            Talk::Line(line)
        }
    };
    let asked = match question(&mut talk, book, &id).await {
        Ok(Some(asked)) => asked,
        Ok(None) => return Ok(true),
        Err(e) => {
            book.abandon(&id);
            return Err(e);
        }
    };
    let method = if tool == "confirm" {
        "elicitation/create"
    } else {
        "sampling/createMessage"
    };
    if asked["method"] != method {
        book.violation(format_args!("{tool} asked {asked}"));
    }
    match reply {
        Reply::Hangup => return hang_up(crew, book, talk, &id).await.map(|()| false),
        Reply::Silent | Reply::Late => {}
        _ => talk.respond(crew, book, &reply.response(&asked)).await?,
    }
    let answer = match answer(&mut talk, book, &id).await {
        Ok(answer) => answer,
        Err(e) => {
            book.abandon(&id);
            return Err(e);
        }
    };
    let got = (
        answer["result"]["isError"].as_bool().unwrap_or(false),
        answer["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let want = reply.expected();
    if got != want {
        // A held link can make an answer late; it can never change it.
        let late = !want.0 && got.1.contains("did not answer within");
        if crew.faults && late {
            book.note(format_args!("answered late: {}", got.1));
        } else {
            book.violation(format_args!("{tool} answered {got:?}, not {want:?}"));
        }
    }
    if let Reply::Late = reply {
        // Goes nowhere: the server no longer waits for it.
        talk.respond(crew, book, &reply.response(&asked)).await?;
        crew.late_answers.set(crew.late_answers.get() + 1);
        if let Talk::Line(line) = talk {
            // The session goes on: a ping after it is answered.
            let ping = book.open();
            line.send(&request(&ping, "ping", json!({}))).await?;
            line.answer_to(book, &ping, WAIT).await?;
        }
    }
    Ok(true)
}

/// Reads up to the server's question; `None` (after a violation) if the
/// call was answered without one.
async fn question(talk: &mut Talk<'_>, book: &mut Book, id: &str) -> io::Result<Option<Value>> {
    loop {
        let message = talk
            .next()
            .await?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "ended before the question"))?;
        match (message.get("method").is_some(), message.get("id").is_some()) {
            (true, true) => return Ok(Some(message)),
            (true, false) => {} // a notification
            (false, _) => {
                book.answer(&message);
                book.violation(format_args!("{id} answered before its question: {message}"));
                return Ok(None);
            }
        }
    }
}

/// Reads up to the answer to `id`: no second question on the way.
async fn answer(talk: &mut Talk<'_>, book: &mut Book, id: &str) -> io::Result<Value> {
    loop {
        let message = talk
            .next()
            .await?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "ended before the answer"))?;
        if message.get("method").is_some() {
            if message.get("id").is_some() {
                book.violation(format_args!("asked again: {message}"));
            }
            continue;
        }
        if book.answer(&message).as_deref() == Some(id) {
            return Ok(message);
        }
    }
}

/// Ends the session while the server waits for its answer: over HTTP a
/// DELETE, after which the call's stream must end (its answer, if one
/// comes first, says the session ended); a line is dropped.
async fn hang_up(crew: &Crew, book: &mut Book, talk: Talk<'_>, id: &str) -> io::Result<()> {
    book.abandon(id);
    let Talk::Http { mut events, sid } = talk else {
        book.note("hung up");
        return Ok(());
    };
    let deleted = tokio::time::timeout(WAIT, http("DELETE", &[("mcp-session-id", &sid)], None))
        .await
        .unwrap_or_else(timed_out)?;
    book.note(format_args!("deleted: {}", deleted.status));
    let (_, ended) = Reply::Hangup.expected();
    loop {
        match tokio::time::timeout(WAIT, events.next()).await {
            Err(_) => {
                crew.lost(book, "the call's stream outlived its session");
                return Ok(());
            }
            Ok(Ok(None) | Err(_)) => return Ok(()),
            Ok(Ok(Some(message))) if message.get("method").is_some() => {}
            Ok(Ok(Some(message))) => {
                book.answer(&message);
                if message["result"]["content"][0]["text"] != ended.as_str() {
                    book.violation(format_args!("answered after its session ended: {message}"));
                }
            }
        }
    }
}
