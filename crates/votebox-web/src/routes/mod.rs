//! Handlers, one module per area. They enter an election through the extractors of
//! `extract.rs`, refuse with the builders of `error.rs` and answer with `response.rs`.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod ballot;
pub(crate) mod board;
pub(crate) mod exception;
pub(crate) mod health;
pub(crate) mod logged_in;
pub(crate) mod public;
pub(crate) mod results;
pub(crate) mod webhook;

use crate::error::AppError;

/// Fallback for unknown URLs.
pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}
