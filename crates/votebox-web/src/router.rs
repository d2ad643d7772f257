//! Every route and layer, in one place.
//!
//! Layers, outermost first: metrics (count and time by matched route) → browser hardening
//! headers (CSP, `Referrer-Policy`, … on every response, see [`security_headers`]) → request id
//! (`x-request-id`, generated if absent, echoed back) → trace (one span per request, see
//! `trace.rs`) → session cookie → error pages (renders
//! [`ErrorPage`] responses with the layout) → catch panics (500 page) → `Connection: close` on
//! 413 → request body limit.
//! The HTML routes also get `tower_http::csrf::CsrfLayer` (cross-site POSTs refused); the
//! webhook is exempt from every CSRF check and authenticates by HMAC instead.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::config::WebConfig;
use crate::error::{ErrorPage, error_response};
use crate::metrics;
use crate::response::set_html;
use crate::routes::{
    audit, auth, ballot, board, exception, health, logged_in, not_found, public, results, webhook,
};
use crate::session::{Session, session_middleware};
use crate::static_files::static_file;
use crate::views::{Layout, bare_error_html, error_page_html};

/// Largest accepted request body (the webhook's push payloads included).
const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let mut pages = Router::new()
        .route("/", get(public::root))
        .route("/elections", get(public::elections))
        .route("/elections/{eid}", get(public::election))
        .route("/elections/{eid}/board", get(board::board_page))
        .route("/elections/{eid}/board.csv", get(board::board_csv))
        .route("/elections/{eid}/board.json", get(board::board_json))
        .route(
            "/elections/{eid}/receipt",
            get(board::receipt_form).post(board::receipt_check),
        )
        .route("/login", get(auth::login_page))
        .route("/logout", get(auth::logout_get).post(auth::logout_post))
        .route("/oauth/github/login", post(auth::github_login))
        .route("/app", get(logged_in::dashboard))
        .route("/app/elections", get(logged_in::elections_list))
        .route("/app/elections/{eid}", get(logged_in::election))
        .route(
            "/app/elections/{eid}/candidates/{cid}",
            get(logged_in::candidate),
        )
        .route(
            "/app/elections/{eid}/results",
            get(logged_in::slash_redirect),
        )
        .route("/app/elections/{eid}/results/", get(logged_in::results))
        .route("/app/elections/{eid}/admin", get(logged_in::slash_redirect))
        .route("/app/elections/{eid}/admin/", get(logged_in::admin))
        .route(
            "/app/elections/{eid}/vote",
            get(ballot::vote_form).post(ballot::vote_submit),
        )
        .route("/app/elections/{eid}/vote/view", post(ballot::view))
        .route("/app/elections/{eid}/vote/edit", post(ballot::revoke))
        .route(
            "/app/elections/{eid}/confirmation",
            get(ballot::confirmation),
        )
        .route(
            "/app/elections/{eid}/exception",
            get(exception::form).post(exception::submit),
        )
        .route(
            "/app/elections/{eid}/admin/exception/{rid}",
            get(exception::review).post(exception::toggle),
        )
        .route(
            "/app/elections/{eid}/admin/results",
            get(results::results_page),
        )
        .route(
            "/app/elections/{eid}/admin/results.md",
            get(results::results_md),
        )
        .route(
            "/app/elections/{eid}/admin/download",
            get(results::download),
        )
        .route("/app/elections/{eid}/admin/audit", get(audit::audit_page))
        .route(
            "/app/elections/{eid}/admin/audit.jsonl",
            get(audit::audit_jsonl),
        )
        .route("/static/{*path}", get(static_file));
    let callback = state.config().github_redirect.as_str();
    if auth::usable_callback_path(callback) {
        pages = pages.route(callback, get(auth::github_callback));
    } else {
        tracing::error!(
            path = callback,
            "GITHUB_REDIRECT is not a usable path; GitHub login cannot complete"
        );
    }
    if state.config().demo_login {
        tracing::warn!("demo login is enabled: anyone can sign in as anyone (not for production)");
        pages = pages.route("/demo/login", post(auth::demo_login));
    }
    let pages = pages.fallback(not_found).layer(csrf_origin_layer(&state));

    let machine = Router::new()
        .route("/health", get(health::health))
        .route("/healthz/live", get(health::live))
        .route("/healthz/ready", get(health::ready))
        .route("/v1/webhooks/meta/sync", post(webhook::sync));

    let routes = Router::new()
        .merge(machine)
        .merge(pages)
        .route_layer(from_fn(metrics::mark_route));
    with_layers(routes, state)
}

/// The layers every route gets (see the module docs for the order).
fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let [csp, frame, referrer, nosniff, hsts] = security_headers(state.config());
    let set = |(name, value): (HeaderName, Option<HeaderValue>)| {
        SetResponseHeaderLayer::if_not_present(name, value)
    };
    routes
        .layer(
            ServiceBuilder::new()
                .layer(from_fn(metrics::track_http))
                .layer(set(csp))
                .layer(set(frame))
                .layer(set(referrer))
                .layer(set(nosniff))
                .layer(set(hsts))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(crate::trace::request_span)
                        .on_request(())
                        .on_response(crate::trace::on_response()),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(from_fn_with_state(state.clone(), session_middleware))
                .layer(from_fn_with_state(state.clone(), render_error_pages))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(from_fn(close_after_refused_body))
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
        )
        .with_state(state)
}

/// A 413 is answered before the body has been read, so the server closes the connection after
/// it; `Connection: close` says so, and a client does not send its next request on a connection
/// that is going away (hyper's `IncompleteMessage`).
async fn close_after_refused_body(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        resp.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    resp
}

