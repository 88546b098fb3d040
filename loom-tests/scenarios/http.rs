//! Models of HTTP sessions and streams: a POST racing the end of its
//! session, a request stream dropped as its answer comes, listen streams
//! racing shutdown.

use super::*;

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
