//! Input from the client in a 2026-07-28 request (multi-round-trip
//! requests): the handler asks with the same `ctx.elicit` / `sample` /
//! `list_roots` as in a 2025 session, but a stateless request has no way
//! to wait for the answer. So each question is looked up in the answers
//! the request brought (its `inputResponses`, and earlier rounds' answers
//! sealed in its `requestState`); one not answered yet is recorded and
//! fails with [`InputError::Required`]. When the handler returns and
//! something was recorded, the call ends with `resultType:
//! "input_required"`, the questions as `inputRequests`, and a sealed
//! `requestState` holding every answer so far; the client asks the
//! questions and retries, and the handler runs again from the start.
//!
//! A question is named by a key: the handler's own (`elicit_as`), or
//! `input-<n>` by the order of its questions, so a handler that asks in
//! the same order every round is answered without naming anything.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::request_state::{self, StatePayload};
use crate::server::ext::client_requests::{InputError, check_capabilities};
use crate::sync::{Arc, AtomicU64, Mutex, Ordering};

/// The keys `requestState` is sealed and opened with: never empty; the
/// first seals, any opens (the keys held while one is rotated in).
pub(crate) type StateKeys = Arc<[Arc<[u8]>]>;

/// The questions of one call, and the answers it came with.
#[derive(Debug)]
pub(crate) struct InputRound {
    /// Earlier rounds' answers and this request's `inputResponses`.
    answers: HashMap<String, Value>,
    /// Questions asked and not answered, in the order asked.
    asked: Mutex<Vec<(String, Value)>>,
    /// Numbers the questions asked without a key.
    next: AtomicU64,
    /// The request's `clientCapabilities`.
    capabilities: Value,
    /// What the state binds: the method and the tool, prompt or URI.
    method: String,
    name: String,
    /// The keys that open a state, the first of which seals.
    keys: StateKeys,
    ttl: Duration,
    /// The caller the state is sealed for (`Principal::caller_key`), when
    /// requests are authenticated: another caller's retry is refused.
    caller: Option<Arc<str>>,
}

/// Seconds since the Unix epoch (the model's clock under shuttle).
fn now() -> u64 {
    crate::sync::now_ms() / 1000
}

impl InputRound {
    /// The round of a request of `method` on `name` that brought
    /// `request_state` and `input_responses`, under `keys` (the first
    /// seals, any opens).
    ///
    /// # Errors
    ///
    /// -32602 for a `requestState` that is tampered, issued for another
    /// request or expired, or `inputResponses` that is not an object.
    pub(crate) fn new(
        (method, name): (&str, &str),
        request_state: Option<&Value>,
        input_responses: Option<&Value>,
        capabilities: Value,
        keys: StateKeys,
        ttl: Duration,
        caller: Option<Arc<str>>,
    ) -> Result<Self, ErrorObject> {
        let mut answers: HashMap<String, Value> = match request_state {
            None | Some(Value::Null) => HashMap::new(),
            Some(Value::String(state)) => {
                let held = keys.iter().map(|k| &k[..]);
                request_state::open_any(held, state, (method, name), caller.as_deref(), now())
                    .map_err(|e| e.to_error())?
                    .answers
                    .into_iter()
                    .collect()
            }
            Some(_) => return Err(ErrorObject::invalid_params("requestState must be a string")),
        };
        match input_responses {
            None | Some(Value::Null) => {}
            Some(Value::Object(responses)) => {
                // Each answer is a result of the client's (an object).
                if let Some((key, _)) = responses.iter().find(|(_, answer)| !answer.is_object()) {
                    return Err(ErrorObject::invalid_params(format!(
                        "inputResponses.{key} must be an object (the client's result)"
                    )));
                }
                answers.extend(responses.clone());
            }
            Some(_) => return Err(ErrorObject::invalid_params("inputResponses must be an object")),
        }
        Ok(Self {
            answers,
            asked: Mutex::new(Vec::new()),
            next: AtomicU64::new(1),
            capabilities,
            method: method.to_owned(),
            name: name.to_owned(),
            keys,
            ttl,
            caller,
        })
    }

