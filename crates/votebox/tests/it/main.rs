//! The one integration-test binary of votebox (`cargo test -p votebox --test it`).

mod audit;
mod auth;
mod balancer;
mod board;
mod cli;
mod dockerfile;
mod e2e;
mod e2e_support;
mod experience;
mod fake_github;
mod faults;
mod hardening;
mod harness;
mod instances;
mod legacy;
mod load;
mod ops;
mod pages;
mod results;
mod secrecy;
mod star;
mod tally;
mod trust;
mod voting;
