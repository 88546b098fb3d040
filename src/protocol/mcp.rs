//! The MCP lifecycle for both protocol generations, as a pure state machine.
//!
//! - 2024-11-05 .. 2025-11-25 (stateful): `initialize` negotiates a version,
//!   `notifications/initialized` completes the handshake, and every request
//!   before `initialize` except `ping` and `server/discover` is refused.
//! - 2026-07-28 (stateless): no handshake. Each request names its version,
//!   client info and capabilities in `_meta`; `server/discover` advertises
//!   the server.
//!
//! A connection may mix both: a request that carries
//! `io.modelcontextprotocol/protocolVersion` in `_meta` is judged on its own;
//! one that does not belongs to the handshake of the connection.

use serde_json::{Value, json};

use super::error_object::{ErrorObject, INVALID_REQUEST, NOT_INITIALIZED};

/// Versions reached through the `initialize` handshake, newest first.
pub const HANDSHAKE_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// Versions used statelessly, with per-request `_meta`.
pub const STATELESS_VERSIONS: [&str; 1] = ["2026-07-28"];
/// The `_meta` key holding a stateless request's protocol version.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key holding a stateless request's client capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key of a stateless result that names the server.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// The `_meta` key holding a stateless request's client info.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// The error code of `HeaderMismatchError` (2026-07-28, HTTP): an MCP header
/// is missing or disagrees with the body.
pub const HEADER_MISMATCH: i64 = -32020;
/// The error code of `MissingRequiredClientCapabilityError` (2026-07-28):
/// the request needs a client capability its `_meta` does not declare.
pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
/// The error code of `UnsupportedProtocolVersionError` (2026-07-28).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// Every version this server speaks, newest first.
pub fn supported_versions() -> Vec<&'static str> {
    STATELESS_VERSIONS
        .iter()
        .chain(HANDSHAKE_VERSIONS.iter())
        .copied()
        .collect()
}

/// How one request is to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Under the connection's negotiated (stateful) version.
    Handshake(&'static str),
    /// Statelessly, under the version in the request's `_meta`.
    Stateless(&'static str),
    /// Before any version is known (`ping`, `server/discover`, `initialize`).
    Unversioned,
}

impl Generation {
    /// True for 2026-07-28 requests, whose results carry `resultType`.
    pub fn is_stateless(self) -> bool {
        matches!(self, Self::Stateless(_))
    }
}

/// The handshake state of one connection.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// The version `initialize` settled on.
    negotiated: Option<&'static str>,
    /// True once `notifications/initialized` has arrived.
    initialized: bool,
    /// The `capabilities` the client declared in `initialize`.
    client_capabilities: Value,
}

impl Lifecycle {
    /// The negotiated handshake version, if `initialize` has been answered.
    pub fn negotiated(&self) -> Option<&'static str> {
        self.negotiated
    }

    /// True once the client has sent `notifications/initialized`.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// The capabilities the client declared in `initialize` (`null`
    /// before).
    pub fn client_capabilities(&self) -> &Value {
        &self.client_capabilities
    }

    /// The lifecycle of a session resumed from what another process kept
    /// of it: `version` as negotiated (`None` if it is not a handshake
    /// version this server speaks), initialized or not, with the client's
    /// capabilities.
    pub fn resumed(version: &str, initialized: bool, capabilities: Value) -> Option<Self> {
        let negotiated = HANDSHAKE_VERSIONS.iter().find(|v| **v == version).copied()?;
        Some(Self {
            negotiated: Some(negotiated),
            initialized,
            client_capabilities: capabilities,
        })
    }

    /// Decides under which generation a request is answered, from its
    /// method and its params' `_meta`.
    ///
    /// # Errors
    ///
    /// - `UnsupportedProtocolVersionError` (-32022) for a `_meta` version this
    ///   server does not speak statelessly;
    /// - -32602 for a stateless request without client capabilities;
    /// - -32002 for a handshake request before `initialize`.
    pub fn classify(&self, method: &str, meta: Option<&Value>) -> Result<Generation, ErrorObject> {
        if let Some(requested) = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)) {
            let requested = requested.as_str().unwrap_or_default();
            if let Some(version) = STATELESS_VERSIONS.iter().find(|v| **v == requested) {
                let caps = meta.and_then(|m| m.get(META_CLIENT_CAPABILITIES));
                if !caps.is_some_and(Value::is_object) {
                    return Err(ErrorObject::invalid_params(format!(
                        "_meta[\"{META_CLIENT_CAPABILITIES}\"] must be an object"
                    )));
                }
                return Ok(Generation::Stateless(version));
            }
            // A handshake client may echo its negotiated version; accept that.
            if self.negotiated == Some(requested) {
                return Ok(Generation::Handshake(self.negotiated.expect("checked")));
            }
            return Err(unsupported_version(requested));
        }
        let unversioned =
            super::method::Method::parse(method).is_some_and(super::method::Method::unversioned);
        match (unversioned, self.negotiated) {
            (true, _) => Ok(Generation::Unversioned),
            (_, Some(version)) => Ok(Generation::Handshake(version)),
            (_, None) => Err(ErrorObject::new(
                NOT_INITIALIZED,
                format!(
                    "session not initialized: send initialize first, or use protocol version {} with \
                     _meta[\"{META_PROTOCOL_VERSION}\"]",
                    STATELESS_VERSIONS[0]
                ),
            )),
        }
    }

    /// Answers `initialize`: negotiates the version and records it.
    ///
    /// # Errors
    ///
    /// -32600 if the connection is already initialized; -32602 if
    /// `protocolVersion` is missing.
    pub fn initialize(&mut self, params: Option<&Value>) -> Result<&'static str, ErrorObject> {
        if self.negotiated.is_some() {
            return Err(ErrorObject::new(INVALID_REQUEST, "already initialized"));
        }
        let requested = params
            .and_then(|p| p.get("protocolVersion"))
            .and_then(Value::as_str)
            .ok_or_else(|| ErrorObject::invalid_params("initialize: protocolVersion (string) is required"))?;
        // Echo a version we speak; otherwise offer our newest handshake version.
        let version = HANDSHAKE_VERSIONS
            .iter()
            .find(|v| **v == requested)
            .copied()
            .unwrap_or(HANDSHAKE_VERSIONS[0]);
        self.negotiated = Some(version);
        self.client_capabilities = params
            .and_then(|p| p.get("capabilities"))
            .cloned()
            .unwrap_or(Value::Null);
        Ok(version)
    }

    /// Records `notifications/initialized`; false if it came before `initialize`.
    pub fn initialized(&mut self) -> bool {
        if self.negotiated.is_some() {
            self.initialized = true;
        }
        self.initialized
    }
}

