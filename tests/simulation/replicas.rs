//! Two replicas sharing the Redis event bus (`redis.rs` is the Redis):
//! listen streams on both, an operator raising numbered rounds of
//! notifications on one replica or the other, and faults on the links
//! between Redis and the replicas (held, cut) and Redis crashing and
//! coming back empty.
//!
//! What must hold: a stream hears each round at most once (the replica
//! that raised a round skips it when the bus brings it back), only what it
//! asked for, and nothing never raised; every round raised while the bus
//! was whole reaches every stream that asked for it on both replicas; once
//! the faults heal, the bus delivers between the replicas again by itself;
//! every event a replica raised is counted once, as published or as
//! failed (the bounded queue drops and counts, it never hides); and every
//! gauge of both replicas ends at zero.

#![allow(unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use mcp_server_core::Notification;
use serde_json::json;

use super::clients::{Book, request};
use super::faults::audit;
use super::http_client::{open_events_at, stateless_headers, stateless_params};
use super::redis::{REDIS, redis_host};
use super::support::openmetrics;
use super::workers::{Crew, WAIT};
use super::world::{Ledger, Rng, SERVER, ServerSide, Shared, replica_host, sim, step_through};

/// The replicas' host names; round `r` is raised on `REPLICAS[r % 2]`.
pub const REPLICAS: [&str; 2] = [SERVER, "replica1"];

/// What the operator and the listeners share.
#[derive(Clone, Default)]
struct Board {
    /// Listen streams acknowledged so far.
    ready: Rc<Cell<usize>>,
    /// Rounds raised so far (they are numbered from 0).
    raised: Rc<Cell<usize>>,
    /// Rounds raised while the bus was whole: every stream must hear them.
    required: Rc<RefCell<Vec<usize>>>,
    /// The last round each listener heard from each replica.
    heard: Rc<RefCell<HashMap<(String, usize), usize>>>,
    /// Set when the operator is done: listeners check and leave.
    done: Rc<Cell<bool>>,
    /// Set by the operator to crash Redis for this long; the run's loop
    /// crashes it, brings it back and clears it.
    crash: Rc<Cell<Option<Duration>>>,
}

/// A listen stream on `replica` asking for the tool list (when `tools`)
/// and `a://x`'s updates (when `x`).
async fn listener(
    crew: Crew,
    board: Board,
    who: String,
    replica: usize,
    tools: bool,
    x: bool,
) -> turmoil::Result {
    crew.enlist();
    let book = Book::new(&who, crew.ledger.clone());
    let uris: Vec<&str> = if x { vec!["a://x"] } else { vec![] };
    let wanted = json!({"notifications": {"toolsListChanged": tools, "resourceSubscriptions": uris}});
    let body = request("listen", "subscriptions/listen", stateless_params(wanted));
    let headers = stateless_headers("subscriptions/listen", None);
    let mut stream = open_events_at(REPLICAS[replica], &headers, &body).await?;
    let ack = stream.next().await?.unwrap_or_default();
    if stream.status != 200 || ack["method"] != "notifications/subscriptions/acknowledged" {
        book.violation(format_args!("the listen request got {}: {ack}", stream.status));
    }
    board.ready.set(board.ready.get() + 1);
    let mut heard: HashSet<(&str, usize)> = HashSet::new();
    let mut done_since: Option<tokio::time::Instant> = None;
    loop {
        if board.done.get() {
            let since = *done_since.get_or_insert_with(tokio::time::Instant::now);
            let kinds = [("tools", tools), ("x", x)];
            let missing: Vec<String> = board
                .required
                .borrow()
                .iter()
                .flat_map(|r| kinds.iter().filter(|k| k.1).map(move |k| (k.0, *r)))
                .filter(|k| !heard.contains(k))
                .map(|(kind, round)| format!("{kind} {round}"))
                .collect();
            if missing.is_empty() {
                break;
            }
            if since.elapsed() >= WAIT {
                book.violation(format_args!(
                    "rounds raised while the bus was whole never came: {missing:?}"
                ));
                break;
            }
        }
        let message = match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
            Err(_) => continue,
            Ok(Ok(Some(message))) => message,
            Ok(Ok(None) | Err(_)) => {
                book.violation("the listen stream ended");
                break;
            }
        };
        let params = &message["params"];
        let round = params["round"].as_u64().unwrap_or(u64::MAX) as usize;
        let kind = match (message["method"].as_str(), params["uri"].as_str()) {
            (Some("notifications/tools/list_changed"), _) if tools => "tools",
            (Some("notifications/resources/updated"), Some("a://x")) if x => "x",
            _ => {
                book.violation(format_args!("heard what it did not ask for: {message}"));
                continue;
            }
        };
        if round >= board.raised.get() {
            book.violation(format_args!("heard round {round}, never raised"));
        } else if !heard.insert((kind, round)) {
            book.violation(format_args!("heard {kind} of round {round} twice"));
        }
        let mut last = board.heard.borrow_mut();
        let seen = last.entry((who.clone(), round % 2)).or_default();
        *seen = (*seen).max(round);
    }
    book.note(format_args!(
        "heard {} events of {} rounds",
        heard.len(),
        board.raised.get()
    ));
    drop(stream);
    crew.leave();
    Ok(())
}