/// The browser hardening headers of every response (a handler's own value wins):
///
/// * `Content-Security-Policy`: nothing but votebox's own stylesheet, script and images (plus
///   `https:` images, which candidate biographies may show); the one script is a static file of
///   votebox (`/static/js/local-time.js`: local times and countdowns, a progressive enhancement:
///   the pages work without it), no inline script;
///   forms post only to votebox (and, for the sign-in redirect, to GitHub's authorize URL); no
///   framing (`frame-ancestors 'none'`), no `<base>`;
/// * `X-Frame-Options: DENY`, for browsers without `frame-ancestors`;
/// * `Referrer-Policy: same-origin`: no page URL leaves the site;
/// * `X-Content-Type-Options: nosniff`;
/// * `Strict-Transport-Security` (one year) when `APP_URL` is `https://` (votebox itself speaks
///   plain HTTP behind a TLS proxy, so `APP_URL` is what says the site is served over https).
fn security_headers(config: &WebConfig) -> [(HeaderName, Option<HeaderValue>); 5] {
    let mut form_action = "'self'".to_owned();
    if config.github_client_id.is_some()
        && let Some(origin) = url::Url::parse(&config.github_authorize_url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null")
    {
        form_action.push(' ');
        form_action.push_str(&origin);
    }
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let csp = HeaderValue::from_str(&csp).unwrap_or_else(|e| {
        tracing::error!(error = %e, "GITHUB_AUTHORIZE_URL does not fit in a CSP; leaving it out");
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        )
    });
    let hsts = config
        .app_url_is_https()
        .then(|| HeaderValue::from_static("max-age=31536000"));
    [
        (header::CONTENT_SECURITY_POLICY, Some(csp)),
        (
            header::X_FRAME_OPTIONS,
            Some(HeaderValue::from_static("DENY")),
        ),
        (
            header::REFERRER_POLICY,
            Some(HeaderValue::from_static("same-origin")),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            Some(HeaderValue::from_static("nosniff")),
        ),
        (header::STRICT_TRANSPORT_SECURITY, hsts),
    ]
}

/// A panicking handler becomes the 500 page; the panic message goes to the log only.
fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorPage {
            heading: "500 - Server Error".to_owned(),
            message: "Something went wrong on our side; the error has been logged.".to_owned(),
        },
    )
}

/// Refuses cross-site POSTs (`Sec-Fetch-Site`/`Origin`), with the CSRF error page. `APP_URL`'s
/// origin is trusted, for proxies that rewrite `Host`.
fn csrf_origin_layer(
    state: &AppState,
) -> CsrfLayer<impl tower_http::csrf::ResponseForProtectionError<axum::body::Body> + use<>> {
    let mut layer = CsrfLayer::new();
    if let Some(origin) = state
        .config()
        .app_url
        .as_deref()
        .and_then(|u| url::Url::parse(u.trim()).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
    {
        match layer.clone().add_trusted_origin(&origin) {
            Ok(l) => layer = l,
            Err(e) => tracing::warn!(%origin, error = %e, "APP_URL origin not usable for CSRF"),
        }
    }
    layer.with_rejection_response(|err: tower_http::csrf::ProtectionError| {
        tracing::info!(error = %err, "cross-site request refused");
        error_response(
            StatusCode::BAD_REQUEST,
            ErrorPage {
                heading: "CSRF Error".to_owned(),
                message: "Cross-site request refused.".to_owned(),
            },
        )
    })
}

/// Renders responses carrying an [`ErrorPage`] (and bare 405s) as HTML pages with the layout.
async fn render_error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    let mut resp = next.run(req).await;
    let page = match resp.extensions_mut().remove::<ErrorPage>() {
        Some(p) => p,
        None if resp.status() == StatusCode::METHOD_NOT_ALLOWED => ErrorPage {
            heading: "405 Method Not Allowed".to_owned(),
            message: "This page does not accept that kind of request.".to_owned(),
        },
        None => return resp,
    };
    let html = match &session {
        Some(session) => {
            let layout = Layout::new(&state, session, page.heading.clone());
            error_page_html(layout, &page).unwrap_or_else(|e| {
                tracing::error!(error = %e, "error page template failed");
                bare_error_html(&state.config().app_name, &page)
            })
        }
        None => bare_error_html(&state.config().app_name, &page),
    };
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut resp = Response::from_parts(parts, axum::body::Body::from(html));
    set_html(&mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Clock;
    use crate::config::WebConfig;
    use axum::body::{Body, to_bytes};
    use tower::ServiceExt as _;

    async fn state() -> AppState {
        let db = votebox_db::Db::connect("sqlite::memory:").await.unwrap();
        let meta = votebox_meta::MetaRepo::new("/nonexistent", "/nonexistent", "main", "elections");
        let config = WebConfig::new("unit.elections", "unit-test-key");
        AppState::new(config, db, meta, Clock::System)
    }

    #[tokio::test]
    async fn panics_become_the_500_page() {
        let routes = Router::new().route(
            "/boom",
            get(|| async {
                if true {
                    panic!("secret internal detail");
                }
            }),
        );
        let app = with_layers(routes, state().await);
        let resp = app
            .oneshot(Request::builder().uri("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("<title>500 - Server Error | unit.elections</title>"),
            "{body}"
        );
        assert!(!body.contains("secret internal detail"), "{body}");
    }

    #[tokio::test]
    async fn no_snapshot_is_503_and_health_still_200() {
        let app = router(state().await);
        let resp = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/elections")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let resp = app
            .oneshot(
                Request::builder()
                    .uri("/health")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
