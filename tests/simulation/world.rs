//! One simulated world: the server host (the real `Server`, TCP lines on
//! [`LINES`] and Streamable HTTP on [`HTTP`] through the listener seam), a
//! ledger every client writes what it saw into, the invariants checked on
//! it, and the seeds: each scenario runs a few seeds, a failing run names
//! its seed, and `MCP_SIM_SEED` replays exactly that one.

#![allow(unreachable_pub)]

use std::cell::RefCell;
use std::fmt::Display;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_server_core::bus::{RedisBus, RedisBusConfig};
use mcp_server_core::config::HttpConfig;
use mcp_server_core::server::store::{EventStore, MemoryStore, SessionStore, TaskStore};
use mcp_server_core::{Server, ServerConfig, ServerHandle, ShutdownReport};

use super::net::SimListener;
use super::redis::SimRedis;
use super::tools::{Running, hold, poll, sample, work};

/// The server host's name.
pub const SERVER: &str = "server";
/// Its port for line sessions (TCP).
pub const LINES: u16 = 7000;
/// Its port for Streamable HTTP.
pub const HTTP: u16 = 8080;

/// A small seeded generator (SplitMix64): every random choice of a
/// scenario comes from the seed, so a run can be replayed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A duration between `lo` and `hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }

    /// An independent generator for one participant.
    pub fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

/// What every participant saw, in order, and what broke an invariant.
#[derive(Debug, Default)]
pub struct Ledger {
    events: Vec<String>,
    violations: Vec<String>,
}

/// The ledger, shared by the hosts of one run (all on one thread).
pub type Shared = Rc<RefCell<Ledger>>;

/// Milliseconds of simulated time.
pub fn now_ms() -> u128 {
    turmoil::sim_elapsed().map_or(0, |d| d.as_millis())
}

impl Ledger {
    /// Records what `who` saw now.
    pub fn event(&mut self, who: &str, what: impl Display) {
        self.events.push(format!("{} {who} {what}", now_ms()));
    }

    /// Records what `who` saw at `at`, from outside every host (where
    /// turmoil's clock cannot be read).
    pub fn event_at(&mut self, at: Duration, who: &str, what: impl Display) {
        self.events.push(format!("{} {who} {what}", at.as_millis()));
    }

    /// Records a broken invariant (the run fails at its end).
    pub fn violation(&mut self, who: &str, what: impl Display) {
        let line = format!("{} {who} {what}", now_ms());
        self.events.push(format!("VIOLATION {line}"));
        self.violations.push(line);
    }

    /// A hash of the events in their order: the run's trace.
    pub fn trace_hash(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.events.hash(&mut hasher);
        hasher.finish()
    }

    /// How many answers, faults and losses the run saw.
    pub fn tally(&self) -> String {
        let count = |what: &str| self.events.iter().filter(|e| e.contains(what)).count();
        format!(
            "{} answers, {} holds, {} partitions, {} lost, {} abandoned, {} crashes, {} sessions gone",
            count(" answer "),
            count("chaos hold"),
            count("chaos partition"),
            count(" lost: "),
            count(" abandon "),
            count(" crash"),
            count("session gone"),
        )
    }

    pub fn events(&self) -> &[String] {
        &self.events
    }

    pub fn violations(&self) -> &[String] {
        &self.violations
    }
}

/// A simulation seeded with `seed`, messages taking `lo..=hi` ms.
pub fn sim(seed: u64, lo: u64, hi: u64) -> turmoil::Sim<'static> {
    // What lapses by the wall clock (tasks, stored records, leases) lapses
    // in simulated time; the same for every run of a seed.
    mcp_server_core::sync::set_wall_clock(sim_clock);
    turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(sim_epoch())
        .simulation_duration(Duration::from_secs(600))
        .min_message_latency(Duration::from_millis(lo))
        .max_message_latency(Duration::from_millis(hi))
        .build()
}

