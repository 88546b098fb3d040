//! The scenarios: each builds one seeded world, runs it to its end and
//! returns the ledger (the tests in `simulation.rs` check it per seed).

#![allow(unreachable_pub)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::asks::ask_worker;
use super::extensions::{Board, input_worker, listener, publisher, task_worker};
use super::faults::{audit, chaos, cut_off_past_idle};
use super::polls::poll_worker;
use super::resets::reset_worker;
use super::resume::resume_worker;
use super::workers::{Crew, http_worker, line_worker, stateless_worker};
use super::world::{self, Ledger, Rng, SERVER, ServerSide, Shared, server_host, sim};

/// The hosts every scenario has: the server, three TCP sessions, two HTTP
/// sessions and two 2026-07-28 clients making `ops` calls each, and the
/// auditor.
struct World {
    sim: turmoil::Sim<'static>,
    ledger: Shared,
    side: Rc<RefCell<ServerSide>>,
    crew: Crew,
    rng: Rng,
}

const CLIENTS: [&str; 7] = [
    "line0",
    "line1",
    "line2",
    "http0",
    "http1",
    "stateless0",
    "stateless1",
];
const HTTP_CLIENTS: [&str; 4] = ["http0", "http1", "stateless0", "stateless1"];

impl World {
    fn new(seed: u64, latency: (u64, u64), faults: bool, ops: usize) -> Self {
        let ledger = Shared::default();
        let side = Rc::new(RefCell::new(ServerSide::default()));
        let mut sim = sim(seed, latency.0, latency.1);
        server_host(&mut sim, Rc::clone(&side));
        let crew = Crew::new(Rc::clone(&ledger), faults);
        let mut rng = Rng::new(seed);
        for who in CLIENTS {
            let (crew, who_owned, fork) = (crew.clone(), who.to_owned(), rng.fork());
            if who.starts_with("line") {
                sim.client(who, line_worker(crew, who_owned, fork, ops));
            } else if who.starts_with("http") {
                sim.client(who, http_worker(crew, who_owned, fork, ops));
            } else {
                sim.client(who, stateless_worker(crew, who_owned, fork, ops));
            }
        }
        sim.client(
            "auditor",
            audit(crew.clone(), Rc::clone(&side), Duration::from_secs(20)),
        );
        Self {
            sim,
            ledger,
            side,
            crew,
            rng,
        }
    }

    /// Adds 2025 clients the server asks for input (`asks.rs`), over HTTP
    /// or lines, `ops` calls each.
    fn askers(&mut self, who: &[(&str, bool)], ops: usize) {
        for (who, over_http) in who {
            let (crew, fork) = (self.crew.clone(), self.rng.fork());
            self.sim
                .client(*who, ask_worker(crew, (*who).to_owned(), fork, ops, *over_http));
        }
    }

    /// Adds clients that reset their connections mid-call (`resets.rs`).
    fn resetters(&mut self, who: &[&str], ops: usize) {
        for who in who {
            let (crew, fork) = (self.crew.clone(), self.rng.fork());
            let running = std::sync::Arc::clone(&self.side.borrow().running);
            self.sim
                .client(*who, reset_worker(crew, (*who).to_owned(), fork, ops, running));
        }
    }

    /// Adds 2025 clients of the `poll` tool, which closes its stream
    /// (`polls.rs`), `ops` calls each.
    fn pollers(&mut self, who: &[&str], ops: usize) {
        for who in who {
            let (crew, fork) = (self.crew.clone(), self.rng.fork());
            self.sim
                .client(*who, poll_worker(crew, (*who).to_owned(), fork, ops));
        }
    }

    /// Runs to the end; the ledger.
    fn run(mut self) -> Ledger {
        if let Err(e) = self.sim.run() {
            // A host that never ends (a hang) or failed: the ledger says
            // what everyone saw last.
            self.ledger.borrow_mut().violation("sim", e);
        }
        self.finish()
    }

