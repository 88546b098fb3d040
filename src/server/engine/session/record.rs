//! What a session store keeps of a session (`crate::server::store`): the
//! state publishes its record whenever the record would change, and a
//! session can start from a record another process kept.

use serde_json::Value;

use super::SessionState;
use crate::core::Session;
use crate::protocol::mcp::{LOG_LEVELS, Lifecycle, log_level_rank};
use crate::protocol::params::Params;
use crate::server::Shared;
use crate::server::store::{RecordCell, SessionRecord};
use crate::sync::Arc;

/// Where the session's record goes, and what of it the state keeps for
/// nothing else.
#[derive(Debug)]
pub(crate) struct Stored {
    cell: Arc<RecordCell>,
    /// `initialize`'s `clientInfo`.
    client_info: Value,
}

impl SessionState {
    /// Publishes the session's record to `cell` whenever it changes from
    /// now on.
    pub(crate) fn keep_record(&mut self, cell: Arc<RecordCell>) {
        self.stored = Some(Box::new(Stored {
            cell,
            client_info: Value::Null,
        }));
    }

    /// A session that goes on from `record`, which another process (or
    /// this one, earlier) kept; its later changes go to `cell`. `None` if
    /// the record names a protocol version this server does not speak.
    pub(crate) fn resume(
        shared: Arc<Shared>,
        session: Session,
        record: &SessionRecord,
        cell: Arc<RecordCell>,
    ) -> Option<Self> {
        let capabilities = record.client_capabilities.clone();
        let lifecycle = Lifecycle::resumed(&record.protocol_version, record.initialized, capabilities)?;
        let version = lifecycle.negotiated()?;
        let mut state = Self::new(shared, session);
        state.client_capabilities = Arc::new(record.client_capabilities.clone());
        state.lifecycle = lifecycle;
        state.engaged = true;
        state.log_level = log_level_rank(&record.log_level).unwrap_or(state.log_level);
        state.session.attrs().set_protocol_version(version);
        if record.initialized {
            state.session.attrs().set_notify_gate(state.log_level);
        }
        for uri in &record.subscriptions {
            // Within the bound when it was kept, so within it again.
            let _ = state.subscribe(uri.clone(), true);
        }
        state.stored = Some(Box::new(Stored {
            cell,
            client_info: record.client_info.clone(),
        }));
        Some(state)
    }

    /// Takes up `record`, which another replica saved after a change made
    /// through it: the log level, `notifications/initialized`, the
    /// subscriptions. (Without publishing it again: it is saved.)
    pub(crate) fn apply(&mut self, record: &SessionRecord) {
        let stored = self.stored.take();
        if let Some(rank) = log_level_rank(&record.log_level) {
            self.log_level = rank;
        }
        if record.initialized {
            self.lifecycle.initialized();
        }
        if self.lifecycle.is_initialized() {
            self.session.attrs().set_notify_gate(self.log_level);
        }
        let gone: Vec<String> = self
            .resource_subs
            .iter()
            .filter(|uri| !record.subscriptions.contains(uri))
            .cloned()
            .collect();
        for uri in gone {
            let _ = self.subscribe(uri, false);
        }
        for uri in &record.subscriptions {
            let _ = self.subscribe(uri.clone(), true);
        }
        self.stored = stored;
    }

    /// Notes what the record keeps of `initialize`'s params.
    pub(super) fn note_initialize(&mut self, params: &Params<'_>) {
        if let Some(stored) = &mut self.stored {
            stored.client_info = params.json_member("clientInfo").cloned().unwrap_or(Value::Null);
        }
    }

    /// Publishes the record as it is now (after a change), once the
    /// session has a negotiated version.
    pub(super) fn record_changed(&self) {
        let Some(stored) = &self.stored else { return };
        let Some(version) = self.lifecycle.negotiated() else {
            return;
        };
        let mut subscriptions: Vec<String> = self.resource_subs.iter().cloned().collect();
        subscriptions.sort_unstable();
        stored.cell.publish(SessionRecord {
            protocol_version: version.to_owned(),
            initialized: self.lifecycle.is_initialized(),
            client_capabilities: (*self.client_capabilities).clone(),
            client_info: stored.client_info.clone(),
            log_level: LOG_LEVELS
                .get(usize::from(self.log_level))
                .unwrap_or(&LOG_LEVELS[0])
                .to_string(),
            subscriptions,
            owner: None,
        });
    }
}
