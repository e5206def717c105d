//! # goalpost-collector
//!
//! Receives beacon protocol v1 batches from the goalpost tracker, validates them, stores them
//! in SQLite (de-duplicated by event id) and serves the demo site and the tracker files.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use goalpost_collector::{app, Options, Store};
//! let store = Store::open("goalpost.sqlite".as_ref()).expect("database");
//! let router = app(std::sync::Arc::new(store), Options::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, router).await
//! # }
//! ```

pub mod protocol;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tower_http::services::ServeDir;

pub use store::Store;

/// Collector options (the command line fills them).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Origins whose pages may send beacons; empty means any origin.
    pub allow_origins: Vec<String>,
    /// The demo site served at `/`, if any.
    pub site_dir: Option<PathBuf>,
    /// The tracker build served at `/goalpost/`, if any.
    pub dist_dir: Option<PathBuf>,
    /// Enables `POST /__test/faults` (for fault-injection tests only: it lets anyone make the
    /// collector refuse batches).
    pub test_faults: bool,
}

/// An injected fault: the next `count` batches are answered `status` (with `Retry-After`
/// seconds when set) and not stored.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct Fault {
    pub status: u16,
    pub count: u32,
    pub retry_after: Option<u32>,
}

struct AppState {
    store: Arc<Store>,
    options: Options,
    fault: std::sync::Mutex<Fault>,
}

/// The collector's routes: `POST /collect`, `GET /api/events`, `GET /health`, and the static
/// demo site and tracker files.
pub fn app(store: Arc<Store>, options: Options) -> Router {
    let site_dir = options.site_dir.clone();
    let dist_dir = options.dist_dir.clone();
    let faults = options.test_faults;
    let state = Arc::new(AppState {
        store,
        options,
        fault: std::sync::Mutex::new(Fault::default()),
    });
    let mut router = Router::new()
        .route("/collect", post(collect).options(preflight))
        .route("/api/events", get(events))
        .route("/api/batches", get(batches))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(protocol::MAX_BODY));
    if faults {
        router = router.route("/__test/faults", post(set_fault));
    }
    let mut router = router.with_state(state);
    if let Some(dist) = dist_dir {
        router = router.nest_service("/goalpost", ServeDir::new(dist));
    }
    if let Some(site) = site_dir {
        router = router.fallback_service(ServeDir::new(site));
    }
    router
}

fn now_ms() -> i64 {
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

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn collect(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(origin) = cors_origin(&state, &headers) else {
        return with_cors(error(StatusCode::FORBIDDEN, "origin not allowed"), None);
    };
    if let Some(res) = injected_fault(&state) {
        return with_cors(res, origin);
    }
    let batch = match protocol::parse(&body) {
        Ok(b) => b,
        Err(msg) => return with_cors(error(StatusCode::BAD_REQUEST, &msg), origin),
    };
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || store.insert(&batch, now_ms())).await;
    let res = match result {
        Ok(Ok(stored)) => (StatusCode::OK, Json(stored)).into_response(),
        Ok(Err(e)) => {
            eprintln!("goalpost-collector: storage error: {e}");
            error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
        }
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable"),
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
struct EventsQuery {
    site: Option<String>,
}

async fn events(State(state): State<Arc<AppState>>, Query(q): Query<EventsQuery>) -> Response {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.events(q.site.as_deref())).await {
        Ok(Ok(rows)) => with_cors(Json(rows).into_response(), None),
        _ => error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable"),
    }
}

fn injected_fault(state: &AppState) -> Option<Response> {
    let mut fault = state.fault.lock().unwrap_or_else(|p| p.into_inner());
    if fault.count == 0 {
        return None;
    }
    fault.count -= 1;
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = error(status, "injected fault");
    if let Some(secs) = fault.retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    Some(res)
}

async fn set_fault(State(state): State<Arc<AppState>>, Json(fault): Json<Fault>) -> Response {
    *state.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    StatusCode::NO_CONTENT.into_response()
}

async fn batches(State(state): State<Arc<AppState>>, Query(q): Query<EventsQuery>) -> Response {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.batches(q.site.as_deref())).await {
        Ok(Ok(rows)) => with_cors(Json(rows).into_response(), None),
        _ => error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable"),
    }
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    if state.store.healthy() {
        (StatusCode::OK, "ok").into_response()
    } else {
        error(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
    }
}
