//! `goalpost-collector`: the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use goalpost_collector::{app, Options, Store};

/// Receives goalpost beacons into SQLite and serves the demo site.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen URL is printed).
    #[arg(long, env = "GOALPOST_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// SQLite database file (created if missing).
    #[arg(long, env = "GOALPOST_DB", default_value = "goalpost.sqlite")]
    db: PathBuf,
    /// Static site served at / (the demo). Not served when absent.
    #[arg(long, env = "GOALPOST_SITE_DIR")]
    site_dir: Option<PathBuf>,
    /// The tracker build (dist/) served at /goalpost/.
    #[arg(long, env = "GOALPOST_DIST_DIR")]
    dist_dir: Option<PathBuf>,
    /// An origin allowed to send beacons (repeat for several; comma-separated in the
    /// environment). Default: any origin.
    #[arg(
        long = "allow-origin",
        env = "GOALPOST_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// A site this collector accepts, optionally with an origin allowed to send for it:
    /// `--site shop` or `--site shop=https://shop.example` (repeat for more sites and origins;
    /// comma-separated in the environment). Without any, every site is accepted.
    #[arg(long = "site", env = "GOALPOST_SITES", value_delimiter = ',')]
    sites: Vec<goalpost_collector::SiteRule>,
    /// Log lines as logfmt or JSON (on stderr).
    #[arg(
        long,
        env = "GOALPOST_LOG_FORMAT",
        value_enum,
        default_value = "logfmt"
    )]
    log_format: goalpost_collector::log::Format,
    /// The least severe level logged: info (every request), warn, error, off.
    #[arg(long, env = "GOALPOST_LOG", value_enum, default_value = "info")]
    log: goalpost_collector::log::Level,
    /// For fault-injection tests only: enables POST /__test/faults.
    #[arg(long, hide = true)]
    test_faults: bool,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    goalpost_collector::log::init(args.log_format, args.log);
    let store = match Store::open(&args.db) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!(
                "goalpost-collector: cannot open database {}: {e}",
                args.db.display()
            );
            std::process::exit(1);
        }
    };
    let options = Options {
        allow_origins: args.allow_origins,
        sites: args.sites,
        site_dir: args.site_dir,
        dist_dir: args.dist_dir,
        test_faults: args.test_faults,
    };
    let serves_site = options.site_dir.is_some();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("goalpost-collector: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    println!("goalpost-collector listening on http://{addr}");
    println!("  collect:  http://{addr}/collect");
    println!("  events:   http://{addr}/api/events");
    println!("  report:   http://{addr}/api/report?site=…");
    println!("  dashboard: http://{addr}/dashboard");
    if serves_site {
        println!("  demo:     http://{addr}/");
    }
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return std::future::pending::<()>().await,
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    goalpost_collector::log::log(
        goalpost_collector::log::Level::Info,
        "listening",
        &[("addr", addr.to_string())],
    );
    if let Err(e) = axum::serve(listener, app(store, options))
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("goalpost-collector: server error: {e}");
        std::process::exit(1);
    }
}
