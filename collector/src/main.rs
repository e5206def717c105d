//! `goalpost-collector`: the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use goalpost_collector::{app, Options, Store};

/// Receives goalpost beacons into SQLite and serves the demo site.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen URL is printed).
    #[arg(long, env = "GOALPOST_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The database: an SQLite file (created if missing), or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/database`) that several collectors share.
    #[arg(
        long,
        env = "GOALPOST_DB",
        default_value = "goalpost.sqlite",
        hide_env_values = true
    )]
    db: String,
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
    /// A read token for the read API and the dashboard (`TOKEN` for every site, `site=TOKEN` for
    /// one; repeat for several; comma-separated in the environment). Without one, reads are
    /// served to clients on this machine only.
    #[arg(
        long = "read-token",
        env = "GOALPOST_READ_TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    read_tokens: Vec<goalpost_collector::ReadToken>,
    /// Batches per second each client may send to /collect, on average (0: no limit).
    #[arg(long, env = "GOALPOST_RATE_LIMIT", default_value_t = 20)]
    rate_limit: u32,
    /// Batches a client may send at once above the average.
    #[arg(long, env = "GOALPOST_RATE_BURST", default_value_t = 100)]
    rate_burst: u32,
    /// The header a proxy in front of the collector sets to the client's address (e.g.
    /// X-Forwarded-For). Only with such a proxy: anyone can send the header to a collector
    /// reached directly.
    #[arg(long, env = "GOALPOST_CLIENT_IP_HEADER")]
    client_ip_header: Option<String>,
    /// Open connections at most.
    #[arg(long, env = "GOALPOST_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a client has to send a request's head, and then its body.
    #[arg(long, env = "GOALPOST_REQUEST_TIMEOUT", default_value_t = 10)]
    request_timeout: u64,
    /// For fault-injection tests only: enables POST /__test/faults.
    #[arg(long, hide = true)]
    test_faults: bool,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    goalpost_collector::log::init(args.log_format, args.log);
    let store = match Store::open(&args.db).await {
        Ok(s) => s,
        Err(e) => {
            // the URL may hold a password: name the database by kind only
            let which = if args.db.contains("://") {
                "PostgreSQL"
            } else {
                &args.db
            };
            eprintln!("goalpost-collector: cannot open database {which}: {e}");
            std::process::exit(1);
        }
    };
    let options = Options {
        allow_origins: args.allow_origins,
        sites: args.sites,
        site_dir: args.site_dir,
        dist_dir: args.dist_dir,
        test_faults: args.test_faults,
        read_tokens: args.read_tokens,
        rate_limit: std::num::NonZeroU32::new(args.rate_limit)
            .map(|r| (r, std::num::NonZeroU32::new(args.rate_burst).unwrap_or(r))),
        client_ip_header: args.client_ip_header,
        body_timeout: Some(std::time::Duration::from_secs(args.request_timeout.max(1))),
    };
    let limits = goalpost_collector::Limits {
        max_connections: args.max_connections,
        header_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        ..goalpost_collector::Limits::default()
    };
    let reads = if options.read_tokens.is_empty() {
        "this machine only (no --read-token: behind a reverse proxy on this machine, set one)"
    } else {
        "with a read token"
    };
    let serves_site = options.site_dir.is_some();
    let store_kind = store.backend();
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
    println!("  reads:    {reads}");
    println!("  store:    {}", store_kind);
    goalpost_collector::log::log(
        goalpost_collector::log::Level::Info,
        "listening",
        &[("addr", addr.to_string()), ("reads", reads.to_string())],
    );
    goalpost_collector::serve(listener, app(store, options), limits, shutdown).await;
}
