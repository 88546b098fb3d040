//! The MCP lifecycle and dispatch of a session, both generations: any run
//! of lines (requests before and after `initialize`, 2026-07-28 requests
//! with `_meta`, calls of every built-in tool, responses, notifications,
//! garbage) gets an answer for every request and every invalid line, and
//! nothing else is answered: the session never drops a request silently and
//! never answers one twice. Calls are run to their end on paused time.
//! Cancelled requests (`notifications/cancelled`) and listen streams are
//! the exceptions the protocol makes: they may end without an answer.
//!
//! Input: lines separated by `\n` (at most 64).

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::one_session;
use mcp_server_core::protocol::jsonrpc::{Incoming, parse};
use serde_json::Value;

const MAX_FRAME: usize = 4096;

fuzz_target!(|input: &[u8]| {
    let lines: Vec<&[u8]> = input
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(64)
        .collect();
    let (mut expected, mut may_go_unanswered) = (0usize, false);
    let mut ids = HashSet::new();
    for line in &lines {
        if line.len() > MAX_FRAME {
            expected += 1;
            continue;
        }
        match parse(line) {
            Ok(Incoming::Request { id, method, .. }) => {
                expected += 1;
                ids.insert(serde_json::to_value(&id).expect("an id serializes"));
                may_go_unanswered |= method == "subscriptions/listen";
            }
            Ok(Incoming::Notification { method, .. }) => {
                may_go_unanswered |= method == "notifications/cancelled";
            }
            Ok(Incoming::Response { .. }) => {}
            Err(rejection) => {
                expected += 1;
                if let Some(id) = rejection.id {
                    ids.insert(serde_json::to_value(&id).expect("an id serializes"));
                }
            }
        }
    }
    let answers = one_session(&lines, MAX_FRAME);
    let responses: Vec<&Value> = answers
        .messages
        .iter()
        .filter(|m| m.get("method").is_none())
        .collect();
    for response in &responses {
        assert_eq!(response["jsonrpc"], "2.0");
        assert!(
            response.get("result").is_some() != response.get("error").is_some(),
            "a response has a result or an error: {response}"
        );
        let id = &response["id"];
        assert!(
            id.is_null() || ids.contains(id),
            "an answer to nothing that was sent: {response}"
        );
    }
    if may_go_unanswered || answers.unfinished > 0 {
        assert!(
            responses.len() <= expected,
            "{} answers to {expected} requests",
            responses.len()
        );
    } else {
        assert_eq!(
            responses.len(),
            expected,
            "every request and invalid line is answered once"
        );
    }
});
