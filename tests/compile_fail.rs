//! The registry's lock guard cannot live across an `.await` in a spawned
//! task: the program that tries does not compile, the one that drops the
//! guard first does (trybuild compiles both against this crate).

#![cfg(not(any(loom, shuttle)))]

#[test]
fn a_lock_guard_cannot_cross_an_await_in_a_spawned_task() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/guard_across_await.rs");
    cases.pass("tests/compile-fail/guard_dropped_before_await.rs");
}
