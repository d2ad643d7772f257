//! ABIF, the Aggregated Ballot Information Format (electorama/abif, grammar v0.31).
//!
//! ```text
//! # comment
//! {"title": "Example"}          metadata (only `title` is used)
//! =DGM:[Doña García Márquez]    candidate: key and display name (the `=` is optional)
//! 27: DGM > SBJ = SY > AM       count, then candidates; `>` ranks, `=` or `,` ties
//! 3: [Sue Ye] > DGM             bracketed names (a declared display name or a new key)
//! 26: DGM/5, SBJ/2, AM/0        ratings without `>`: ranked by rating, higher first
//! ```
//!
//! Candidate IDs are the keys, in order of declaration, then of first appearance on a ballot.
//! Candidates a ballot does not name are unranked.

use std::collections::HashMap;

use super::{Format, ParseError, ParsedBallots};
use crate::count::elekto_csv::numbered_lines;
use crate::count::profile::{GroupingProfile, UNRANKED};

const FORMAT: &str = "abif";

/// Reads one line; `pos` is a byte offset (columns are counted in characters for errors).
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Scanner<'a> {
    fn new(line: usize, text: &'a str) -> Self {
        Self { text, pos: 0, line }
    }

    fn err(&self, msg: impl Into<String>) -> ParseError {
        self.err_at(self.pos, msg)
    }

    fn err_at(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        let column = self.text[..pos].chars().count() + 1;
        ParseError::new(FORMAT, self.line, column, msg)
    }

    #[inline]
    fn peek(&self) -> Option<char> {
        match self.text.as_bytes().get(self.pos) {
            Some(&b) if b < 0x80 => Some(char::from(b)),
            Some(_) => self.text[self.pos..].chars().next(),
            None => None,
        }
    }

    /// Moves past `c` (the character just peeked).
    #[inline]
    fn bump(&mut self, c: char) {
        self.pos += c.len_utf8();
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.bump(c);
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        matches!(self.peek(), None | Some('#'))
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.bump(c);
            Ok(())
        } else {
            Err(self.err(format!("expected `{c}`")))
        }
    }

    fn integer(&mut self, what: &str) -> Result<u64, ParseError> {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.text[start..self.pos]
            .parse()
            .map_err(|_| self.err_at(start, format!("expected {what}")))
    }

    /// A key: bare word, `"quoted"` or `[bracketed]`. Returns (text, bracketed?).
    fn key(&mut self) -> Result<(&'a str, bool), ParseError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(open @ ('[' | '"')) => {
                let close = if open == '[' { ']' } else { '"' };
                self.bump(open);
                let s = self.pos;
                let Some(len) = self.text[s..].find(close) else {
                    self.pos = self.text.len();
                    return Err(self.err_at(start, format!("missing closing `{close}`")));
                };
                self.pos = s + len + 1;
                let text = &self.text[s..s + len];
                if text.trim().is_empty() {
                    return Err(self.err_at(start, "empty candidate name"));
                }
                Ok((text, open == '['))
            }
            Some(c) if c.is_alphanumeric() || c == '_' => {
                while let Some(c) = self
                    .peek()
                    .filter(|&c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    self.bump(c);
                }
                Ok((&self.text[start..self.pos], false))
            }
            _ => Err(self.err("expected a candidate")),
        }
    }
}

#[derive(Default)]
struct Candidates {
    keys: Vec<String>,
    names: Vec<String>,
    by_key: HashMap<String, usize>,
    /// First candidate with each display name.
    by_name: HashMap<String, usize>,
}

impl Candidates {
    fn add(&mut self, key: &str, name: &str) -> usize {
        let i = self.keys.len();
        self.keys.push(key.to_owned());
        self.names.push(name.to_owned());
        self.by_key.insert(key.to_owned(), i);
        self.by_name.entry(name.to_owned()).or_insert(i);
        i
    }

