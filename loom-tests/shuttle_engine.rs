//! The session engine and the line transport under shuttle (see
//! `engine/mod.rs`): the real server, compiled against shuttle-tokio, under
//! random and PCT schedules.
//!
//! Run: `RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle cargo test --release --test shuttle_engine`
//! (or `ci/model-check.sh`). `SHUTTLE_ENGINE_ITERATIONS` sets the schedules
//! per scheduler and scenario (default 1,000: each schedule runs the whole
//! server). A failure prints the failing schedule; `SHUTTLE_REPLAY='<schedule>'`
//! replays exactly that one.

#![cfg(shuttle)]

mod engine;
mod shuttle_check;

fn iterations() -> usize {
    shuttle_check::iterations("SHUTTLE_ENGINE_ITERATIONS", 1000)
}

fn check(f: impl Fn() + Sync + Send + Clone + 'static) {
    shuttle_check::check(f, iterations());
}

#[test]
fn calls_at_the_cap() {
    check(engine::scenarios::calls_at_the_cap);
}

#[test]
fn client_requests_at_the_cap() {
    check(engine::client_requests::client_requests_at_the_cap);
}

#[test]
fn client_request_races_session_end() {
    check(engine::client_requests::client_request_races_session_end);
}

#[test]
fn catalog_and_subscriptions_race() {
    check(engine::scenarios::catalog_and_subscriptions_race);
}

#[test]
fn shutdown_races_everything() {
    check(engine::scenarios::shutdown_races_everything);
}

#[test]
fn tasks_race_cancel_and_shutdown() {
    check(engine::tasks::tasks_race_cancel_and_shutdown);
}

#[test]
fn task_questions_answered_in_part() {
    check(engine::tasks::task_questions_answered_in_part);
}

#[test]
fn handshake_cuts_only_the_silent() {
    check(engine::handshake::handshake_cuts_only_the_silent);
}

#[test]
fn listen_races_cancel_and_shutdown() {
    check(engine::listen::listen_races_cancel_and_shutdown);
}

#[test]
fn answers_follow_their_notifications() {
    check(engine::order::answers_follow_their_notifications);
}

#[test]
fn session_end_writes_what_was_answered() {
    check(engine::order::session_end_writes_what_was_answered);
}

/// Replayable: each scenario, run twice on the same schedule, makes the
/// same choices (ids, the order of maps, time that never passes by itself).
/// shuttle's own check: it fails on any decision it did not make.
#[test]
fn every_scenario_replays() {
    if std::env::var("SHUTTLE_REPLAY").is_ok() {
        return;
    }
    let runs = iterations().min(50);
    shuttle_check::check_replays(engine::scenarios::calls_at_the_cap, runs);
    shuttle_check::check_replays(engine::client_requests::client_requests_at_the_cap, runs);
    shuttle_check::check_replays(engine::client_requests::client_request_races_session_end, runs);
    shuttle_check::check_replays(engine::scenarios::catalog_and_subscriptions_race, runs);
    shuttle_check::check_replays(engine::scenarios::shutdown_races_everything, runs);
    shuttle_check::check_replays(engine::tasks::tasks_race_cancel_and_shutdown, runs);
    shuttle_check::check_replays(engine::listen::listen_races_cancel_and_shutdown, runs);
    shuttle_check::check_replays(engine::handshake::handshake_cuts_only_the_silent, runs);
    shuttle_check::check_replays(engine::order::answers_follow_their_notifications, runs);
    shuttle_check::check_replays(engine::order::session_end_writes_what_was_answered, runs);
}