/// Where the simulation's wall clock starts: 2026-07-28T00:00:00Z.
fn sim_epoch() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_785_196_800)
}

/// The simulation's wall clock, read by the server; `None` outside a
/// simulated host (the system's clock is read then).
fn sim_clock() -> Option<u64> {
    turmoil::since_epoch().map(|d| d.as_millis() as u64)
}

/// Steps `sim` to its end, calling `each` after every step with the
/// simulated time; an error of the simulation is a violation.
pub fn step_through<'a>(
    sim: &mut turmoil::Sim<'a>,
    ledger: &Shared,
    mut each: impl FnMut(&mut turmoil::Sim<'a>, Duration),
) {
    loop {
        match sim.step() {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                ledger.borrow_mut().violation("sim", e);
                return;
            }
        }
        let now = sim.elapsed();
        each(sim, now);
    }
}

/// The server's configuration in the simulation: short timers, so expiry
/// and shutdown happen within a run.
pub fn config() -> ServerConfig {
    ServerConfig::default()
        .max_sessions(64)
        .max_in_flight_per_session(4)
        .request_timeout(Duration::from_secs(20))
        .client_request_timeout(Duration::from_secs(3))
        .shutdown_grace(Duration::from_secs(2))
        .task_ttl(Duration::from_secs(3))
        // A crashed replica's stored tasks are shown failed within a run.
        .task_lease(Duration::from_secs(1))
        .write_stall_timeout(Duration::from_secs(5))
        .http(
            HttpConfig::default()
                .session_idle_timeout(Duration::from_secs(8))
                .header_read_timeout(Duration::from_secs(7))
                .body_read_timeout(Duration::from_secs(6)),
        )
}

/// The replicas' bus in the simulation: short timers, so losses are
/// noticed and mended within a run, and a small queue, so a stalled
/// publisher fills it.
fn bus_config() -> RedisBusConfig {
    RedisBusConfig::default()
        .publish_queue(8)
        .connect_timeout(Duration::from_secs(1))
        .max_backoff(Duration::from_secs(2))
        .health_interval(Duration::from_secs(1))
}

/// What the server host leaves for the checks: the handle of its current
/// incarnation and how each shutdown went.
#[derive(Debug, Default)]
pub struct ServerSide {
    pub handle: Option<ServerHandle>,
    /// The `hold` calls running now (across the server's incarnations).
    pub running: Running,
    pub starts: u32,
    /// When a client called `shutdown()` (simulated time).
    pub shutdown_called: Option<Duration>,
    /// Simulated time from `shutdown()` to both serve loops returning.
    pub shutdowns: Vec<(Duration, ShutdownReport)>,
    /// The current incarnation's event bus, for a replica sharing one.
    pub bus: Option<Arc<RedisBus>>,
}

impl ServerSide {
    /// Begins the current server's shutdown, noting when.
    pub fn shutdown(&mut self) {
        self.shutdown_called = turmoil::sim_elapsed();
        self.handle.as_ref().expect("the server is up").shutdown();
    }
}

/// Adds the server host to `sim`; a bounce builds a new `Server`.
pub fn server_host(sim: &mut turmoil::Sim<'_>, side: Rc<RefCell<ServerSide>>) {
    replica_host(sim, SERVER, side, false, None);
}

