//! Building responses: rendered pages, Flask-style redirects, downloads, and the URLs they point
//! to.

use askama::Template;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;

/// Renders a template as a `text/html` response with `status`.
pub(crate) fn render<T: Template>(status: StatusCode, page: &T) -> Result<Response, AppError> {
    let html = page.render()?;
    Ok((status, Html(html)).into_response())
}

pub(crate) fn render_ok<T: Template>(page: &T) -> Result<Response, AppError> {
    render(StatusCode::OK, page)
}

pub(crate) fn html_content_type() -> HeaderValue {
    HeaderValue::from_static("text/html; charset=utf-8")
}

pub(crate) fn set_html(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, html_content_type());
}

/// `302 Found` with a relative `Location`, as Flask's `redirect()` (axum's `Redirect::to` is 303).
pub(crate) fn found(location: &str) -> Response {
    redirect(StatusCode::FOUND, location)
}

/// `308 Permanent Redirect` to the slash form of the current path (Flask's strict-slash rule).
pub(crate) fn to_slash_form(uri: &Uri) -> Response {
    let mut location = format!("{}/", uri.path());
    if let Some(q) = uri.query() {
        location.push('?');
        location.push_str(q);
    }
    redirect(StatusCode::PERMANENT_REDIRECT, &location)
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut resp = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A file to download (`Content-Disposition: attachment`, never cached), with the export seed
/// it was made with in `X-Votebox-Export-Seed`.
pub(crate) fn attachment(
    content_type: &'static str,
    filename: &str,
    body: String,
    seed: &str,
) -> Response {
    let mut resp = download(content_type, filename, body);
    if let Ok(v) = HeaderValue::from_str(seed) {
        resp.headers_mut()
            .insert(HeaderName::from_static("x-votebox-export-seed"), v);
    }
    resp
}

/// A file to download (`Content-Disposition: attachment`, never cached).
pub(crate) fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={filename}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A download's file name that says what it holds: `<what>-<election key>.<ext>`, the key's
/// characters outside `[A-Za-z0-9._-]` replaced by `_` (a `Content-Disposition` value needs no
/// quoting then).
pub(crate) fn download_name(what: &str, key: &str, ext: &str) -> String {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{what}-{safe}.{ext}")
}

/// Characters escaped in the URL path segments and query values built here (a `Location` must be
/// ASCII).
const URL_PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded for a path segment or a query value.
pub(crate) fn url_part(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, URL_PART).to_string()
}

/// `/app/elections/<key>`.
pub(crate) fn election_url(key: &str) -> String {
    format!("/app/elections/{}", url_part(key))
}
