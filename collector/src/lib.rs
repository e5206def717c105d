//! # goalpost-collector
//!
//! Receives beacon protocol v1 batches from the goalpost tracker, validates them, stores them
//! in SQLite (de-duplicated by event id) and serves the demo site and the tracker files.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use goalpost_collector::{app, serve, Limits, Options, Store};
//! let store = Store::open("goalpost.sqlite").await.expect("database"); // or postgres://…
//! let router = app(store, Options::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, router, Limits::default(), std::future::pending()).await;
//! # Ok(())
//! # }
//! ```

// Checks return the error `Response` a handler answers with; it is built once per refused
// request, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod access;
pub mod limit;
pub mod log;
pub mod protocol;
pub mod report;
pub mod server;
pub mod store;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use tower_http::services::ServeDir;

pub use access::ReadToken;
pub use limit::ClientIp;
pub use server::{serve, Limits};
pub use store::Store;

/// Collector options (the command line fills them).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Origins whose pages may send beacons; empty means any origin.
    pub allow_origins: Vec<String>,
    /// The sites this collector accepts, each with the origins allowed to send for it (none:
    /// any origin). Empty: any site.
    pub sites: Vec<SiteRule>,
    /// The demo site served at `/`, if any.
    pub site_dir: Option<PathBuf>,
    /// The tracker build served at `/goalpost/`, if any.
    pub dist_dir: Option<PathBuf>,
    /// Enables `POST /__test/faults` (for fault-injection tests only: it lets anyone make the
    /// collector refuse batches).
    pub test_faults: bool,
    /// Read tokens; none: reads are served to loopback clients only.
    pub read_tokens: Vec<ReadToken>,
    /// Batches per second per client on `/collect` (average, burst); `None`: no limit.
    pub rate_limit: Option<(NonZeroU32, NonZeroU32)>,
    /// A header a proxy in front of the collector sets to the client's address
    /// (`X-Forwarded-For`, `X-Real-IP`); only when such a proxy overwrites it.
    pub client_ip_header: Option<String>,
    /// The time a client has to send a request body (default 10 s; `408` past it).
    pub body_timeout: Option<Duration>,
}

/// A configured site: `--site shop` or `--site shop=https://shop.example` (repeat the flag for
/// more origins of the same site).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRule {
    pub site: String,
    pub origin: Option<String>,
}

impl std::str::FromStr for SiteRule {
    type Err = String;
    fn from_str(s: &str) -> Result<SiteRule, String> {
        let (site, origin) = match s.split_once('=') {
            Some((a, b)) => (a.trim(), Some(b.trim().trim_end_matches('/').to_string())),
            None => (s.trim(), None),
        };
        if !protocol::valid_site(site) {
            return Err(format!(
                "{site:?} is not a site name (1-64 of A-Z a-z 0-9 _ . -)"
            ));
        }
        if let Some(o) = &origin {
            if !(o.starts_with("https://") || o.starts_with("http://")) {
                return Err(format!("{o:?} is not an origin (https://host[:port])"));
            }
        }
        Ok(SiteRule {
            site: site.to_string(),
            origin,
        })
    }
}

/// Whether `site` may be sent to this collector from `origin` (`None`: not a browser).
fn site_allowed(options: &Options, site: &str, origin: Option<&HeaderValue>) -> Result<(), String> {
    if options.sites.is_empty() {
        return Ok(());
    }
    let rules: Vec<&SiteRule> = options.sites.iter().filter(|r| r.site == site).collect();
    if rules.is_empty() {
        return Err(format!(
            "site: {site:?} is not configured on this collector"
        ));
    }
    let origins: Vec<&str> = rules.iter().filter_map(|r| r.origin.as_deref()).collect();
    match origin.and_then(|o| o.to_str().ok()) {
        Some(o) if !origins.is_empty() && !origins.contains(&o) => {
            Err(format!("origin: {o} may not send for site {site:?}"))
        }
        _ => Ok(()),
    }
}

/// An injected fault for the next `count` batches.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct Fault {
    /// What goes wrong.
    #[serde(default)]
    pub kind: FaultKind,
    /// How many batches it hits.
    pub count: u32,
    /// `Status`: the HTTP status answered.
    #[serde(default)]
    pub status: u16,
    /// `Status`: the `Retry-After` seconds sent with it.
    pub retry_after: Option<u32>,
    /// `Slow`: how long the answer is held back after the batch was stored.
    #[serde(default)]
    pub delay_ms: u64,
    /// `Reset`: store the batch before dropping the connection (the answer is lost, not the
    /// batch).
    #[serde(default)]
    pub after_store: bool,
}

