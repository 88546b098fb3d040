//! Must not compile: a spawned task holds a `crate::sync::Mutex` guard across
//! an `.await`, so its future is not `Send`.

use mcp_server_core::sync::Mutex;

fn main() {
    let shared = std::sync::Arc::new(Mutex::new(0u32));
    let _task = tokio::spawn(async move {
        let guard = shared.lock();
        tokio::task::yield_now().await; // the guard lives across this .await
        drop(guard);
    });
}
