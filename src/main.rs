//! The `switchboard` binary: logging, configuration from the environment, serve;
//! `switchboard vapid-keys` prints a fresh VAPID key pair.

use std::process::ExitCode;

use switchboard::config::Config;

/// jemalloc rather than glibc's allocator: glibc kept the memory of every password hash
/// (argon2 takes 19 MiB per hash) in its per-thread arenas for good, 576 MiB after 1 000
/// logins against 8.7 MiB with jemalloc (mimalloc: 59 MiB), and malloc/free were a third
/// of the handshake's profile (`bench logins`, `bench connect`; bench/README.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("vapid-keys") {
        // A fresh VAPID pair, in the form `web-push generate-vapid-keys` prints.
        let (public, private) = switchboard::vapid_keys();
        println!("VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}");
        return ExitCode::SUCCESS;
    }
    switchboard::telemetry::init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let bind = format!("{}:{}", config.host, config.port);
    let listener = match listen(&bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {bind}: {e}");
            return ExitCode::from(1);
        }
    };
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: draining connections and background work");
    };
    let server = match switchboard::app::start(config, listener, shutdown).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("start-up failed: {e}");
            eprintln!("start-up failed: {e}");
            return ExitCode::from(1);
        }
    };
    match server.task.await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("server error: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("server task failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// Listens on `bind` with a deep accept queue: tokio's default backlog (128 here) overflowed
/// when a few hundred clients connected at once (a reconnect storm), and every overflowed
/// SYN waited a full second for its retransmission. The kernel caps it at `somaxconn`.
async fn listen(bind: &str) -> std::io::Result<tokio::net::TcpListener> {
    let addr = tokio::net::lookup_host(bind)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}
