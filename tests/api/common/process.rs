//! The built `switchboard` binary as a child process, for tests that kill a server
//! (SIGKILL: no shutdown, no draining) or stop it (SIGTERM: it drains) and start
//! another on the same database.

use std::time::Duration;

/// The built server binary as a child process on `database_url`.
pub struct Child {
    process: std::process::Child,
    pub addr: std::net::SocketAddr,
}

impl Child {
    pub async fn start(database_url: &str, vars: &[(String, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("DATABASE_URL", database_url)
            .env("JWT_SECRET", crate::common::JWT_SECRET)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("EXPO_PUSH_URL", "off")
            .env("RATE_LIMIT_PER_USER", "1000000")
            .env("RATE_LIMIT_PER_IP", "1000000")
            .env("RATE_LIMIT_EVENTS_PER_SECOND", "100000")
            .env("RATE_LIMIT_EVENTS_PER_USER_PER_SECOND", "1000000")
            .env(
                "MEDIA_DIR",
                std::env::temp_dir().join(format!("switchboard-test-media-{port}")),
            )
            .env_remove("REDIS_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the switchboard binary starts");
        let child = Self {
            process,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
        };
        let ready = format!("http://{}/readyz", child.addr);
        for _ in 0..200 {
            if reqwest::get(&ready)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    /// SIGKILL: no shutdown, no draining.
    pub fn kill(self) {
        drop(self);
    }

    /// SIGTERM: the server drains and exits.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.process.try_wait().expect("waitable").is_none()
    }

    /// The exit status, once the process has exited within `within`.
    pub async fn exited(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.process.try_wait().expect("waitable") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
