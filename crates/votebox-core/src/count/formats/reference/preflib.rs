//! The reader as it was before issue 15 (the reference the fast reader is checked against).

use super::csv::numbered_lines;
use super::{ParseError, ParsedBallots, build_profile};
use crate::count::MAX_CANDIDATES;

const FORMAT: &str = "preflib";

/// Parses a PrefLib file (either generation of the format).
pub fn parse_preflib(text: &str) -> Result<ParsedBallots, ParseError> {
    let lines: Vec<(usize, &str)> = numbered_lines(text)
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let Some(&(_, first)) = lines.first() else {
        return Err(ParseError::new(FORMAT, 1, 1, "empty file"));
    };
    if first.trim_start().starts_with('#') {
        parse_current(&lines)
    } else {
        parse_old(&lines)
    }
}

/// Column (1-based, characters) of byte offset `at` in `line`.
fn col(line: &str, at: usize) -> usize {
    line[..at].chars().count() + 1
}

fn parse_current(lines: &[(usize, &str)]) -> Result<ParsedBallots, ParseError> {
    let mut n: Option<usize> = None;
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut data_type: Option<String> = None;
    let mut title = None;
    let mut data = Vec::new();
    for &(line_no, line) in lines {
        let Some(h) = line.trim_start().strip_prefix('#') else {
            data.push((line_no, line));
            continue;
        };
        let Some((key, value)) = h.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let after = line.find(':').map_or(0, |c| c + 1);
        let value_col = col(
            line,
            after + (line[after..].len() - line[after..].trim_start().len()),
        );
        if key == "NUMBER ALTERNATIVES" {
            n = Some(value.parse().map_err(|_| {
                ParseError::new(
                    FORMAT,
                    line_no,
                    value_col,
                    format!("expected a number of alternatives, found `{value}`"),
                )
            })?);
        } else if let Some(i) = key.strip_prefix("ALTERNATIVE NAME ") {
            let i: usize = i.trim().parse().map_err(|_| {
                ParseError::new(FORMAT, line_no, 1, format!("bad alternative number `{i}`"))
            })?;
            names.push((i, value.to_owned()));
        } else if key == "DATA TYPE" {
            data_type = Some(value.to_ascii_lowercase());
        } else if key == "TITLE" && !value.is_empty() {
            title = Some(value.to_owned());
        }
    }
    let Some(n) = n else {
        return Err(ParseError::new(
            FORMAT,
            1,
            1,
            "missing `# NUMBER ALTERNATIVES:` header",
        ));
    };
    check_alternatives(n, 1)?;
    let mut ids: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    for (i, name) in names {
        if i == 0 || i > n {
            return Err(ParseError::new(
                FORMAT,
                1,
                1,
                format!("alternative {i} is not in 1..={n}"),
            ));
        }
        ids[i - 1] = name;
    }
    let ballots = data
        .into_iter()
        .map(|(line_no, line)| {
            let Some(colon) = line.find(':') else {
                return Err(ParseError::new(
                    FORMAT,
                    line_no,
                    1,
                    "expected `count: order`",
                ));
            };
            let count = parse_count(line_no, line, 0, &line[..colon])?;
            let tiers = parse_order(line_no, line, colon + 1, n, data_type.as_deref())?;
            Ok((tiers, count, line_no))
        })
        .collect::<Result<Vec<_>, _>>()?;
    parsed(ids, ballots, title)
}

/// Refuses a declared number of alternatives above [`MAX_CANDIDATES`] before allocating for it
/// (found by `tests/fuzz.rs`: `usize::MAX` overflowed).
fn check_alternatives(n: usize, line_no: usize) -> Result<(), ParseError> {
    if n > MAX_CANDIDATES {
        return Err(ParseError::new(
            FORMAT,
            line_no,
            1,
            format!("too many alternatives ({n}; at most {MAX_CANDIDATES})"),
        ));
    }
    Ok(())
}