/// Adds a server host named `name` to `sim`, sharing the Redis bus of
/// `redis.rs` with the other replicas when `bus`, and keeping its
/// sessions, their streams' events and its tasks in `store` when given
/// (held outside every host, as a Redis would be); a bounce builds a new
/// `Server` (and bus) over the same store.
pub fn replica_host(
    sim: &mut turmoil::Sim<'_>,
    name: &str,
    side: Rc<RefCell<ServerSide>>,
    bus: bool,
    store: Option<MemoryStore>,
) {
    sim.host(name, move || {
        let (side, store) = (Rc::clone(&side), store.clone());
        async move {
            let running = Arc::clone(&side.borrow().running);
            let mut builder = Server::builder()
                .config(config())
                .builtin_tools()
                .tool(work())
                .tool(sample())
                .tool(hold(running))
                .tool(poll());
            if bus {
                let bus = RedisBus::start_with("redis://sim/", Arc::new(SimRedis), bus_config())?;
                side.borrow_mut().bus = Some(Arc::clone(&bus));
                builder = builder.event_bus(bus);
            }
            if let Some(store) = store {
                builder = builder
                    .session_store(Arc::new(store.clone()) as Arc<dyn SessionStore>)
                    .event_store(Arc::new(store.clone()) as Arc<dyn EventStore>)
                    .task_store(Arc::new(store) as Arc<dyn TaskStore>);
            }
            let server = builder.build();
            let handle = server.handle();
            {
                let mut side = side.borrow_mut();
                side.handle = Some(handle.clone());
                side.starts += 1;
            }
            let lines = SimListener::bind(LINES).await?;
            let http = SimListener::bind(HTTP).await?;
            let (report, _) = tokio::join!(server.serve_lines(lines), server.serve_http(http));
            let mut side = side.borrow_mut();
            let called = side.shutdown_called.unwrap_or_default();
            let took = turmoil::sim_elapsed().unwrap_or_default().saturating_sub(called);
            side.shutdowns.push((took, report));
            Ok(())
        }
    });
}

/// The seeds a scenario runs: `MCP_SIM_SEED` alone if set, else
/// `MCP_SIM_SEEDS` (default 4) seeds derived from the scenario's name.
pub fn seeds(scenario: &str) -> Vec<u64> {
    if let Ok(seed) = std::env::var("MCP_SIM_SEED") {
        return vec![seed.parse().expect("MCP_SIM_SEED is a number")];
    }
    let count: u64 =
        std::env::var("MCP_SIM_SEEDS").map_or(4, |n| n.parse().expect("MCP_SIM_SEEDS is a number"));
    let mut hasher = DefaultHasher::new();
    scenario.hash(&mut hasher);
    let mut rng = Rng::new(hasher.finish());
    (0..count).map(|_| rng.next() % 1_000_000).collect()
}

/// Runs `scenario` once per seed; a failing seed is printed with the
/// command that replays it.
pub fn each_seed(name: &str, scenario: impl Fn(u64) -> Ledger) {
    if let Ok(filter) = std::env::var("MCP_SIM_LOG") {
        // The server's own log, stamped with simulated milliseconds.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_timer(SimTime)
            .with_ansi(false)
            .try_init();
    }
    for seed in seeds(name) {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(seed)));
        match run {
            Ok(ledger) if ledger.violations().is_empty() => {
                eprintln!(
                    "{name}: seed {seed} ok, trace {:016x}, {}",
                    ledger.trace_hash(),
                    ledger.tally()
                );
                if std::env::var("MCP_SIM_TRACE").is_ok() {
                    eprintln!("{:#?}", ledger.events());
                }
            }
            Ok(ledger) => {
                // All of it with MCP_SIM_TRACE, else the last 40 events.
                let tail = if std::env::var("MCP_SIM_TRACE").is_ok() {
                    0
                } else {
                    ledger.events().len().saturating_sub(40)
                };
                panic!(
                    "{name}: seed {seed} broke invariants: {:#?}\nlast events: {:#?}\n\
                     replay: MCP_SIM_SEED={seed} cargo test --release --test simulation {name}",
                    ledger.violations(),
                    &ledger.events()[tail..],
                );
            }
            Err(panic) => {
                eprintln!(
                    "{name}: seed {seed} panicked; replay: MCP_SIM_SEED={seed} cargo test --release --test simulation {name}"
                );
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// Stamps log lines with the simulated time.
struct SimTime;

impl tracing_subscriber::fmt::time::FormatTime for SimTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(w, "{:>6}ms", now_ms())
    }
}
