//! Checking a published `results.md` draft against a recount of the board.
//!
//! A draft made by votebox ([`crate::results::results_markdown`]) says, in lines a person can
//! read and a program can find again: the winners (`## Winners`, one `- ` line each), the
//! complete ranking (the `## Complete ranking` table, one row per tier), a tie across the last
//! seat (`**Tie:**`), the method (`- Method: … (`id`)`), the seats, the number of ballots counted
//! and the ballot board's SHA-256 (`- Ballot board: … SHA-256 `hex``). Every candidate is written
//! with its ID in backticks, last on the line or cell. An officer may add text around them;
//! [`check_draft`] compares each of these claims with the recount and lists every difference.

use crate::count::Outcome;

use super::Board;

/// One claim of a draft that the recount does not bear out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The draft's 1-based line, when the claim is there (absent claims have none).
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "results.md line {line}: {}", self.message),
            None => write!(f, "results.md: {}", self.message),
        }
    }
}

/// A claim and the line it is on.
type Claim<T> = Option<(usize, T)>;

/// What a draft says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DraftClaims {
    pub winners: Vec<(usize, String)>,
    pub tie: Claim<Vec<String>>,
    /// Tiers of the complete ranking, best first.
    pub ranking: Vec<(usize, Vec<String>)>,
    pub method: Claim<String>,
    pub seats: Claim<String>,
    pub ballots: Claim<String>,
    pub board_sha256: Claim<String>,
}

/// The spans between unescaped backticks, in order (candidate IDs in a draft).
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match current.as_mut() {
            Some(span) if c != '`' => span.push(c),
            Some(_) => spans.extend(current.take()),
            None if c == '\\' => {
                chars.next();
            }
            None if c == '`' => current = Some(String::new()),
            None => {}
        }
    }
    spans
}

/// Reads the claims of a `results.md` draft.
pub fn read_draft(md: &str) -> DraftClaims {
    let mut claims = DraftClaims::default();
    let mut section = "";
    for (i, line) in md.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end();
        if let Some(title) = line.strip_prefix("## ") {
            section = match title.trim() {
                "Winners" => "winners",
                "Complete ranking" => "ranking",
                "Count" => "count",
                _ => "",
            };
            continue;
        }
        if let Some(rest) = line.strip_prefix("**Tie:**") {
            claims.tie = Some((n, code_spans(rest)));
            continue;
        }
        match section {
            "winners" => {
                if let Some(item) = line.strip_prefix("- ") {
                    let id = code_spans(item).pop().unwrap_or_else(|| item.to_owned());
                    claims.winners.push((n, id));
                }
            }
            "ranking" => {
                let cells: Vec<&str> = line.splitn(3, '|').collect();
                if let [_, label, rest] = cells[..]
                    && label
                        .trim()
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit())
                {
                    claims.ranking.push((n, code_spans(rest)));
                }
            }
            "count" => {
                let value =
                    |prefix: &str| line.strip_prefix(prefix).map(|v| (n, v.trim().to_owned()));
                if let Some(v) = value("- Method:") {
                    claims.method = Some((v.0, code_spans(&v.1).pop().unwrap_or(v.1)));
                } else if let Some(v) = value("- Seats:") {
                    claims.seats = Some(v);
                } else if let Some(v) = value("- Ballots counted:") {
                    claims.ballots = Some(v);
                } else if let Some(v) = value("- Ballot board:") {
                    let sha = code_spans(&v.1)
                        .into_iter()
                        .find(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
                    claims.board_sha256 = Some((v.0, sha.unwrap_or(v.1)));
                }
            }
            _ => {}
        }
    }
    claims
}

/// How a draft writes a candidate ID (a backtick would end the code span).
fn as_written(id: &str) -> String {
    id.replace('`', "'")
}

