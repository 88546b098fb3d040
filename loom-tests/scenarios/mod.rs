//! The scenarios the loom and shuttle models run, written once for both
//! checkers. Each drives the shipped core (`Core::admit`, `register`,
//! `notify`, `broadcast`, `shutdown`, `drained`, the outbox) with toy work in
//! place of a socket, and asserts one invariant of `../shared/DESIGN.md`.
//!
//! Every scenario has a known-bad variant of the core that it catches; the
//! variant is switched on with `MCP_MUTANT=<name>` (see `ci/mutants.sh`).

#![allow(dead_code, unreachable_pub)]

mod http;
mod reachability;
mod tasks;

pub use http::{http_post_races_end, listen_races_shutdown, stream_drop_races_answer};
pub use reachability::reachability;
pub use tasks::tasks_race;

use bytes::Bytes;
use mcp_server_core::ServerConfig;
use std::pin::pin;

use futures_util::future::{Either, select};
use mcp_server_core::core::{
    Core, Directory, Mailbox, OutboxSender, SessionId, Subscribers, TaskRefusal, TaskStatus, TaskTable,
    mailbox,
};
use mcp_server_core::sync::CancellationToken;

#[cfg(loom)]
pub use loom::{
    future::block_on,
    sync::Arc,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    thread,
};
#[cfg(shuttle)]
pub use shuttle::{
    future::block_on,
    sync::Arc,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
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
/// - No two sessions ever get the same id, even when one has ended.
/// - Afterwards every permit is back and the registry is empty.
///
/// Catches `admit_check_then_act` (one too many admitted), with `leave ==
/// false` `session_id_racy` (two concurrent registrations share an id), and
/// with `leave == true` `release_before_deregister` (a new session
/// registered while the old one still is).
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
                let id = session.id();
                if leave {
                    live.fetch_sub(1, Ordering::SeqCst);
                    drop(outbox);
                    drop(session);
                    return Some((id, None));
                }
                Some((id, Some((session, outbox))))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    if !leave {
        let admitted = results.iter().filter(|r| r.is_some()).count();
        assert_eq!(admitted, clients.min(limit), "admitted with nobody leaving");
    }
    assert_unique(results.iter().flatten().map(|(id, _)| *id));
    drop(results);
    assert_eq!(core.live(), 0, "a session stayed registered");
    assert_eq!(core.available_permits(), limit, "a permit was leaked");
}

/// No id in `ids` appears twice.
fn assert_unique(ids: impl Iterator<Item = SessionId>) {
    let mut ids: Vec<SessionId> = ids.collect();
    ids.sort();
    if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
        panic!("session id {} given twice", pair[0]);
    }
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
/// waits for the drain. Each client takes its permit, then looks whether
/// shutdown has returned, then registers.
///
/// - The drain's wait never misses its wake-up (a miss is a deadlock the
///   checker reports).
/// - A registration that starts after `shutdown()` has returned is refused,
///   even with a permit taken before it.
/// - Once `drained()` returns: nothing registered, every permit back, no
///   session work running.
///
/// Catches `drain_token_after_check`, `drain_lost_wakeup`,
/// `register_ignores_shutdown` and `release_before_deregister`.
pub fn shutdown_races(clients: usize, limit: usize) {
    let core = core(limit, 1);
    let running = Arc::new(AtomicUsize::new(0));
    let shut = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (core, running, shut) = (core.clone(), Arc::clone(&running), Arc::clone(&shut));
            thread::spawn(move || {
                let Ok(permit) = core.admit() else { return };
                let after_shutdown = shut.load(Ordering::SeqCst);
                if let Ok((session, outbox)) = core.register(permit) {
                    assert!(!after_shutdown, "a session registered after shutdown");
                    running.fetch_add(1, Ordering::SeqCst);
                    block_on(session.token().cancelled());
                    assert!(
                        session.token().is_cancelled(),
                        "session work saw cancelled() return before cancellation"
                    );
                    running.fetch_sub(1, Ordering::SeqCst);
                    drop(outbox);
                    drop(session);
                }
            })
        })
        .collect();
    core.shutdown();
    shut.store(true, Ordering::SeqCst);
    block_on(core.drained());
    assert_drained(&core, limit);
    assert_eq!(
        running.load(Ordering::SeqCst),
        0,
        "session work runs after the drain"
    );
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert!(core.admit().is_err(), "admitted after shutdown");
}

/// Nothing registered and every permit back.
fn assert_drained(core: &Core, limit: usize) {
    assert_eq!(core.live(), 0, "a session is registered after the drain");
    assert_eq!(
        core.available_permits(),
        limit,
        "a permit is held after the drain"
    );
}

/// **The drain awaited on another thread.** As the server does it: one
/// thread parks in `drained()` before shutdown begins, `clients` threads
/// connect and work until cancelled, and the main thread calls `shutdown()`
/// and then only waits for the waiter.
///
/// - The parked waiter is woken by shutdown and by the last session's end,
///   whichever comes last (a miss is a deadlock the checker reports).
/// - When it returns: nothing registered, every permit back.
///
/// Catches `tracker_close_wakes_nobody`, which no model that calls
/// `shutdown()` and `drained()` on one thread can see.
pub fn drain_awaited_elsewhere(clients: usize, limit: usize) {
    let core = core(limit, 1);
    let waiter = {
        let core = core.clone();
        thread::spawn(move || {
            block_on(core.drained());
            assert_drained(&core, limit);
        })
    };
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let core = core.clone();
            thread::spawn(move || {
                if let Ok((session, outbox)) = core.admit().and_then(|p| core.register(p)) {
                    block_on(session.token().cancelled());
                    drop(outbox);
                    drop(session);
                }
            })
        })
        .collect();
    core.shutdown();
    waiter.join().unwrap();
    handles.into_iter().for_each(|h| h.join().unwrap());
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

/// **A dropped receiver releases a blocked sender.** An outbox of
/// `capacity` is full; a sender waits for room with `send().await`; the
/// session drops its receiver without receiving again (as it does when it
/// ends by cancellation, a failed read or a failed write).
///
/// - The waiting sender is released with "session gone" (no hang).
/// - The messages that were queued are counted as dropped; none is lost
///   silently, and the refused one is not counted at all.
///
/// Catches `receiver_drop_wakes_nobody`.
pub fn receiver_dropped_releases_sender(capacity: usize) {
    let core = core(1, capacity);
    let (session, outbox) = core.admit().and_then(|p| core.register(p)).unwrap();
    let sender = session.outbox().clone();
    for _ in 0..capacity {
        sender.try_notify(FRAME).expect("room in a fresh outbox");
    }
    let producer = thread::spawn(move || block_on(sender.send(FRAME)));
    drop(outbox);
    let result = producer.join().unwrap();
    assert!(
        result.is_err_and(|e| e.is_gone()),
        "a send into a full outbox succeeded with nobody receiving"
    );
    drop(session);
    let queued = AtomicUsize::new(capacity);
    assert_all_counted(&core, &queued, &AtomicUsize::new(0));
    assert_eq!(
        core.metrics().messages_sent,
        0,
        "a message counted as sent was never received"
    );
}
