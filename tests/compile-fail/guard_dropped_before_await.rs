//! Must compile: the guard is dropped at the end of its statement, before the
//! `.await`.

use mcp_server_core::sync::Mutex;

fn main() {
    let shared = std::sync::Arc::new(Mutex::new(0u32));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _enter = runtime.enter();
    let _task = tokio::spawn(async move {
        let value = *shared.lock(); // the guard drops here
        tokio::task::yield_now().await;
        value
    });
}
