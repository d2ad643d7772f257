//! PrefLib ordinal files: `.soc` (strict, complete), `.soi` (strict, incomplete), `.toc`
//! (ties, complete), `.toi` (ties, incomplete).
//!
//! Current format (2022+): `#` header lines (`# DATA TYPE: toi`, `# NUMBER ALTERNATIVES: 3`,
//! `# ALTERNATIVE NAME 1: Alice`, `# TITLE: …`), then one line per distinct order:
//! `count: 1,{2,3},4` (braces = tie). The older format is also read: a first line with the
//! number of alternatives, `i,name` lines, a `voters,sum,unique` line, then `count,1,{2,3}`.
//!
//! Candidate IDs are the alternative names (the number when a name is missing). The data
//! type is enforced: `soc`/`soi` allow no ties, `soc`/`toc` must rank everyone.

use super::plain::{lines_from, read_plain_lines};
use super::{ParseError, ParsedBallots};
use crate::count::MAX_CANDIDATES;
use crate::count::elekto_csv::numbered_lines;
use crate::count::profile::{GroupingProfile, UNRANKED};

const FORMAT: &str = "preflib";

/// Parses a PrefLib file (either generation of the format).
pub fn parse_preflib(text: &str) -> Result<ParsedBallots, ParseError> {
    // The non-blank lines, read as often as needed rather than kept (a file may have millions).
    let lines = || numbered_lines(text).filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines().next() else {
        return Err(ParseError::new(FORMAT, 1, 1, "empty file"));
    };
    if first.trim_start().starts_with('#') {
        parse_current(text, lines)
    } else {
        parse_old(text, lines)
    }
}

/// The text less a BOM, as [`numbered_lines`] reads it.
fn unmarked(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Byte offset of `line` (a slice of `text`) in `text`.
fn offset(text: &str, line: &str) -> usize {
    line.as_ptr() as usize - text.as_ptr() as usize
}

/// The `#` lines of the text (those whose first non-blank character is `#`), numbered, found
/// with a fast search for `#` rather than line by line.
fn comment_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = unmarked(text);
    let b = text.as_bytes();
    // Line number of `counted` (a line start).
    let (mut counted, mut line_no) = (0usize, 1usize);
    let mut next_line = 0usize;
    memchr::memchr_iter(b'#', b).filter_map(move |at| {
        if at < next_line {
            return None;
        }
        let start = memchr::memrchr(b'\n', &b[..at]).map_or(0, |i| i + 1);
        if !text[start..at].trim_start().is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i);
        line_no += memchr::memchr_iter(b'\n', &b[counted..start]).count();
        counted = start;
        next_line = end;
        let line = &text[start..end];
        Some((line_no, line.strip_suffix('\r').unwrap_or(line)))
    })
}

/// The fast path for a typical ballot line: `count: 1,{2,3},4` (`count,1,{2,3},4` in the old
/// format, `sep` = `,`) of ASCII digits, spaces and tabs, without an error; or a blank line, or
/// (`comments`) a `#` line (weight 0). Fills `row` (all `UNRANKED` on entry); None for
/// anything else, which [`parse_count`] and [`parse_order`] then read (and report).
#[inline]
fn plain_line(line: &[u8], sep: u8, comments: bool, rules: Rules, row: &mut [u16]) -> Option<u32> {
    let n = row.len();
    let mut i = 0;
    let space = |c: u8| c == b' ' || c == b'\t';
    while line.get(i).is_some_and(|&c| space(c)) {
        i += 1;
    }
    match line.get(i) {
        None => return Some(0),
        Some(b'#') if comments => return Some(0),
        _ => {}
    }
    let (count, after) = super::plain::small_count(line, i)?;
    i = after;
    while line.get(i).is_some_and(|&c| space(c)) {
        i += 1;
    }
    if line.get(i) != Some(&sep) {
        return None;
    }
    i += 1;
    let mut tiers: u16 = 0;
    let mut in_tie = false;
    let mut tie_members = 0usize;
    let mut ties = false;
    let mut ranked = 0usize;
    while let Some(&c) = line.get(i) {
        match c {
            b' ' | b'\t' | b',' => i += 1,
            b'{' if !in_tie => {
                in_tie = true;
                tie_members = 0;
                i += 1;
            }
            b'}' if in_tie => {
                in_tie = false;
                if tie_members > 0 {
                    tiers += 1;
                }
                ties |= tie_members > 1;
                i += 1;
            }
            b'0'..=b'9' => {
                let s = i;
                let mut a = 0usize;
                while let Some(&d) = line.get(i).filter(|d| d.is_ascii_digit()) {
                    if i - s >= 5 {
                        return None;
                    }
                    a = a * 10 + usize::from(d - b'0');
                    i += 1;
                }
                let slot = row.get_mut(a.checked_sub(1)?)?;
                if *slot != UNRANKED {
                    return None;
                }
                ranked += 1;
                if in_tie {
                    tie_members += 1;
                    *slot = tiers + 1;
                } else {
                    tiers += 1;
                    *slot = tiers;
                }
            }
            _ => return None,
        }
    }
    if in_tie || (ties && !rules.ties) || (rules.complete && ranked != n) {
        return None;
    }
    Some(count)
}

