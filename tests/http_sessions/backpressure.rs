//! A 2025 HTTP session at its in-flight cap: a POST waits for room and is
//! answered once a call ends, instead of being refused.

use super::*;

crate::both_runtimes! {
    /// At `max_in_flight_per_session` = 1, with one call running (800 ms) and
    /// one request queued behind it, a third POST waits for room: all three
    /// are answered, the queued ones only after the running call ended, and
    /// nothing is refused. (With the wait for room replaced by a refusal,
    /// the third POST gets 503.)
    async fn a_post_at_the_in_flight_cap_waits_for_room() {
        let config = ServerConfig::default()
            .max_in_flight_per_session(1)
            .request_timeout(Duration::from_secs(10));
        let server = TestServer::start_http(config, vec![]).await;
        let session = Arc::new(Session::start(server.addr).await);
        let post = |id: u64, tool: &'static str, args: Value| {
            let session = Arc::clone(&session);
            tokio::spawn(async move {
                let open = session.post(&call(id, tool, args)).await;
                let status = open.status;
                (status, open.json().await, tokio::time::Instant::now())
            })
        };
        let started = tokio::time::Instant::now();
        let running = post(1, "sleep", json!({"ms": 800}));
        wait_until("the call to run", || server.handle.metrics().requests_in_flight == 1).await;
        let queued = post(2, "echo", json!({"text": "two"}));
        let waiting = post(3, "echo", json!({"text": "three"}));
        let (status, first, _) = running.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["result"]["content"][0]["text"], "slept 800 ms");
        for (task, text) in [(queued, "two"), (waiting, "three")] {
            let (status, answer, at) = task.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(answer["result"]["content"][0]["text"], text);
            // Not before the running call's 800 ms were over.
            assert!(at - started >= Duration::from_millis(800), "answered while the session was at its cap");
        }
        assert_eq!(server.handle.metrics().requests_rejected, 0);
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// A POST that finds no room within the request timeout gets 503,
    /// naming its own request. At `max_in_flight_per_session` = 1 and a
    /// request timeout of 1 s: a call runs (it outlasts the timeout), one
    /// waits in the session's mailbox, and two more POSTs wait for room.
    /// When the first call times out, the mailbox's request starts and one
    /// waiter takes its place; the other's wait ends first: 503, its error
    /// carrying its request's id. (With the id left out of the refusal, as
    /// a mutant of `answer` did, the error's id is null.)
    async fn a_post_with_no_room_in_time_gets_503_naming_its_request() {
        let config = ServerConfig::default()
            .max_in_flight_per_session(1)
            .request_timeout(Duration::from_secs(1));
        let server = TestServer::start_http(config, vec![]).await;
        let session = Arc::new(Session::start(server.addr).await);
        let post = |id: u64| {
            let session = Arc::clone(&session);
            tokio::spawn(async move {
                let open = session.post(&call(id, "sleep", json!({"ms": 5000}))).await;
                (id, open.status, open.json().await)
            })
        };
        let running = post(1);
        wait_until("the call to run", || server.handle.metrics().requests_in_flight == 1).await;
        // Half the timeout apart: room comes (the first call times out) half
        // a second before the waiters' time is up, and the next room (the
        // mailbox's call times out) half a second after. Posted at once,
        // the waiters' time ran out a few milliseconds after the room came,
        // and on a loaded machine both were refused.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let calls: Vec<_> = (2..=4).map(post).collect();
        let mut refused = Vec::new();
        for task in std::iter::once(running).chain(calls) {
            let (id, status, answer) = task.await.unwrap();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(answer["id"], id, "a refusal names its request: {answer}");
                assert!(answer["error"]["message"].as_str().unwrap().contains("session busy"), "{answer}");
                refused.push(id);
            } else {
                assert_eq!(status, StatusCode::OK, "{answer}");
                assert_eq!(answer["id"], id, "{answer}");
            }
        }
        assert_eq!(refused.len(), 1, "one waiter finds no room in time: {refused:?}");
        assert_ne!(refused[0], 1, "the running call is not refused");
        server.stop().await;
    }
}
