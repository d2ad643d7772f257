//! Reader for Elekto's `ballots.csv` export (`GET /app/elections/<eid>/admin/download`).
//!
//! Format: line 1 = candidate IDs joined by `,`; then one line per voter, one cell per
//! candidate: an integer rank (1 = most preferred) or the literal `No opinion`; every line
//! ends with `\n`. Elekto never quotes; RFC 4180 quoting (`"a,b"`, `""` inside quotes) is
//! accepted too, as are a UTF-8 BOM and `\r\n` line ends. A cell of `100000000` (Elekto's
//! stored value for "No opinion") also means unranked. Negative or very large integers
//! (which Elekto itself does not validate) are accepted and renumbered in order, which is
//! how Elekto's count treats them.
//!
//! Rows with more cells than the header (Elekto's bug when a ballot names a candidate no
//! longer in the meta) are rejected with the line and column of the first extra cell.

use super::MAX_STARS;
use super::formats::plain::{in_pieces, lines_from};
use super::profile::{Profile, ProfileError, UNRANKED};
use crate::ballot::NO_OPINION;

/// A parse error with its 1-based line and column (column counted in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format}: line {line}, column {column}: {message}")]
pub struct ParseError {
    /// Which format was being read (`elekto-csv`, `blt`, `preflib`, `abif`).
    pub format: &'static str,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(
        format: &'static str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Self {
            format,
            line,
            column,
            message: message.into(),
        }
    }
}

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
    lines_from(text.strip_prefix('\u{feff}').unwrap_or(text), 1)
}

/// What the cells of a ballot line hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cells {
    /// Ranks (Elekto's ballots): any integer, renumbered in order where needed.
    Ranks,
    /// Scores of a STAR ballot: 0 to 5 stars, kept as they are; anything else is an error.
    Stars,
}

impl Cells {
    /// The largest value the fast path stores as it is.
    fn plain_max(self) -> u32 {
        match self {
            Cells::Ranks => u32::from(UNRANKED) - 1,
            Cells::Stars => u32::from(MAX_STARS),
        }
    }
}

/// One cell checked against `cells`: a rank or score, or `No opinion` / 100000000 (unranked).
fn push_cell(raw: &mut Vec<Option<i64>>, cell: &str, cells: Cells) -> Result<(), String> {
    read_cell(raw, cell)?;
    match (cells, raw.last()) {
        (Cells::Stars, Some(Some(v))) if !(0..=i64::from(MAX_STARS)).contains(v) => Err(format!(
            "a score is 0 to {MAX_STARS} stars or `No opinion`, found `{cell}`"
        )),
        _ => Ok(()),
    }
}

