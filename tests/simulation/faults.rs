//! The faults and the checks around the workers: seeded holds and
//! partitions of client links, a client cut off past its session's idle
//! timeout, and the auditor that checks the server's gauges once every
//! worker has left.

#![allow(unreachable_pub)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use mcp_server_core::ServerHandle;
use serde_json::json;

use super::clients::{Book, request};
use super::http_client::http;
use super::support::openmetrics;
use super::workers::{Crew, WAIT, http_initialize};
use super::world::{Rng, SERVER, ServerSide};

/// Seeded network faults between the server and `targets` until the
/// workers have left: each round picks a client, then holds its link (its
/// messages wait, then all arrive) or, when `partitions`, cuts it (its
/// messages are lost) for a while, then heals it.
pub async fn chaos(crew: Crew, mut rng: Rng, targets: Vec<String>, partitions: bool) -> turmoil::Result {
    tokio::time::sleep(Duration::from_millis(1)).await;
    while crew.running.get() > 0 {
        tokio::time::sleep(rng.millis(100, 1500)).await;
        let target = &targets[rng.below(targets.len() as u64) as usize];
        let cut = partitions && rng.below(3) == 0;
        let length = rng.millis(50, 3000);
        let what = if cut { "partition" } else { "hold" };
        crew.ledger.borrow_mut().event(
            "chaos",
            format_args!("{what} {target} for {} ms", length.as_millis()),
        );
        if cut {
            turmoil::partition(SERVER, target.as_str());
        } else {
            turmoil::hold(SERVER, target.as_str());
        }
        tokio::time::sleep(length).await;
        if cut {
            turmoil::repair(SERVER, target.as_str());
        } else {
            turmoil::release(SERVER, target.as_str());
        }
    }
    Ok(())
}

/// Once every worker has left, waits (up to `settle`) for every gauge of
/// the server to be back to zero; what is still not is a violation.
pub async fn audit(crew: Crew, side: Rc<RefCell<ServerSide>>, settle: Duration) -> turmoil::Result {
    // Let the workers enlist first.
    tokio::time::sleep(Duration::from_millis(1)).await;
    while crew.running.get() > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = tokio::time::Instant::now() + settle;
    loop {
        // A crashed server has no handle until it is back.
        let Some(handle) = side.borrow().handle.clone() else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let leaked = leaked_gauges(&handle);
        if leaked.is_empty() {
            crew.ledger.borrow_mut().event("auditor", "every gauge at zero");
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            crew.ledger.borrow_mut().violation(
                "auditor",
                format_args!("gauges left after {settle:?}: {leaked:?}"),
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A 2025 HTTP session whose client is cut off (partitioned) for longer
/// than the session's idle timeout: the server ends the session, so the
/// client's next request gets 404, and a new session works.
pub async fn cut_off_past_idle(crew: Crew, who: String, idle: Duration) -> turmoil::Result {
    crew.enlist();
    let mut book = Book::new(&who, crew.ledger.clone());
    let sid = http_initialize(&mut book).await?;
    turmoil::partition(SERVER, who.as_str());
    book.note("cut off");
    tokio::time::sleep(idle + Duration::from_secs(4)).await;
    turmoil::repair(SERVER, who.as_str());
    book.note("back");
    let headers = [
        ("mcp-session-id", sid.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let id = book.open();
    let ping = request(&id, "ping", json!({}));
    let reply = tokio::time::timeout(WAIT, http("POST", &headers, Some(&ping))).await??;
    book.abandon(&id);
    if reply.status != 404 {
        book.violation(format_args!(
            "a session idle past its timeout answered {}",
            reply.status
        ));
    }
    let sid = http_initialize(&mut book).await?;
    let id = book.open();
    let headers = [
        ("mcp-session-id", sid.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let reply = tokio::time::timeout(
        WAIT,
        http("POST", &headers, Some(&request(&id, "ping", json!({})))),
    )
    .await??;
    if !reply
        .messages
        .iter()
        .any(|m| book.answer(m).as_deref() == Some(id.as_str()))
    {
        book.violation(format_args!(
            "the new session answered {} without the ping's answer",
            reply.status
        ));
    }
    tokio::time::timeout(WAIT, http("DELETE", &[("mcp-session-id", &sid)], None)).await??;
    book.note("done");
    crew.leave();
    Ok(())
}

/// The gauges that must be back to zero once every client has left, as
/// `name=value` for those that are not. Each is read by its exported name
/// (`mcp_` and the metric): a gauge missing from the scrape panics rather
/// than reading as zero.
pub fn leaked_gauges(handle: &ServerHandle) -> Vec<String> {
    let scrape = openmetrics::parse(&handle.metrics_text()).expect("valid OpenMetrics");
    let gauge = |name: &str| scrape.value(&format!("mcp_{name}"), &[]);
    let mut leaked = Vec::new();
    for name in [
        "requests_in_flight",
        "http_connections_open",
        "outbox_queued_messages",
        "listen_streams",
        "tasks",
        "client_requests_pending",
        "http_streams_parked",
    ] {
        let value = gauge(name);
        if value != 0.0 {
            leaked.push(format!("{name}={value}"));
        }
    }
    // By protocol version; the family is there even with no session.
    assert!(
        scrape.types.contains_key("mcp_sessions"),
        "no mcp_sessions in the scrape"
    );
    let sessions = scrape.sum("mcp_sessions");
    if sessions != 0.0 {
        leaked.push(format!("sessions={sessions}: {:?}", handle.sessions()));
    }
    for permits in ["admission_permits", "request_permits"] {
        let (free, all) = (gauge(&format!("{permits}_available")), gauge(permits));
        if free != all || all == 0.0 {
            leaked.push(format!("{permits}_available={free} of {all}"));
        }
    }
    leaked
}
