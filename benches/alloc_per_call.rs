//! Heap allocations per echo call over TCP, counted by a counting global
//! allocator (`stats_alloc`). The server (built-in tools) runs in this
//! process on its own single-threaded runtime; the client is a plain
//! blocking socket that sends pre-encoded requests and reads the answers
//! into a fixed buffer, so it allocates nothing per call and every
//! allocation counted during the calls is the server's. A benchmark
//! subject only; `analysis/async-fixes-performance.md` quotes it.
//!
//! ```text
//! cargo run --release --example alloc_per_call -- 20000
//! ```
//!
//! Prints, for 2025-11-25 (a session after `initialize`) and 2026-07-28
//! (`_meta` on every call), allocations and bytes allocated per echo call;
//! and, in a 2025 session, per call of the other common methods:
//! `tools/list`, `resources/read`, `prompts/get` and `ping`.

#[cfg(not(any(loom, shuttle)))]
mod bench {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use mcp_server_core::transport::tcp;
    use mcp_server_core::{
        Content, Prompt, PromptArgument, PromptOutput, ReadRequest, Resource, ResourceContents, Server,
        ServerConfig,
    };
    use serde_json::{Value, json};
    use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

    #[global_allocator]
    static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

    /// Calls before counting (buffers, caches and lazy statics settle).
    const WARM_UP: usize = 1000;

    /// A blocking client that allocates nothing per call.
    struct Client {
        stream: TcpStream,
        buffer: [u8; 4096],
        filled: usize,
    }

    impl Client {
        fn connect(addr: std::net::SocketAddr) -> Self {
            let stream = TcpStream::connect(addr).expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            Self {
                stream,
                buffer: [0; 4096],
                filled: 0,
            }
        }

        /// Writes `line` and reads until one whole line has come back.
        fn round_trip(&mut self, line: &[u8]) {
            self.stream.write_all(line).expect("write");
            loop {
                if let Some(end) = self.buffer[..self.filled].iter().position(|b| *b == b'\n') {
                    self.buffer.copy_within(end + 1..self.filled, 0);
                    self.filled -= end + 1;
                    return;
                }
                let n = self.stream.read(&mut self.buffer[self.filled..]).expect("read");
                assert!(n > 0, "the server closed the connection");
                self.filled += n;
            }
        }
    }

    fn line(message: &Value) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(message).expect("JSON");
        bytes.push(b'\n');
        bytes
    }

    /// Allocations and bytes per call for `calls` calls of `call`.
    fn measure(addr: std::net::SocketAddr, setup: &[Vec<u8>], call: &[u8], calls: usize) -> Value {
        let mut client = Client::connect(addr);
        for message in setup {
            client.round_trip(message);
        }
        for _ in 0..WARM_UP {
            client.round_trip(call);
        }
        let region = Region::new(GLOBAL);
        for _ in 0..calls {
            client.round_trip(call);
        }
        let change = region.change();
        json!({
            "calls": calls,
            "allocations_per_call": change.allocations as f64 / calls as f64,
            "reallocations_per_call": change.reallocations as f64 / calls as f64,
            "bytes_allocated_per_call": change.bytes_allocated as f64 / calls as f64,
        })
    }

    pub(crate) fn run(calls: usize) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tcp::bind("127.0.0.1:0".parse().expect("an address"), 128))
            .expect("bind");
        let addr = listener.local_addr().expect("an address");
        let motd = Resource::new("memo://motd", "motd", |request: ReadRequest, _| async move {
            Ok(vec![
                ResourceContents::text(request.uri(), "Welcome!").mime_type("text/plain"),
            ])
        });
        let review = Prompt::new(
            "review",
            vec![PromptArgument::required("code", "the code to review")],
            |args, _| async move {
                let ask = format!("Please review:\n{}", args["code"]);
                Ok(PromptOutput::new().user(Content::text(ask)))
            },
        );
        let server = Server::builder()
            .config(ServerConfig::default())
            .builtin_tools()
            .resource(motd)
            .prompt(review)
            .build();
        let handle = server.handle();
        let serving = std::thread::spawn(move || runtime.block_on(server.serve_tcp(listener)));

        let initialize = line(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "alloc", "version": "0"}}}),
        );
        // A notification gets no answer: send it with the first call.
        let mut initialized = line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        let call_2025 = line(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hello"}}}));
        initialized.extend_from_slice(&call_2025);
        let call_2026 = line(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hello"}, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "alloc", "version": "0"}}}}));
        let setup = [initialize, initialized];
        let request = |method: &str, params: Value| {
            line(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        };
        let others = [
            ("tools/list", request("tools/list", json!({}))),
            (
                "resources/read",
                request("resources/read", json!({"uri": "memo://motd"})),
            ),
            (
                "prompts/get",
                request(
                    "prompts/get",
                    json!({"name": "review", "arguments": {"code": "x"}}),
                ),
            ),
            ("ping", request("ping", json!({}))),
        ];
        let mut report = json!({
            "tcp_2025": measure(addr, &setup, &call_2025, calls),
            "tcp_2026": measure(addr, &[], &call_2026, calls),
        });
        for (method, call) in others {
            report[format!("tcp_2025 {method}")] = measure(addr, &setup, &call, calls);
        }
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
        handle.shutdown();
        serving.join().expect("the server thread");
    }
}

#[cfg(not(any(loom, shuttle)))]
fn main() {
    let calls = std::env::args()
        .nth(1)
        .map_or(20_000, |n| n.parse().expect("a number of calls"));
    bench::run(calls);
}

#[cfg(any(loom, shuttle))]
fn main() {}
