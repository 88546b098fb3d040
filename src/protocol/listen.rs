//! `subscriptions/listen` (2026-07-28): which notifications a listen stream
//! asked for, and how each is stamped with its subscription id.
//!
//! A client opts in to each kind: `toolsListChanged`, `promptsListChanged`,
//! `resourcesListChanged`, and `resourceSubscriptions` (the URIs whose
//! `notifications/resources/updated` it wants). The server acknowledges the
//! kinds it honors first, and stamps every notification on the stream with
//! `_meta["io.modelcontextprotocol/subscriptionId"]`: the JSON-RPC id of the
//! `subscriptions/listen` request.

use bytes::Bytes;
use serde_json::{Value, json};

use super::jsonrpc::{ErrorObject, RequestId, encode_notification, encode_result};

/// The `_meta` key naming the listen stream a notification belongs to.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// The first message of a listen stream.
pub const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";

/// The notifications one listen stream asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenFilter {
    tools: bool,
    prompts: bool,
    resources: bool,
    resource_uris: Vec<String>,
    /// Tasks whose `notifications/tasks` the stream wants (tasks extension).
    task_ids: Vec<String>,
    /// Tasks it asked for that belong to another caller: acknowledged,
    /// never delivered.
    withheld: Vec<String>,
}

impl ListenFilter {
    /// Reads `params.notifications`.
    ///
    /// # Errors
    ///
    /// -32602 when `notifications` is missing or not an object, or a field
    /// has the wrong type.
    pub fn parse(params: Option<&Value>) -> Result<Self, ErrorObject> {
        let Some(wanted) = params
            .and_then(|p| p.get("notifications"))
            .and_then(Value::as_object)
        else {
            return Err(ErrorObject::invalid_params(
                "subscriptions/listen: params.notifications (object) is required",
            ));
        };
        let flag = |name: &str| match wanted.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ErrorObject::invalid_params(format!(
                "subscriptions/listen: notifications.{name} must be a boolean"
            ))),
        };
        let strings = |name: &str| match wanted.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|u| u.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ErrorObject::invalid_params(format!(
                        "subscriptions/listen: notifications.{name} must be strings"
                    ))
                }),
            Some(_) => Err(ErrorObject::invalid_params(format!(
                "subscriptions/listen: notifications.{name} must be an array"
            ))),
        };
        let resource_uris = strings("resourceSubscriptions")?;
        let task_ids = strings("taskIds")?;
        Ok(Self {
            task_ids,
            withheld: Vec::new(),
            tools: flag("toolsListChanged")?,
            prompts: flag("promptsListChanged")?,
            resources: flag("resourcesListChanged")?,
            resource_uris,
        })
    }

    /// Never delivers the status of the tasks `foreign` says belong to
    /// another caller, while the acknowledgement still names every task
    /// asked for (so the stream learns nothing of whose they are).
    pub fn withhold_tasks(&mut self, mut foreign: impl FnMut(&str) -> bool) {
        let asked = std::mem::take(&mut self.task_ids);
        for id in asked {
            if foreign(&id) {
                self.withheld.push(id);
            } else {
                self.task_ids.push(id);
            }
        }
    }

    /// True if the stream asked for task notifications.
    pub fn wants_tasks(&self) -> bool {
        !self.task_ids.is_empty() || !self.withheld.is_empty()
    }

    /// True if a notification of `method` with `params` belongs on this
    /// stream.
    pub fn wants(&self, method: &str, params: Option<&Value>) -> bool {
        match method {
            "notifications/tools/list_changed" => self.tools,
            "notifications/prompts/list_changed" => self.prompts,
            "notifications/resources/list_changed" => self.resources,
            "notifications/resources/updated" => params
                .and_then(|p| p.get("uri"))
                .and_then(Value::as_str)
                .is_some_and(|uri| self.resource_uris.iter().any(|u| u == uri)),
            "notifications/tasks" => params
                .and_then(|p| p.get("taskId"))
                .and_then(Value::as_str)
                .is_some_and(|id| self.task_ids.iter().any(|t| t == id)),
            _ => false,
        }
    }

    /// The kinds honored, as `notifications/subscriptions/acknowledged`
    /// echoes them (all that were asked for: each is a filter over what the
    /// server publishes).
    fn honored(&self) -> Value {
        let mut honored = serde_json::Map::new();
        for (key, on) in [
            ("toolsListChanged", self.tools),
            ("promptsListChanged", self.prompts),
            ("resourcesListChanged", self.resources),
        ] {
            if on {
                honored.insert(key.into(), Value::Bool(true));
            }
        }
        if !self.resource_uris.is_empty() {
            honored.insert("resourceSubscriptions".into(), json!(self.resource_uris));
        }
        if self.wants_tasks() {
            let asked: Vec<&String> = self.task_ids.iter().chain(&self.withheld).collect();
            honored.insert("taskIds".into(), json!(asked));
        }
        Value::Object(honored)
    }
}