/// What the data type allows.
#[derive(Clone, Copy)]
struct Rules {
    /// Ties (`toc`, `toi`, or no known type).
    ties: bool,
    /// Only complete orders (`soc`, `toc`).
    complete: bool,
}

impl Rules {
    fn of(data_type: Option<&str>) -> Rules {
        Rules {
            ties: !matches!(data_type, Some("soc" | "soi")),
            complete: matches!(data_type, Some("soc" | "toc")),
        }
    }
}

/// Column (1-based, characters) of byte offset `at` in `line`.
fn col(line: &str, at: usize) -> usize {
    line[..at].chars().count() + 1
}

fn parse_current<'a, L>(text: &'a str, lines: impl Fn() -> L) -> Result<ParsedBallots, ParseError>
where
    L: Iterator<Item = (usize, &'a str)>,
{
    let mut n: Option<usize> = None;
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut data_type: Option<String> = None;
    let mut title = None;
    for (line_no, line) in comment_lines(text) {
        let Some(h) = line.trim_start().strip_prefix('#') else {
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
    // From the first ballot line: the plain lines in parallel, then the rest one by one.
    let text = unmarked(text);
    let Some((first_no, first)) = lines().find(|(_, l)| !l.trim_start().starts_with('#')) else {
        return parsed(ids, GroupingProfile::new(n), title);
    };
    let body = &text[offset(text, first)..];
    let rules = Rules::of(data_type.as_deref());
    let (mut profile, done) = read_plain_lines(body.as_bytes(), n, |line, row| {
        plain_line(line, b':', true, rules, row)
    });
    let rest = &body[done..];
    let rest_no = first_no + memchr::memchr_iter(b'\n', &body.as_bytes()[..done]).count();
    let mut row = vec![UNRANKED; n];
    let data = lines_from(rest, rest_no)
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    for (line_no, line) in data {
        let Some(colon) = line.find(':') else {
            return Err(ParseError::new(
                FORMAT,
                line_no,
                1,
                "expected `count: order`",
            ));
        };
        let count = parse_count(line_no, line, 0, &line[..colon])?;
        parse_order(line_no, line, colon + 1, data_type.as_deref(), &mut row)?;
        profile.push_row(&row, count);
    }
    parsed(ids, profile, title)
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

fn parse_old<'a, L>(text: &'a str, all_lines: impl Fn() -> L) -> Result<ParsedBallots, ParseError>
where
    L: Iterator<Item = (usize, &'a str)>,
{
    let Some((line_no, first)) = all_lines().next() else {
        return Err(ParseError::new(FORMAT, 1, 1, "empty file"));
    };
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
    // The header lines only; the ballots are read straight from the text.
    let lines: Vec<(usize, &str)> = all_lines().take(n + 2).collect();
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
    // After the header: the plain lines in parallel, then the rest one by one.
    let text = unmarked(text);
    let (last_no, last) = lines[n + 1];
    let after = offset(text, last) + last.len();
    let body_at =
        memchr::memchr(b'\n', &text.as_bytes()[after..]).map_or(text.len(), |i| after + i + 1);
    let body = &text[body_at..];
    let (mut profile, done) = read_plain_lines(body.as_bytes(), n, |line, row| {
        plain_line(line, b',', false, Rules::of(None), row)
    });
    let rest_no = last_no + 1 + memchr::memchr_iter(b'\n', &body.as_bytes()[..done]).count();
    let mut row = vec![UNRANKED; n];
    let data = lines_from(&body[done..], rest_no).filter(|(_, l)| !l.trim().is_empty());
    for (line_no, line) in data {
        let comma = line.find(',').unwrap_or(line.len());
        let count = parse_count(line_no, line, 0, &line[..comma])?;
        parse_order(line_no, line, (comma + 1).min(line.len()), None, &mut row)?;
        profile.push_row(&row, count);
    }
    parsed(ids, profile, None)
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

/// Parses `1,{2,3},4` starting at byte `start` of `line` into `row` (one stored rank per
/// alternative: tier `i` gets rank `i + 1`, `UNRANKED` for the others).
fn parse_order(
    line_no: usize,
    line: &str,
    start: usize,
    data_type: Option<&str>,
    row: &mut [u16],
) -> Result<(), ParseError> {
    let err = |at: usize, msg: String| ParseError::new(FORMAT, line_no, col(line, at), msg);
    let n = row.len();
    row.fill(UNRANKED);
    // Tiers so far; members of the open `{…}` (they get rank `tiers + 1`).
    let mut tiers: u16 = 0;
    let mut in_tie = false;
    let mut tie_members = 0usize;
    let mut ties = false;
    let mut ranked = 0usize;
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
                tie_members = 0;
                i += 1;
            }
            b'}' => {
                if !in_tie {
                    return Err(err(i, "`}` without `{`".into()));
                }
                in_tie = false;
                if tie_members > 0 {
                    tiers += 1;
                }
                ties |= tie_members > 1;
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
                if row[a - 1] != UNRANKED {
                    return Err(err(s, format!("alternative {a} appears twice")));
                }
                ranked += 1;
                if in_tie {
                    tie_members += 1;
                    row[a - 1] = tiers + 1;
                } else {
                    tiers += 1;
                    row[a - 1] = tiers;
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
        let complete = ranked == n;
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
    Ok(())
}

/// The parsed file: candidates named by `ids`.
fn parsed(
    ids: Vec<String>,
    profile: GroupingProfile,
    title: Option<String>,
) -> Result<ParsedBallots, ParseError> {
    let profile = profile
        .finish(ids)
        .map_err(|e| ParseError::new(FORMAT, 1, 1, e.to_string()))?;
    Ok(ParsedBallots {
        format: super::Format::PrefLib,
        names: profile.candidates().to_vec(),
        profile,
        seats: None,
        title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_format() {
        let text = "# FILE NAME: 00001-00000001.toi\n# TITLE: Test\n# DATA TYPE: toi\n\
                    # NUMBER ALTERNATIVES: 3\n# NUMBER VOTERS: 6\n\
                    # ALTERNATIVE NAME 1: Alice\n# ALTERNATIVE NAME 2: Bob\n\
                    # ALTERNATIVE NAME 3: Carol\n4: 1,{2,3}\n2: 3\n";
        let p = parse_preflib(text).unwrap();
        assert_eq!(p.title.as_deref(), Some("Test"));
        assert_eq!(p.profile.candidates(), &["Alice", "Bob", "Carol"]);
        assert_eq!(p.profile.num_ballots(), 6);
        assert_eq!(p.profile.line(0).0.ranks(), &[Some(1), Some(2), Some(2)]);
        assert_eq!(p.profile.line(1).0.ranks(), &[None, None, Some(1)]);
    }

    #[test]
    fn old_format() {
        let text = "3\n1,Alice\n2,Bob\n3,Carol\n5,5,2\n3,1,2,3\n2,{2,3},1\n";
        let p = parse_preflib(text).unwrap();
        assert_eq!(p.profile.candidates(), &["Alice", "Bob", "Carol"]);
        assert_eq!(p.profile.line(1).0.ranks(), &[Some(2), Some(1), Some(1)]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let h = "# DATA TYPE: soc\n# NUMBER ALTERNATIVES: 3\n";
        let e = parse_preflib(&format!("{h}2: 1,{{2,3}}\n")).unwrap_err();
        assert_eq!((e.line, e.column), (3, 3));
        assert!(e.message.contains("ties"), "{e}");
        let e = parse_preflib(&format!("{h}2: 1,2\n")).unwrap_err();
        assert!(e.message.contains("every alternative"), "{e}");
        let e = parse_preflib(&format!("{h}2: 1,4,2\n")).unwrap_err();
        assert_eq!((e.line, e.column), (3, 6));
        let e = parse_preflib(&format!("{h}x: 1,2,3\n")).unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        let e = parse_preflib(&format!("{h}1: 1,2,3\n1: 1,2,2\n")).unwrap_err();
        assert_eq!((e.line, e.column), (4, 8));
        let e = parse_preflib("# DATA TYPE: toi\n# NUMBER ALTERNATIVES: 2\n1: {1,2\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 8));
        let e = parse_preflib("# DATA TYPE: toi\n1: 1\n").unwrap_err();
        assert!(e.message.contains("NUMBER ALTERNATIVES"), "{e}");
        let e = parse_preflib("2\n1,A\n").unwrap_err();
        assert_eq!(e.line, 3);
    }
}
