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

/// A message posted to an HTTP session: where its answer goes.
struct Posted {
    answer: OutboxSender,
}

/// What the directory keeps of an HTTP session.
#[derive(Clone)]
struct Entry {
    mailbox: Mailbox<Posted>,
    token: CancellationToken,
}

/// How a POST ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Posting {
    Answered,
    NotFound,
}

/// One POST, as the HTTP transport makes it: look the session up, post the
/// message with an outbox for its answer, wait for the answer.
fn post(core: &Core, directory: &Directory<Entry>, id: SessionId) -> Posting {
    let Some(entry) = directory.get("s") else {
        return Posting::NotFound;
    };
    let (answer, mut rx) = core.request_outbox(id, entry.token.child_token());
    if block_on(entry.mailbox.post(Posted { answer })).is_err() {
        return Posting::NotFound;
    }
    match block_on(rx.recv()) {
        Some(envelope) => {
            envelope.delivered();
            Posting::Answered
        }
        None => Posting::NotFound,
    }
}

/// **A POST racing the end of its HTTP session.** A session with a
/// mailbox of 1 serves `posts` concurrent POSTs while it ends: by a DELETE
/// on another thread (`deleted`), or by itself, as idle expiry ends it.
///
/// - Every POST is answered or told the session is gone; none hangs (a hang
///   is a deadlock the checker reports), whether it waits for room in the
///   mailbox or for its answer.
/// - Afterwards nothing is registered, every permit is back, the directory
///   is empty, and a later POST finds nothing (no resurrection).
/// - Every answer produced is delivered or counted as dropped.
///
/// Catches `mailbox_kept_open` (both ways of ending) and
/// `directory_entry_left` (expiry).
pub fn http_post_races_end(posts: usize, deleted: bool) {
    let core = core(1, 1);
    let (session, outbox) = core.admit().and_then(|p| core.register(p)).unwrap();
    let id = session.id();
    let (mailbox, mut inbox) = mailbox::<Posted>(1);
    let directory = Arc::new(Directory::default());
    directory.insert(
        "s".to_owned(),
        Entry {
            mailbox,
            token: session.token().clone(),
        },
    );
    let produced = Arc::new(AtomicUsize::new(0));
    let server = {
        let (directory, produced) = (Arc::clone(&directory), Arc::clone(&produced));
        thread::spawn(move || {
            let token = session.token().clone();
            // Ended by DELETE: serve until cancelled. Ended by expiry: the
            // idle timer fires at once.
            if deleted {
                while let Some(message) = block_on(async {
                    match select(pin!(inbox.recv()), pin!(token.cancelled())).await {
                        Either::Left((message, _)) => message,
                        Either::Right(_) => None,
                    }
                }) {
                    produced.fetch_add(1, Ordering::SeqCst);
                    let _ = message.answer.try_send(FRAME);
                }
            }
            directory.ended("s");
            inbox.end();
            drop(outbox);
            drop(session);
        })
    };
    let deleter = deleted.then(|| {
        let directory = Arc::clone(&directory);
        thread::spawn(move || {
            if let Some(entry) = directory.remove("s") {
                entry.token.cancel();
            }
        })
    });
    let posters: Vec<_> = (0..posts)
        .map(|_| {
            let (core, directory) = (core.clone(), Arc::clone(&directory));
            thread::spawn(move || post(&core, &directory, id))
        })
        .collect();
    let outcomes: Vec<Posting> = posters.into_iter().map(|h| h.join().unwrap()).collect();
    server.join().unwrap();
    if let Some(deleter) = deleter {
        deleter.join().unwrap();
    }
    assert_eq!(core.live(), 0, "a session stayed registered");
    assert_eq!(core.available_permits(), 1, "a permit was leaked");
    assert!(directory.is_empty(), "a session stayed in the directory");
    assert_eq!(
        post(&core, &directory, id),
        Posting::NotFound,
        "an ended session came back"
    );
    let answered = outcomes.iter().filter(|o| **o == Posting::Answered).count();
    assert!(answered <= produced.load(Ordering::SeqCst));
    assert_all_counted(&core, &produced, &AtomicUsize::new(0));
}