/// `UnsupportedProtocolVersionError` for `requested`.
pub fn unsupported_version(requested: &str) -> ErrorObject {
    ErrorObject::new(
        UNSUPPORTED_PROTOCOL_VERSION,
        format!("unsupported protocol version: {requested:?}"),
    )
    .with_data(json!({"requested": requested, "supported": STATELESS_VERSIONS}))
}

/// Adds `resultType: "complete"` to a stateless result that names no other
/// (`input_required` does), and the server's
/// `serverInfo` (`{name, version}`) to its `_meta` under
/// [`META_SERVER_INFO`].
pub fn finish_result(generation: Generation, mut result: Value, server_info: &Value) -> Value {
    if generation.is_stateless()
        && let Value::Object(obj) = &mut result
    {
        obj.entry("resultType").or_insert_with(|| Value::from("complete"));
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.insert(META_SERVER_INFO.into(), server_info.clone());
        }
    }
    result
}

/// Adds the 2026-07-28 caching directives (`ttlMs`, `cacheScope`) that
/// cacheable results (`server/discover`, `tools/list`, ...) must carry on a
/// stateless request. `public` says the result does not depend on who asks.
pub fn cacheable(generation: Generation, mut result: Value, ttl_ms: u64, public: bool) -> Value {
    if generation.is_stateless()
        && let Value::Object(obj) = &mut result
    {
        obj.insert("ttlMs".into(), Value::from(ttl_ms));
        obj.insert(
            "cacheScope".into(),
            Value::from(if public { "public" } else { "private" }),
        );
    }
    result
}

/// The log levels of `logging/setLevel` and `notifications/message`, lowest first.
pub const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// The rank of a log level name (0 = debug .. 7 = emergency).
pub fn log_level_rank(name: &str) -> Option<u8> {
    LOG_LEVELS.iter().position(|l| *l == name).map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_known_versions_and_falls_back_to_newest() {
        let mut l = Lifecycle::default();
        assert_eq!(
            l.initialize(Some(&json!({"protocolVersion": "2025-03-26"}))),
            Ok("2025-03-26")
        );
        let mut l = Lifecycle::default();
        assert_eq!(
            l.initialize(Some(&json!({"protocolVersion": "1999-01-01"}))),
            Ok("2025-11-25")
        );
        assert_eq!(
            l.initialize(Some(&json!({"protocolVersion": "2025-11-25"})))
                .unwrap_err()
                .code,
            INVALID_REQUEST
        );
    }

    #[test]
    fn requests_before_initialize_are_refused_except_ping_and_discover() {
        let l = Lifecycle::default();
        assert_eq!(l.classify("tools/list", None).unwrap_err().code, NOT_INITIALIZED);
        assert_eq!(l.classify("ping", None), Ok(Generation::Unversioned));
        assert_eq!(l.classify("server/discover", None), Ok(Generation::Unversioned));
    }

    #[test]
    fn stateless_requests_are_judged_by_their_meta() {
        let l = Lifecycle::default();
        let ok = json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}}});
        assert_eq!(
            l.classify("tools/list", ok.get("_meta")),
            Ok(Generation::Stateless("2026-07-28"))
        );
        let bad = json!({"_meta": {META_PROTOCOL_VERSION: "2030-01-01", META_CLIENT_CAPABILITIES: {}}});
        let err = l.classify("tools/list", bad.get("_meta")).unwrap_err();
        assert_eq!(err.code, UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(err.data.unwrap()["requested"], "2030-01-01");
        let no_caps = json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28"}});
        assert_eq!(
            l.classify("tools/list", no_caps.get("_meta")).unwrap_err().code,
            -32602
        );
    }

    #[test]
    fn stateless_results_carry_result_type_and_server_info() {
        let info = json!({"name": "s", "version": "1"});
        let r = finish_result(Generation::Stateless("2026-07-28"), json!({"tools": []}), &info);
        assert_eq!(r["resultType"], "complete");
        assert_eq!(r["_meta"][META_SERVER_INFO], info);
        let r = finish_result(Generation::Handshake("2025-11-25"), json!({"tools": []}), &info);
        assert!(r.get("resultType").is_none());
        assert!(r.get("_meta").is_none());
    }
}
