//! `GET /static/<path>`: assets embedded in the binary (no CDN, no files on disk).

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "css/main.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../static/css/main.css"),
    },
    Asset {
        path: "js/local-time.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../static/js/local-time.js"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../static/favicon.svg"),
    },
];

pub(crate) async fn static_file(Path(path): Path<String>) -> Result<Response, AppError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.path == path)
        .ok_or(AppError::NotFound)?;
    let mut resp = asset.bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}
