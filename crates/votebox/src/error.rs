//! How a command fails, and the one line (and exit status) it prints for that.

use crate::config::ConfigError;

/// How a command failed: configuration (exit status 2) or at run time (exit status 1).
#[derive(Debug)]
pub enum Error {
    Config(ConfigError),
    Failed(anyhow::Error),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => 2,
            Error::Failed(_) => 1,
        }
    }

    /// The one line printed to stderr.
    pub fn message(&self) -> String {
        let text = match self {
            Error::Config(e) => e.to_string(),
            Error::Failed(e) => chain_text(e),
        };
        // One line, whatever the underlying error (git's stderr, for one) contains.
        let one_line: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        format!("votebox: error: {}", one_line.join(" | "))
    }
}

/// `context: cause: cause…`, leaving out causes whose text an outer message already includes
/// (errors that print their source inside their own message).
fn chain_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Failed(e)
    }
}

#[cfg(test)]
mod tests {
    use anyhow::anyhow;

    use super::*;

    #[test]
    fn error_message_is_one_line() {
        let e =
            Error::Failed(anyhow!("git fetch failed: fatal: x\nfatal: y\n").context("sync failed"));
        let m = e.message();
        assert!(!m.contains('\n'));
        assert!(m.starts_with("votebox: error: sync failed: git fetch failed"));
        assert_eq!(e.exit_code(), 1);
        let c = Error::Config(ConfigError::new("DB_CONNECTION", "not set"));
        assert_eq!(c.message(), "votebox: error: DB_CONNECTION: not set");
        assert_eq!(c.exit_code(), 2);
    }
}