/// Raises round `board.raised` on its replica: the tool list changed,
/// `a://x` and `a://other` updated, each carrying the round's number.
fn raise(board: &Board, sides: &[Rc<RefCell<ServerSide>>; 2], raised_by: &mut [u64; 2]) -> bool {
    let round = board.raised.get();
    let Some(handle) = sides[round % 2].borrow().handle.clone() else {
        return false;
    };
    board.raised.set(round + 1);
    handle.broadcast(&Notification::new(
        "notifications/tools/list_changed",
        Some(json!({"round": round})),
    ));
    for uri in ["a://x", "a://other"] {
        handle.broadcast(&Notification::new(
            "notifications/resources/updated",
            Some(json!({"uri": uri, "round": round})),
        ));
    }
    raised_by[round % 2] += 3;
    true
}

/// The operator: waits for the bus, raises rounds while it is whole, then
/// through faults, then once it has mended, and checks the counts.
async fn operator(
    crew: Crew,
    board: Board,
    sides: [Rc<RefCell<ServerSide>>; 2],
    mut rng: Rng,
    listeners: Vec<String>,
) -> turmoil::Result {
    crew.enlist();
    let book = Book::new("operator", crew.ledger.clone());
    let mut raised_by = [0u64; 2];
    while board.ready.get() < listeners.len() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for phase in ["first", "after the faults"] {
        // Raise until every listener has heard each replica: the bus is
        // whole (subscribed, publishing) end to end.
        let since = board.raised.get();
        let start = tokio::time::Instant::now();
        loop {
            let whole = {
                let heard = board.heard.borrow();
                let past = |who: &String, r: usize| heard.get(&(who.clone(), r)).is_some_and(|l| *l >= since);
                listeners.iter().all(|who| (0..2).all(|r| past(who, r)))
            };
            if whole {
                book.note(format_args!("the bus is whole {phase}"));
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                book.violation(format_args!("the bus was not whole 30 s {phase}"));
                break;
            }
            raise(&board, &sides, &mut raised_by);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        for _ in 0..6 {
            tokio::time::sleep(rng.millis(5, 150)).await;
            let round = board.raised.get();
            if raise(&board, &sides, &mut raised_by) {
                board.required.borrow_mut().push(round);
            }
        }
        // The rounds reach the streams before the next fault can cut them.
        tokio::time::sleep(Duration::from_secs(1)).await;
        if phase == "first" {
            storm(&book, &board, &sides, &mut rng, &mut raised_by).await;
        }
    }
    for (i, side) in sides.iter().enumerate() {
        let bus = side.borrow().bus.clone().expect("a replica with a bus");
        let m = bus.metrics();
        book.note(format_args!(
            "replica {i}: raised {}, published {}, failed {}, received {}, losses {}",
            raised_by[i], m.published, m.publish_failed, m.received, m.subscription_losses
        ));
        if m.published + m.publish_failed != raised_by[i] || m.invalid != 0 {
            book.violation(format_args!(
                "replica {i} raised {} events, bus counted {m:?}",
                raised_by[i]
            ));
        }
        // What the replica exports: the same counts, and a bus that is
        // whole again (subscribed, publishing).
        let handle = side.borrow().handle.clone().expect("the replica is up");
        let scrape = openmetrics::parse(&handle.metrics_text()).expect("valid OpenMetrics");
        let exported = [
            scrape.value("mcp_bus_published_total", &[]),
            scrape.value("mcp_bus_publish_failed_total", &[]),
            scrape.value("mcp_bus_subscribed", &[]),
            scrape.value("mcp_bus_publishing", &[]),
        ];
        let counted = [m.published as f64, m.publish_failed as f64, 1.0, 1.0];
        if exported != counted {
            book.violation(format_args!(
                "replica {i} exports (published, failed, subscribed, publishing) {exported:?}, not {counted:?}"
            ));
        }
    }
    board.done.set(true);
    crew.leave();
    Ok(())
}

/// Faults on the links between Redis and the replicas, and Redis crashing,
/// while rounds are raised; then everything heals.
async fn storm(
    book: &Book,
    board: &Board,
    sides: &[Rc<RefCell<ServerSide>>; 2],
    rng: &mut Rng,
    raised_by: &mut [u64; 2],
) {
    for _ in 0..3 + rng.below(3) {
        let replica = REPLICAS[rng.below(2) as usize];
        let length = rng.millis(200, 4000);
        let fault = rng.below(3);
        let ms = length.as_millis();
        match fault {
            0 => book.note(format_args!("hold redis/{replica} for {ms} ms")),
            1 => book.note(format_args!("partition redis/{replica} for {ms} ms")),
            _ => book.note(format_args!("redis to go down for {ms} ms")),
        }
        match fault {
            0 => turmoil::hold(REDIS, replica),
            1 => turmoil::partition(REDIS, replica),
            _ => board.crash.set(Some(length)),
        }
        let until = tokio::time::Instant::now() + length;
        while tokio::time::Instant::now() < until {
            raise(board, sides, raised_by);
            tokio::time::sleep(rng.millis(20, 400)).await;
        }
        match fault {
            0 => turmoil::release(REDIS, replica),
            1 => turmoil::repair(REDIS, replica),
            _ => {
                while board.crash.get().is_some() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

/// Two replicas with the bus, three listen streams across them, the
/// operator and an auditor per replica.
pub fn replicas(seed: u64) -> Ledger {
    let ledger = Shared::default();
    let crew = Crew::new(Rc::clone(&ledger), false);
    let mut rng = Rng::new(seed);
    let mut sim = sim(seed, 1, 20);
    redis_host(&mut sim);
    let sides: [Rc<RefCell<ServerSide>>; 2] = Default::default();
    for (name, side) in REPLICAS.iter().zip(&sides) {
        replica_host(&mut sim, name, Rc::clone(side), true, None);
    }
    let board = Board::default();
    let asks = [
        ("listen0", 0, true, true),
        ("listen1", 1, false, true),
        ("listen2", 1, true, false),
    ];
    for (who, replica, tools, x) in asks {
        let (crew, board) = (crew.clone(), board.clone());
        sim.client(who, listener(crew, board, who.to_owned(), replica, tools, x));
    }
    let listeners = asks.iter().map(|a| a.0.to_owned()).collect();
    let run = operator(crew.clone(), board.clone(), sides.clone(), rng.fork(), listeners);
    sim.client("operator", run);
    for (i, side) in sides.iter().enumerate() {
        sim.client(
            format!("auditor{i}"),
            audit(crew.clone(), Rc::clone(side), Duration::from_secs(20)),
        );
    }
    let mut back_at: Option<Duration> = None;
    step_through(&mut sim, &ledger, |sim, now| match (board.crash.get(), back_at) {
        (Some(down), None) => {
            sim.crash(REDIS);
            ledger.borrow_mut().event_at(now, "sim", "redis crashed");
            back_at = Some(now + down);
        }
        (Some(_), Some(at)) if now >= at => {
            sim.bounce(REDIS);
            ledger.borrow_mut().event_at(now, "sim", "redis back");
            back_at = None;
            board.crash.set(None);
        }
        _ => {}
    });
    drop(sim);
    std::mem::take(&mut *ledger.borrow_mut())
}
