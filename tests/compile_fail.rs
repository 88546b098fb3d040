//! The registry's lock guard cannot live across an `.await` in a spawned
//! task: the program that tries does not compile (trybuild checks it
//! against this crate), and the one that drops the guard first is the
//! second test here, so it compiles with this file and runs.
//!
//! Only a compile-fail case is left to trybuild: with no case that must
//! build and run, it checks instead of building, a few minutes less of
//! CI on this machine.

#![cfg(not(any(loom, shuttle)))]

use std::sync::Arc;

use mcp_server_core::sync::Mutex;

#[test]
fn a_lock_guard_cannot_cross_an_await_in_a_spawned_task() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/guard_across_await.rs");
}

#[tokio::test]
async fn a_guard_dropped_before_the_await_can_be_in_a_spawned_task() {
    let shared = Arc::new(Mutex::new(7u32));
    let task = tokio::spawn(async move {
        let value = *shared.lock(); // the guard drops here
        tokio::task::yield_now().await;
        value
    });
    assert_eq!(task.await.expect("task"), 7);
}
