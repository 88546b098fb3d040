//! The binary's listeners as a user gives them: `--http unix:PATH` answered
//! by `curl --unix-socket`, `--tcp unix:PATH` by a line client, both files
//! removed at exit; a Unix listener out of descriptors keeps serving; and a
//! listener that cannot be bound stops the binary at start with a clear
//! message and exit code 2.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::HANG;
use tokio::io::BufReader;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-server-core");

/// A fresh directory for this test's sockets.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-bin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the binary through `bash -c` (`prefix` first, e.g. a `ulimit`)
/// with `args`, stderr to `log`; waits until every path in `sockets` exists.
fn start(prefix: &str, args: &str, log: &Path, sockets: &[&Path]) -> Child {
    let script = format!(
        "{prefix} exec {BIN} {args} --shutdown-grace-ms 2000 2>{}",
        log.display()
    );
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the binary");
    let deadline = std::time::Instant::now() + HANG;
    while !sockets.iter().all(|s| s.exists()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the binary exited: {}",
            read(log)
        );
        assert!(std::time::Instant::now() < deadline, "the sockets never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn terminate(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the binary did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}})
}

async fn initialize_over(path: &Path) -> Value {
    let stream = tokio::net::UnixStream::connect(path).await.expect("connect");
    support::ask_line(&mut BufReader::new(stream), &initialize()).await
}

#[tokio::test]
async fn unix_sockets_serve_curl_and_line_clients_and_are_removed_at_exit() {
    let dir = scratch("unix");
    let (http, lines, log) = (dir.join("http.sock"), dir.join("lines.sock"), dir.join("log"));
    let args = format!("--http unix:{} --tcp unix:{}", http.display(), lines.display());
    let mut child = start("", &args, &log, &[&http, &lines]);

    let curl = tokio::process::Command::new("curl")
        .args(["-s", "-i", "--unix-socket"])
        .arg(&http)
        .args([
            "-H",
            "content-type: application/json",
            "-H",
            "accept: application/json, text/event-stream",
            "-d",
            &initialize().to_string(),
            "http://localhost/mcp",
        ])
        .output();
    let out = tokio::time::timeout(HANG, curl)
        .await
        .expect("curl in time")
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200"), "curl got: {text}");
    assert!(text.contains("mcp-session-id: "), "curl got: {text}");
    assert!(
        text.contains("\"protocolversion\":\"2025-11-25\""),
        "curl got: {text}"
    );

    let answer = initialize_over(&lines).await;
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");

    terminate(&mut child);
    assert!(
        !http.exists() && !lines.exists(),
        "the socket files are removed at exit"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With only 48 descriptors, the Unix listener runs out while accepting:
/// the error is logged and retried, and once the clients leave a new one
/// is served.
#[tokio::test]
async fn a_unix_listener_out_of_descriptors_keeps_serving() {
    let dir = scratch("fds");
    let (lines, log) = (dir.join("lines.sock"), dir.join("log"));
    let args = format!("--tcp unix:{}", lines.display());
    let mut child = start("ulimit -n 48 &&", &args, &log, &[&lines]);
    let mut clients = Vec::new();
    for _ in 0..80 {
        clients.push(tokio::net::UnixStream::connect(&lines).await.unwrap());
    }
    support::wait_until("an accept error", || {
        read(&log).contains("accept failed; retrying listener=\"lines\"")
    })
    .await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server died on an accept error"
    );
    drop(clients);
    let answer = initialize_over(&lines).await;
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    terminate(&mut child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_listener_that_cannot_be_bound_stops_the_binary_with_exit_code_2() {
    for (flag, value, says) in [
        (
            "--http",
            "unix:/nonexistent-dir/mcp.sock",
            "binding the Unix socket /nonexistent-dir/mcp.sock",
        ),
        (
            "--tcp",
            "unix:/nonexistent-dir/mcp.sock",
            "binding the Unix socket /nonexistent-dir/mcp.sock",
        ),
        // Not an address of this machine.
        ("--http", "192.0.2.1:1", "binding 192.0.2.1:1"),
    ] {
        let out = Command::new(BIN)
            .args([flag, value])
            .output()
            .expect("run the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
    }
}

/// A certificate or key that cannot be used stops the binary at start, with
/// the file and the reason, and exit code 2; nothing is left listening.
#[test]
fn a_bad_certificate_or_key_stops_the_binary_with_exit_code_2() {
    let dir = scratch("tls");
    let (garbage, key, other_key) = (
        dir.join("garbage.pem"),
        dir.join("key.pem"),
        dir.join("other.pem"),
    );
    let cert = dir.join("cert.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    for (path, out) in [(&key, None), (&other_key, None), (&key, Some(&cert))] {
        let mut openssl = Command::new("openssl");
        match out {
            None => openssl
                .args([
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                ])
                .arg(path),
            Some(cert) => openssl
                .args([
                    "req",
                    "-x509",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-key",
                ])
                .arg(path)
                .arg("-out")
                .arg(cert),
        };
        assert!(
            openssl.stderr(Stdio::null()).status().unwrap().success(),
            "openssl"
        );
    }
    let missing = dir.join("missing.pem");
    for (cert, key, says) in [
        (&garbage, &key, "no PEM certificate in it"),
        (&cert, &garbage, "no usable PEM private key"),
        (&missing, &key, "missing.pem"),
        (&cert, &other_key, "the certificate and key were refused"),
    ] {
        let out = Command::new(BIN)
            .args(["--http", "127.0.0.1:0", "--tls-cert"])
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .output()
            .expect("run the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", cert.display());
        assert!(stderr.contains("loading the TLS certificate and key"), "{stderr}");
        assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
