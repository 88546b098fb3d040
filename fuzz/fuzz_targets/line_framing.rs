//! The line framing of stdio and TCP sessions, against a model of what it
//! must do: split on `\n`; a line over the limit is one `TooLong` with its
//! length (never buffered); a blank line is skipped; a trailing `\r` is
//! dropped; the last line needs no newline. It must give the same frames
//! whatever the read buffer and however the bytes arrive.
//!
//! Input: [max, buffer, piece sizes x4, data...].

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::{FuzzFrame, line_frames};

fn model(data: &[u8], max: usize) -> Vec<FuzzFrame> {
    let mut out = Vec::new();
    let segments: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.into_iter().enumerate() {
        if i == last && segment.is_empty() {
            break;
        }
        if segment.len() > max {
            out.push(FuzzFrame::TooLong(segment.len()));
        } else if segment.iter().all(u8::is_ascii_whitespace) {
            continue;
        } else {
            let line = segment.strip_suffix(b"\r").unwrap_or(segment);
            out.push(FuzzFrame::Line(line.to_vec()));
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 6 {
        return;
    }
    let max = usize::from(input[0] % 64) + 1;
    let buffer = usize::from(input[1] % 32) + 1;
    let pieces: Vec<usize> = input[2..6].iter().map(|b| usize::from(*b % 16) + 1).collect();
    let data = &input[6..];
    let frames = line_frames(data, max, buffer, &pieces);
    for frame in &frames {
        if let FuzzFrame::Line(line) = frame {
            assert!(line.len() <= max, "a line over the limit was delivered");
        }
    }
    assert_eq!(
        frames,
        model(data, max),
        "max {max}, buffer {buffer}, pieces {pieces:?}"
    );
});