/// Every claim of the draft `md` that the recount `outcome` of `board` does not bear out; empty
/// when the draft is right. A claim the draft leaves out (winners, ranking, ballot count, board
/// SHA-256) is a difference too: the draft must say what it certifies.
pub fn check_draft(md: &str, board: &Board, outcome: &Outcome) -> Vec<Difference> {
    let claims = read_draft(md);
    let mut out = Vec::new();
    let mut differ = |line: Option<usize>, message: String| out.push(Difference { line, message });
    let list = |ids: &[String]| -> Vec<String> { ids.iter().map(|c| as_written(c)).collect() };

    let winners = list(&outcome.winners);
    let said: Vec<String> = claims.winners.iter().map(|(_, w)| w.clone()).collect();
    if claims.winners.is_empty() && !winners.is_empty() {
        differ(
            None,
            format!(
                "no winners listed; the recount elects {}",
                winners.join(", ")
            ),
        );
    } else if said != winners {
        differ(
            claims.winners.first().map(|w| w.0),
            format!(
                "winners {} but the recount elects {}",
                show(&said),
                show(&winners)
            ),
        );
    }

    let tied = list(&outcome.ties_at_last_seat);
    match &claims.tie {
        Some((n, ids)) if sorted(ids) != sorted(&tied) => differ(
            Some(*n),
            format!(
                "a tie between {} but the recount has {}",
                show(ids),
                show(&tied)
            ),
        ),
        None if !tied.is_empty() => differ(
            None,
            format!(
                "no tie stated; the recount ties {} for the last seat",
                show(&tied)
            ),
        ),
        _ => {}
    }

    let ranking: Vec<Vec<String>> = outcome.ranking.iter().map(|t| sorted(&list(t))).collect();
    let said: Vec<Vec<String>> = claims.ranking.iter().map(|(_, t)| sorted(t)).collect();
    if claims.ranking.is_empty() {
        differ(None, "no complete ranking table".to_owned());
    } else if let Some(i) =
        (0..ranking.len().max(said.len())).find(|&i| ranking.get(i) != said.get(i))
    {
        let line = claims.ranking.get(i).or(claims.ranking.last()).map(|r| r.0);
        differ(
            line,
            format!(
                "ranking tier {} is {} but the recount gives {}",
                i + 1,
                said.get(i).map_or("(none)".to_owned(), |t| show(t)),
                ranking.get(i).map_or("(none)".to_owned(), |t| show(t))
            ),
        );
    }

    let mut expect = |claim: &Claim<String>, what: &str, actual: String| match claim {
        Some((n, v)) if *v != actual => differ(
            Some(*n),
            format!("{what} is `{v}` but the board gives `{actual}`"),
        ),
        None => differ(None, format!("no {what} line; the board gives `{actual}`")),
        _ => {}
    };
    expect(&claims.ballots, "ballots counted", board.len().to_string());
    expect(&claims.board_sha256, "ballot board SHA-256", board.sha256());
    expect(&claims.method, "method", outcome.method.as_str().to_owned());
    expect(&claims.seats, "seats", outcome.seats.to_string());
    out
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut v = ids.to_vec();
    v.sort();
    v
}

