//! The binary as a user runs it: over stdio (logs only on stderr), and over
//! TCP with a graceful exit on SIGTERM and SIGINT while clients are connected.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::io::{BufRead, BufReader as StdBufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-server-core");

/// Starts the binary on an ephemeral TCP port (through `bash -c` with
/// `prefix` before it, e.g. a `ulimit`); returns it, the address it logged,
/// and its stderr lines as they come.
fn start_tcp_with(prefix: &str) -> (Child, std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    start_tcp_logging(prefix, "info")
}

/// [`start_tcp_with`], with `RUST_LOG` set to `filter`.
fn start_tcp_logging(prefix: &str, filter: &str) -> (Child, std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    start_logging(prefix, "--tcp", filter)
}

/// Starts the binary serving `transport` (`--tcp` or `--http`) on an
/// ephemeral port; the address it logged and its stderr lines.
fn start_logging(
    prefix: &str,
    transport: &str,
    filter: &str,
) -> (Child, std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let script = format!("{prefix} exec {BIN} {transport} 127.0.0.1:0 --shutdown-grace-ms 2000");
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .env("RUST_LOG", filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stderr = child.stderr.take().unwrap();
    let mut lines = StdBufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("the binary exited before listening").unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
        if let Some(rest) = line.split("url=http://").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (child, addr, log)
}

fn start_tcp() -> (Child, std::net::SocketAddr) {
    let (child, addr, _) = start_tcp_with("");
    (child, addr)
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + support::HANG;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "the binary did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn graceful_exit_on(signal: &str) {
    let (mut child, addr) = start_tcp();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut client = support::Client::connect(addr).await;
        client.initialize().await;
        client
            .send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sleep", "arguments": {"ms": 600000}}}))
            .await;
        clients.push(client);
    }
    let started = std::time::Instant::now();
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for client in &mut clients {
        client.expect_closed().await;
    }
    let status = wait_exit(&mut child);
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sigterm_closes_clients_and_exits_zero_within_the_grace() {
    graceful_exit_on("-TERM").await;
}

#[tokio::test]
async fn sigint_closes_clients_and_exits_zero_within_the_grace() {
    graceful_exit_on("-INT").await;
}

#[tokio::test]
async fn stdio_serves_one_client_and_keeps_stdout_for_protocol_only() {
    let mut child = tokio::process::Command::new(BIN)
        .arg("--stdio")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "over stdio"}}}),
    ];
    for request in &requests {
        stdin.write_all(format!("{request}\n").as_bytes()).await.unwrap();
    }
    let mut responses = Vec::new();
    while responses.len() < 2 {
        let line = tokio::time::timeout(support::HANG, stdout.next_line())
            .await
            .expect("stdio response timed out")
            .unwrap()
            .expect("stdout closed early");
        // Every line on stdout is a JSON-RPC message.
        let message: Value = serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
        responses.push(message);
    }
    assert_eq!(responses[0]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(responses[1]["result"]["content"][0]["text"], "over stdio");
    drop(stdin); // EOF: the client is done
    let status = tokio::time::timeout(support::HANG, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    assert!(stdout.next_line().await.unwrap().is_none());
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("serving MCP on stdio"),
        "logs go to stderr: {stderr}"
    );
}

