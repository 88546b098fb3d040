//! loom models of the core: every interleaving of the scenarios in
//! `scenarios/`, up to `LOOM_MAX_PREEMPTIONS` preemptions (default 2 here).
//!
//! Run: `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom_core`
//! (or `ci/model-check.sh`). Sizes stay within loom's limit of 5 threads.

#![cfg(loom)]

mod scenarios;

/// Runs `f` under loom with a bounded number of preemptions, and reports how
/// many interleavings it explored (shown with `--nocapture`).
fn check(f: impl Fn() + Sync + Send + 'static) {
    check_at_most(usize::MAX, f);
}

/// As [`check`], with at most `cap` preemptions whatever
/// `LOOM_MAX_PREEMPTIONS` says: for the models with four busy threads, where
/// one more preemption multiplies the run by twenty (1.7 million
/// interleavings and 157 s at 3; 81 thousand and 7 s at 2).
fn check_at_most(cap: usize, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(2).min(cap));
    // A plain std counter: it only counts runs and is not part of the model.
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&runs);
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    eprintln!(
        "loom: {} interleavings explored (preemption bound {:?})",
        runs.load(Ordering::Relaxed),
        builder.preemption_bound
    );
}

/// 3 clients, 2 permits, nobody leaves. Catches `admit_check_then_act` and
/// `session_id_racy`.
#[test]
fn admission_exact_when_nobody_leaves() {
    check(|| scenarios::admission(3, 2, false));
}

/// 2 clients, 1 permit, each leaves at once. Catches `admit_check_then_act`
/// and `release_before_deregister`.
#[test]
fn admission_never_over_the_limit_while_sessions_leave() {
    check(|| scenarios::admission(2, 1, true));
}

/// The session ends while 2 threads notify and broadcast to it. Catches
/// `closed_outbox_reports_ok` and `envelope_drop_uncounted`.
#[test]
fn cleanup_races_notify_and_broadcast() {
    check(|| scenarios::cleanup_races_notify(2, 2));
}

/// Shutdown and drain while 2 clients connect to 1 permit. Catches
/// `drain_token_after_check`, `drain_lost_wakeup`, `register_ignores_shutdown`
/// and `release_before_deregister`.
#[test]
fn shutdown_races_admission_and_exit() {
    check(|| scenarios::shutdown_races(2, 1));
}

/// An outbox of 1 closed while a sender waits for room. Catches
/// `envelope_drop_uncounted` and `closed_outbox_reports_ok`.
#[test]
fn outbox_close_loses_nothing() {
    check(|| scenarios::outbox_close(1, 3));
}

/// The drain awaited on another thread while a client connects to 1 permit
/// and shutdown runs. Catches `tracker_close_wakes_nobody`.
#[test]
fn drain_awaited_elsewhere() {
    check(|| scenarios::drain_awaited_elsewhere(1, 1));
}

/// A full outbox of 1 whose receiver is dropped while a sender waits for
/// room. Catches `receiver_drop_wakes_nobody`.
#[test]
fn receiver_dropped_releases_sender() {
    check(|| scenarios::receiver_dropped_releases_sender(1));
}

/// A POST racing a DELETE of its session. Catches `mailbox_kept_open`.
#[test]
fn http_post_races_delete() {
    check_at_most(2, || scenarios::http_post_races_end(1, true));
}

/// 2 POSTs racing the expiry of their session. Catches `mailbox_kept_open`
/// and `directory_entry_left`.
#[test]
fn http_post_races_expiry() {
    check_at_most(2, || scenarios::http_post_races_end(2, false));
}

/// A request's stream dropped while its handler answers. Catches
/// `answer_to_closed_uncounted`.
#[test]
fn stream_drop_races_answer() {
    check(scenarios::stream_drop_races_answer);
}

/// 2 listen streams racing shutdown while a publisher delivers. Catches
/// `subscription_left`.
#[test]
fn listen_races_shutdown() {
    check_at_most(2, || scenarios::listen_races_shutdown(2));
}

/// A live session is reachable (sequential: what the other models rely on).
#[test]
fn reachability() {
    check(scenarios::reachability);
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
