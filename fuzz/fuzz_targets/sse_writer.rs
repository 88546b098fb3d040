//! The SSE writer of a request's stream: messages of any content (text
//! the input chooses, encoded as the server encodes its messages), a
//! stream number and whether a priming event goes first and an answer
//! last. Read back by an SSE reader that follows the specification, the
//! stream must give every message unchanged and in order, each as one
//! event whose id is `<stream>-<n>` (n counting from 1, and read back by
//! the server's own `Last-Event-ID` parser), the priming event first when
//! asked (id `<stream>-0`, a `retry`, empty data), and nothing after the
//! answer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::{event_id, sse_stream};
use serde_json::{Value, json};

/// One event as an SSE reader sees it.
#[derive(Debug, Default)]
struct Event {
    id: Option<String>,
    retry: Option<String>,
    data: Option<String>,
}

/// Reads `bytes` as the SSE specification says (lines end in `\n`, an
/// empty line ends an event, `field: value`, a leading `:` is a comment).
fn read_events(bytes: &[u8]) -> Vec<Event> {
    let text = std::str::from_utf8(bytes).expect("an SSE stream is UTF-8");
    assert!(text.is_empty() || text.ends_with("\n\n"), "the stream ends between events");
    let mut events = Vec::new();
    let mut event = Event::default();
    for line in text.split('\n') {
        if line.is_empty() {
            if event.id.is_some() || event.data.is_some() {
                events.push(std::mem::take(&mut event));
            }
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "id" => event.id = Some(value),
            "retry" => event.retry = Some(value),
            "data" => {
                assert!(event.data.is_none(), "a message spread over several data lines: {line:?}");
                event.data = Some(value);
            }
            other => panic!("unknown SSE field {other:?}"),
        }
    }
    events
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let (priming, answer_last) = (flags & 1 == 1, flags & 2 == 2);
    let stream = u64::from(flags >> 2);
    let texts: Vec<String> = rest
        .split(|b| *b == 0xFF)
        .take(64)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    let messages: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            if answer_last && i + 1 == texts.len() {
                json!({"jsonrpc": "2.0", "id": i, "result": {"content": [{"type": "text", "text": text}]}})
            } else {
                json!({"jsonrpc": "2.0", "method": "notifications/message",
                       "params": {"level": "info", "data": text}})
            }
        })
        .collect();
    let frames: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| serde_json::to_vec(m).expect("encodes"))
        .collect();
    let events = read_events(&sse_stream(&frames, stream, priming, answer_last));
    let mut events = events.into_iter();
    if priming {
        let prime = events.next().expect("a priming event");
        assert_eq!(prime.id.as_deref(), Some(format!("{stream}-0").as_str()));
        assert!(prime.retry.is_some(), "the priming event says when to retry");
        assert_eq!(prime.data.as_deref(), Some(""), "the priming event has empty data");
    }
    let mut count = 0;
    for (n, (event, sent)) in events.by_ref().zip(&messages).enumerate() {
        let seq = n as u64 + 1;
        let id = event.id.expect("every event has an id");
        assert_eq!(id, format!("{stream}-{seq}"));
        assert_eq!(event_id(&id), Some((stream, seq)), "Last-Event-ID reads it back");
        let data = event.data.expect("every event has data");
        let read: Value = serde_json::from_str(&data).expect("the data is the JSON sent");
        assert_eq!(&read, sent);
        count += 1;
    }
    assert_eq!(count, messages.len(), "every message was written");
    assert!(events.next().is_none(), "nothing after the last message (and the answer)");
});
