//! Time: no busy wait when idle, a shutdown grace that bounds a session
//! that cannot flush, request timeouts under paused time, and a handle
//! that is `Send + Sync`.

use super::*;

/// CPU time (user + system) of this process, from `/proc/self/stat`, in
/// clock ticks (10 ms each).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name (which is in parentheses); utime and
    // stime are fields 14 and 15 of the whole line.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Seed criterion: **no busy wait.** An idle server with 100 idle sessions
/// uses about 0 % CPU: the process's CPU time grows by less than 1 % of the
/// wall time over 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_busy_wait_when_idle() {
    let _serial = SERIAL.lock().await;
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let clients = connect_many(&server, 100).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (before, started) = (cpu_ticks(), std::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (used_ms, wall_ms) = ((cpu_ticks() - before) * 10, started.elapsed().as_millis() as u64);
    eprintln!("idle: {used_ms} ms of CPU in {wall_ms} ms with 100 sessions");
    assert!(
        used_ms * 100 < wall_ms,
        "{used_ms} ms of CPU in {wall_ms} ms: busy waiting?"
    );
    assert_eq!(server.handle.sessions().len(), 100);
    drop(clients);
    server.stop().await;
}

/// Seed criterion: **shutdown finishes within the grace period under any
/// load**, with paused time: a client that never reads has its socket and
/// outbox full when shutdown begins, so its session cannot flush. `serve`
/// returns once the grace (10 s of virtual time) is over, with the session
/// accounted for, and not later.
#[tokio::test(start_paused = true)]
async fn shutdown_grace_bounds_a_session_that_cannot_flush() {
    let _serial = SERIAL.lock().await;
    let grace = Duration::from_secs(10);
    let server = TestServer::start(ServerConfig::default().shutdown_grace(grace), vec![]).await;
    let mut stuck = Client::connect(server.addr).await;
    stuck.initialize().await;
    let note = Notification::log("info", None, json!("z".repeat(64 * 1024)));
    // Fill the kernel's socket buffers and the outbox.
    loop {
        let report = server.handle.broadcast(&note);
        tokio::task::yield_now().await;
        if report.dropped > 0 {
            break;
        }
    }
    let handle = server.handle.clone();
    let report = server.stop().await;
    eprintln!("grace: {report:?}");
    assert_eq!(report.sessions_closed + report.sessions_aborted, 1);
    assert!(
        report.elapsed >= grace && report.elapsed < grace + Duration::from_secs(1),
        "{report:?}"
    );
    assert!(handle.sessions().is_empty());
    assert_eq!(handle.available_permits(), ServerConfig::default().max_sessions);
    drop(stuck);
}

/// Seed criterion: **requests time out**, with paused time: 50 concurrent
/// requests to a 10-minute `sleep` on five sessions are each cancelled at the
/// 5 s timeout and answered with -32001; the sessions go on.
#[tokio::test(start_paused = true)]
async fn request_timeout_under_paused_time() {
    let _serial = SERIAL.lock().await;
    let config = ServerConfig::default().request_timeout(Duration::from_secs(5));
    let server = TestServer::start(config, vec![]).await;
    let mut clients = connect_many(&server, 5).await;
    let started = tokio::time::Instant::now();
    for client in &mut clients {
        for id in 1..=10 {
            client.send(&call(id, "sleep", json!({"ms": 600_000}))).await;
        }
    }
    for client in &mut clients {
        for id in 1..=10u64 {
            let answer = client.response(&json!(id)).await;
            assert_eq!(error_code(&answer), -32001);
        }
        let echoed = client.call(99, "echo", json!({"text": "on"})).await;
        assert_eq!(echoed["result"]["content"][0]["text"], "on");
    }
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.handle.metrics().requests_timed_out, 50);
    server.stop().await;
}

#[allow(dead_code)]
fn assert_handle_is_send_sync(handle: ServerHandle) -> impl Send + Sync {
    handle
}
