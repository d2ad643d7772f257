use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    votebox::main(votebox::cli::Cli::parse())
}