fn show(ids: &[String]) -> String {
    if ids.is_empty() {
        "(none)".to_owned()
    } else {
        ids.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{Method, TieBreak, Unranked};
    use crate::results::{Counting, MarkdownInfo, StoredBallots, results_markdown};
    use std::collections::HashMap;

    /// Five ballots over a, b, c, d: a wins, then b, then c and d tied.
    fn board(seats: usize) -> Board {
        let mut rows: Vec<(String, String, Option<i64>)> = Vec::new();
        for (i, ranks) in [
            [1, 2, 3, 3],
            [1, 2, 3, 3],
            [1, 2, 3, 3],
            [2, 1, 3, 3],
            [1, 3, 2, 2],
        ]
        .iter()
        .enumerate()
        {
            for (c, r) in ["a", "b", "c", "d"].iter().zip(ranks) {
                rows.push((format!("u{i}"), (*c).to_owned(), Some(*r)));
            }
        }
        let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let counting = Counting {
            method: Method::Schulze,
            unranked: Unranked::NoOpinion,
            tie_break: None::<TieBreak>,
            warnings: Vec::new(),
        };
        Board::from_parts("e", &counting, seats, &StoredBallots::from_rows(&ids, rows))
    }

    fn draft(b: &Board) -> String {
        let outcome = b.count().unwrap();
        let mut names = HashMap::new();
        names.insert("a".to_owned(), "Alice | `A`".to_owned());
        results_markdown(
            &outcome,
            &MarkdownInfo {
                title: "E",
                names,
                board_sha256: Some(b.sha256()),
                ..MarkdownInfo::default()
            },
        )
    }

    fn differences(md: &str, b: &Board) -> Vec<String> {
        check_draft(md, b, &b.count().unwrap())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_draft_votebox_writes_passes() {
        let b = board(2);
        let md = draft(&b);
        let claims = read_draft(&md);
        assert_eq!(
            claims
                .winners
                .iter()
                .map(|w| w.1.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(claims.ranking.len(), 3, "{md}");
        assert_eq!(claims.ranking[2].1, ["c", "d"]);
        assert_eq!(claims.board_sha256.as_ref().unwrap().1, b.sha256());
        assert_eq!(differences(&md, &b), Vec::<String>::new(), "{md}");
        // Text an officer adds around the claims changes nothing.
        let edited = md.replace("## Winners\n", "## Winners\n\nCongratulations!\n");
        assert_eq!(differences(&edited, &b), Vec::<String>::new());
    }

    #[test]
    fn every_wrong_claim_is_named_with_its_line() {
        let b = board(1);
        let md = draft(&b);
        let line_of = |text: &str| md.lines().position(|l| l.contains(text)).unwrap() + 1;
        let row1 = "| 1 | Alice \\| \\`A\\` (`a`) |";
        assert!(md.contains(row1), "{md}");
        let swapped = md
            .replace(row1, "| 1 | `b` |")
            .replacen("| 2 | `b` |", "| 2 | `a` |", 1);
        let d = differences(&swapped, &b);
        let n = line_of(row1);
        assert_eq!(
            d,
            [format!(
                "results.md line {n}: ranking tier 1 is b but the recount gives a"
            )]
        );

        let winner = "- Alice \\| \\`A\\` (`a`)";
        let n = line_of(winner);
        let d = differences(&md.replace(winner, "- Bob (`b`)"), &b);
        assert_eq!(
            d,
            [format!(
                "results.md line {n}: winners b but the recount elects a"
            )]
        );

        let n = line_of("- Ballots counted:");
        let d = differences(
            &md.replace("- Ballots counted: 5", "- Ballots counted: 6"),
            &b,
        );
        assert_eq!(
            d,
            [format!(
                "results.md line {n}: ballots counted is `6` but the board gives `5`"
            )]
        );

        let n = line_of("- Ballot board:");
        let other = "0".repeat(64);
        let d = differences(&md.replace(&b.sha256(), &other), &b);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].starts_with(&format!(
                "results.md line {n}: ballot board SHA-256 is `{other}`"
            )),
            "{d:?}"
        );

        let without: String = md
            .lines()
            .filter(|l| !l.starts_with("- Ballot board:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let d = differences(&without, &b);
        assert_eq!(
            d,
            [format!(
                "results.md: no ballot board SHA-256 line; the board gives `{}`",
                b.sha256()
            )]
        );

        // A board with one ballot fewer no longer matches the draft.
        let mut fewer = b.clone();
        fewer.entries.pop();
        let d = differences(&md, &fewer);
        assert!(
            d.iter()
                .any(|m| m.contains("ballots counted is `5` but the board gives `4`")),
            "{d:?}"
        );
        assert!(
            d.iter().any(|m| m.contains("ballot board SHA-256")),
            "{d:?}"
        );
    }

    #[test]
    fn code_spans_skip_escaped_backticks() {
        assert_eq!(code_spans("Alice \\`A\\` (`a`) / `b`"), ["a", "b"]);
        assert_eq!(code_spans("none"), Vec::<String>::new());
    }
}
