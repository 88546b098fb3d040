//! Real servers the scale-out tests run against, each a child process on a
//! free loopback port, stopped when dropped: `redis-server` and an `nginx`
//! that balances round-robin over replicas. `ci/scale-out.sh` installs
//! both (Debian's packages) and says where they are (`MCP_REDIS_SERVER`,
//! `MCP_NGINX`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port nothing listens on now, for a child process to bind.
///
/// Taken from below the kernel's ephemeral range (32768 and up on Linux),
/// so no `bind(0)` and no outgoing connection is ever given it while the
/// child starts, and never handed out twice by one test process, so two
/// tests running at once (or a Redis restarted on its old port) cannot
/// end up sharing one.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() % COUNT;
    for _ in 0..COUNT {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (start + offset) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + COUNT)
}

/// The program named by `var`, or the first of `defaults` that exists.
fn program(var: &str, defaults: &[&str]) -> PathBuf {
    if let Ok(path) = std::env::var(var) {
        return PathBuf::from(path);
    }
    defaults
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{var} is not set and none of {defaults:?} exists: run ci/scale-out.sh"))
}

/// Waits until `child` accepts connections on `port` and `is_it` says the
/// one that answers there is `child` (not something else that holds the
/// port while `child` fails to bind it).
fn wait_listening(port: u16, what: &str, child: &mut Child, is_it: impl Fn(TcpStream) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on {port}: {status}");
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port))
            && is_it(stream)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} is not listening on {port} after 20 s");
}

/// Whether a Redis answers `PING` on `stream`.
fn answers_ping(mut stream: TcpStream) -> bool {
    use std::io::{Read, Write};
    let mut reply = [0u8; 7];
    stream.set_read_timeout(Some(Duration::from_secs(5))).is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A `redis-server` of its own: without persistence, or durable (its
/// append-only file on, `appendfsync always`, in a directory of its own).
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    /// Where a durable one keeps its append-only file.
    dir: Option<PathBuf>,
}

impl Redis {
    /// Starts one on a free port.
    pub fn start() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
            dir: None,
        };
        redis.restart();
        redis
    }

    /// Starts a durable one on a free port: every write it acknowledges is
    /// in its append-only file, fsynced, so a restart (even after SIGKILL)
    /// keeps it.
    pub fn start_durable() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("mcp-redis-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the append-only file");
        let mut redis = Self {
            port,
            child: None,
            dir: Some(dir),
        };
        redis.restart();
        redis
    }

    /// Stops it gracefully (SIGTERM: a durable one flushes its file first).
    pub fn shut_down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            terminate(&mut child, &pid);
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (an outage: connections drop at once).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes it (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws it (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis-server runs").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = Command::new(program("MCP_REDIS_SERVER", &["/usr/bin/redis-server"]))
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--loglevel", "warning"])
            .args(match &self.dir {
                Some(dir) => vec![
                    "--appendonly".to_owned(),
                    "yes".to_owned(),
                    "--appendfsync".to_owned(),
                    "always".to_owned(),
                    "--dir".to_owned(),
                    dir.display().to_string(),
                ],
                None => vec!["--appendonly".to_owned(), "no".to_owned()],
            })
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        wait_listening(self.port, "redis-server", &mut child, answers_ping);
        self.child = Some(child);
    }
}

impl Drop for Redis {
    /// A graceful stop (SIGTERM), SIGKILL only if it has not within 5 s;
    /// a durable one's directory goes with it.
    fn drop(&mut self) {
        self.shut_down();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Sends SIGTERM to `target` (a pid, or `-<pgid>` for a process group),
/// waits up to 5 s for `child` to exit, then SIGKILLs `target` and reaps.
fn terminate(child: &mut Child, target: &str) {
    let _ = Command::new("kill").args(["-TERM", "--", target]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", target])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

/// An `nginx` on a free port that sends requests round-robin to
/// `replicas`, except those that name a replica: a request whose
/// `Mcp-Session-Id`, or a `tasks/*` request whose `Mcp-Name`, starts with
/// `<replica id>.` goes to that replica. Every answer carries
/// `X-Upstream: <the replica's address>`.
pub struct Nginx {
    pub addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

impl Nginx {
    /// Starts one in front of `replicas` (id, address).
    pub fn start(replicas: &[(&str, SocketAddr)]) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("mcp-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("nginx's directory");
        std::fs::write(dir.join("nginx.conf"), config(&dir, port, replicas)).expect("nginx.conf");
        let mut child = Command::new(program("MCP_NGINX", &["/usr/sbin/nginx"]))
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start nginx");
        // nginx writes its pid file only once its listening socket is open.
        let (pid_file, pid) = (dir.join("nginx.pid"), child.id().to_string());
        wait_listening(port, "nginx", &mut child, |_| {
            std::fs::read_to_string(&pid_file).is_ok_and(|text| text.trim() == pid)
        });
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            child,
        }
    }

    /// What nginx logged as errors so far (for failure messages).
    pub fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    /// A fast shutdown (SIGTERM to its process group), so nginx stops and
    /// reaps its workers itself; if it has not within 5 s, SIGKILL to the
    /// whole group, so no worker outlives its master.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        terminate(&mut self.child, &group);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The configuration: `ci/nginx/replicas.conf.in` (the load balancer of
/// the README's example) on loopback ports, every path under `dir`.
pub fn config(dir: &Path, port: u16, replicas: &[(&str, SocketAddr)]) -> String {
    let mut upstreams = String::from("    upstream all {\n");
    for (_, addr) in replicas {
        upstreams += &format!("        server {addr};\n");
    }
    upstreams += "        keepalive 64;\n    }\n";
    let (mut by_session, mut by_task) = (String::new(), String::new());
    for (id, addr) in replicas {
        upstreams +=
            &format!("    upstream {id} {{\n        server {addr};\n        keepalive 64;\n    }}\n");
        by_session += &format!("        \"~^{id}\\.\" {id};\n");
        by_task += &format!("        \"~^tasks/[a-z]+ {id}\\.\" {id};\n");
    }
    include_str!("../../ci/nginx/replicas.conf.in")
        .replace("@DIR@", &dir.display().to_string())
        .replace("@PORT@", &port.to_string())
        .replace("@UPSTREAMS@", &upstreams)
        .replace("@BY_SESSION@", &by_session)
        .replace("@BY_TASK@", &by_task)
}
