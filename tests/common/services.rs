//! The services a test needs, given or started here: `TEST_REDIS_URL` when set,
//! otherwise a throwaway `redis-server` on a free port, shared by the tests of this
//! binary and stopped when the test process ends. A missing binary is a clear
//! failure, never a skip.

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A Redis (≥ 7) URL for tests.
pub fn redis_url() -> String {
    if let Ok(url) = std::env::var("TEST_REDIS_URL") {
        return url;
    }
    static STARTED: OnceLock<Started> = OnceLock::new();
    STARTED.get_or_init(start_redis).url.clone()
}

/// A service this process started; its watcher shell stops it when the process ends.
struct Started {
    url: String,
    _watcher: std::sync::Mutex<std::process::Child>,
}

fn start_redis() -> Started {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // The shell keeps Redis only as long as this test process lives.
    let script = format!(
        "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 & \
         r=$!; trap 'kill $r 2>/dev/null' EXIT; \
         while kill -0 {pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done",
        pid = std::process::id()
    );
    assert!(
        Command::new("sh")
            .args(["-c", "command -v redis-server"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
        "redis-server is not installed: `apt-get install redis-server`, or set TEST_REDIS_URL \
         to a Redis >= 7 (scripts/test does both)"
    );
    let watcher = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on port {port} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Started {
        url: format!("redis://127.0.0.1:{port}/"),
        _watcher: std::sync::Mutex::new(watcher),
    }
}
