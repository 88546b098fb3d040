//! The whole server over turmoil's simulated network: a server host runs
//! the real `Server` (line sessions and Streamable HTTP, accepted through
//! the listener seam), client hosts speak MCP to it (2025 sessions over TCP
//! and HTTP, their standalone streams resumed with `Last-Event-ID`, the
//! server asking them for input and completions; 2026-07-28 stateless
//! requests, `input_required` rounds, listen streams, tasks), and seeded
//! faults strike in between: latency and jitter, held links, partitions,
//! connections reset mid-call, clients crashing mid-request, a session cut
//! off past its idle timeout, the server host crashing and coming back,
//! shutdown under load; and replicas sharing an event bus, or a session
//! store across which one replica crashes. Every run checks that no request gets a second
//! answer or another request's answer, that clients the faults spared get
//! every answer, and that once the clients have left every gauge of the
//! server is back to zero.
//!
//! Each scenario runs `MCP_SIM_SEEDS` seeds (default 4); a failing run
//! prints its seed, and `MCP_SIM_SEED=<seed>` replays exactly that run
//! (`MCP_SIM_TRACE=1` prints its events, `MCP_SIM_LOG=debug` the server's
//! log in simulated time). `analysis/simulation.md` has the longer
//! campaign and what it found.

#![cfg(not(any(loom, shuttle)))]

mod support;

#[path = "simulation/asks.rs"]
mod asks;
#[path = "simulation/clients.rs"]
mod clients;
#[path = "simulation/extensions.rs"]
mod extensions;
#[path = "simulation/faults.rs"]
mod faults;
#[path = "simulation/http_client.rs"]
mod http_client;
#[path = "simulation/net.rs"]
mod net;
#[path = "simulation/polls.rs"]
mod polls;
#[path = "simulation/redis.rs"]
mod redis;
#[path = "simulation/replicas.rs"]
mod replicas;
#[path = "simulation/resets.rs"]
mod resets;
#[path = "simulation/resume.rs"]
mod resume;
#[path = "simulation/scenarios.rs"]
mod scenarios;
#[path = "simulation/stored.rs"]
mod stored;
#[path = "simulation/stored_tasks.rs"]
mod stored_tasks;
#[path = "simulation/tools.rs"]
mod tools;
#[path = "simulation/workers.rs"]
mod workers;
#[path = "simulation/world.rs"]
mod world;

use world::each_seed;

#[test]
fn sessions_under_jitter() {
    each_seed("sessions_under_jitter", scenarios::jitter);
}

#[test]
fn held_links_lose_nothing() {
    each_seed("held_links_lose_nothing", scenarios::holds);
}

#[test]
fn partitions_heal_and_nothing_leaks() {
    each_seed("partitions_heal_and_nothing_leaks", scenarios::partitions);
}

#[test]
fn the_server_crashes_and_comes_back() {
    each_seed("the_server_crashes_and_comes_back", scenarios::crash);
}

#[test]
fn sessions_outlive_a_replica_crash() {
    each_seed(
        "sessions_outlive_a_replica_crash",
        stored::sessions_outlive_a_replica,
    );
}

#[test]
fn shutdown_under_load_ends_within_its_grace() {
    each_seed("shutdown_under_load_ends_within_its_grace", scenarios::shutdown);
}

#[test]
fn clients_asked_and_connections_reset() {
    each_seed("clients_asked_and_connections_reset", scenarios::asks_and_resets);
}

#[test]
fn listen_streams_hear_what_they_asked_and_tasks_end_once() {
    each_seed(
        "listen_streams_hear_what_they_asked_and_tasks_end_once",
        scenarios::extensions,
    );
}

#[test]
fn replicas_share_events_over_the_bus() {
    each_seed("replicas_share_events_over_the_bus", replicas::replicas);
}

/// The same seed gives the same run: the trace (every event the clients
/// saw, in order, with its simulated time) hashes the same twice, and
/// another seed gives another trace.
#[test]
fn a_seed_replays_exactly() {
    for (seed, scenario) in world::seeds("a_seed_replays_exactly")
        .into_iter()
        .flat_map(|seed| {
            [
                (seed, scenarios::partitions as fn(u64) -> _),
                (seed, scenarios::extensions),
            ]
        })
    {
        let first = scenario(seed);
        let again = scenario(seed);
        assert_eq!(
            first.trace_hash(),
            again.trace_hash(),
            "seed {seed} ran differently twice; first divergence: {:?}",
            first.events().iter().zip(again.events()).find(|(a, b)| a != b)
        );
        assert_ne!(first.trace_hash(), scenario(seed + 1).trace_hash());
    }
}

/// A run with a host crash (Redis's, a replica's) replays exactly in a new process, which is how
/// `MCP_SIM_SEED` replays one. (Twice in one process it need not: tokio
/// numbers tasks process-wide, and a crashed host's tasks, with their
/// sockets, are dropped in an order that follows those numbers.)
#[test]
fn a_crash_replays_in_a_new_process() {
    for test in [
        "replicas_share_events_over_the_bus",
        "sessions_outlive_a_replica_crash",
    ] {
        replays_in_a_new_process(test);
    }
}

/// Runs `test` in new processes: twice with each seed, once with the next.
fn replays_in_a_new_process(test: &str) {
    let trace = |seed: u64| {
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", test, "--nocapture"])
            .env("MCP_SIM_SEED", seed.to_string())
            .env_remove("MCP_SIM_TRACE")
            .output()
            .expect("the test binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "seed {seed} failed: {stderr}");
        let line = stderr
            .lines()
            .find(|l| l.contains(" ok, trace "))
            .expect("a trace line");
        line.split(" ok, trace ").nth(1).expect("a hash")[..16].to_owned()
    };
    for seed in world::seeds("a_crash_replays_in_a_new_process") {
        let first = trace(seed);
        assert_eq!(first, trace(seed), "seed {seed} ran differently in two processes");
        assert_ne!(first, trace(seed + 1));
    }
}
