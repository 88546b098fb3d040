//! What `notify_client` and `broadcast` send: a method, its params, and
//! the log level that gates it.

use serde_json::Value;

use crate::protocol::jsonrpc::encode_notification;
use crate::protocol::mcp::{LOG_LEVELS, log_level_rank};

/// A notification for [`crate::ServerHandle::notify_client`] or
/// [`crate::ServerHandle::broadcast`].
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub(crate) method: String,
    pub(crate) params: Option<Value>,
    /// The broadcast gate level: a log level rank for `notifications/message`,
    /// the highest rank otherwise (reaching every initialized session).
    pub(crate) level: u8,
}

impl Notification {
    /// A notification of `method` with `params`.
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        let method = method.into();
        let level = params
            .as_ref()
            .filter(|_| method == "notifications/message")
            .and_then(|p| p.get("level"))
            .and_then(Value::as_str)
            .and_then(log_level_rank)
            .unwrap_or((LOG_LEVELS.len() - 1) as u8);
        Self {
            method,
            params,
            level,
        }
    }

    /// A `notifications/message` log message at `level` (`"info"`,
    /// `"warning"`, ...; unknown names are sent as `"info"`).
    pub fn log(level: &str, logger: Option<&str>, data: Value) -> Self {
        let level = if log_level_rank(level).is_some() {
            level
        } else {
            "info"
        };
        let mut params = serde_json::json!({"level": level, "data": data});
        if let Some(logger) = logger {
            params["logger"] = Value::from(logger);
        }
        Self::new("notifications/message", Some(params))
    }

    pub(crate) fn encode(&self) -> bytes::Bytes {
        encode_notification(&self.method, self.params.clone())
    }
}
