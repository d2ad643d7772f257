//! The one integration-test binary of votebox (`cargo test -p votebox --test it`).

mod auth;
mod cli;
mod fake_github;
mod harness;
mod pages;