    fn declare(&mut self, key: &str, name: &str) -> Option<usize> {
        if self.by_key.contains_key(key) {
            return None;
        }
        Some(self.add(key, name))
    }

    fn resolve(&mut self, text: &str, bracketed: bool) -> usize {
        if let Some(&i) = self.by_key.get(text) {
            return i;
        }
        if bracketed && let Some(&i) = self.by_name.get(text) {
            return i;
        }
        self.add(text, text)
    }
}

/// Every ballot read, compactly: the candidates of all ballots in order, each marked when it
/// starts a new tier ([`NEW_TIER`]), and where each ballot ends.
#[derive(Default)]
struct Ballots {
    items: Vec<u32>,
    /// End (into `items`) and weight of every ballot.
    ballots: Vec<(usize, u32)>,
}

/// Marks a candidate in [`Ballots::items`] that starts a tier.
const NEW_TIER: u32 = 1 << 31;

/// Parses an ABIF file.
pub fn parse_abif(text: &str) -> Result<ParsedBallots, ParseError> {
    let mut cands = Candidates::default();
    let mut title = None;
    let mut ballots = Ballots::default();
    let mut scratch = Scratch::default();
    for (line_no, line) in numbered_lines(text) {
        let mut s = Scanner::new(line_no, line);
        if s.at_end() {
            continue;
        }
        match s.peek() {
            Some('{') => {
                s.pos += 1;
                if s.at_end() {
                    return Err(s.err("expected `}`"));
                }
                if s.peek() == Some('}') {
                    continue;
                }
                let (key, _) = s.key()?;
                s.expect(':')?;
                s.skip_ws();
                let value = if s.peek().is_some_and(|c| c.is_ascii_digit()) {
                    s.integer("a value")?.to_string()
                } else {
                    s.key()?.0.to_owned()
                };
                s.expect('}')?;
                if !s.at_end() {
                    return Err(s.err("unexpected text after `}`"));
                }
                if key == "title" {
                    title = Some(value);
                }
            }
            Some(c) if c.is_ascii_digit() => {
                let count = s.integer("a ballot count")?;
                let count =
                    u32::try_from(count).map_err(|_| s.err_at(0, "ballot count too large"))?;
                s.expect(':')?;
                vote(&mut s, &mut cands, &mut scratch, &mut ballots)?;
                ballots.ballots.push((ballots.items.len(), count));
            }
            _ => {
                if s.peek() == Some('=') {
                    s.pos += 1;
                }
                let start = s.pos;
                let (key, _) = s.key()?;
                s.expect(':')?;
                let (name, _) = s.key()?;
                if !s.at_end() {
                    return Err(s.err("unexpected text after the candidate name"));
                }
                if cands.declare(key, name).is_none() {
                    return Err(s.err_at(start, format!("candidate `{key}` declared twice")));
                }
            }
        }
    }
    let m = cands.keys.len();
    if m > crate::count::MAX_CANDIDATES {
        let e = crate::count::ProfileError::TooManyCandidates(m);
        return Err(ParseError::new(FORMAT, 1, 1, e.to_string()));
    }
    let mut profile = GroupingProfile::new(m);
    let mut row = vec![UNRANKED; m];
    let mut start = 0;
    for &(end, weight) in &ballots.ballots {
        row.fill(UNRANKED);
        let mut rank = 0u16;
        for &item in &ballots.items[start..end] {
            if item & NEW_TIER != 0 {
                rank += 1;
            }
            row[(item & !NEW_TIER) as usize] = rank;
        }
        start = end;
        profile.push_row(&row, weight);
    }
    let profile = profile
        .finish(cands.keys)
        .map_err(|e| ParseError::new(FORMAT, 1, 1, e.to_string()))?;
    Ok(ParsedBallots {
        format: Format::Abif,
        profile,
        names: cands.names,
        seats: None,
        title,
    })
}

/// Buffers reused from one vote line to the next.
#[derive(Default)]
struct Scratch {
    /// (candidate, rating, byte offset) of each candidate named.
    items: Vec<(usize, Option<u64>, usize)>,
    /// The separators between them.
    seps: Vec<char>,
}

