//! The one integration-test binary of votebox (`cargo test -p votebox --test it`).

mod cli;
mod harness;
mod pages;
