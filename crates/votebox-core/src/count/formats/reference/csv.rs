//! The reader as it was before issue 15 (the reference the fast reader is checked against).

use crate::ballot::NO_OPINION;
use crate::count::elekto_csv::ParseError;
use crate::count::{Profile, ProfileError};

const FORMAT: &str = "elekto-csv";

/// Splits one CSV line into (column, cell) pairs, honouring RFC 4180 quotes.
pub(crate) fn split_csv_line(
    format: &'static str,
    line_no: usize,
    line: &str,
) -> Result<Vec<(usize, String)>, ParseError> {
    let mut cells = Vec::new();
    let mut chars = line.chars().peekable();
    let mut col = 1usize;
    loop {
        let start = col;
        let mut cell = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            col += 1;
            loop {
                match chars.next() {
                    None => {
                        return Err(ParseError::new(
                            format,
                            line_no,
                            start,
                            "unterminated quoted cell",
                        ));
                    }
                    Some('"') => {
                        col += 1;
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            col += 1;
                            cell.push('"');
                        } else {
                            break;
                        }
                    }
                    Some(c) => {
                        col += 1;
                        cell.push(c);
                    }
                }
            }
            match chars.peek() {
                None | Some(',') => {}
                Some(_) => {
                    return Err(ParseError::new(
                        format,
                        line_no,
                        col,
                        "unexpected character after a closing quote",
                    ));
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err(ParseError::new(
                        format,
                        line_no,
                        col,
                        "quote inside an unquoted cell",
                    ));
                }
                cell.push(c);
                chars.next();
                col += 1;
            }
        }
        cells.push((start, cell));
        match chars.next() {
            Some(',') => col += 1,
            None => return Ok(cells),
            Some(_) => unreachable!("cells end at a comma or the end of the line"),
        }
    }
}

/// Splits text into numbered lines: strips one BOM, `\r` before `\n`, and the empty piece
/// after a final newline.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    text.split('\n')
        .filter(move |_| !empty)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

/// One cell: an integer rank, or `No opinion` / 100000000 (unranked).
fn push_cell(raw: &mut Vec<Option<i64>>, cell: &str) -> Result<(), String> {
    // Plain decimal digits (the common case), without the general parser.
    let b = cell.as_bytes();
    if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        let v = b.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
        raw.push((v != i64::from(NO_OPINION)).then_some(v));
        return Ok(());
    }
    if cell == "No opinion" {
        raw.push(None);
        return Ok(());
    }
    match cell.parse::<i64>() {
        Ok(v) if v == i64::from(NO_OPINION) => raw.push(None),
        Ok(v) => raw.push(Some(v)),
        Err(_) => {
            return Err(format!(
                "expected an integer rank or `No opinion`, found `{cell}`"
            ));
        }
    }
    Ok(())
}

/// Parses Elekto's `ballots.csv` into a profile (candidates in header order, one ballot per
/// line).
pub fn parse_elekto_csv(text: &str) -> Result<Profile, ParseError> {
    let mut lines = numbered_lines(text);
    let Some((_, header)) = lines.next() else {
        return Err(ParseError::new(
            FORMAT,
            1,
            1,
            "empty file: missing the header line",
        ));
    };
    let head = split_csv_line(FORMAT, 1, header)?;
    for (col, id) in &head {
        if id.is_empty() {
            return Err(ParseError::new(FORMAT, 1, *col, "empty candidate ID"));
        }
    }
    let ids: Vec<String> = head.iter().map(|(_, id)| id.clone()).collect();
    let mut profile = Profile::new(ids).map_err(|e| {
        let col = match &e {
            ProfileError::DuplicateCandidate(id) => head
                .iter()
                .filter(|(_, c)| c == id)
                .nth(1)
                .map_or(1, |(col, _)| *col),
            _ => 1,
        };
        ParseError::new(FORMAT, 1, col, e.to_string())
    })?;
    let m = head.len();
    let mut raw: Vec<Option<i64>> = Vec::with_capacity(m);
    let mut ranks: Vec<Option<u32>> = Vec::with_capacity(m);
    for (line_no, line) in lines {
        if line.is_empty() {
            return Err(ParseError::new(FORMAT, line_no, 1, "empty line"));
        }
        raw.clear();
        let (quoted, commas) = line.bytes().fold((false, 0usize), |(q, n), b| {
            (q || b == b'"', n + usize::from(b == b','))
        });
        if !quoted {
            // Fast path (every Elekto export): nothing is quoted, so the cells are the
            // comma-separated pieces; nothing is allocated per cell.
            let count = commas + 1;
            if count != m {
                let col = match line.match_indices(',').nth(m.wrapping_sub(1)) {
                    Some((at, _)) if count > m => line[..=at].chars().count() + 1,
                    _ => line.chars().count() + 1,
                };
                return Err(ParseError::new(
                    FORMAT,
                    line_no,
                    col,
                    format!("{count} cells but the header names {m} candidates"),
                ));
            }
            let mut start = 0;
            for cell in line.split(',') {
                push_cell(&mut raw, cell).map_err(|msg| {
                    ParseError::new(FORMAT, line_no, line[..start].chars().count() + 1, msg)
                })?;
                start += cell.len() + 1;
            }
        } else {
            let cells = split_csv_line(FORMAT, line_no, line)?;
            if cells.len() != m {
                let col = cells.get(m).map_or(line.chars().count() + 1, |c| c.0);
                return Err(ParseError::new(
                    FORMAT,
                    line_no,
                    col,
                    format!("{} cells but the header names {m} candidates", cells.len()),
                ));
            }
            for (col, cell) in &cells {
                push_cell(&mut raw, cell)
                    .map_err(|msg| ParseError::new(FORMAT, line_no, *col, msg))?;
            }
        }
        ranks.clear();
        if raw
            .iter()
            .flatten()
            .all(|&v| (0..=i64::from(u32::MAX)).contains(&v))
        {
            ranks.extend(raw.iter().map(|v| v.map(|v| v as u32)));
        } else {
            let mut distinct: Vec<i64> = raw.iter().flatten().copied().collect();
            distinct.sort_unstable();
            distinct.dedup();
            ranks.extend(
                raw.iter()
                    .map(|v| v.map(|v| distinct.partition_point(|&x| x < v) as u32 + 1)),
            );
        }
        profile
            .push_ranks(&ranks, 1)
            .map_err(|e| ParseError::new(FORMAT, line_no, 1, e.to_string()))?;
    }
    Ok(profile)
}
