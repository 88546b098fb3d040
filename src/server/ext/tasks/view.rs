//! How a task shows: as `tasks/get` and `notifications/tasks` carry it,
//! and the error for a task the caller may not see.

use serde_json::{Value, json};

use super::TASK_POLL_INTERVAL_MS;
use crate::core::{TaskSnapshot, TaskStatus};
use crate::protocol::jsonrpc::ErrorObject;

/// `ms` since the epoch as ISO 8601 (`2026-11-27T10:30:00.000Z`).
pub(super) fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

pub(super) fn unknown(id: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("unknown task: {id}")).with_data(json!({"taskId": id}))
}

/// A task as `tasks/get` and `notifications/tasks` show it.
pub(super) fn detailed(s: &TaskSnapshot) -> Value {
    let mut task = json!({
        "taskId": s.id,
        "status": s.status.name(),
        "createdAt": iso8601(s.created_ms),
        "lastUpdatedAt": iso8601(s.updated_ms),
        "ttlMs": s.ttl_ms,
        "pollIntervalMs": TASK_POLL_INTERVAL_MS,
    });
    match &s.status {
        TaskStatus::InputRequired(asked) => task["inputRequests"] = asked.clone(),
        TaskStatus::Completed(result) => task["result"] = result.clone(),
        TaskStatus::Failed(error) => task["error"] = error.clone(),
        TaskStatus::Working | TaskStatus::Cancelled => {}
    }
    task
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso_8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_795_781_445_123), "2026-11-27T12:10:45.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
