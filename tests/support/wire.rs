//! One client API over the four ways to reach a server: a TCP connection
//! in a 2025 session or sending 2026-07-28 stateless requests, a 2025 HTTP
//! session, and stateless HTTP POSTs. Tests of the server surface run the
//! same steps over each.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::http::{self, Session};
use super::{Client, stateless};

/// How a test reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Tcp2025,
    Tcp2026,
    Http2025,
    Http2026,
}

impl Way {
    pub const ALL: [Way; 4] = [Way::Tcp2025, Way::Tcp2026, Way::Http2025, Way::Http2026];

    pub fn is_http(self) -> bool {
        matches!(self, Way::Http2025 | Way::Http2026)
    }

    pub fn is_stateless(self) -> bool {
        matches!(self, Way::Tcp2026 | Way::Http2026)
    }
}

/// A connected client of one [`Way`].
pub enum Wire {
    Tcp { client: Client, stateless: bool },
    Session(Session),
    Stateless(SocketAddr),
}

impl Wire {
    /// Connects (and initializes, for the 2025 ways).
    pub async fn open(way: Way, addr: SocketAddr) -> Self {
        match way {
            Way::Tcp2025 | Way::Tcp2026 => {
                let mut client = Client::connect(addr).await;
                if way == Way::Tcp2025 {
                    client.initialize().await;
                }
                Wire::Tcp {
                    client,
                    stateless: way == Way::Tcp2026,
                }
            }
            Way::Http2025 => Wire::Session(Session::start(addr).await),
            Way::Http2026 => Wire::Stateless(addr),
        }
    }

    /// A request; the whole response. Notifications that came with it (on
    /// TCP, or on its SSE stream) are returned by [`Wire::request_with`].
    pub async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.request_with(id, method, params).await.0
    }

    /// A request; the response and the notifications of its stream (HTTP)
    /// or received meanwhile (TCP).
    pub async fn request_with(&mut self, id: u64, method: &str, params: Value) -> (Value, Vec<Value>) {
        match self {
            Wire::Tcp { client, stateless: s } => {
                let params = if *s {
                    merge_meta(stateless(json!({})), params)
                } else {
                    params
                };
                let response = client.request(id, method, params).await;
                (response, client.notifications.drain(..).collect())
            }
            Wire::Session(session) => {
                let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
                read(session.post(&body).await).await
            }
            Wire::Stateless(addr) => {
                let name = params
                    .get("name")
                    .or_else(|| params.get("uri"))
                    .or_else(|| params.get("taskId"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let open = http::stateless(*addr, method, name.as_deref(), params).await;
                read(open).await
            }
        }
    }
}

/// `params` with `base`'s `_meta` fields added to its own.
fn merge_meta(base: Value, mut params: Value) -> Value {
    let base_meta = base["_meta"].clone();
    let obj = params.as_object_mut().expect("params are an object");
    let meta = obj.entry("_meta").or_insert_with(|| json!({}));
    if let (Some(meta), Value::Object(base_meta)) = (meta.as_object_mut(), base_meta) {
        for (k, v) in base_meta {
            meta.entry(k).or_insert(v);
        }
    }
    params
}

/// The answer of one POST, JSON or SSE: the response and the notifications
/// before it.
pub async fn read(mut open: http::Open) -> (Value, Vec<Value>) {
    let sse = open
        .headers
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/event-stream"));
    if !sse {
        return (open.json().await, Vec::new());
    }
    let mut notes = Vec::new();
    while let Some(message) = open.message().await {
        if message.get("method").is_some() {
            notes.push(message);
        } else {
            return (message, notes);
        }
    }
    panic!("the stream ended without a response");
}
