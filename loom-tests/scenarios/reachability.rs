//! The sequential check that every other model takes for granted: a live
//! session is reachable, and a dropped one is gone.

use super::*;

/// **A live session is reachable.** Sequential, no race: what every other
/// model takes for granted, checked once so that a core that silently loses
/// sessions or messages cannot pass them vacuously.
///
/// - A registered session is counted live, listed, and reached by `notify`,
///   `broadcast` and its own outbox's `try_send`; what is queued is
///   received in order and counted as sent once delivered.
/// - `disconnect` cancels a live session and reports an unknown one.
/// - A session whose outbox has closed but which is still registered is
///   counted by a broadcast as gone (`BroadcastReport::gone`).
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
    // Its outbox closed, the session is still registered until it drops:
    // a broadcast in between finds it gone, and says so.
    let report = core.broadcast(&FRAME, 0);
    assert_eq!(
        (report.queued, report.dropped, report.gone),
        (0, 0, 1),
        "a session whose outbox closed is counted as gone"
    );
    drop(session);
    assert_eq!((core.live(), core.available_permits()), (0, 2));
}
