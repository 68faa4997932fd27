//! The services a test needs, given or started here: `TEST_REDIS_URL`,
//! `TEST_POSTGRES_URL` and `TEST_S3_URL` when set, otherwise a throwaway
//! `redis-server`, PostgreSQL cluster or moto S3 server on a free port, shared by
//! the tests of this binary and stopped when the test process ends. A missing binary
//! is a clear failure, never a skip.

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
    assert!(
        Command::new("sh")
            .args(["-c", "command -v redis-server"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
        "redis-server is not installed: `apt-get install redis-server`, or set TEST_REDIS_URL \
         to a Redis >= 7 (scripts/test does both)"
    );
    let port = free_port();
    let watcher = watched(
        &format!("redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no"),
        port,
        Duration::from_secs(10),
    );
    Started {
        url: format!("redis://127.0.0.1:{port}/"),
        _watcher: std::sync::Mutex::new(watcher),
    }
}

/// Runs `command` under a shell that keeps it only as long as this test process
/// lives, and waits until it listens on `port`.
fn watched(command: &str, port: u16, wait: Duration) -> std::process::Child {
    let script = format!(
        "{command} >/dev/null 2>&1 & \
         r=$!; trap 'kill $r 2>/dev/null' EXIT; \
         while kill -0 {pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done",
        pid = std::process::id()
    );
    let watcher = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .expect("start a test service");
    let deadline = Instant::now() + wait;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "`{command}` did not listen on port {port} within {wait:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    watcher
}

/// A PostgreSQL admin URL (a database to create test databases from).
pub fn postgres_url() -> String {
    if let Ok(url) = std::env::var("TEST_POSTGRES_URL") {
        return url;
    }
    static STARTED: OnceLock<Started> = OnceLock::new();
    STARTED.get_or_init(start_postgres).url.clone()
}

fn start_postgres() -> Started {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("switchboard-test-pg-{}", std::process::id()));
    // initdb and postgres refuse to run as root: use the postgres user then.
    let script = format!(
        r#"set -e
bin="$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")"
[ -x "$bin/initdb" ] || {{ echo "PostgreSQL is not installed: apt-get install postgresql, or set TEST_POSTGRES_URL" >&2; exit 3; }}
as_pg() {{ if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }}
mkdir -p {dir}; [ "$(id -u)" -eq 0 ] && chown postgres {dir}
as_pg "$bin/initdb" -D {dir}/data -A trust -U postgres >/dev/null
as_pg "$bin/pg_ctl" -D {dir}/data -l {dir}/log -w -o "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=1000" start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D {dir}/data -m immediate stop >/dev/null 2>&1; rm -rf {dir}' EXIT
echo ready
while kill -0 {pid} 2>/dev/null; do sleep 1; done"#,
        dir = dir.display(),
        pid = std::process::id()
    );
    let mut watcher = Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start PostgreSQL");
    let mut line = String::new();
    let stdout = watcher.stdout.take().expect("watcher stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).ok();
    assert_eq!(
        line.trim(),
        "ready",
        "PostgreSQL did not start (is it installed? set TEST_POSTGRES_URL to use another)"
    );
    Started {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        _watcher: std::sync::Mutex::new(watcher),
    }
}

/// An S3-compatible server for tests: `TEST_S3_URL` when set, otherwise moto in
/// server mode (`pip install 'moto[server]'`), started once for this test process.
pub fn s3_url() -> String {
    if let Ok(url) = std::env::var("TEST_S3_URL") {
        return url;
    }
    static STARTED: OnceLock<Started> = OnceLock::new();
    STARTED.get_or_init(start_moto).url.clone()
}

fn start_moto() -> Started {
    assert!(
        Command::new("python3")
            .args(["-c", "import moto.server, flask"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
        "moto is not installed: `python3 -m pip install 'moto[server]'`, or set TEST_S3_URL \
         to an S3-compatible server (scripts/test installs moto)"
    );
    let port = free_port();
    let watcher = watched(
        &format!("python3 -m moto.server -H 127.0.0.1 -p {port}"),
        port,
        Duration::from_secs(30),
    );
    Started {
        url: format!("http://127.0.0.1:{port}"),
        _watcher: std::sync::Mutex::new(watcher),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A Redis of one test's own (to stop and restart it mid-test); stopped when dropped.
pub struct OwnRedis {
    port: u16,
    url: String,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    pub fn start() -> Self {
        let port = free_port();
        let mut r = Self {
            port,
            url: format!("redis://127.0.0.1:{port}/"),
            child: None,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills the server (as an outage would).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("redis-server is not installed: apt-get install redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL cluster of one test's own (to stop and start mid-test); removed when
/// dropped.
pub struct OwnPostgres {
    dir: std::path::PathBuf,
    port: u16,
}

impl OwnPostgres {
    pub fn start() -> Self {
        let pg = Self {
            dir: std::env::temp_dir().join(format!("switchboard-own-pg-{}", uuid::Uuid::now_v7())),
            port: free_port(),
        };
        pg.run(&format!(
            r#"mkdir -p {dir}; [ "$(id -u)" -eq 0 ] && chown postgres {dir}
as_pg "$bin/initdb" -D {dir}/data -A trust -U postgres >/dev/null"#,
            dir = pg.dir.display()
        ));
        pg.up();
        pg
    }

    /// An admin URL (the `postgres` database).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) on the same port and data.
    pub fn up(&self) {
        self.run(&format!(
            r#"as_pg "$bin/pg_ctl" -D {dir}/data -l {dir}/log -w -o "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null"#,
            dir = self.dir.display(),
            port = self.port
        ));
    }

    /// Stops it at once, as a crash or an outage would.
    pub fn down(&self) {
        self.run(&format!(
            r#"as_pg "$bin/pg_ctl" -D {dir}/data -m immediate stop >/dev/null"#,
            dir = self.dir.display()
        ));
    }

    fn run(&self, body: &str) {
        let script = format!(
            r#"set -e
bin="$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")"
[ -x "$bin/initdb" ] || {{ echo "PostgreSQL is not installed: apt-get install postgresql" >&2; exit 3; }}
as_pg() {{ if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }}
{body}"#
        );
        let status = Command::new("bash")
            .args(["-c", &script])
            .status()
            .expect("bash runs");
        assert!(status.success(), "PostgreSQL command failed: {body}");
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let dir = self.dir.display();
        let _ = Command::new("bash")
            .args([
                "-c",
                &format!(
                    r#"bin="$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
as_pg() {{ if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }}
as_pg "$bin/pg_ctl" -D {dir}/data -m immediate stop >/dev/null 2>&1; rm -rf {dir}"#
                ),
            ])
            .status();
    }
}
