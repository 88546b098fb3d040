//! What both shuttle targets (`shuttle_core`, `shuttle_engine`) run each
//! scenario with.

/// Schedules per scheduler: the number in the variable `var`, else
/// `default`.
pub(crate) fn iterations(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs `f` under `check_random` and `check_pct` (depth 3), `runs`
/// schedules each, or replays one schedule if `SHUTTLE_REPLAY` is set.
pub(crate) fn check(f: impl Fn() + Sync + Send + Clone + 'static, runs: usize) {
    if let Ok(schedule) = std::env::var("SHUTTLE_REPLAY") {
        shuttle::replay(f, &schedule);
        return;
    }
    shuttle::check_random(f.clone(), runs);
    shuttle::check_pct(f, runs, 3);
}
