//! [`ServerHandle`]: what a running server's owner (and its handlers) can
//! do to it: shut it down, notify and broadcast, change the catalog,
//! inspect sessions and counters.

use crate::core::{BroadcastReport, SessionId, SessionInfo};
use crate::error::NotifyError;
use crate::metrics::MetricsSnapshot;
use crate::sync::Arc;

use crate::server::api::catalog::{Catalog, Kind};
use crate::server::{Listeners, Notification, Prompt, Resource, ResourceTemplate, Shared, Skill, Tool};

/// A handle on a running server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl ServerHandle {
    /// Begins a graceful shutdown: the accept loop stops, every session and
    /// request is cancelled, outboxes are flushed within the grace period.
    /// The `serve_*` future returns its report when done. Idempotent.
    pub fn shutdown(&self) {
        self.shared.tasks.close();
        self.shared.core.shutdown();
    }

    /// True once shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.core.is_shutting_down()
    }

    /// Sends a notification to one session without waiting.
    ///
    /// The session is looked up, its sender cloned and the registry lock
    /// dropped before sending. A session that is a listen stream (2026-07-28
    /// over HTTP) gets it stamped with its subscription id, and only if it
    /// asked for that kind of notification.
    ///
    /// # Errors
    ///
    /// [`NotifyError::Gone`] if the session does not exist;
    /// [`NotifyError::Dropped`] / [`NotifyError::Disconnected`] if its outbox
    /// is full (the message is counted as dropped).
    pub fn notify_client(&self, session: SessionId, notification: &Notification) -> Result<(), NotifyError> {
        let streamed =
            self.shared
                .listeners
                .deliver_to(session, &notification.method, notification.params.as_ref());
        streamed.unwrap_or_else(|| self.shared.core.notify(session, notification.encode()))
    }

    /// Sends a notification to every session that may receive it: sessions
    /// that completed the `initialize` handshake, and for
    /// `notifications/message`, whose log level admits it. Encodes once for
    /// them; never waits. It is also published on the event bus for the
    /// listen streams (2026-07-28) that asked for its kind, each of which
    /// gets a copy stamped with its subscription id.
    pub fn broadcast(&self, notification: &Notification) -> BroadcastReport {
        let sessions = self
            .shared
            .core
            .broadcast(&notification.encode(), notification.level);
        self.publish(notification, sessions)
    }

    /// Adds a tool while the server runs (replacing one of the same name)
    /// and tells clients the tool list changed.
    pub fn add_tool(&self, tool: Tool) -> BroadcastReport {
        self.change(Kind::Tools, |c| {
            c.add_tool(tool);
            true
        })
    }

    /// Removes the tool `name`; tells clients if there was one.
    pub fn remove_tool(&self, name: &str) -> BroadcastReport {
        self.change(Kind::Tools, |c| c.tools.remove(name))
    }

    /// Adds a resource while the server runs and tells clients the
    /// resource list changed.
    pub fn add_resource(&self, resource: Resource) -> BroadcastReport {
        self.change(Kind::Resources, |c| {
            c.add_resource(resource);
            true
        })
    }

    /// Removes the resource at `uri`; tells clients if there was one.
    pub fn remove_resource(&self, uri: &str) -> BroadcastReport {
        self.change(Kind::Resources, |c| c.resources.remove(uri))
    }

    /// Adds a resource template while the server runs and tells clients
    /// the resource list changed.
    pub fn add_resource_template(&self, template: ResourceTemplate) -> BroadcastReport {
        self.change(Kind::Resources, |c| {
            c.add_template(template);
            true
        })
    }

    /// Removes the resource template `uri_template`; tells clients if
    /// there was one.
    pub fn remove_resource_template(&self, uri_template: &str) -> BroadcastReport {
        self.change(Kind::Resources, |c| c.templates.remove(uri_template))
    }

    /// Adds a skill while the server runs (replacing one at the same
    /// path) and tells clients the resource list changed (its files are
    /// resources; the skills extension has no notification of its own).
    pub fn add_skill(&self, skill: Skill) -> BroadcastReport {
        self.change(Kind::Resources, |c| {
            c.add_skill(skill);
            true
        })
    }

    /// Removes the skill at `path` and its files; tells clients if there
    /// was one.
    pub fn remove_skill(&self, path: &str) -> BroadcastReport {
        self.change(Kind::Resources, |c| c.remove_skill(path))
    }

    /// Adds a prompt while the server runs and tells clients the prompt
    /// list changed.
    pub fn add_prompt(&self, prompt: Prompt) -> BroadcastReport {
        self.change(Kind::Prompts, |c| {
            c.add_prompt(prompt);
            true
        })
    }

    /// Removes the prompt `name`; tells clients if there was one.
    pub fn remove_prompt(&self, name: &str) -> BroadcastReport {
        self.change(Kind::Prompts, |c| c.prompts.remove(name))
    }

    /// Applies `edit` to the catalog and, if it changed something,
    /// broadcasts `kind`'s `list_changed`.
    fn change(&self, kind: Kind, edit: impl FnOnce(&mut Catalog) -> bool) -> BroadcastReport {
        if !self.shared.catalog.change(edit) {
            return BroadcastReport::default();
        }
        self.broadcast(&Notification::new(kind.list_changed(), None))
    }

    /// Tells the clients subscribed to `uri` that the resource changed
    /// (`notifications/resources/updated`): 2025 sessions that sent
    /// `resources/subscribe` for it, and listen streams (2026-07-28) whose
    /// `resourceSubscriptions` name it. Never waits.
    pub fn resource_updated(&self, uri: &str) -> BroadcastReport {
        let notification = Notification::new(
            "notifications/resources/updated",
            Some(serde_json::json!({"uri": uri})),
        );
        let frame = notification.encode();
        let mut report = BroadcastReport::default();
        for session in self.shared.resource_subs.sessions(uri) {
            match self.shared.core.notify(session, frame.clone()) {
                Ok(()) => report.queued += 1,
                Err(NotifyError::Gone(_)) => report.gone += 1,
                Err(_) => report.dropped += 1,
            }
        }
        self.publish(&notification, report)
    }

    /// Publishes `notification` on the event bus for listen streams and
    /// adds what this process delivered to `report`.
    fn publish(&self, notification: &Notification, mut report: BroadcastReport) -> BroadcastReport {
        let streams = self.shared.bus.publish(
            &notification.method,
            notification.params.as_ref(),
            &self.shared.listeners,
        );
        report.queued += streams.queued;
        report.dropped += streams.dropped;
        report.gone += streams.gone;
        report
    }

    /// The listen streams of this process (2026-07-28).
    pub fn listeners(&self) -> &Listeners {
        &self.shared.listeners
    }

    /// Disconnects one session; false if no session has this id.
    pub fn disconnect(&self, session: SessionId) -> bool {
        self.shared.core.disconnect(session)
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.core.sessions()
    }

    /// The counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.core.metrics()
    }

    /// Admission permits not held by a session (for tests and monitoring).
    pub fn available_permits(&self) -> usize {
        self.shared.core.available_permits()
    }
}