/// One cell: an integer rank, or `No opinion` / 100000000 (unranked).
fn read_cell(raw: &mut Vec<Option<i64>>, cell: &str) -> Result<(), String> {
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

/// The fast path for a typical line: exactly `m` cells, each a plain decimal value up to
/// `max` (no sign, no leading zero), `No opinion` or 100000000. Fills `row` with the stored
/// ranks; false for anything else, which the general path then reads (and reports).
#[inline]
fn plain_row(line: &[u8], m: usize, max: u32, row: &mut Vec<u16>) -> bool {
    row.clear();
    // A `\r` left at the end is not a line end here (the caller took one off already).
    !line.ends_with(b"\r") && plain_line_at(line, 0, m, max, row) == Some(line.len())
}

/// Reads the plain line (see [`plain_row`]) that starts at `b[i..]` and ends at the next `\n`
/// (a `\r` before it, or the end of `b`), appending its `m` stored ranks to `rows`; the offset
/// just after its line break. None (and `rows` holding part of the line) when it is not plain.
#[inline(always)]
fn plain_line_at(b: &[u8], mut i: usize, m: usize, max: u32, rows: &mut Vec<u16>) -> Option<usize> {
    const NO_OPINION_TEXT: &[u8] = b"No opinion";
    let mut cells = 0;
    loop {
        let first = *b.get(i)?;
        if first.is_ascii_digit() {
            let start = i;
            let mut v = u32::from(first - b'0');
            i += 1;
            // At most 9 digits (so no overflow); a 10th is refused below (not a separator).
            while let Some(&d) = b.get(i) {
                let d = d.wrapping_sub(b'0');
                if d > 9 || i - start >= 9 {
                    break;
                }
                v = v * 10 + u32::from(d);
                i += 1;
            }
            if first == b'0' && i - start > 1 {
                return None;
            }
            if v == NO_OPINION as u32 {
                rows.push(UNRANKED);
            } else if v <= max {
                rows.push(v as u16);
            } else {
                return None;
            }
        } else if b[i..].starts_with(NO_OPINION_TEXT) {
            i += NO_OPINION_TEXT.len();
            rows.push(UNRANKED);
        } else {
            return None;
        }
        cells += 1;
        match b.get(i) {
            Some(b',') if cells < m => i += 1,
            Some(b'\n') if cells == m => return Some(i + 1),
            None if cells == m => return Some(i),
            Some(b'\r') if cells == m && matches!(b.get(i + 1), None | Some(b'\n')) => {
                return Some((i + 2).min(b.len()));
            }
            _ => return None,
        }
    }
}

/// Reads the lines of `body` while they are plain (see [`plain_row`]): their stored ranks, one
/// row after the other, how many lines that is and their length in bytes (line breaks
/// included). A large body is split at line breaks between threads; the rows keep the file's
/// order.
fn plain_lines(body: &str, m: usize, max: u32) -> (Vec<u16>, usize, usize) {
    let mut rows: Vec<u16> = Vec::new();
    let mut done = 0;
    let mut bytes = 0;
    for (start, (part, lines, read, complete)) in
        in_pieces(body.as_bytes(), |piece| plain_chunk(piece, m, max))
    {
        if rows.is_empty() {
            rows = part;
        } else {
            rows.extend_from_slice(&part);
        }
        done += lines;
        bytes = start + read;
        if !complete {
            break;
        }
    }
    (rows, done, bytes)
}

/// [`plain_lines`] on one chunk of whole lines: (rows, lines read, bytes read, whether all
/// were plain).
fn plain_chunk(b: &[u8], m: usize, max: u32) -> (Vec<u16>, usize, usize, bool) {
    // About 2 + m·2 bytes per line: reserve roughly, no doubling of a large buffer.
    let mut rows: Vec<u16> = Vec::with_capacity(b.len() / 2 + m);
    let mut pos = 0;
    let mut done = 0;
    while pos < b.len() {
        let mark = rows.len();
        let Some(next) = plain_line_at(b, pos, m, max, &mut rows) else {
            rows.truncate(mark);
            return (rows, done, pos, false);
        };
        done += 1;
        pos = next;
    }
    (rows, done, pos, true)
}

/// Parses Elekto's `ballots.csv` into a profile (candidates in header order, one ballot per
/// line).
pub fn parse_elekto_csv(text: &str) -> Result<Profile, ParseError> {
    parse_elekto_csv_as(text, Cells::Ranks)
}

/// [`parse_elekto_csv`] with cells holding `values`: STAR's scores are kept as they are
/// (`No opinion` is a blank) and a value outside 0 to 5 is an error naming its line.
pub fn parse_elekto_csv_as(text: &str, values: Cells) -> Result<Profile, ParseError> {
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
    let mut row: Vec<u16> = Vec::with_capacity(m);
    // The plain lines at the start (usually all of them) are read fast, in parallel; the
    // rest line by line.
    let unmarked = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header_end = memchr::memchr(b'\n', unmarked.as_bytes());
    let body = header_end.map_or("", |i| &unmarked[i + 1..]);
    let max = values.plain_max();
    let (rows, done, read) = plain_lines(body, m, max);
    profile.append_stored(rows);
    // The rest, line by line (the header is line 1, then the `done` plain lines), read from
    // the line break before it with the empty piece in front of that break skipped: so that
    // a last empty line (`\n` alone) is a line, as in `numbered_lines` of the whole text.
    let rest = header_end.map_or("", |i| &unmarked[i + read..]);
    for (line_no, line) in lines_from(rest, 1 + done).skip(1) {
        if plain_row(line.as_bytes(), m, max, &mut row) {
            profile.push_stored(&row);
            continue;
        }
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
                push_cell(&mut raw, cell, values).map_err(|msg| {
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
                push_cell(&mut raw, cell, values)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_are_kept_as_they_are() {
        let text = "a,b,c\n5,0,No opinion\n\"3\",4,100000000\n";
        let p = parse_elekto_csv_as(text, Cells::Stars).unwrap();
        assert_eq!(p.line(0).0.ranks(), &[Some(5), Some(0), None]);
        assert_eq!(p.line(1).0.ranks(), &[Some(3), Some(4), None]);
    }

    #[test]
    fn stars_outside_zero_to_five_name_their_cell() {
        for (line, column, text) in [
            (2, 3, "a,b\n1,6\n"),
            (3, 1, "a,b\n1,2\n-1,2\n"),
            (2, 5, "a,b\n\"1\",70000\n"),
        ] {
            let e = parse_elekto_csv_as(text, Cells::Stars).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
            assert!(e.message.contains("0 to 5 stars"), "{e}");
        }
        // As ranks, the same values are renumbered in order (Elekto's count).
        let p = parse_elekto_csv("a,b\n1,2\n-1,2\n").unwrap();
        assert_eq!(p.line(1).0.ranks(), &[Some(1), Some(2)]);
    }

    #[test]
    fn reference_example() {
        // Reference §4.10.
        let p = parse_elekto_csv("dims,aaron,paris\n1,3,2\nNo opinion,1,2\n").unwrap();
        assert_eq!(p.candidates(), &["dims", "aaron", "paris"]);
        assert_eq!(p.num_ballots(), 2);
        assert_eq!(p.line(0).0.ranks(), &[Some(1), Some(3), Some(2)]);
        assert_eq!(p.line(1).0.ranks(), &[None, Some(1), Some(2)]);
    }

    #[test]
    fn lenient_bits() {
        let p = parse_elekto_csv("\u{feff}\"a,1\",b\r\n100000000,-4\r\n-1,99999999999\n").unwrap();
        assert_eq!(p.candidates(), &["a,1", "b"]);
        assert_eq!(p.line(0).0.ranks(), &[None, Some(1)]);
        assert_eq!(p.line(1).0.ranks(), &[Some(1), Some(2)]);
        // Header only: no ballots.
        let p = parse_elekto_csv("a,b\n").unwrap();
        assert_eq!(p.num_ballots(), 0);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_elekto_csv("").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        let e = parse_elekto_csv("a,b,a\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 5));
        let e = parse_elekto_csv("a,,b\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
        let e = parse_elekto_csv("alpha,beta\n1,2\n1,x2\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3));
        assert_eq!(
            e.to_string(),
            "elekto-csv: line 3, column 3: expected an integer rank or `No opinion`, found `x2`"
        );
        let e = parse_elekto_csv("a,b\n1,2,3\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 5));
        let e = parse_elekto_csv("a,b\n1\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 2));
        let e = parse_elekto_csv("a,b\n1,2\n\n1,2\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        let e = parse_elekto_csv("a,b\n\"1,2\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        let e = parse_elekto_csv("a,b\n1,no opinion\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
    }
}
