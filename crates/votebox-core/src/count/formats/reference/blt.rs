//! The reader as it was before issue 15 (the reference the fast reader is checked against).

use super::{ParseError, ParsedBallots, Token, build_profile};

const FORMAT: &str = "blt";

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let mut out = Vec::new();
    for (li, line) in text.lines().enumerate() {
        let line_no = li + 1;
        let mut chars = line.char_indices().peekable();
        let mut col = 0usize;
        while let Some((start, c)) = chars.next() {
            col += 1;
            if c.is_whitespace() {
                continue;
            }
            if c == '#' {
                break;
            }
            let start_col = col;
            if c == '"' {
                let mut end = None;
                for (i, c2) in chars.by_ref() {
                    col += 1;
                    if c2 == '"' {
                        end = Some(i + 1);
                        break;
                    }
                }
                let Some(end) = end else {
                    return Err(ParseError::new(
                        FORMAT,
                        line_no,
                        start_col,
                        "unterminated quoted name",
                    ));
                };
                out.push(Token {
                    text: &line[start..end],
                    line: line_no,
                    column: start_col,
                });
                continue;
            }
            let mut end = start + c.len_utf8();
            while let Some(&(i, c2)) = chars.peek() {
                if c2.is_whitespace() || c2 == '"' || c2 == '#' {
                    break;
                }
                end = i + c2.len_utf8();
                chars.next();
                col += 1;
            }
            out.push(Token {
                text: &line[start..end],
                line: line_no,
                column: start_col,
            });
        }
    }
    Ok(out)
}

/// Parses a BLT file.
pub fn parse_blt(text: &str) -> Result<ParsedBallots, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let tokens = tokenize(text)?;
    let mut it = tokens.iter().peekable();
    let end_pos = tokens
        .last()
        .map_or((1, 1), |t| (t.line, t.column + t.text.chars().count()));
    let eof = |what: &str| {
        ParseError::new(
            FORMAT,
            end_pos.0,
            end_pos.1,
            format!("expected {what}, found the end of the file"),
        )
    };
    let err = |t: &Token<'_>, msg: String| ParseError::new(FORMAT, t.line, t.column, msg);
    let number = |t: &Token<'_>, what: &str| -> Result<usize, ParseError> {
        t.text
            .parse::<usize>()
            .map_err(|_| err(t, format!("expected {what}, found `{}`", t.text)))
    };

    let t = it.next().ok_or_else(|| eof("the number of candidates"))?;
    let n = number(t, "the number of candidates")?;
    if n == 0 {
        return Err(err(t, "there must be at least one candidate".into()));
    }
    if n > crate::count::MAX_CANDIDATES {
        // Before `vec![…; n]` (found by tests/fuzz.rs: `usize::MAX` overflowed).
        return Err(err(
            t,
            format!(
                "too many candidates ({n}; at most {})",
                crate::count::MAX_CANDIDATES
            ),
        ));
    }
    let t = it.next().ok_or_else(|| eof("the number of seats"))?;
    let seats = number(t, "the number of seats")?;

    let mut withdrawn = vec![false; n];
    while let Some(t) = it.peek() {
        let Some(rest) = t.text.strip_prefix('-') else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        let c: usize = rest.parse().map_err(|_| {
            err(
                t,
                format!("expected a withdrawn candidate number, found `{}`", t.text),
            )
        })?;
        if c == 0 || c > n {
            return Err(err(t, format!("withdrawn candidate {c} is not in 1..={n}")));
        }
        withdrawn[c - 1] = true;
        it.next();
    }
    let mut ballots: Vec<(Vec<Vec<usize>>, u32, usize)> = Vec::new();
    loop {
        let mut t = it.next().ok_or_else(|| eof("a ballot weight or 0"))?;
        if t.text.starts_with('(') && t.text.ends_with(')') {
            t = it.next().ok_or_else(|| eof("a ballot weight"))?;
        }
        let weight: u32 = t.text.parse().map_err(|_| {
            err(
                t,
                format!("expected a ballot weight (integer), found `{}`", t.text),
            )
        })?;
        if weight == 0 {
            break;
        }
        let line = t.line;
        let mut tiers: Vec<Vec<usize>> = Vec::new();
        let mut seen = vec![false; n];
        loop {
            let t = it.next().ok_or_else(|| eof("a preference or 0"))?;
            if t.text == "0" {
                break;
            }
            if t.text == "-" {
                continue;
            }
            let mut tier = Vec::new();
            let mut col = t.column;
            for part in t.text.split('=') {
                let c: usize = part.parse().map_err(|_| {
                    ParseError::new(
                        FORMAT,
                        t.line,
                        col,
                        format!("expected a candidate number, found `{part}`"),
                    )
                })?;
                if c == 0 || c > n {
                    return Err(ParseError::new(
                        FORMAT,
                        t.line,
                        col,
                        format!("candidate {c} is not in 1..={n}"),
                    ));
                }
                if seen[c - 1] {
                    return Err(ParseError::new(
                        FORMAT,
                        t.line,
                        col,
                        format!("candidate {c} appears twice on one ballot"),
                    ));
                }
                seen[c - 1] = true;
                if !withdrawn[c - 1] {
                    tier.push(c - 1);
                }
                col += part.chars().count() + 1;
            }
            if !tier.is_empty() {
                tiers.push(tier);
            }
        }
        ballots.push((tiers, weight, line));
    }

    let mut names = Vec::with_capacity(n);
    for _ in 0..n {
        let t = it.next().ok_or_else(|| eof("a quoted candidate name"))?;
        let name = quoted(t)?;
        names.push(name);
    }
    let title = match it.next() {
        Some(t) => Some(quoted(t)?),
        None => None,
    };
    if let Some(t) = it.next() {
        return Err(err(t, format!("unexpected `{}` after the title", t.text)));
    }

    // Renumber without withdrawn candidates.
    let mut new_index = vec![usize::MAX; n];
    let mut ids = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        if !withdrawn[i] {
            new_index[i] = ids.len();
            ids.push(name);
        }
    }
    let ballots = ballots
        .into_iter()
        .map(|(tiers, w, line)| {
            let tiers = tiers
                .into_iter()
                .map(|t| t.into_iter().map(|c| new_index[c]).collect())
                .collect();
            (tiers, w, line)
        })
        .collect();
    let profile = build_profile(FORMAT, ids, ballots)?;
    Ok(ParsedBallots {
        format: crate::count::formats::Format::Blt,
        names: profile.candidates().to_vec(),
        profile,
        seats: Some(seats),
        title,
    })
}

fn quoted(t: &Token<'_>) -> Result<String, ParseError> {
    t.text
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| {
            ParseError::new(
                FORMAT,
                t.line,
                t.column,
                format!("expected a quoted name, found `{}`", t.text),
            )
        })
}