/// `params` with the subscription id stamped into its `_meta`.
fn stamped(params: Option<&Value>, id: &RequestId) -> Value {
    let mut params = match params {
        Some(Value::Object(p)) => Value::Object(p.clone()),
        _ => json!({}),
    };
    let meta = params
        .as_object_mut()
        .expect("an object")
        .entry("_meta")
        .or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        meta.insert(META_SUBSCRIPTION_ID.into(), json!(id));
    }
    params
}

/// A notification as it goes on the listen stream `id`.
pub fn stream_notification(method: &str, params: Option<&Value>, id: &RequestId) -> Bytes {
    encode_notification(method, Some(stamped(params, id)))
}

/// The first message of the listen stream `id`.
pub fn acknowledged(filter: &ListenFilter, id: &RequestId) -> Bytes {
    stream_notification(
        ACKNOWLEDGED,
        Some(&json!({"notifications": filter.honored()})),
        id,
    )
}

/// The answer that ends the listen stream `id` gracefully (when the server
/// tears it down).
pub fn ended(id: &RequestId) -> Bytes {
    encode_result(
        id,
        json!({"resultType": "complete", "_meta": {META_SUBSCRIPTION_ID: id}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_passes_only_what_was_asked_for() {
        let params = json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["a://1"]}});
        let filter = ListenFilter::parse(Some(&params)).unwrap();
        assert!(filter.wants("notifications/tools/list_changed", None));
        assert!(!filter.wants("notifications/prompts/list_changed", None));
        assert!(filter.wants("notifications/resources/updated", Some(&json!({"uri": "a://1"}))));
        assert!(!filter.wants("notifications/resources/updated", Some(&json!({"uri": "a://2"}))));
        assert!(!filter.wants("notifications/message", None));
        assert_eq!(
            filter.honored(),
            json!({"toolsListChanged": true, "resourceSubscriptions": ["a://1"]})
        );
    }

    #[test]
    fn bad_filters_are_invalid_params() {
        for params in [
            json!({}),
            json!({"notifications": 1}),
            json!({"notifications": {"toolsListChanged": 1}}),
        ] {
            assert_eq!(
                ListenFilter::parse(Some(&params)).unwrap_err().code,
                -32602,
                "{params}"
            );
        }
    }

    #[test]
    fn notifications_are_stamped_with_the_subscription_id() {
        let id = RequestId::Number(7);
        let frame = stream_notification("notifications/tools/list_changed", None, &id);
        let value: Value = serde_json::from_slice(&frame).unwrap();
        assert_eq!(value["params"]["_meta"][META_SUBSCRIPTION_ID], 7);
        let end: Value = serde_json::from_slice(&ended(&id)).unwrap();
        assert_eq!(end["result"]["_meta"][META_SUBSCRIPTION_ID], 7);
    }
}