/// The kinds of injected fault.
#[derive(Clone, Copy, Debug, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Answer `status` (with `Retry-After` when set); store nothing.
    #[default]
    Status,
    /// Store the batch, then answer 200 after `delay_ms`.
    Slow,
    /// Drop the connection without an answer (before or after storing).
    Reset,
    /// Panic in the handler, before storing (the panic is caught: 500, and the server goes on).
    Panic,
}

struct AppState {
    store: Store,
    options: Options,
    fault: std::sync::Mutex<Fault>,
    rate: Option<limit::RateLimit>,
    /// Reads running at once (listings, reports); more wait their turn, so that reads cannot
    /// take every database connection from intake.
    reads: tokio::sync::Semaphore,
}

/// Reads running at once.
const CONCURRENT_READS: usize = 4;

/// The collector's routes: `POST /collect`, the read API (behind a read token, see
/// [`access`]), `/dashboard`, `/health`, and the static demo site and tracker files. Serve it
/// with [`serve`], which records each request's peer address.
pub fn app(store: Store, options: Options) -> Router {
    let site_dir = options.site_dir.clone();
    let dist_dir = options.dist_dir.clone();
    let faults = options.test_faults;
    let header = options.client_ip_header.clone();
    let state = Arc::new(AppState {
        store,
        rate: options.rate_limit.map(|(r, b)| limit::RateLimit::new(r, b)),
        options,
        fault: std::sync::Mutex::new(Fault::default()),
        reads: tokio::sync::Semaphore::new(CONCURRENT_READS),
    });
    let reads = Router::new()
        .route(
            "/api/events",
            get(|s, e, q| list(store::Listing::Events, s, e, q)),
        )
        .route(
            "/api/batches",
            get(|s, e, q| list(store::Listing::Batches, s, e, q)),
        )
        .route("/api/stats", get(stats))
        .route("/api/report", get(report_json))
        .route("/api/report.csv", get(report_csv))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_read,
        ));
    let mut router = Router::new()
        .route("/collect", post(collect).options(preflight))
        .route("/api/session", post(sign_in).delete(sign_out))
        .route("/dashboard", get(dashboard))
        .route("/health", get(health))
        .merge(reads);
    if faults {
        router = router.route("/__test/faults", post(set_fault));
    }
    let mut router = router.with_state(state);
    if let Some(dist) = dist_dir {
        router = router.nest_service("/goalpost", ServeDir::new(dist));
    }
    if let Some(site) = site_dir {
        use axum::handler::HandlerWithoutStateExt;
        let root = site.clone();
        let spa = move |uri: axum::http::Uri| spa_index(root.clone(), uri);
        router = router.fallback_service(ServeDir::new(site).fallback(spa.into_service()));
    }
    router
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::middleware::from_fn(
            move |mut req: axum::extract::Request, next: axum::middleware::Next| {
                let ip = ClientIp::of(
                    server::peer(req.extensions()),
                    header.as_deref(),
                    req.headers(),
                );
                req.extensions_mut().insert(ip);
                next.run(req)
            },
        ))
}

/// A handler that panicked: 500 for this request (nothing of it was stored: a batch is one
/// transaction), and the server goes on.
fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    log::log(log::Level::Error, "handler panicked", &[]);
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// The read routes' gate: the request's read scope, or its 401 / 403.
async fn require_read(
    State(state): State<Arc<AppState>>,
    Extension(client): Extension<ClientIp>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match access::check(&state.options.read_tokens, client.0, req.headers()) {
        Ok(scope) => {
            req.extensions_mut().insert(scope);
            next.run(req).await
        }
        Err(res) => res,
    }
}

/// The client's token bucket: `Err` is the 429 with its `Retry-After`.
fn throttle(state: &AppState, client: ClientIp) -> Result<(), Response> {
    let Some(rate) = &state.rate else {
        return Ok(());
    };
    rate.check(client.0).map_err(|wait| {
        let mut res = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this client",
        );
        if let Ok(v) = HeaderValue::from_str(&limit::retry_after_secs(wait).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    })
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    Extension(client): Extension<ClientIp>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(res) = throttle(&state, client) {
        return res;
    }
    match read_body(&state, &headers, body, 4096).await {
        Ok(b) => access::sign_in(&state.options.read_tokens, &headers, &b),
        Err(res) => res,
    }
}

async fn sign_out() -> Response {
    access::sign_out()
}

/// Reads a request body of at most `max` bytes within the body timeout: `413` past the size,
/// `408` past the time (and the connection is closed).
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    }
    let deadline = state
        .options
        .body_timeout
        .unwrap_or(Duration::from_secs(10));
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(if too_large {
                error(StatusCode::PAYLOAD_TOO_LARGE, "body too large")
            } else {
                error(StatusCode::BAD_REQUEST, "the body could not be read")
            })
        }
        Err(_) => {
            let mut res = error(
                StatusCode::REQUEST_TIMEOUT,
                "the body took too long to arrive",
            );
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(res)
        }
    }
}