/// Starts the binary serving `transport` with only 48 file descriptors and
/// opens 80 connections to it, so that it runs out while accepting; waits
/// for the accept error `failure` in its log, checks it is still running,
/// and closes the connections. Connections past the limit wait in the
/// listen backlog.
async fn run_out_of_descriptors(transport: &str, failure: &str) -> (Child, std::net::SocketAddr) {
    let (mut child, addr, log) = start_logging("ulimit -n 48 &&", transport, "info");
    let mut clients = Vec::new();
    for _ in 0..80 {
        clients.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let deadline = std::time::Instant::now() + support::HANG;
    while !log.lock().unwrap().iter().any(|l| l.contains(failure)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never ran out of descriptors"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server died on an accept error"
    );
    drop(clients);
    (child, addr)
}

/// SIGTERM, then a clean exit.
fn terminate(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(wait_exit(child).success());
}

/// With only 48 file descriptors, the server runs out while accepting: each
/// `accept` error is logged and retried after a short pause, the server
/// keeps serving the clients it has, and once they leave it accepts again.
#[tokio::test]
async fn accept_errors_are_retried_and_never_end_the_server() {
    let (mut child, addr) = run_out_of_descriptors("--tcp", "accept failed; retrying listener=\"tcp\"").await;
    // Descriptors come back as the sessions end; a new client is served.
    let mut client = support::Client::connect(addr).await;
    let result = client.initialize().await;
    assert_eq!(result["protocolVersion"], "2025-11-25");
    assert!(child.try_wait().unwrap().is_none());
    terminate(&mut child);
}

/// The HTTP listener out of descriptors: like TCP's, its accept errors are
/// logged, counted and retried, and the server serves again once
/// descriptors come back.
#[tokio::test]
async fn http_accept_errors_are_retried_and_never_end_the_server() {
    let (mut child, addr) =
        run_out_of_descriptors("--http", "accept failed; retrying listener=\"http\"").await;
    let session = support::http::Session::start(addr).await;
    assert_eq!(session.delete().await, http::StatusCode::OK);
    terminate(&mut child);
}

/// With `RUST_LOG=mcp_server_core=debug` every line of a request's story
/// names its session and the request's id and method: received, and how
/// it ended, also when the handler ran in a task of its own.
#[tokio::test]
async fn debug_logs_tell_each_requests_story_with_its_session_id_and_method() {
    let (mut child, addr, log) = start_tcp_logging("", "mcp_server_core=debug");
    let mut client = support::Client::connect(addr).await;
    client.initialize().await;
    client.call(7, "echo", json!({"text": "hi"})).await;
    client
        .send(&json!({"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": {"name": "sleep", "arguments": {"ms": 60000}}}))
        .await;
    client
        .notify("notifications/cancelled", json!({"requestId": "slow"}))
        .await;
    let story = |id: &str, what: &str| {
        let span = format!("request{{id={id} method=\"tools/call\"}}");
        log.lock().unwrap().iter().any(|line| {
            line.contains("session{id=1 transport=\"tcp\"") && line.contains(&span) && line.contains(what)
        })
    };
    support::wait_until("the echo's story", || {
        story("7", "request received") && story("7", "request ended outcome=\"ok\"")
    })
    .await;
    support::wait_until("the cancelled call's story", || {
        story("\"slow\"", "request received") && story("\"slow\"", "outcome=\"cancelled\"")
    })
    .await;
    child.kill().unwrap();
    wait_exit(&mut child);
}

/// `--state-key-file` given twice, newest first: a `requestState` sealed
/// with the older key still opens (a round that began before the rotation
/// finishes), one sealed with a key the server does not hold is -32602,
/// and a key file too short stops the binary with exit code 2.
#[tokio::test]
async fn state_key_files_rotate_newest_first() {
    use mcp_server_core::protocol::request_state::{StatePayload, seal};
    let dir = std::env::temp_dir().join(format!("mcp-state-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (new, old, short) = (dir.join("new.key"), dir.join("old.key"), dir.join("short.key"));
    std::fs::write(&new, "the key every replica seals with\n").unwrap();
    std::fs::write(&old, "the key every replica sealed with\n").unwrap();
    std::fs::write(&short, "too short").unwrap();

    let mut child = tokio::process::Command::new(BIN)
        .args(["--stdio", "--state-key-file"])
        .arg(&new)
        .arg("--state-key-file")
        .arg(&old)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let sealed_with = |key: &[u8]| {
        let payload = StatePayload {
            method: "tools/call".into(),
            name: "confirm".into(),
            expires: u64::MAX / 2,
            answers: Default::default(),
            caller: None,
        };
        seal(key, &payload)
    };
    for (id, key) in [
        (1, &b"the key every replica sealed with"[..]),
        (2, b"a key this server never held"),
    ] {
        let params = support::http::stateless_params(json!({
            "name": "confirm", "arguments": {"question": "Go?"},
            "requestState": sealed_with(key),
            "inputResponses": {"input-1": {"action": "accept", "content": {"yes": true}}},
            "_meta": {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}}));
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
        stdin.write_all(format!("{request}\n").as_bytes()).await.unwrap();
        let line = tokio::time::timeout(support::HANG, stdout.next_line())
            .await
            .expect("an answer in time")
            .unwrap()
            .expect("stdout open");
        let answer: Value = serde_json::from_str(&line).unwrap();
        if id == 1 {
            assert_eq!(answer["result"]["content"][0]["text"], "yes", "{answer}");
        } else {
            assert_eq!(answer["error"]["code"], -32602, "{answer}");
        }
    }
    drop(stdin);
    assert!(
        tokio::time::timeout(support::HANG, child.wait())
            .await
            .unwrap()
            .unwrap()
            .success()
    );

    let status = Command::new(BIN)
        .args(["--stdio", "--state-key-file"])
        .arg(&short)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "a key file too short");
    std::fs::remove_dir_all(&dir).ok();
}