/// Reads the candidates of one vote line and adds its tiers to `out`.
fn vote(
    s: &mut Scanner<'_>,
    cands: &mut Candidates,
    scratch: &mut Scratch,
    out: &mut Ballots,
) -> Result<(), ParseError> {
    let Scratch { items, seps } = scratch;
    items.clear();
    seps.clear();
    if s.at_end() {
        return Ok(());
    }
    loop {
        s.skip_ws();
        let at = s.pos;
        let (text, bracketed) = s.key()?;
        let c = cands.resolve(text, bracketed);
        if items.iter().any(|i| i.0 == c) {
            return Err(s.err_at(at, format!("candidate `{text}` appears twice")));
        }
        s.skip_ws();
        let rating = if s.peek() == Some('/') {
            s.pos += 1;
            Some(s.integer("a rating")?)
        } else {
            None
        };
        items.push((c, rating, at));
        if s.at_end() {
            break;
        }
        match s.peek() {
            Some(sep @ ('>' | '=' | ',')) => {
                seps.push(sep);
                s.pos += 1;
            }
            _ => return Err(s.err("expected `>`, `=` or `,`")),
        }
    }
    let ranked = seps.contains(&'>');
    let rated = items.iter().filter(|i| i.1.is_some()).count();
    if !ranked && rated > 0 {
        if rated != items.len() {
            let missing = items.iter().find(|i| i.1.is_none()).map_or(0, |i| i.2);
            return Err(s.err_at(missing, "a rated ballot needs a rating for every candidate"));
        }
        // Higher ratings first; equal ratings tie (stable: in the order named).
        items.sort_by_key(|i| std::cmp::Reverse(i.1));
        for (k, &(c, r, _)) in items.iter().enumerate() {
            let new_tier = k == 0 || items[k - 1].1 != r;
            out.items
                .push(c as u32 | if new_tier { NEW_TIER } else { 0 });
        }
        return Ok(());
    }
    out.items.push(items[0].0 as u32 | NEW_TIER);
    for (sep, item) in seps.iter().zip(&items[1..]) {
        let new_tier = *sep == '>';
        out.items
            .push(item.0 as u32 | if new_tier { NEW_TIER } else { 0 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranked_rated_and_declared() {
        let text = "# demo\n{\"title\": \"Demo\"}\n=DGM:[Doña García Márquez]\n=SBJ:[Steven B. Jensen]\n\
                    27: DGM > SBJ = SY > AM # trailing comment\n\
                    3: [Doña García Márquez]>AM\n\
                    2: DGM/5, SBJ/2, AM/5\n\
                    1:\n";
        let p = parse_abif(text).unwrap();
        assert_eq!(p.title.as_deref(), Some("Demo"));
        assert_eq!(
            p.names,
            vec!["Doña García Márquez", "Steven B. Jensen", "SY", "AM"]
        );
        let prof = &p.profile;
        assert_eq!(prof.candidates(), &["DGM", "SBJ", "SY", "AM"]);
        assert_eq!(prof.num_ballots(), 33);
        assert_eq!(
            prof.line(0).0.ranks(),
            &[Some(1), Some(2), Some(2), Some(3)]
        );
        assert_eq!(prof.line(1).0.ranks(), &[Some(1), None, None, Some(2)]);
        assert_eq!(prof.line(2).0.ranks(), &[Some(1), Some(2), None, Some(1)]);
        assert_eq!(prof.line(3).0.ranks(), &[None, None, None, None]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_abif("3: A > A\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 8));
        let e = parse_abif("3: A ; B\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 6));
        let e = parse_abif("\n3 A > B\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let e = parse_abif("2: A/1, B\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 9));
        let e = parse_abif("=A:[x]\n=A:[y]\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 2));
        let e = parse_abif("3: [A > B\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 4));
        let e = parse_abif("3: A >\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 7));
    }
}
