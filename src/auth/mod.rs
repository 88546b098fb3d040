//! Authorization for Streamable HTTP: the server as an OAuth 2.1 resource
//! server, as the MCP specification's authorization pages (2025-11-25 and
//! 2026-07-28) describe it.
//!
//! With an [`Auth`] in [`crate::config::HttpConfig::auth`], every request
//! to the MCP endpoint needs a bearer token (RFC 6750, in the
//! `Authorization` header only) that its [`TokenVerifier`] accepts and that
//! was issued for the endpoint's canonical URI (RFC 8707). The service
//! checks, in this order: `Host` and `Origin`, then the token, then the
//! scopes the request needs (every request's, the method's, the tool's),
//! then the session or the body. A refusal is 401 (no token, or an invalid
//! one), 403 (`insufficient_scope`, naming every scope needed) or 400 (a
//! malformed request), each with a `WWW-Authenticate: Bearer` challenge
//! that names the protected-resource metadata (RFC 9728); 503 when the
//! token cannot be checked now. The metadata is served without a token at
//! the paths of [`Auth::metadata_paths`].
//!
//! The caller is a [`Principal`], in the request's extensions and in
//! [`crate::RequestContext::principal`]; a token is never logged, counted,
//! echoed or passed on.
//!
//! stdio and TCP are not affected: the specification's authorization is
//! for HTTP, and a stdio server takes its credentials from its
//! environment.

mod principal;

pub use principal::Principal;

#[cfg(feature = "auth")]
mod bearer;
#[cfg(feature = "auth")]
mod challenge;
#[cfg(feature = "auth")]
mod config;
#[cfg(feature = "auth")]
mod fetch;
#[cfg(feature = "auth")]
mod introspection;
#[cfg(feature = "auth")]
mod jwt;
#[cfg(feature = "auth")]
mod metadata;
#[cfg(feature = "auth")]
mod scopes;
#[cfg(feature = "auth")]
mod verifier;

#[cfg(feature = "auth")]
mod guard;

#[cfg(feature = "auth")]
pub use config::{AuthConfig, AuthConfigError};
#[cfg(feature = "auth")]
pub use guard::Auth;
#[cfg(feature = "auth")]
pub(crate) use guard::Refusal;
#[cfg(feature = "auth")]
pub use introspection::IntrospectionVerifier;
#[cfg(feature = "auth")]
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "auth")]
pub use jwt::{DEFAULT_ALGORITHMS, JwtVerifier, JwtVerifierBuilder};
#[cfg(feature = "auth")]
pub use verifier::{TokenVerifier, VerifyError, VerifyFuture};

/// For the fuzz target `authorization` (`crate::fuzzing`).
#[cfg(all(fuzzing, feature = "auth"))]
pub(crate) mod fuzzing;