    fn finish(self) -> Ledger {
        drop(self.sim);
        std::mem::take(&mut *self.ledger.borrow_mut())
    }
}

/// Latency and jitter only (1 to 40 ms per message): every client gets
/// every answer, exactly once.
pub fn jitter(seed: u64) -> Ledger {
    World::new(seed, (1, 40), false, 30).run()
}

/// Links between the server and its clients held for up to 3 s at a time,
/// then released: nothing is lost, so every client still gets every answer.
pub fn holds(seed: u64) -> Ledger {
    let mut world = World::new(seed, (1, 20), false, 30);
    let targets = CLIENTS.map(str::to_owned).to_vec();
    let fork = world.rng.fork();
    world
        .sim
        .client("chaos", chaos(world.crew.clone(), fork, targets, false));
    world.run()
}

/// Holds and partitions (messages lost) between the server and its HTTP
/// clients, one client cut off past its session's idle timeout, a 2025
/// HTTP session the server asks for input, a client resetting its
/// connections mid-call, and a 2025 session's standalone stream cut and
/// resumed with `Last-Event-ID`.
pub fn partitions(seed: u64) -> Ledger {
    let mut world = World::new(seed, (1, 20), true, 30);
    let mut targets = HTTP_CLIENTS.map(str::to_owned).to_vec();
    targets.extend(["ask_http0", "reset0", "resume0", "poll0"].map(str::to_owned));
    let fork = world.rng.fork();
    world
        .sim
        .client("chaos", chaos(world.crew.clone(), fork, targets, true));
    let idle = world::config().http.session_idle_timeout;
    world.sim.client(
        "cutoff",
        cut_off_past_idle(world.crew.clone(), "cutoff".to_owned(), idle),
    );
    world.askers(&[("ask_http0", true)], 6);
    world.resetters(&["reset0"], 4);
    world.pollers(&["poll0"], 4);
    // A standalone stream cut and resumed while partitions strike: no
    // event heard twice, whatever is lost.
    let board = Board::default();
    let (crew, fork) = (world.crew.clone(), world.rng.fork());
    world.sim.client(
        "resume0",
        resume_worker(crew, board.clone(), "resume0".to_owned(), fork),
    );
    let (side, fork) = (Rc::clone(&world.side), world.rng.fork());
    world.sim.client("operator", publisher(board, side, fork, 1, 10));
    world.run()
}

/// The server asks its 2025 clients (elicitation, sampling) over HTTP and
/// lines, and clients reset their connections mid-call; latency and
/// jitter only, so every question's answer follows from what the client
/// did, every answer sent after the server gave up is counted as
/// unmatched (and nothing else is), and every reset call stops.
pub fn asks_and_resets(seed: u64) -> Ledger {
    let mut world = World::new(seed, (1, 20), false, 10);
    world.askers(
        &[("ask_http0", true), ("ask_http1", true), ("ask_line0", false)],
        8,
    );
    world.resetters(&["reset0", "reset1"], 6);
    let (side, late) = (Rc::clone(&world.side), Rc::clone(&world.crew.late_answers));
    let mut ledger = world.run();
    eprintln!(
        "PENDING {:?}",
        side.borrow()
            .handle
            .as_ref()
            .map(|h| h.metrics().client_requests_pending)
    );
    let unmatched = side
        .borrow()
        .handle
        .as_ref()
        .map(|h| h.metrics().responses_unmatched);
    if unmatched == Some(late.get()) {
        ledger.event(
            "auditor",
            format_args!("{} late answers, each unmatched", late.get()),
        );
    } else {
        ledger.violation(
            "auditor",
            format_args!("{} late answers, responses_unmatched {unmatched:?}", late.get()),
        );
    }
    ledger
}

