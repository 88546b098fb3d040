//! Authorization in the HTTP service (see [`crate::auth`]): the
//! protected-resource metadata, then for every other request the bearer
//! token, the scopes its headers say it needs, and (once the body is read)
//! the scopes its body says it needs.

use http::{HeaderValue, Method, Request, StatusCode, header};

use super::Http;
use super::body::{self, Body};
use super::headers::{self, METHOD, NAME};
use crate::auth::{Auth, Principal, Refusal};
use crate::protocol::jsonrpc::{ErrorObject, INVALID_REQUEST, RequestId};
use crate::protocol::method::Method as McpMethod;
use crate::protocol::params::Params;
use crate::server::VisibleTools;

fn auth(http: &Http) -> Option<&Auth> {
    http.server.shared.config.http.auth.as_ref()
}

/// True if `path` is where this service serves its metadata.
pub(super) fn is_metadata_path(http: &Http, path: &str) -> bool {
    auth(http).is_some_and(|auth| auth.metadata_paths().iter().any(|p| p == path))
}

/// The answer for a request at a metadata path: the document for GET and
/// HEAD, the CORS preflight for OPTIONS, 405 for anything else. `None`
/// for any other path. No token is needed: this is how clients find out
/// where to get one.
pub(super) fn metadata<B>(http: &Http, request: &Request<B>) -> Option<http::Response<Body>> {
    let auth = auth(http)?;
    if !auth.metadata_paths().iter().any(|p| p == request.uri().path()) {
        return None;
    }
    let mut response = match *request.method() {
        Method::GET | Method::HEAD => {
            let document = serde_json::to_vec(&auth.metadata_document()).expect("a JSON value");
            let mut response = body::json(StatusCode::OK, document.into());
            if request.method() == Method::HEAD {
                response = response.map(|_| body::empty(StatusCode::OK).into_body());
            }
            response
        }
        Method::OPTIONS => body::empty(StatusCode::NO_CONTENT),
        _ => {
            let mut response = body::error(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                &ErrorObject::new(INVALID_REQUEST, "the metadata is read with GET"),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
            return Some(response);
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("mcp-protocol-version"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    Some(response)
}

/// Authenticates `request` when authorization is on: its token must be
/// valid, and cover the scopes its `Mcp-Method` and `Mcp-Name` headers
/// (2026-07-28) say it needs. The caller goes in the request's extensions.
pub(super) async fn authenticate<B>(
    http: &Http,
    mut request: Request<B>,
) -> Result<Request<B>, http::Response<Body>> {
    let Some(auth) = auth(http) else {
        return Ok(request);
    };
    let method = headers::text(request.headers(), METHOD);
    let needed = match method {
        Some(method) => {
            let name = headers::text(request.headers(), NAME).and_then(|n| headers::decoded(n).ok());
            needed(http, auth, method, name.as_deref())
        }
        None => auth.needed("", None, &[]),
    };
    let verified = auth
        .authenticate(request.headers(), request.uri().query(), &needed)
        .await
        .and_then(|principal| auth.authorize(&principal, &needed).map(|()| principal));
    match verified {
        Ok(principal) => {
            // A request that may be a tools/list (its headers say so, or say
            // nothing) is told which tools its caller may call.
            let may_list = method.is_none_or(|m| m == McpMethod::ToolsList.name());
            if auth.config().hide_uncallable_tools && may_list {
                request.extensions_mut().insert(callable_tools(auth.clone()));
            }
            request.extensions_mut().insert(principal);
            Ok(request)
        }
        Err(refusal) => Err(refused(None, refusal)),
    }
}

/// Checks a request read from the body against the scopes it needs (the
/// headers may have named less than the body asks).
pub(super) fn authorize(
    http: &Http,
    principal: Option<&Principal>,
    id: &RequestId,
    method: &str,
    params: &Params<'_>,
) -> Result<(), Box<http::Response<Body>>> {
    let (Some(auth), Some(principal)) = (auth(http), principal) else {
        return Ok(());
    };
    let name = (method == McpMethod::ToolsCall.name())
        .then(|| params.str_member("name"))
        .flatten();
    let needed = needed(http, auth, method, name);
    auth.authorize(principal, &needed)
        .map_err(|refusal| Box::new(refused(Some(id), refusal)))
}

/// The tools a caller may call: those whose every needed scope its token
/// holds (what `tools/list` shows with
/// [`crate::auth::AuthConfig::hide_uncallable_tools`]).
fn callable_tools(auth: Auth) -> VisibleTools {
    VisibleTools::new(move |tool, caller| {
        let needed = auth.needed(
            McpMethod::ToolsCall.name(),
            Some(tool.name()),
            tool.required_scopes(),
        );
        caller.is_some_and(|p| auth.config().satisfies(&p.scopes, &needed))
    })
}

/// Every scope a request of `method` needs; for `tools/call`, `name`'s
/// too (the configuration's and the tool's own).
fn needed(http: &Http, auth: &Auth, method: &str, name: Option<&str>) -> Vec<String> {
    let Some(name) = name.filter(|_| method == McpMethod::ToolsCall.name()) else {
        return auth.needed(method, None, &[]);
    };
    let catalog = http.server.shared.catalog.snapshot();
    let own = catalog
        .tools
        .get(name)
        .map(|t| t.required_scopes())
        .unwrap_or_default();
    auth.needed(method, Some(name), own)
}

/// The answer to a refused request: its status, the challenge, and a
/// JSON-RPC error body.
fn refused(id: Option<&RequestId>, refusal: Refusal) -> http::Response<Body> {
    let mut response = body::error(
        refusal.status,
        id,
        &ErrorObject::new(INVALID_REQUEST, refusal.message),
    );
    if let Some(challenge) = refusal.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}
