//! The binary's stdio on tokio's reactor: pipes and sockets are read and
//! written non-blocking on the session's task (no thread per read), the
//! descriptors get their original flags back when the server exits, and a
//! descriptor the reactor cannot poll (a regular file) keeps the blocking
//! path. The test keeps a copy of each descriptor it hands the server, so
//! it sees the flags of the very open file the server changed.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use rustix::fs::{OFlags, fcntl_getfl};
use rustix::pipe::{PipeFlags, pipe_with};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-server-core");

fn nonblocking(fd: &OwnedFd) -> bool {
    fcntl_getfl(fd).expect("fcntl").contains(OFlags::NONBLOCK)
}

/// Starts the binary on `stdin` and `stdout`, logging at info.
fn start(stdin: Stdio, stdout: Stdio) -> Child {
    Command::new(BIN)
        .arg("--stdio")
        .env("RUST_LOG", "info")
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary")
}

/// Reads lines from `from` on a thread; each arrives on the channel.
fn lines(from: impl Read + Send + 'static) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let line = line.expect("read a line");
            if tx
                .send(serde_json::from_str(&line).expect("stdout carries JSON-RPC"))
                .is_err()
            {
                return;
            }
        }
    });
    rx
}

fn next(rx: &mpsc::Receiver<Value>) -> Value {
    rx.recv_timeout(support::HANG).expect("an answer in time")
}

/// `initialize`, then `calls` echo calls written back to back (all in
/// flight at once): every answer comes, each to its own id.
fn converse(to: &mut impl Write, from: &mpsc::Receiver<Value>, calls: u64) {
    let mut batch = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
    .to_string();
    batch.push('\n');
    for id in 1..=calls {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": "echo", "arguments": {"text": format!("call {id}")}}});
        batch.push_str(&format!("{call}\n"));
    }
    to.write_all(batch.as_bytes()).expect("write the requests");
    assert_eq!(next(from)["result"]["protocolVersion"], "2025-11-25");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..calls {
        let answer = next(from);
        let id = answer["id"].as_u64().expect("an id");
        assert_eq!(answer["result"]["content"][0]["text"], format!("call {id}"));
        seen.insert(id);
    }
    assert_eq!(seen.len() as u64, calls, "every call answered once");
}

fn exit_and_logs(mut child: Child) -> String {
    let (tx, rx) = mpsc::channel();
    let mut stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        let status = child.wait().expect("wait");
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).expect("read stderr");
        let _ = tx.send((status, logs));
    });
    let (status, logs) = rx
        .recv_timeout(support::HANG)
        .expect("the server exits when its stdin ends");
    assert!(status.success(), "{status}: {logs}");
    logs
}

#[test]
fn pipes_are_driven_by_the_reactor_and_get_their_flags_back() {
    // Close-on-exec: the server must not inherit the test's ends.
    let (in_read, in_write) = pipe_with(PipeFlags::CLOEXEC).expect("a pipe");
    let (out_read, out_write) = pipe_with(PipeFlags::CLOEXEC).expect("a pipe");
    let (kept_in, kept_out) = (in_read.try_clone().unwrap(), out_write.try_clone().unwrap());
    assert!(!nonblocking(&kept_in) && !nonblocking(&kept_out));
    let child = start(Stdio::from(in_read), Stdio::from(out_write));
    let answers = lines(File::from(out_read));
    let mut requests = File::from(in_write);
    converse(&mut requests, &answers, 64);
    assert!(
        nonblocking(&kept_in) && nonblocking(&kept_out),
        "the server reads and writes its pipes non-blocking"
    );
    drop(requests);
    let logs = exit_and_logs(child);
    assert!(logs.contains("stdin=Pipe stdout=Pipe"), "{logs}");
    assert!(
        !nonblocking(&kept_in) && !nonblocking(&kept_out),
        "the pipes' flags were not restored"
    );
}

#[test]
fn a_socket_is_driven_by_the_reactor_and_gets_its_flags_back() {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    let kept = OwnedFd::from(theirs.try_clone().unwrap());
    let child = start(
        Stdio::from(OwnedFd::from(theirs.try_clone().unwrap())),
        Stdio::from(OwnedFd::from(theirs)),
    );
    let answers = lines(ours.try_clone().unwrap());
    let mut requests = ours.try_clone().unwrap();
    converse(&mut requests, &answers, 16);
    assert!(nonblocking(&kept));
    ours.shutdown(std::net::Shutdown::Write)
        .expect("EOF for the server");
    let logs = exit_and_logs(child);
    assert!(logs.contains("stdin=Socket stdout=Socket"), "{logs}");
    assert!(!nonblocking(&kept), "the socket's flags were not restored");
}

#[test]
fn a_file_keeps_the_blocking_path() {
    let dir = std::env::temp_dir().join(format!("mcp-stdio-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("requests.jsonl");
    let ping = json!({"jsonrpc": "2.0", "id": 7, "method": "ping"});
    std::fs::write(&path, format!("{ping}\n")).unwrap();
    let child = start(Stdio::from(File::open(&path).unwrap()), Stdio::piped());
    let mut child = child;
    let answers = lines(child.stdout.take().unwrap());
    assert_eq!(next(&answers), json!({"jsonrpc": "2.0", "id": 7, "result": {}}));
    let logs = exit_and_logs(child);
    assert!(logs.contains("stdin=Blocking stdout=Pipe"), "{logs}");
    std::fs::remove_dir_all(&dir).unwrap();
}
