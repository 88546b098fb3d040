//! shuttle models of the core: the scenarios of `scenarios/` with more
//! threads than loom can afford, under random and PCT schedules.
//!
//! Run: `RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle cargo test --release --test shuttle_core`
//! (or `ci/model-check.sh`). `SHUTTLE_ITERATIONS` sets the schedules per
//! scheduler and scenario (default 10,000).
//!
//! A failure prints the failing schedule. To replay it, run the same test
//! with `SHUTTLE_REPLAY='<schedule>'`: the scenario then runs exactly that
//! schedule once (under a debugger, if you like).

#![cfg(shuttle)]

mod scenarios;
mod shuttle_check;

fn iterations() -> usize {
    shuttle_check::iterations("SHUTTLE_ITERATIONS", 10_000)
}

fn check(f: impl Fn() + Sync + Send + Clone + 'static) {
    shuttle_check::check(f, iterations());
}

/// 8 clients, 3 permits, nobody leaves.
#[test]
fn admission_exact_when_nobody_leaves() {
    check(|| scenarios::admission(8, 3, false));
}

/// 6 clients, 2 permits, each leaves at once.
#[test]
fn admission_never_over_the_limit_while_sessions_leave() {
    check(|| scenarios::admission(6, 2, true));
}

/// The session ends while 4 threads notify and broadcast 4 messages each.
#[test]
fn cleanup_races_notify_and_broadcast() {
    check(|| scenarios::cleanup_races_notify(4, 4));
}

/// Shutdown and drain while 6 clients connect to 3 permits.
#[test]
fn shutdown_races_admission_and_exit() {
    check(|| scenarios::shutdown_races(6, 3));
}

/// An outbox of 2 closed while a sender sends 8 messages.
#[test]
fn outbox_close_loses_nothing() {
    check(|| scenarios::outbox_close(2, 8));
}

/// The drain awaited on another thread while 4 clients connect to 2 permits.
#[test]
fn drain_awaited_elsewhere() {
    check(|| scenarios::drain_awaited_elsewhere(4, 2));
}

/// A full outbox of 2 whose receiver is dropped while a sender waits.
#[test]
fn receiver_dropped_releases_sender() {
    check(|| scenarios::receiver_dropped_releases_sender(2));
}

/// 3 POSTs racing a DELETE of their session.
#[test]
fn http_post_races_delete() {
    check(|| scenarios::http_post_races_end(3, true));
}

/// 4 POSTs racing the expiry of their session.
#[test]
fn http_post_races_expiry() {
    check(|| scenarios::http_post_races_end(4, false));
}

/// A request's stream dropped while its handler answers.
#[test]
fn stream_drop_races_answer() {
    check(scenarios::stream_drop_races_answer);
}

/// 4 listen streams racing shutdown while a publisher delivers.
#[test]
fn listen_races_shutdown() {
    check(|| scenarios::listen_races_shutdown(4));
}

/// A live session is reachable (sequential: what the other models rely on;
/// one schedule, since there is nothing to interleave and PCT refuses a
/// test without concurrency).
#[test]
fn reachability() {
    shuttle::check_random(scenarios::reachability, 1);
}

/// A running task finished, cancelled, and its table closed at once.
/// Catches `task_terminal_overwritten`.
#[test]
fn task_ends_once() {
    check(|| scenarios::tasks_race(false));
}

/// As `task_ends_once`, with the task expiring meanwhile. Catches
/// `task_expiry_keeps_running`.
#[test]
fn task_expiry_stops_its_work() {
    check(|| scenarios::tasks_race(true));
}
