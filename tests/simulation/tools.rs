//! The simulated server's own tools, beside the built-in ones: work that
//! may be a task, a call that asks the client's model, a call that runs
//! until cancelled (so a client can see whether the server stopped it),
//! and a call that closes its stream for the client to poll (SEP-1699).

#![allow(unreachable_pub)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_server_core::{Tool, ToolOutput};
use serde_json::json;

/// `work {ms}`: works for `ms` (stopping when cancelled); a task if the
/// client declares the tasks extension.
pub use crate::support::tasks::work;

/// `sample {text}`: asks the client's model (sampling) about `text` and
/// says what it answered, or why it could not ask.
pub fn sample() -> Tool {
    Tool::new(
        "sample",
        "asks the client's model",
        json!({"type": "object"}),
        |args, ctx| async move {
            let text = args["text"].as_str().unwrap_or_default();
            let params = json!({"messages": [{"role": "user", "content": {"type": "text", "text": text}}],
                            "maxTokens": 16});
            Ok(match ctx.sample(params).await {
                Ok(reply) => ToolOutput::text(format!(
                    "sampled: {}",
                    reply["content"]["text"].as_str().unwrap_or("?")
                )),
                Err(e) => ToolOutput::error(format!("could not ask: {e}")),
            })
        },
    )
}

/// The `hold` calls running now, by their `key`.
pub type Running = Arc<Mutex<HashSet<String>>>;

/// `hold {key}`: runs until cancelled, with progress every 100 ms when
/// asked; while it runs its `key` is in `running`, so a client can see
/// whether the server stopped its call.
pub fn hold(running: Running) -> Tool {
    Tool::new(
        "hold",
        "runs until cancelled",
        json!({"type": "object"}),
        move |args, ctx| {
            let running = Arc::clone(&running);
            async move {
                let key = args["key"].as_str().unwrap_or_default().to_owned();
                running.lock().expect("not poisoned").insert(key.clone());
                let _leave = Leave(running, key);
                for step in 1u32.. {
                    tokio::select! {
                        () = ctx.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(100)) => {
                            let _ = ctx.progress(f64::from(step), None, None);
                        }
                    }
                }
                Ok(ToolOutput::text("stopped"))
            }
        },
    )
}

/// Takes a `hold`'s key out of the running set, however its call ends.
struct Leave(Running, String);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.lock().expect("not poisoned").remove(&self.1);
    }
}

/// `poll {ms}`: reports progress 1, closes its stream (the client resumes
/// it with `Last-Event-ID`), then reports progress 2, 3, … every 100 ms
/// for `ms`, and answers `polled`.
pub fn poll() -> Tool {
    Tool::new(
        "poll",
        "closes its stream, then works for ms",
        json!({"type": "object"}),
        |args, ctx| async move {
            let ms = args["ms"].as_u64().unwrap_or(0);
            let _ = ctx.progress(1.0, None, None);
            ctx.close_stream();
            let until = tokio::time::Instant::now() + Duration::from_millis(ms);
            let mut step = 2.0;
            while tokio::time::Instant::now() < until {
                tokio::select! {
                    () = ctx.cancelled() => return Ok(ToolOutput::text("stopped")),
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                let _ = ctx.progress(step, None, None);
                step += 1.0;
            }
            Ok(ToolOutput::text("polled"))
        },
    )
}