/// **A request's stream dropped by the client, racing its answer.** The
/// handler answers unless it sees its token cancelled; meanwhile the client
/// goes away, which cancels the request and drops the stream.
///
/// - The request's token ends cancelled.
/// - The answer, if one was produced, is delivered or counted as dropped,
///   even when it met the stream already closed.
///
/// Catches `answer_to_closed_uncounted`.
pub fn stream_drop_races_answer() {
    let core = core(1, 1);
    let (session, outbox) = core.admit().and_then(|p| core.register(p)).unwrap();
    let token = session.token().child_token();
    let (answer, stream) = core.request_outbox(session.id(), token.clone());
    let produced = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (token, produced) = (token.clone(), Arc::clone(&produced));
        thread::spawn(move || {
            if !token.is_cancelled() {
                produced.fetch_add(1, Ordering::SeqCst);
                let _ = answer.try_send(FRAME);
            }
        })
    };
    let client = thread::spawn(move || {
        token.cancel();
        drop(stream);
    });
    handler.join().unwrap();
    client.join().unwrap();
    drop(outbox);
    drop(session);
    assert_all_counted(&core, &produced, &AtomicUsize::new(0));
}

/// **Listen streams racing shutdown.** `streams` clients each open a listen
/// stream (a session registered in the subscribers' table) and keep it
/// until their session is cancelled, while a publisher delivers to every
/// subscribed stream and shutdown begins and waits for the drain.
///
/// - Every stream ends (a miss is a deadlock the checker reports), and once
///   `drained()` returns none is still registered or subscribed, and every
///   permit is back: the drain sees listen streams.
/// - Every message delivered to a stream is written or counted as dropped.
///
/// Catches `subscription_left`.
pub fn listen_races_shutdown(streams: usize) {
    let core = core(streams, 1);
    let subscribers: Arc<Subscribers<u8>> = Arc::new(Subscribers::default());
    let handles: Vec<_> = (0..streams)
        .map(|_| {
            let (core, subscribers) = (core.clone(), Arc::clone(&subscribers));
            thread::spawn(move || {
                let Ok((session, mut outbox)) = core.admit().and_then(|p| core.register(p)) else {
                    return;
                };
                let subscription = Subscribers::subscribe(&subscribers, 0, session.outbox().clone());
                block_on(session.token().cancelled());
                if let Some(envelope) = outbox.try_recv() {
                    envelope.delivered();
                }
                // As the HTTP listen stream's body holds them: the
                // subscription ends first, then the session.
                drop(subscription);
                drop(outbox);
                drop(session);
            })
        })
        .collect();
    let (queued, full) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let publisher = {
        let (subscribers, queued, full) = (Arc::clone(&subscribers), Arc::clone(&queued), Arc::clone(&full));
        thread::spawn(move || {
            for _ in 0..2 {
                let report = subscribers.deliver(|_| Some(FRAME));
                queued.fetch_add(report.queued, Ordering::SeqCst);
                full.fetch_add(report.dropped, Ordering::SeqCst);
            }
        })
    };
    core.shutdown();
    block_on(core.drained());
    assert_drained(&core, streams);
    assert!(
        subscribers.is_empty(),
        "a listen stream stayed subscribed after the drain"
    );
    handles.into_iter().for_each(|h| h.join().unwrap());
    publisher.join().unwrap();
    assert_all_counted(&core, &queued, &full);
}

