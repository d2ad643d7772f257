//! `voters.yaml`: the `eligible_voters` list.
//!
//! Every entry becomes a string exactly as written (`- 249043822` stays `"249043822"`, `- yes`
//! stays `"yes"`; Elekto's PyYAML turned these into an int / a bool that could never match a
//! login). Null entries are dropped. Duplicates and order are kept: eligibility is a membership
//! test, compared with [`super::same_login`].

use serde::{Deserialize, Deserializer};

use super::MetaError;
use super::yaml::{self, TextList};

#[derive(Deserialize)]
struct RawVoters {
    /// `None`: key missing; `Some(None)`: `eligible_voters:` with nothing (null).
    #[serde(default, deserialize_with = "present")]
    eligible_voters: Option<Option<TextList>>,
}

/// Distinguishes a present-but-null key (`Some(None)`) from a missing one (`None`, via `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<TextList>>, D::Error> {
    Option::<TextList>::deserialize(d).map(Some)
}

/// Parses the text of a `voters.yaml` (`file` is its repository path, for errors).
///
/// * `eligible_voters:` null, or an empty document → empty list (nobody eligible). Elekto crashed.
/// * No `eligible_voters` key at all → error (almost certainly a typo that would lock everyone out).
/// * Malformed YAML or a non-list value → error with the line.
pub(super) fn parse_voters(src: &str, file: &str) -> Result<Vec<String>, MetaError> {
    let Some(raw) = yaml::parse::<RawVoters>(src, file, 0)? else {
        return Ok(Vec::new());
    };
    match raw.eligible_voters {
        None => Err(MetaError {
            file: file.to_owned(),
            line: None,
            message: "no `eligible_voters` key: expected `eligible_voters:` followed by a list of GitHub logins".to_owned(),
        }),
        Some(None) => Ok(Vec::new()),
        Some(Some(list)) => Ok(list.0),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_voters;

    const FILE: &str = "elections/x/voters.yaml";

    #[test]
    fn plain_list_with_comments_and_document_marker() {
        let src =
            "---\n# header\n# more\neligible_voters: \n  - alice # inline\n\n  - Bob\n  - alice\n";
        assert_eq!(parse_voters(src, FILE).unwrap(), ["alice", "Bob", "alice"]);
    }

    #[test]
    fn column_zero_and_one_space_indentation() {
        assert_eq!(
            parse_voters("eligible_voters:\n- a\n- b\n", FILE).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            parse_voters("eligible_voters:\n - a\n - b\n", FILE).unwrap(),
            ["a", "b"]
        );
    }

    #[test]
    fn yaml11_traps_stay_text() {
        let src = "eligible_voters:\n- 249043822\n- '781574155'\n- 0123\n- yes\n- off\n- 1:20\n- 007vedant\n- 1e3\n- null\n- ~\n- smoser-ibm \n";
        assert_eq!(
            parse_voters(src, FILE).unwrap(),
            [
                "249043822",
                "781574155",
                "0123",
                "yes",
                "off",
                "1:20",
                "007vedant",
                "1e3",
                "smoser-ibm"
            ]
        );
    }

    #[test]
    fn null_and_empty_mean_nobody() {
        assert!(parse_voters("eligible_voters:\n", FILE).unwrap().is_empty());
        assert!(
            parse_voters("eligible_voters: []\n", FILE)
                .unwrap()
                .is_empty()
        );
        assert!(parse_voters("", FILE).unwrap().is_empty());
        assert!(parse_voters("# nobody yet\n", FILE).unwrap().is_empty());
    }

    #[test]
    fn missing_key_is_an_error() {
        let err = parse_voters("eligible_voter:\n- a\n", FILE).unwrap_err();
        assert_eq!(err.file, FILE);
        assert!(err.message.contains("eligible_voters"), "{err}");
    }

    #[test]
    fn malformed_is_an_error_with_line() {
        let err = parse_voters("eligible_voters:\n- a\n- [b\n", FILE).unwrap_err();
        assert_eq!(err.file, FILE);
        assert!(err.line.is_some(), "{err}");
        let err = parse_voters("eligible_voters: alice\n", FILE).unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("expected a list"), "{err}");
        let err = parse_voters("eligible_voters:\n- a\n- {b: c}\n", FILE).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.starts_with("`eligible_voters`:"), "{err}");
        assert!(parse_voters("- a\n- b\n", FILE).is_err());
    }
}