/// One log line per request: method, path (no query: it may carry a site's data), status,
/// duration.
async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let start = std::time::Instant::now();
    let res = next.run(req).await;
    let status = res.status();
    let level = if status.is_server_error() {
        log::Level::Error
    } else if status.is_client_error() {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    log::log(
        level,
        "request",
        &[
            ("method", method),
            ("path", path),
            ("status", status.as_u16().to_string()),
            (
                "ms",
                format!("{:.1}", start.elapsed().as_secs_f64() * 1000.0),
            ),
        ],
    );
    res
}

/// Single-page-app sections of the site: an extensionless path that names no file is answered
/// with the nearest `index.html` above it, below the site root (`/shop/p/grinder` →
/// `shop/index.html`), so that the app's own routes survive a reload.
async fn spa_index(site: PathBuf, uri: axum::http::Uri) -> Response {
    let segs: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let safe = segs
        .iter()
        .all(|s| *s != ".." && *s != "." && !s.contains('\\') && !s.contains('%'));
    if safe && segs.last().is_some_and(|s| !s.contains('.')) {
        for n in (1..segs.len()).rev() {
            let index = site.join(segs[..n].join("/")).join("index.html");
            if let Ok(html) = tokio::fs::read(&index).await {
                return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html)
                    .into_response();
            }
        }
    }
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The CORS answer for this request's Origin: `Ok(Some(origin))` to echo, `Ok(None)` when no
/// Origin was sent (same-origin or not a browser), `Err` when the origin is not allowed.
fn cors_origin(state: &AppState, headers: &HeaderMap) -> Result<Option<HeaderValue>, ()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(None);
    };
    let allowed = state.options.allow_origins.is_empty()
        || origin
            .to_str()
            .is_ok_and(|o| state.options.allow_origins.iter().any(|a| a == o));
    if allowed {
        Ok(Some(origin.clone()))
    } else {
        Err(())
    }
}

fn with_cors(mut res: Response, origin: Option<HeaderValue>) -> Response {
    let h = res.headers_mut();
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
    res
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn collect(
    State(state): State<Arc<AppState>>,
    Extension(client): Extension<ClientIp>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(origin) = cors_origin(&state, &headers) else {
        return with_cors(error(StatusCode::FORBIDDEN, "origin not allowed"), None);
    };
    if let Err(res) = throttle(&state, client) {
        return with_cors(res, origin);
    }
    let body = match read_body(&state, &headers, body, protocol::MAX_BODY).await {
        Ok(b) => b,
        Err(res) => return with_cors(res, origin),
    };
    let fault = take_fault(&state);
    if let Some(f) = &fault {
        match f.kind {
            FaultKind::Status => return with_cors(status_fault(f), origin),
            FaultKind::Reset if !f.after_store => return reset(),
            FaultKind::Panic => panic!("injected panic"),
            _ => {}
        }
    }
    let batch = match protocol::parse(&body) {
        Ok(b) => b,
        Err(msg) => return with_cors(error(StatusCode::BAD_REQUEST, &msg), origin),
    };
    if let Err(msg) = site_allowed(&state.options, &batch.site, headers.get(header::ORIGIN)) {
        return with_cors(error(StatusCode::FORBIDDEN, &msg), origin);
    }
    let result = state.store.insert(batch, now_ms()).await;
    if let Some(f) = fault {
        if f.kind == FaultKind::Reset {
            return reset();
        }
        tokio::time::sleep(std::time::Duration::from_millis(f.delay_ms)).await;
    }
    let res = match result {
        Ok(stored) => (StatusCode::OK, Json(stored)).into_response(),
        Err(e) => unavailable(&e),
    };
    with_cors(res, origin)
}

async fn preflight(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Ok(origin) = cors_origin(&state, &headers) else {
        return error(StatusCode::FORBIDDEN, "origin not allowed");
    };
    let mut res = with_cors(StatusCode::NO_CONTENT.into_response(), origin);
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    res
}

#[derive(Deserialize)]
struct ListQuery {
    site: Option<String>,
    /// Rows per page, 1 to [`store::MAX_PAGE`] (default 100).
    limit: Option<usize>,
    /// The `next` cursor of the previous page.
    after: Option<String>,
}

impl ListQuery {
    /// The site (narrowed by the read scope), the cursor and the page size, or the 400 / 403.
    fn parse(&self, scope: &access::Scope) -> Result<(Option<String>, i64, usize), Response> {
        let site = scope.narrow(self.site.as_deref())?;
        let after = store::parse_cursor(self.after.as_deref())
            .map_err(|m| error(StatusCode::BAD_REQUEST, &m))?;
        let limit = match self.limit {
            None => 100,
            Some(n) if (1..=store::MAX_PAGE).contains(&n) => n,
            Some(_) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    &format!("limit: from 1 to {}", store::MAX_PAGE),
                ))
            }
        };
        Ok((site, after, limit))
    }
}

