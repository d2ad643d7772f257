//! Prometheus metrics, served on their own optional listener (`VOTEBOX_METRICS_ADDR`), never on
//! the public port.
//!
//! Recording goes through the `metrics` facade: until [`install`] sets the global recorder every
//! call below is a cheap no-op, so handlers call them unconditionally.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `method`, `path` (the matched route pattern, never the raw URI), `status` |
//! | `http_request_duration_seconds` | histogram | same |
//! | `ballots_cast_total` | counter | — ([`record_ballot_cast`], called once a ballot is committed) |
//! | `kdf_queue_depth` | gauge | — (casts waiting for a KDF slot, see [`kdf_waiting`]) |
//! | `kdf_wait_seconds` | histogram | — (time from queueing to getting a KDF slot) |
//! | `meta_sync_total` | counter | `result` = `ok`, `git_error`, `db_error`, `rejected` |
//! | `meta_sync_age_seconds` | gauge | — (seconds since the last successful sync, computed at scrape time) |
//! | `meta_sync_last_success_timestamp_seconds` | gauge | — (Unix time of it) |

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
pub const BALLOTS_CAST_TOTAL: &str = "ballots_cast_total";
pub const KDF_QUEUE_DEPTH: &str = "kdf_queue_depth";
pub const KDF_WAIT_SECONDS: &str = "kdf_wait_seconds";
pub const META_SYNC_TOTAL: &str = "meta_sync_total";
pub const META_SYNC_AGE_SECONDS: &str = "meta_sync_age_seconds";
pub const META_SYNC_LAST_SUCCESS: &str = "meta_sync_last_success_timestamp_seconds";

/// Page latencies: 5 ms … 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// KDF waits: a slot frees every few seconds (one argon2i run), so the queue is seconds to minutes.
const KDF_WAIT_BUCKETS: &[f64] = &[
    0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0, 300.0,
];

/// Label for requests that matched no route (404s, refused cross-site POSTs): one series, not
/// one per URL.
pub const UNMATCHED_PATH: &str = "<unmatched>";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// Unix time of the last successful meta sync (0: none yet).
static LAST_SYNC_OK: AtomicI64 = AtomicI64::new(0);

/// Installs the process-wide Prometheus recorder (first call) and returns its handle; later calls
/// return the same handle. If another recorder was installed first, the handle renders nothing
/// and a warning is logged.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HTTP_REQUEST_DURATION_SECONDS.to_owned()),
                    LATENCY_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(KDF_WAIT_SECONDS.to_owned()),
                        KDF_WAIT_BUCKETS,
                    )
                })
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        "HTTP requests by route, method and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "HTTP request latency by route, method and status."
    );
    describe_counter!(BALLOTS_CAST_TOTAL, "Ballots stored.");
    describe_gauge!(KDF_QUEUE_DEPTH, "Ballot casts waiting for a KDF slot.");
    describe_histogram!(
        KDF_WAIT_SECONDS,
        Unit::Seconds,
        "Time a ballot cast waited for a KDF slot."
    );
    describe_counter!(META_SYNC_TOTAL, "Meta repository syncs by result.");
    describe_gauge!(
        META_SYNC_AGE_SECONDS,
        Unit::Seconds,
        "Seconds since the last successful meta sync."
    );
    describe_gauge!(
        META_SYNC_LAST_SUCCESS,
        Unit::Seconds,
        "Unix time of the last successful meta sync."
    );
}

/// The Prometheus text exposition of everything recorded so far (empty before [`install`]).
pub fn render() -> String {
    let Some(handle) = HANDLE.get() else {
        return String::new();
    };
    let last = LAST_SYNC_OK.load(Ordering::Relaxed);
    if last > 0 {
        let age = (unix_now() - last).max(0);
        metrics::gauge!(META_SYNC_AGE_SECONDS).set(age as f64);
    }
    handle.render()
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

// ----- domain metrics ------------------------------------------------------------------------------

/// One ballot was stored (call after the transaction committed, once per ballot, not per row).
pub fn record_ballot_cast() {
    metrics::counter!(BALLOTS_CAST_TOTAL).increment(1);
}

/// Outcome of one meta sync, for `meta_sync_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncResult {
    Ok,
    GitError,
    DbError,
    /// The new commit had no valid election while the served one had some (kept the old one).
    Rejected,
}

impl SyncResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncResult::Ok => "ok",
            SyncResult::GitError => "git_error",
            SyncResult::DbError => "db_error",
            SyncResult::Rejected => "rejected",
        }
    }
}

/// Counts a meta sync; a successful one also resets `meta_sync_age_seconds`.
pub fn record_meta_sync(result: SyncResult) {
    metrics::counter!(META_SYNC_TOTAL, "result" => result.as_str()).increment(1);
    if result == SyncResult::Ok {
        let now = unix_now();
        LAST_SYNC_OK.store(now, Ordering::Relaxed);
        metrics::gauge!(META_SYNC_LAST_SUCCESS).set(now as f64);
        metrics::gauge!(META_SYNC_AGE_SECONDS).set(0.0);
    }
}