/// The server host crashes mid-run and comes back (a new `Server`): the
/// clients lose what was in flight and start again; the new server's
/// gauges end at zero.
pub fn crash(seed: u64) -> Ledger {
    let mut world = World::new(seed, (1, 20), true, 30);
    let crash_at = world.rng.millis(300, 2500);
    let down_for = world.rng.millis(100, 2000);
    let mut crashed: Option<Duration> = None;
    let mut back = false;
    while !world.sim.step().expect("the simulation ran") {
        let now = world.sim.elapsed();
        match crashed {
            None if now >= crash_at => {
                world.sim.crash(SERVER);
                world.side.borrow_mut().handle = None;
                world.ledger.borrow_mut().event_at(now, "sim", "server crashed");
                crashed = Some(now);
            }
            Some(at) if !back && now >= at + down_for => {
                world.sim.bounce(SERVER);
                world.ledger.borrow_mut().event_at(now, "sim", "server back");
                back = true;
            }
            _ => {}
        }
    }
    world.finish()
}

/// Shutdown while every client is busy: both serve loops return within
/// the shutdown grace (plus a second), whatever was running.
pub fn shutdown(seed: u64) -> Ledger {
    let mut world = World::new(seed, (1, 20), true, 30);
    let at = world.rng.millis(200, 1500);
    let side = Rc::clone(&world.side);
    let stop = Rc::clone(&world.crew.stop);
    world.sim.client("operator", async move {
        tokio::time::sleep(at).await;
        side.borrow_mut().shutdown();
        stop.set(true);
        // The run lasts until the serve loops have returned (or long past
        // the grace): the check below reads how long they took.
        let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
        while side.borrow().shutdowns.is_empty() && tokio::time::Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    });
    let side = Rc::clone(&world.side);
    let ledger = world.run();
    let mut ledger = ledger;
    let side = side.borrow();
    let grace = world::config().shutdown_grace;
    match side.shutdowns.as_slice() {
        [(took, report)] if *took <= grace + Duration::from_secs(1) => {
            ledger.event(
                "operator",
                format_args!("shut down in {} ms: {report:?}", took.as_millis()),
            );
        }
        other => ledger.violation("operator", format_args!("shutdowns: {other:?} (grace {grace:?})")),
    }
    ledger
}

/// Listen streams and tasks beside the usual clients, with held links:
/// each listen stream hears every round of exactly what it asked for, and
/// every task ends once (cancels racing completion).
pub fn extensions(seed: u64) -> Ledger {
    let mut world = World::new(seed, (1, 20), false, 15);
    let board = Board::default();
    let asks: [(&str, bool, Vec<&'static str>); 3] = [
        ("listen0", true, vec![]),
        ("listen1", false, vec!["a://x"]),
        ("listen2", true, vec!["a://x", "a://y"]),
    ];
    let mut targets: Vec<String> = CLIENTS.map(str::to_owned).to_vec();
    for (who, tools, uris) in asks {
        let (crew, board) = (world.crew.clone(), board.clone());
        world
            .sim
            .client(who, listener(crew, board, who.to_owned(), tools, uris));
        targets.push(who.to_owned());
    }
    for who in ["tasks0", "tasks1"] {
        let (crew, fork) = (world.crew.clone(), world.rng.fork());
        world.sim.client(who, task_worker(crew, who.to_owned(), fork, 8));
        targets.push(who.to_owned());
    }
    world.pollers(&["poll0", "poll1"], 4);
    targets.extend(["poll0", "poll1"].map(str::to_owned));
    for who in ["input0", "input1"] {
        let (crew, fork) = (world.crew.clone(), world.rng.fork());
        world.sim.client(who, input_worker(crew, who.to_owned(), fork, 6));
        targets.push(who.to_owned());
    }
    let (crew, fork) = (world.crew.clone(), world.rng.fork());
    world.sim.client(
        "resume0",
        resume_worker(crew, board.clone(), "resume0".to_owned(), fork),
    );
    targets.push("resume0".to_owned());
    let fork = world.rng.fork();
    let side = Rc::clone(&world.side);
    world.sim.client("operator", publisher(board, side, fork, 4, 10));
    let fork = world.rng.fork();
    world
        .sim
        .client("chaos", chaos(world.crew.clone(), fork, targets, false));
    world.run()
}
