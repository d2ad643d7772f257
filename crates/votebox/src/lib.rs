//! The `votebox` binary as a library: configuration ([`config`], [`dotenv`], [`keys`]), the
//! command line ([`cli`]) and what each command does ([`commands`], [`demo`]). `main.rs` only
//! calls [`main`]; integration tests drive the real binary.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod dotenv;
pub mod error;
pub mod kdf_sizing;
pub mod keys;
pub mod logging;
pub mod tally;
pub mod verify;

use std::process::ExitCode;

use crate::commands::Context;
use crate::config::{ConfigError, Env, LogFormat, var};
use crate::error::Error;

/// Runs votebox with the parsed command line: loads `.env`, sets up logging, runs the command,
/// and turns any failure into one `votebox: error: …` line on stderr and exit status 1 (run-time
/// failure) or 2 (configuration).
pub fn main(cli: cli::Cli) -> ExitCode {
    match prepare_and_run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.message());
            ExitCode::from(e.exit_code())
        }
    }
}

fn prepare_and_run(cli: cli::Cli) -> Result<(), Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| ConfigError::new("current directory", format!("cannot be read: {e}")))?;
    let process_env: Env = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut env = process_env.clone();
    let report = dotenv::load(&cwd, &mut env).map_err(|e| {
        ConfigError::new(
            dotenv::dotenv_path(&cwd, &process_env)
                .display()
                .to_string(),
            format!("cannot be read: {e}"),
        )
    })?;
    export(&process_env, &env);

    let format = match var(&env, "LOG_FORMAT") {
        Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
        _ => LogFormat::Human,
    };
    if let Some(w) = logging::init(format, var(&env, "RUST_LOG")) {
        tracing::warn!("{w}");
    }
    if let Some(path) = &report.loaded {
        tracing::debug!(file = %path.display(), "loaded dotenv file");
    }
    for w in report.warnings() {
        tracing::warn!("{w}");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(anyhow::anyhow!("cannot start the async runtime: {e}")))?;
    let ctx = Context { env, cwd };
    runtime.block_on(commands::run(cli.command, &ctx))
}

/// Makes the `.env` values visible to child processes (git), as python-dotenv does.
fn export(before: &Env, after: &Env) {
    for (key, value) in after {
        if before.get(key) != Some(value)
            && !key.is_empty()
            && !key.contains('=')
            && !key.contains('\0')
            && !value.contains('\0')
        {
            // SAFETY: called from `main` before the async runtime or any other thread exists, so
            // nothing reads the environment concurrently.
            unsafe { std::env::set_var(key, value) };
        }
    }
}
