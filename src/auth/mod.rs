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

#[cfg(all(feature = "auth", not(shuttle)))]
mod bearer;
#[cfg(all(feature = "auth", not(shuttle)))]
mod challenge;
#[cfg(all(feature = "auth", not(shuttle)))]
mod config;
#[cfg(all(feature = "auth", not(shuttle)))]
mod fetch;
#[cfg(all(feature = "auth", not(shuttle)))]
mod introspection;
#[cfg(all(feature = "auth", not(shuttle)))]
mod jwt;
#[cfg(all(feature = "auth", not(shuttle)))]
mod metadata;
#[cfg(all(feature = "auth", not(shuttle)))]
mod scopes;
#[cfg(all(feature = "auth", not(shuttle)))]
mod verifier;

#[cfg(all(feature = "auth", not(shuttle)))]
mod guard;

#[cfg(all(feature = "auth", not(shuttle)))]
pub use config::{AuthConfig, AuthConfigError};
#[cfg(all(feature = "auth", not(shuttle)))]
pub use guard::Auth;
#[cfg(all(feature = "auth", not(shuttle)))]
pub(crate) use guard::Refusal;
#[cfg(all(feature = "auth", not(shuttle)))]
pub use introspection::IntrospectionVerifier;
#[cfg(all(feature = "auth", not(shuttle)))]
pub use jsonwebtoken::Algorithm;
#[cfg(all(feature = "auth", not(shuttle)))]
pub use jwt::{DEFAULT_ALGORITHMS, JwtVerifier, JwtVerifierBuilder};
#[cfg(all(feature = "auth", not(shuttle)))]
pub use verifier::{TokenVerifier, VerifyError, VerifyFuture};

/// For the fuzz target `authorization` (`crate::fuzzing`).
#[cfg(all(fuzzing, feature = "auth"))]
pub(crate) mod fuzzing;