/// `GET /api/events?site=&limit=&after=` (`{"events": [...], "next": cursor | null}`) and
/// `GET /api/batches?…` (`{"batches": …}`): pages of what was stored, in the order it was.
async fn list(
    what: store::Listing,
    State(state): State<Arc<AppState>>,
    Extension(scope): Extension<access::Scope>,
    Query(q): Query<ListQuery>,
) -> Response {
    let (site, after, limit) = match q.parse(&scope) {
        Ok(x) => x,
        Err(res) => return res,
    };
    read(&state, async {
        let p = state.store.list(what, site, after, limit).await?;
        let mut answer = serde_json::Map::new();
        answer.insert(what.key().into(), serde_json::to_value(p.rows)?);
        answer.insert("next".into(), serde_json::to_value(p.next)?);
        Ok(serde_json::Value::Object(answer))
    })
    .await
}

/// The injected fault for this batch, if one is armed (counting it down).
fn take_fault(state: &AppState) -> Option<Fault> {
    if !state.options.test_faults {
        return None;
    }
    let mut fault = state.fault.lock().unwrap_or_else(|p| p.into_inner());
    if fault.count == 0 {
        return None;
    }
    fault.count -= 1;
    Some(fault.clone())
}

fn status_fault(fault: &Fault) -> Response {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = error(status, "injected fault");
    if let Some(secs) = fault.retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// A response whose body fails before its first byte: hyper then closes the connection
/// without writing the head, and the client sees the connection drop with no answer.
fn reset() -> Response {
    struct Broken;
    impl axum::body::HttpBody for Broken {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            std::task::Poll::Ready(Some(Err(std::io::ErrorKind::ConnectionReset.into())))
        }
    }
    Response::new(axum::body::Body::new(Broken))
}

async fn set_fault(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) => {
            *state.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn stats(
    State(state): State<Arc<AppState>>,
    Extension(scope): Extension<access::Scope>,
    Query(q): Query<ListQuery>,
) -> Response {
    let site = match scope.narrow(q.site.as_deref()) {
        Ok(s) => s,
        Err(res) => return res,
    };
    read(&state, state.store.receipts(site)).await
}

/// The dashboard: one self-contained page that reads `/api/report`.
async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ),
        ],
        include_str!("../assets/dashboard.html"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ReportQuery {
    site: Option<String>,
    from: Option<String>,
    to: Option<String>,
    goal: Option<String>,
}

/// The report for a query, or the 400 that says what is wrong with it.
async fn compute_report(
    state: &AppState,
    scope: &access::Scope,
    q: ReportQuery,
) -> Result<report::Report, Response> {
    let Some(site) = scope.narrow(q.site.as_deref())? else {
        return Err(error(StatusCode::BAD_REQUEST, "site: required"));
    };
    let today = now_ms().div_euclid(report::DAY_MS);
    let range = report::Range::parse(q.from.as_deref(), q.to.as_deref(), today)
        .map_err(|m| error(StatusCode::BAD_REQUEST, &m))?;
    let goal = q.goal.filter(|g| !g.is_empty());
    let _turn = state.reads.acquire().await;
    report::compute(&state.store, &site, &range, goal.as_deref())
        .await
        .map_err(|e| unavailable(&e))
}

async fn report_json(
    State(state): State<Arc<AppState>>,
    Extension(scope): Extension<access::Scope>,
    Query(q): Query<ReportQuery>,
) -> Response {
    match compute_report(&state, &scope, q).await {
        Ok(r) => with_cors(Json(r).into_response(), None),
        Err(res) => res,
    }
}

async fn report_csv(
    State(state): State<Arc<AppState>>,
    Extension(scope): Extension<access::Scope>,
    Query(q): Query<ReportQuery>,
) -> Response {
    match compute_report(&state, &scope, q).await {
        Ok(r) => {
            let mut res = report::to_csv(&r).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            with_cors(res, None)
        }
        Err(res) => res,
    }
}

/// Runs a read in its turn and answers it as JSON.
async fn read<T: serde::Serialize>(
    state: &AppState,
    f: impl std::future::Future<Output = Result<T, store::Error>>,
) -> Response {
    let _turn = state.reads.acquire().await;
    match f.await {
        Ok(rows) => with_cors(Json(rows).into_response(), None),
        Err(e) => unavailable(&e),
    }
}

/// The 503 for a storage error (logged; the client is told no more).
fn unavailable(e: &store::Error) -> Response {
    log::log(
        log::Level::Error,
        "storage error",
        &[("error", e.to_string())],
    );
    error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    if state.store.healthy().await {
        (StatusCode::OK, "ok").into_response()
    } else {
        error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
    }
}