/// A meta commit synced by another instance at `unix` seconds (seen in the database): resets
/// `meta_sync_age_seconds` like a sync of this instance, without counting one.
pub fn note_meta_synced_at(unix: i64) {
    if LAST_SYNC_OK.fetch_max(unix, Ordering::Relaxed) < unix {
        metrics::gauge!(META_SYNC_LAST_SUCCESS).set(unix as f64);
    }
}

/// A ballot cast waiting for a KDF slot: `kdf_queue_depth` counts it until [`KdfWait::acquired`]
/// (which also records `kdf_wait_seconds`) or until it is dropped (request cancelled).
///
/// ```ignore
/// let wait = crate::metrics::kdf_waiting();
/// let permit = kdf_semaphore.acquire().await?;
/// wait.acquired();
/// ```
#[derive(Debug)]
#[must_use = "the cast stays counted in kdf_queue_depth until this is dropped or acquired()"]
pub struct KdfWait {
    since: Instant,
}

/// Starts a [`KdfWait`] (increments `kdf_queue_depth`).
pub fn kdf_waiting() -> KdfWait {
    metrics::gauge!(KDF_QUEUE_DEPTH).increment(1.0);
    KdfWait {
        since: Instant::now(),
    }
}

impl KdfWait {
    /// The cast got its slot: records the wait and leaves the queue. Returns the wait.
    pub fn acquired(self) -> Duration {
        let waited = self.since.elapsed();
        metrics::histogram!(KDF_WAIT_SECONDS).record(waited.as_secs_f64());
        waited
        // Drop leaves the queue.
    }
}

impl Drop for KdfWait {
    fn drop(&mut self) {
        metrics::gauge!(KDF_QUEUE_DEPTH).decrement(1.0);
    }
}

/// Waits for a permit of `semaphore` while counted in `kdf_queue_depth`, then records the wait.
pub async fn acquire_kdf_slot(
    semaphore: &tokio::sync::Semaphore,
) -> Result<tokio::sync::SemaphorePermit<'_>, tokio::sync::AcquireError> {
    let wait = kdf_waiting();
    let permit = semaphore.acquire().await?;
    wait.acquired();
    Ok(permit)
}

/// [`acquire_kdf_slot`] for an `Arc<Semaphore>` (owned permit, movable into `spawn_blocking`).
pub async fn acquire_kdf_slot_owned(
    semaphore: std::sync::Arc<tokio::sync::Semaphore>,
) -> Result<tokio::sync::OwnedSemaphorePermit, tokio::sync::AcquireError> {
    let wait = kdf_waiting();
    let permit = semaphore.acquire_owned().await?;
    wait.acquired();
    Ok(permit)
}

// ----- HTTP middleware -----------------------------------------------------------------------------

/// The matched route pattern, carried from the route layer out to [`track_http`].
#[derive(Debug, Clone)]
struct RouteLabel(String);

/// Route layer (`Router::route_layer`): copies the request's [`MatchedPath`] into the response,
/// where the outer [`track_http`] layer reads it (axum sets it only after routing).
pub(crate) async fn mark_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut resp = next.run(req).await;
    if let Some(route) = route {
        resp.extensions_mut().insert(RouteLabel(route));
    }
    resp
}

/// Outermost layer: counts and times every request by route pattern, method and status.
pub(crate) async fn track_http(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let resp = next.run(req).await;
    let path = resp
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| UNMATCHED_PATH.to_owned());
    let labels = [
        ("method", method.to_owned()),
        ("path", path),
        ("status", resp.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// Known methods by name, anything else as `OTHER` (bounded label values).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

// ----- the metrics listener ------------------------------------------------------------------------

/// How often histogram buckets are drained when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The metrics listener's router: `GET /metrics` only (installs the recorder if needed).
pub fn metrics_router() -> Router {
    install();
    Router::new().route("/metrics", get(scrape))
}

async fn scrape() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(),
    )
        .into_response()
}

/// Installs the recorder and serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = install();
    let upkeep_handle = handle.clone();
    let upkeep = tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            upkeep_handle.run_upkeep();
        }
    });
    let result = axum::serve(listener, metrics_router())
        .with_graceful_shutdown(shutdown)
        .await;
    upkeep.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_are_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }

    #[test]
    fn kdf_wait_records_and_leaves_the_queue() {
        install();
        let w = kdf_waiting();
        let text = render();
        assert!(text.contains("kdf_queue_depth"), "{text}");
        w.acquired();
        record_ballot_cast();
        record_meta_sync(SyncResult::GitError);
        record_meta_sync(SyncResult::Ok);
        let text = render();
        assert!(text.contains("kdf_wait_seconds_bucket"), "{text}");
        assert!(text.contains("ballots_cast_total"), "{text}");
        assert!(
            text.contains("meta_sync_total{result=\"git_error\"}"),
            "{text}"
        );
        assert!(text.contains("meta_sync_age_seconds"), "{text}");
    }
}
