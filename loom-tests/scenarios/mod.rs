//! The scenarios the loom and shuttle models run, written once for both
//! checkers. Each drives the shipped core (`Core::admit`, `register`,
//! `notify`, `broadcast`, `shutdown`, `drained`, the outbox) with toy work in
//! place of a socket, and asserts one invariant of `../shared/DESIGN.md`.
//!
//! Every scenario has a known-bad variant of the core that it catches; the
//! variant is switched on with `MCP_MUTANT=<name>` (see `ci/mutants.sh`).

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use mcp_server_core::ServerConfig;
use mcp_server_core::core::Core;

#[cfg(loom)]
pub use loom::{
    future::block_on,
    sync::Arc,
    sync::atomic::{AtomicUsize, Ordering},
    thread,
};
#[cfg(shuttle)]
pub use shuttle::{
    future::block_on,
    sync::Arc,
    sync::atomic::{AtomicUsize, Ordering},
    thread,
};

const FRAME: Bytes = Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}");

/// Every message handed to an outbox (`queued` landed, `full` were refused
/// by a full queue) is counted as sent or as dropped: none lost silently.
fn assert_all_counted(core: &Core, queued: &AtomicUsize, full: &AtomicUsize) {
    let m = core.metrics();
    let handed = (queued.load(Ordering::SeqCst) + full.load(Ordering::SeqCst)) as u64;
    assert_eq!(
        handed,
        m.messages_sent + m.messages_dropped,
        "a message was lost silently (sent {}, dropped {})",
        m.messages_sent,
        m.messages_dropped
    );
}

fn core(limit: usize, outbox: usize) -> Core {
    Core::new(
        &ServerConfig::default()
            .max_sessions(limit)
            .outbox_capacity(outbox),
    )
}