/// **A live session is reachable.** Sequential, no race: what every other
/// model takes for granted, checked once so that a core that silently loses
/// sessions or messages cannot pass them vacuously.
///
/// - A registered session is counted live, listed, and reached by `notify`,
///   `broadcast` and its own outbox's `try_send`; what is queued is
///   received in order and counted as sent once delivered.
/// - `disconnect` cancels a live session and reports an unknown one.
/// - Dropping the session deregisters it and returns its permit.
pub fn reachability() {
    // An outbox of 5 for 3 messages: no depth arithmetic lands on 3 by
    // chance (with 4, a channel whose capacity() said 1 gave 4 - 1 = 3).
    let core = core(2, 5);
    let (session, mut outbox) = core.admit().and_then(|p| core.register(p)).unwrap();
    session.attrs().set_notify_gate(0);
    assert_eq!(core.live(), 1, "a registered session is not counted live");
    assert_eq!(core.max_sessions(), 2);
    let listed = core.sessions();
    assert_eq!(listed.len(), 1, "a registered session is not listed");
    assert_eq!(listed[0].id, session.id());
    core.notify(session.id(), FRAME)
        .expect("a notify to a live session with room lands");
    assert_eq!(
        core.broadcast(&FRAME, 0).queued,
        1,
        "a broadcast reaches a live session"
    );
    assert!(
        session.outbox().try_send(FRAME).is_ok(),
        "an answer with room is queued"
    );
    assert_eq!(core.sessions()[0].queue_depth, 3);
    for _ in 0..3 {
        outbox
            .try_recv()
            .expect("a queued message is received")
            .delivered();
    }
    assert!(block_on(async { outbox.try_recv() }).is_none());
    let m = core.metrics();
    assert_eq!(
        (m.messages_sent, m.messages_dropped),
        (3, 0),
        "delivered messages count as sent"
    );
    assert!(
        !core.disconnect(SessionId(u64::MAX)),
        "an unknown session was disconnected"
    );
    assert!(core.disconnect(session.id()));
    assert!(
        session.token().is_cancelled(),
        "disconnect did not cancel the session"
    );
    drop(outbox);
    drop(session);
    assert_eq!((core.live(), core.available_permits()), (0, 2));
}

/// **A task ends once, and no work outlives its task.** A task is running;
/// one thread finishes it, one cancels it, one polls it past its TTL (which
/// expires it), and one closes the table (shutdown) while a last task is
/// being created.
///
/// - The first terminal status wins: if the cancel saw itself take effect,
///   the task is cancelled for good, whatever the finish did after.
/// - Every task that left the table, and every task of a closed table, has
///   its token cancelled; a create after the close is refused.
///
/// Catches `task_terminal_overwritten` (a finish overwrites a cancel) and
/// `task_expiry_keeps_running` (expiry drops the task but not its work).
pub fn tasks_race(expire: bool) {
    let root = CancellationToken::new();
    let table = Arc::new(TaskTable::new(2, "t"));
    let token = root.child_token();
    let id = table.create(&token, 0, 10).expect("room for the first task");
    let finisher = {
        let (table, id) = (Arc::clone(&table), id.clone());
        thread::spawn(move || table.set(&id, TaskStatus::Completed(serde_json::json!({})), 5))
    };
    let canceller = {
        let (table, id) = (Arc::clone(&table), id.clone());
        thread::spawn(move || table.cancel(&id, 6).map(|s| s.status))
    };
    let closer = {
        let (table, root) = (Arc::clone(&table), root.clone());
        thread::spawn(move || {
            // Polling past the TTL expires the first task (and would
            // create nothing); then a second task races the close.
            let now = if expire { 100 } else { 7 };
            let _ = table.get(&id_of_nothing(), now);
            let second_token = root.child_token();
            let second = table.create(&second_token, now, 10).map(|_| second_token);
            table.close();
            second
        })
    };
    let finished = finisher.join().unwrap();
    let cancelled = canceller.join().unwrap();
    let second = closer.join().unwrap();
    let now = if expire { 100 } else { 7 };
    match table.get(&id, now).map(|s| s.status) {
        Some(status) => {
            if cancelled == Some(TaskStatus::Cancelled) {
                assert_eq!(
                    status,
                    TaskStatus::Cancelled,
                    "a task ended twice (finish {finished})"
                );
            }
            assert!(status.is_terminal());
        }
        None => assert!(expire, "the task vanished without expiring"),
    }
    // The cancel, the expiry or the close stopped the first task's work.
    assert!(token.is_cancelled(), "work goes on for a task nobody can see");
    match second {
        Ok(second_token) => assert!(
            second_token.is_cancelled(),
            "a task outlived the close of its table"
        ),
        Err(refusal) => assert!(matches!(refusal, TaskRefusal::Closed | TaskRefusal::Full(_))),
    }
    assert_eq!(
        table.create(&root.child_token(), now, 10).unwrap_err(),
        TaskRefusal::Closed
    );
}

fn id_of_nothing() -> String {
    "none".to_owned()
}
