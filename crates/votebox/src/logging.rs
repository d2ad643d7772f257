//! Logging to stderr with `tracing`: human-readable by default, one JSON object per line when
//! `LOG_FORMAT=json`. `RUST_LOG` sets the filter (default `info`, with sqlx's per-query logs
//! turned down).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// Installs the global subscriber (later calls are ignored). Returns a warning to log when
/// `RUST_LOG` is not a valid filter.
pub fn init(format: LogFormat, rust_log: Option<&str>) -> Option<String> {
    let mut warning = None;
    let filter = match rust_log.filter(|s| !s.is_empty()) {
        None => EnvFilter::new(DEFAULT_FILTER),
        Some(s) => EnvFilter::try_new(s).unwrap_or_else(|e| {
            warning = Some(format!(
                "RUST_LOG is not a valid filter ({e}); using {DEFAULT_FILTER:?}"
            ));
            EnvFilter::new(DEFAULT_FILTER)
        }),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Human => builder.try_init(),
    };
    warning
}
