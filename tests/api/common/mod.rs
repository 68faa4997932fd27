//! Test harness: starts the real server on an ephemeral port with a fresh database
//! (SQLite file by default; `TEST_DB=postgres` uses a new database on
//! `TEST_POSTGRES_URL`, or on a PostgreSQL started for this run) and talks to it over HTTP.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;

pub mod loopback;
pub mod process;
pub mod push;
pub mod services;
pub mod ws;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use switchboard::config::Config;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-42";

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    pub database_url: String,
    sqlite_file: Option<std::path::PathBuf>,
    /// This server's uploaded files, removed with it.
    media_dir: Option<String>,
    _task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self._task.abort();
        if let Some(f) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
        if let Some(dir) = &self.media_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh database URL for one test, on the backend `TEST_DB` selects.
pub async fn fresh_database() -> (String, Option<std::path::PathBuf>) {
    match std::env::var("TEST_DB").as_deref() {
        Ok("postgres") => {
            let admin = services::postgres_url();
            let name = format!("sb_{}", uuid::Uuid::now_v7().simple());
            let conn = Database::connect(admin.as_str())
                .await
                .expect("cannot reach the test PostgreSQL");
            conn.execute_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create test database");
            conn.close().await.ok();
            let (prefix, _) = admin
                .rsplit_once('/')
                .expect("postgres url with a database");
            (format!("{prefix}/{name}"), None)
        }
        Ok("sqlite") | Err(_) => {
            let file = std::env::temp_dir().join(format!(
                "switchboard-test-{}.db",
                uuid::Uuid::now_v7().simple()
            ));
            (format!("sqlite://{}?mode=rwc", file.display()), Some(file))
        }
        Ok(other) => panic!("unknown TEST_DB={other}; use sqlite or postgres"),
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a server with extra configuration variables (e.g. `("REDIS_URL", …)`).
    pub async fn start_with(vars: &[(&str, &str)]) -> Self {
        let (database_url, sqlite_file) = fresh_database().await;
        Self::start_on(&database_url, vars, sqlite_file).await
    }

    /// Starts a server on an existing database (e.g. a second node).
    pub async fn start_on(
        database_url: &str,
        vars: &[(&str, &str)],
        sqlite_file: Option<std::path::PathBuf>,
    ) -> Self {
        // The servers' errors go to the test output (shown when a test fails);
        // `TEST_LOG` (a `RUST_LOG` filter) shows more.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into()))
            .try_init();
        let mut map: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url.to_string()),
            ("JWT_SECRET".into(), JWT_SECRET.into()),
            // No test reaches Expo's real service; tests that push name their own.
            ("EXPO_PUSH_URL".into(), "off".into()),
            // A finished test's server is not shut down (its runtime is dropped with
            // the test, and the pool lives on in the domain ↔ Socket.IO reference
            // cycle): few connections each keep a whole run within PostgreSQL's limit.
            ("DB_MAX_CONNECTIONS".into(), "5".into()),
            // Tests drive far more traffic than a person; the rate-limit tests set
            // their own limits.
            ("RATE_LIMIT_PER_USER".into(), "1000000".into()),
            ("RATE_LIMIT_PER_IP".into(), "1000000".into()),
            ("RATE_LIMIT_EVENTS_PER_SECOND".into(), "100000".into()),
            (
                "RATE_LIMIT_EVENTS_PER_USER_PER_SECOND".into(),
                "1000000".into(),
            ),
            // Each server keeps its uploaded files in a directory of its own.
            (
                "MEDIA_DIR".into(),
                std::env::temp_dir()
                    .join(format!("switchboard-test-media-{}", uuid::Uuid::now_v7()))
                    .display()
                    .to_string(),
            ),
        ]);
        for (k, v) in vars {
            map.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_lookup(|k| map.get(k).cloned()).expect("test config");
        let media_dir = map.get("MEDIA_DIR").cloned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = switchboard::app::start(config, listener, std::future::pending())
            .await
            .expect("server starts");
        let addr = server.addr;
        Self {
            addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            database_url: database_url.to_string(),
            sqlite_file,
            media_dir,
            _task: server.task,
        }
    }

    /// Talks to a server running elsewhere (e.g. the binary in a child process).
    pub fn attach(addr: SocketAddr, database_url: &str) -> Self {
        Self {
            addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            database_url: database_url.to_string(),
            sqlite_file: None,
            media_dir: None,
            _task: tokio::spawn(async { Ok(()) }),
        }
    }

    /// Two nodes on one fresh database sharing the test Redis, under a key prefix of
    /// their own (so concurrent tests on one Redis stay apart).
    pub async fn two_nodes() -> (Self, Self) {
        let redis = services::redis_url();
        let prefix = format!("sbtest-{}", uuid::Uuid::now_v7().simple());
        let vars = [
            ("REDIS_URL", redis.as_str()),
            ("REDIS_PREFIX", prefix.as_str()),
        ];
        let a = Self::start_with(&vars).await;
        let b = Self::start_on(&a.database_url, &vars, None).await;
        (a, b)
    }

    /// Sends a request; returns the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body: {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Signs up a new tenant whose admin has this email; returns the session.
    pub async fn signup(&self, email: &str) -> Session {
        let (status, body) = self
            .post(
                "/api/v1/auth/signup",
                None,
                json!({"email": email, "password": "correct horse battery",
                       "display_name": email.split('@').next().unwrap(), "tenant_name": format!("{email} inc")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "signup failed: {body}");
        Session::from_json(&body)
    }

    /// An admin adds a member to their tenant; returns the member's logged-in session.
    pub async fn add_member(&self, admin: &Session, email: &str) -> Session {
        let (status, body) = self
            .post(
                "/api/v1/users",
                Some(&admin.access),
                json!({"email": email, "password": "member password 1", "display_name": email.split('@').next().unwrap()}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create user failed: {body}");
        self.login(email, "member password 1").await
    }

    /// `a` opens a direct chat with `b`; returns its id.
    pub async fn direct_chat(&self, a: &Session, b: &Session) -> String {
        let (st, c) = self
            .post(
                "/api/v1/chat/conversations",
                Some(&a.access),
                json!({"type": "direct", "participant_ids": [b.user_id]}),
            )
            .await;
        assert!(st.is_success(), "{c}");
        c["id"].as_str().unwrap().to_string()
    }

    /// `who` posts `text` to a conversation; returns the stored message.
    pub async fn say(&self, who: &Session, conversation: &str, text: &str) -> Value {
        let (st, m) = self
            .post(
                "/api/v1/chat/messages/send",
                Some(&who.access),
                json!({"conversation_id": conversation, "content": text}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
        m
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
        Session::from_json(&body)
    }
}

/// A signed-in user as the client sees it.
#[derive(Clone, Debug)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub tenant_id: String,
}

impl Session {
    pub fn from_json(v: &Value) -> Self {
        Self {
            access: v["access_token"].as_str().expect("access_token").into(),
            refresh: v["refresh_token"].as_str().expect("refresh_token").into(),
            user_id: v["user"]["id"].as_str().expect("user.id").into(),
            tenant_id: v["tenant"]["id"].as_str().expect("tenant.id").into(),
        }
    }
}

/// Asserts an error response of the documented shape and returns its message.
#[track_caller]
pub fn assert_error(res: &(StatusCode, Value), status: u16, code: &str) -> String {
    assert_eq!(res.0.as_u16(), status, "unexpected status; body: {}", res.1);
    assert_eq!(res.1["error"]["code"], code, "unexpected body: {}", res.1);
    let msg = res.1["error"]["message"].as_str().expect("error.message");
    assert!(!msg.is_empty());
    msg.to_string()
}
