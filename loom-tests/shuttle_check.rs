//! What both shuttle targets (`shuttle_core`, `shuttle_engine`) run each
//! scenario with.

use shuttle::scheduler::{
    PctScheduler, RandomScheduler, ReplayScheduler, UncontrolledNondeterminismCheckScheduler,
};
use shuttle::{Config, Runner};

/// Schedules per scheduler: the number in the variable `var`, else
/// `default`.
pub(crate) fn iterations(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// shuttle's defaults, with 256 KiB of stack per task instead of 60: in a
/// debug build (`RUSTFLAGS="--cfg shuttle" cargo test`, as typed) the
/// server's futures (a session's loop, the drain, a refused client's
/// linger) are several times their release size, and overflowed 60 KiB.
fn config() -> Config {
    let mut config = Config::new();
    config.stack_size = 256 * 1024;
    config
}

/// Runs `f` under shuttle's random and PCT (depth 3) schedulers, `runs`
/// schedules each, or replays one schedule if `SHUTTLE_REPLAY` is set.
pub(crate) fn check(f: impl Fn() + Sync + Send + Clone + 'static, runs: usize) {
    if let Ok(schedule) = std::env::var("SHUTTLE_REPLAY") {
        Runner::new(ReplayScheduler::new_from_encoded(&schedule), config()).run(f);
        return;
    }
    Runner::new(RandomScheduler::new(runs), config()).run(f.clone());
    Runner::new(PctScheduler::new(3, runs), config()).run(f);
}

/// shuttle's check that `f` makes no decision the schedule did not
/// (`check_uncontrolled_nondeterminism`), over `runs` random schedules.
#[allow(dead_code, reason = "the engine's target uses it, the core's does not")]
pub(crate) fn check_replays(f: impl Fn() + Sync + Send + 'static, runs: usize) {
    let scheduler = UncontrolledNondeterminismCheckScheduler::new(RandomScheduler::new(runs));
    Runner::new(scheduler, config()).run(f);
}