/// **Admission.** `clients` concurrent admits against `limit` permits.
///
/// - Never more than `limit` sessions live or registered, at any point.
/// - With `leave == false` (nobody leaves): exactly `min(clients, limit)`
///   admitted.
/// - Afterwards every permit is back and the registry is empty.
///
/// Catches `admit_check_then_act` (one too many admitted) and, with
/// `leave == true`, `release_before_deregister` (a new session registered
/// while the old one still is).
pub fn admission(clients: usize, limit: usize, leave: bool) {
    let core = core(limit, 1);
    let live = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let core = core.clone();
            let live = Arc::clone(&live);
            thread::spawn(move || {
                let (session, outbox) = core.admit().and_then(|p| core.register(p)).ok()?;
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(now <= limit, "{now} sessions live with max_sessions = {limit}");
                let registered = core.live();
                assert!(
                    registered <= limit,
                    "{registered} registered with max_sessions = {limit}"
                );
                if leave {
                    live.fetch_sub(1, Ordering::SeqCst);
                    drop(outbox);
                    drop(session);
                    return Some(None);
                }
                Some(Some((session, outbox)))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    if !leave {
        let admitted = results.iter().filter(|r| r.is_some()).count();
        assert_eq!(admitted, clients.min(limit), "admitted with nobody leaving");
    }
    drop(results);
    assert_eq!(core.live(), 0, "a session stayed registered");
    assert_eq!(core.available_permits(), limit, "a permit was leaked");
}

/// **Session cleanup racing `notify_client` and `broadcast`.** One session
/// receives at most one message and ends while `notifiers` threads send it
/// `messages` each, alternating `notify` and `broadcast`.
///
/// - No send panics or hangs; each either lands in the outbox, is dropped
///   and counted (full outbox), or reports the session gone.
/// - Every message that landed is delivered or counted as dropped:
///   `queued + dropped_full == sent + dropped`.
/// - Nothing stays registered; a later notify reports the session gone.
///
/// Catches `closed_outbox_reports_ok` and `envelope_drop_uncounted`.
pub fn cleanup_races_notify(notifiers: usize, messages: usize) {
    let core = core(2, 1);
    let (session, mut outbox) = core.admit().and_then(|p| core.register(p)).unwrap();
    session.attrs().set_notify_gate(0);
    let id = session.id();
    let queued = Arc::new(AtomicUsize::new(0));
    let full = Arc::new(AtomicUsize::new(0));
    let owner = thread::spawn(move || {
        if let Some(envelope) = outbox.try_recv() {
            envelope.delivered();
        }
        drop(outbox);
        drop(session);
    });
    let senders: Vec<_> = (0..notifiers)
        .map(|_| {
            let (core, queued, full) = (core.clone(), Arc::clone(&queued), Arc::clone(&full));
            thread::spawn(move || {
                for i in 0..messages {
                    if i % 2 == 0 {
                        match core.notify(id, FRAME) {
                            Ok(()) => queued.fetch_add(1, Ordering::SeqCst),
                            Err(e) if e.is_dropped() => full.fetch_add(1, Ordering::SeqCst),
                            Err(_) => 0,
                        };
                    } else {
                        let report = core.broadcast(&FRAME, 0);
                        queued.fetch_add(report.queued, Ordering::SeqCst);
                        full.fetch_add(report.dropped, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    owner.join().unwrap();
    senders.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(core.live(), 0, "the session stayed registered");
    assert!(core.notify(id, FRAME).unwrap_err().is_gone());
    assert_all_counted(&core, &queued, &full);
}

/// **Shutdown racing admission and session exit.** `clients` threads connect
/// and work until their session is cancelled; meanwhile shutdown begins and
/// waits for the drain.
///
/// - The drain's wait never misses its wake-up (a miss is a deadlock the
///   checker reports).
/// - Once `drained()` returns: nothing registered, every permit back, no
///   session work running.
///
/// Catches `drain_token_after_check` and `drain_lost_wakeup`.
pub fn shutdown_races(clients: usize, limit: usize) {
    let core = core(limit, 1);
    let running = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (core, running) = (core.clone(), Arc::clone(&running));
            thread::spawn(move || {
                if let Ok((session, outbox)) = core.admit().and_then(|p| core.register(p)) {
                    running.fetch_add(1, Ordering::SeqCst);
                    block_on(session.token().cancelled());
                    running.fetch_sub(1, Ordering::SeqCst);
                    drop(outbox);
                    drop(session);
                }
            })
        })
        .collect();
    core.shutdown();
    block_on(core.drained());
    assert_eq!(core.live(), 0, "a session is registered after the drain");
    assert_eq!(
        core.available_permits(),
        limit,
        "a permit is held after the drain"
    );
    assert_eq!(
        running.load(Ordering::SeqCst),
        0,
        "session work runs after the drain"
    );
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert!(core.admit().is_err(), "admitted after shutdown");
}

/// **Outbox close.** A sender alternates `try_notify` and `send().await`
/// (which waits for room) `sends` times into an outbox of `capacity`, while
/// the session receives one message, closes its outbox, flushes what is
/// queued, and ends.
///
/// - A sender waiting for room is released by the close (no hang).
/// - Every message accepted is delivered or counted as dropped.
///
/// Catches `envelope_drop_uncounted` and `closed_outbox_reports_ok`.
pub fn outbox_close(capacity: usize, sends: usize) {
    let core = core(1, capacity);
    let (session, mut outbox) = core.admit().and_then(|p| core.register(p)).unwrap();
    let sender = session.outbox().clone();
    let (queued, full) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (q, f) = (Arc::clone(&queued), Arc::clone(&full));
    let producer = thread::spawn(move || {
        for i in 0..sends {
            let result = if i % 2 == 0 {
                sender.try_notify(FRAME)
            } else {
                block_on(sender.send(FRAME))
            };
            match result {
                Ok(()) => q.fetch_add(1, Ordering::SeqCst),
                Err(e) if e.is_dropped() => f.fetch_add(1, Ordering::SeqCst),
                Err(_) => 0,
            };
        }
    });
    block_on(async {
        if let Some(envelope) = outbox.recv().await {
            envelope.delivered();
        }
    });
    outbox.close();
    if let Some(envelope) = outbox.try_recv() {
        envelope.delivered();
    }
    drop(outbox);
    producer.join().unwrap();
    drop(session);
    assert_all_counted(&core, &queued, &full);
}