fn parse_old(lines: &[(usize, &str)]) -> Result<ParsedBallots, ParseError> {
    let (line_no, first) = lines[0];
    let n: usize = first.trim().parse().map_err(|_| {
        ParseError::new(
            FORMAT,
            line_no,
            1,
            format!(
                "expected the number of alternatives, found `{}`",
                first.trim()
            ),
        )
    })?;
    check_alternatives(n, line_no)?;
    if lines.len() < n + 2 {
        let (l, _) = lines[lines.len() - 1];
        return Err(ParseError::new(
            FORMAT,
            l + 1,
            1,
            "expected the alternatives and a `voters,sum,unique` line",
        ));
    }
    let mut ids = Vec::with_capacity(n);
    for (k, &(line_no, line)) in lines[1..=n].iter().enumerate() {
        let Some((num, name)) = line.split_once(',') else {
            return Err(ParseError::new(
                FORMAT,
                line_no,
                1,
                "expected `number,name`",
            ));
        };
        if num.trim().parse::<usize>() != Ok(k + 1) {
            return Err(ParseError::new(
                FORMAT,
                line_no,
                1,
                format!("expected alternative {}", k + 1),
            ));
        }
        ids.push(name.trim().to_owned());
    }
    let ballots = lines[n + 2..]
        .iter()
        .map(|&(line_no, line)| {
            let comma = line.find(',').unwrap_or(line.len());
            let count = parse_count(line_no, line, 0, &line[..comma])?;
            let tiers = parse_order(line_no, line, (comma + 1).min(line.len()), n, None)?;
            Ok((tiers, count, line_no))
        })
        .collect::<Result<Vec<_>, _>>()?;
    parsed(ids, ballots, None)
}

fn parse_count(line_no: usize, line: &str, at: usize, s: &str) -> Result<u32, ParseError> {
    let lead = s.len() - s.trim_start().len();
    s.trim().parse().map_err(|_| {
        ParseError::new(
            FORMAT,
            line_no,
            col(line, at + lead),
            format!("expected a count, found `{}`", s.trim()),
        )
    })
}

/// Parses `1,{2,3},4` starting at byte `start` of `line`.
fn parse_order(
    line_no: usize,
    line: &str,
    start: usize,
    n: usize,
    data_type: Option<&str>,
) -> Result<Vec<Vec<usize>>, ParseError> {
    let err = |at: usize, msg: String| ParseError::new(FORMAT, line_no, col(line, at), msg);
    let mut tiers: Vec<Vec<usize>> = Vec::new();
    let mut seen = vec![false; n];
    let mut in_tie = false;
    let mut current: Vec<usize> = Vec::new();
    let bytes = line.as_bytes();
    let mut i = start;
    while i < line.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b',' => i += 1,
            b'{' => {
                if in_tie {
                    return Err(err(i, "nested `{`".into()));
                }
                in_tie = true;
                i += 1;
            }
            b'}' => {
                if !in_tie {
                    return Err(err(i, "`}` without `{`".into()));
                }
                in_tie = false;
                if !current.is_empty() {
                    tiers.push(std::mem::take(&mut current));
                }
                i += 1;
            }
            b'0'..=b'9' => {
                let s = i;
                while i < line.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let a: usize = line[s..i]
                    .parse()
                    .map_err(|_| err(s, "number too large".into()))?;
                if a == 0 || a > n {
                    return Err(err(s, format!("alternative {a} is not in 1..={n}")));
                }
                if seen[a - 1] {
                    return Err(err(s, format!("alternative {a} appears twice")));
                }
                seen[a - 1] = true;
                if in_tie {
                    current.push(a - 1);
                } else {
                    tiers.push(vec![a - 1]);
                }
            }
            _ => {
                let ch = line[i..].chars().next().unwrap_or(' ');
                return Err(err(i, format!("unexpected `{ch}`")));
            }
        }
    }
    if in_tie {
        return Err(err(line.len(), "missing `}`".into()));
    }
    if let Some(t) = data_type {
        let ties = tiers.iter().any(|t| t.len() > 1);
        let complete = seen.iter().all(|&s| s);
        if (t == "soc" || t == "soi") && ties {
            return Err(err(start, format!("`{t}` data may not contain ties")));
        }
        if (t == "soc" || t == "toc") && !complete {
            return Err(err(
                start,
                format!("`{t}` data must rank every alternative"),
            ));
        }
    }
    Ok(tiers)
}

/// The parsed file: candidates named by `ids`, ballots as `(tiers, count, line)`.
fn parsed(
    ids: Vec<String>,
    ballots: Vec<(Vec<Vec<usize>>, u32, usize)>,
    title: Option<String>,
) -> Result<ParsedBallots, ParseError> {
    let profile = build_profile(FORMAT, ids, ballots)?;
    Ok(ParsedBallots {
        format: crate::count::formats::Format::PrefLib,
        names: profile.candidates().to_vec(),
        profile,
        seats: None,
        title,
    })
}