    /// A key for a question asked without one.
    pub(crate) fn next_key(&self) -> String {
        format!("input-{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// The answer the request brought to question `key`, if any.
    pub(crate) fn answer(&self, key: &str) -> Option<Value> {
        self.answers.get(key).cloned()
    }

    /// The answer to question `key` (`method` with `params`), or
    /// [`InputError::Required`] after recording it.
    ///
    /// # Errors
    ///
    /// [`InputError::NotSupported`] for a capability the request did not
    /// declare (nothing recorded); [`InputError::Required`].
    pub(crate) fn ask(&self, key: &str, method: &str, params: Value) -> Result<Value, InputError> {
        check_capabilities(method, &params, &self.capabilities)?;
        if let Some(answer) = self.answers.get(key) {
            return Ok(answer.clone());
        }
        let mut asked = self.asked.lock();
        if !asked.iter().any(|(k, _)| k == key) {
            asked.push((key.to_owned(), json!({"method": method, "params": params})));
        }
        Err(InputError::Required)
    }

    /// The `input_required` result, if the handler asked anything it was
    /// not given: its questions, and every answer so far sealed in
    /// `requestState`.
    pub(crate) fn required(&self) -> Option<Value> {
        let asked = std::mem::take(&mut *self.asked.lock());
        if asked.is_empty() {
            return None;
        }
        let payload = StatePayload {
            method: self.method.clone(),
            name: self.name.clone(),
            expires: now() + self.ttl.as_secs(),
            caller: self.caller.as_deref().map(str::to_owned),
            answers: self
                .answers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        };
        let requests: Map<String, Value> = asked.into_iter().collect();
        Some(json!({
            "resultType": "input_required",
            "inputRequests": requests,
            "requestState": request_state::seal(&self.keys[0], &payload),
        }))
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    fn round(params: Value, caps: Value) -> Result<InputRound, ErrorObject> {
        let key: StateKeys = Arc::from([Arc::from(&b"key"[..])]);
        let Value::Object(params) = params else { panic!() };
        let (state, responses) = (params.get("requestState"), params.get("inputResponses"));
        InputRound::new(
            ("tools/call", "t"),
            state,
            responses,
            caps,
            key,
            Duration::from_secs(60),
            None,
        )
    }

    #[test]
    fn questions_are_answered_from_the_responses_or_recorded() {
        let r = round(json!({}), json!({"elicitation": {}})).unwrap();
        assert_eq!(
            r.ask("a", "elicitation/create", json!({"m": 1})),
            Err(InputError::Required)
        );
        assert_eq!(
            r.ask("s", "sampling/createMessage", json!({})),
            Err(InputError::NotSupported("sampling"))
        );
        let required = r.required().expect("a question was asked");
        assert_eq!(required["resultType"], "input_required");
        assert_eq!(required["inputRequests"]["a"]["method"], "elicitation/create");
        assert!(
            required["inputRequests"].get("s").is_none(),
            "an unsupported question is not sent"
        );

        // Round 2: the answer comes back, with the state.
        let state = required["requestState"].clone();
        let r2 = round(
            json!({"requestState": state, "inputResponses": {"a": {"action": "accept"}}}),
            json!({"elicitation": {}}),
        )
        .unwrap();
        assert_eq!(
            r2.ask("a", "elicitation/create", json!({})),
            Ok(json!({"action": "accept"}))
        );
        assert_eq!(
            r2.ask("b", "elicitation/create", json!({})),
            Err(InputError::Required)
        );
        let state2 = r2.required().unwrap()["requestState"].clone();
        // Round 3: only b's answer is sent; a's comes from the state.
        let r3 = round(
            json!({"requestState": state2, "inputResponses": {"b": {"action": "decline"}}}),
            json!({"elicitation": {}}),
        )
        .unwrap();
        assert_eq!(
            r3.ask("a", "elicitation/create", json!({})),
            Ok(json!({"action": "accept"}))
        );
        assert_eq!(
            r3.ask("b", "elicitation/create", json!({})),
            Ok(json!({"action": "decline"}))
        );
        assert!(r3.required().is_none());
    }

    #[test]
    fn a_bad_state_is_refused_before_anything_runs() {
        for params in [
            json!({"requestState": "junk"}),
            json!({"requestState": 7}),
            json!({"inputResponses": []}),
            json!({"inputResponses": {"input-1": 42}}),
            json!({"inputResponses": {"input-1": {"action": "accept"}, "input-2": "yes"}}),
        ] {
            assert_eq!(round(params, json!({})).unwrap_err().code, -32602);
        }
    }
}
