//! Request streams of a 2025 HTTP session: ids in flight, a dropped
//! stream cancelling its handler, DELETE racing a request, replay after
//! `Last-Event-ID`, and shutdown ending open streams.

use super::*;

/// A server with the `patient` tool (it waits for its cancellation, then
/// counts it in `seen`), and a session on it.
async fn with_a_patient_session() -> (TestServer, Arc<Session>, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start_http(ServerConfig::default(), vec![patient(Arc::clone(&seen))]).await;
    let session = Arc::new(Session::start(server.addr).await);
    (server, session, seen)
}

/// POSTs a `patient` call with `id` and waits until it runs; the POST's
/// answer, when it comes.
async fn park(server: &TestServer, session: &Arc<Session>, id: u64) -> tokio::task::JoinHandle<client::Open> {
    let posting = {
        let session = Arc::clone(session);
        tokio::spawn(async move { session.post(&call(id, "patient", json!({}))).await })
    };
    wait_until("the call to run", || {
        server.handle.metrics().requests_in_flight == 1
    })
    .await;
    posting
}

crate::both_runtimes! {
    /// Two requests with the same id in flight in one session: the second is
    /// refused with -32600; each answer goes to its own POST.
    async fn the_same_id_twice_in_flight_is_refused_and_answers_never_cross() {
        let (server, session, seen) = with_a_patient_session().await;
        let first = park(&server, &session, 7).await;
        let second = session.post(&call(7, "echo", json!({"text": "two"}))).await;
        assert_eq!(second.status, StatusCode::OK);
        let second = second.json().await;
        assert_eq!(second["id"], 7);
        assert_eq!(second["error"]["code"], -32600, "{second}");
        // Once the first is over, the id is free again.
        session
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}))
            .await;
        // A cancelled request gets no answer: its POST is a stream that ends
        // with none (not a 404, which would tell the client its session ended).
        let mut first = first.await.unwrap();
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.headers["content-type"], "text/event-stream");
        assert_eq!(first.message().await, None, "a cancelled request gets no answer");
        let again = session
            .request(
                7,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": "three"}}),
            )
            .await;
        assert_eq!(again["result"]["content"][0]["text"], "three");
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// A client that drops its POST while the call runs cancels the call.
    async fn dropping_a_request_stream_cancels_its_handler() {
        let (server, session, seen) = with_a_patient_session().await;
        let pending = park(&server, &session, 1).await;
        pending.abort(); // drops the connection with the request unanswered
        wait_until("the handler to see its cancellation", || {
            seen.load(Ordering::SeqCst) == 1
        })
        .await;
        wait_until("the request to end", || {
            server.handle.metrics().requests_in_flight == 0
        })
        .await;
        assert_eq!(server.handle.metrics().requests_cancelled, 1);
        // The session itself goes on.
        assert_eq!(session.request(2, "ping", json!({})).await["result"], json!({}));
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// DELETE while a request runs: the request is cancelled and its POST is
    /// answered 404, not left hanging; the session is gone for good.
    async fn delete_racing_a_request_answers_it_and_resurrects_nothing() {
        let (server, session, seen) = with_a_patient_session().await;
        let pending = park(&server, &session, 1).await;
        assert_eq!(session.delete().await, StatusCode::OK);
        let answered = tokio::time::timeout(HANG, pending)
            .await
            .expect("no hang")
            .unwrap();
        assert_eq!(answered.status, StatusCode::NOT_FOUND);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        let late = session.post(&call(2, "echo", json!({"text": "late"}))).await;
        assert_eq!(late.status, StatusCode::NOT_FOUND);
        wait_until("the session to end", || server.handle.sessions().is_empty()).await;
        assert_eq!(server.handle.available_permits(), 1024);
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// A standalone stream that broke is resumed with `Last-Event-ID`: the
    /// events it carried after that id come first (the last 64 of them: the
    /// older ones are counted as lost), then the new stream goes on live; event
    /// ids stay unique in the session across reconnections.
    async fn last_event_id_replays_what_a_broken_stream_carried() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let session = Session::start(server.addr).await;
        let mut first = session.listen().await;
        let (priming, _) = first.event().await.expect("priming");
        let stream = priming.unwrap().split('-').next().unwrap().to_owned();
        let note = Notification::new("notifications/tools/list_changed", None);
        for _ in 0..100 {
            server.handle.broadcast(&note);
        }
        wait_until("the stream to carry everything", || {
            server.handle.sessions()[0].queue_depth == 0
        })
        .await;
        let (seen, _) = first.event().await.expect("one event");
        assert_eq!(seen.as_deref(), Some(format!("{stream}-1").as_str()));
        drop(first); // the other 99 were sent but never read

        let mut resumed = session.resume(&format!("{stream}-1")).await;
        assert_eq!(resumed.status, StatusCode::OK);
        let (priming, _) = resumed.event().await.expect("priming");
        let new_stream = priming.unwrap().split('-').next().unwrap().to_owned();
        assert_ne!(new_stream, stream, "a new stream, with ids of its own");
        let mut ids = Vec::new();
        for _ in 0..64 {
            ids.push(resumed.event().await.expect("a replayed event").0.unwrap());
        }
        assert_eq!(ids.first().unwrap(), &format!("{stream}-37"));
        assert_eq!(ids.last().unwrap(), &format!("{stream}-100"));
        assert_eq!(
            server.handle.metrics().replay_lost,
            35,
            "events 2..=36 were no longer kept"
        );
        server.handle.broadcast(&note);
        let (live, data) = resumed.event().await.expect("a live event");
        assert_eq!(live.unwrap(), format!("{new_stream}-1"));
        assert!(data.contains("tools/list_changed"));
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// Shutdown with a standalone stream and a request stream open: both end,
    /// and `serve_http` returns within the grace.
    async fn shutdown_ends_open_streams_within_the_grace() {
        let grace = Duration::from_secs(2);
        let config = ServerConfig::default().shutdown_grace(grace);
        let server = TestServer::start_http(config, vec![reports_then_waits()]).await;
        let session = Session::start(server.addr).await;
        let mut standalone = session.listen().await;
        assert_eq!(standalone.event().await.expect("priming").1, "");
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "reports_then_waits", "arguments": {}, "_meta": {"progressToken": 1}}});
        let mut running = session.post(&body).await;
        assert_eq!(running.status, StatusCode::OK);
        running.message().await.expect("a first progress notification");
        let started = std::time::Instant::now();
        let report = server.stop().await;
        assert!(
            started.elapsed() < grace + Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(report.sessions_aborted, 0);
        while standalone.event().await.is_some() {}
        while running.event().await.is_some() {}
    }
}
