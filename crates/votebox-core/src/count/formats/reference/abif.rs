//! The reader as it was before issue 15 (the reference the fast reader is checked against).

use super::csv::numbered_lines;
use super::{Format, ParseError, ParsedBallots, build_profile};

const FORMAT: &str = "abif";

struct Scanner {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Scanner {
    fn new(line: usize, text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
            line,
        }
    }

    fn err(&self, msg: impl Into<String>) -> ParseError {
        ParseError::new(FORMAT, self.line, self.pos + 1, msg)
    }

    fn err_at(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError::new(FORMAT, self.line, pos + 1, msg)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        matches!(self.peek(), None | Some('#'))
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
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
        let s: String = self.chars[start..self.pos].iter().collect();
        s.parse()
            .map_err(|_| self.err_at(start, format!("expected {what}")))
    }

    /// A key: bare word, `"quoted"` or `[bracketed]`. Returns (text, bracketed?).
    fn key(&mut self) -> Result<(String, bool), ParseError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(open @ ('[' | '"')) => {
                let close = if open == '[' { ']' } else { '"' };
                self.pos += 1;
                let s = self.pos;
                while self.peek().is_some_and(|c| c != close) {
                    self.pos += 1;
                }
                if self.peek().is_none() {
                    return Err(self.err_at(start, format!("missing closing `{close}`")));
                }
                let text: String = self.chars[s..self.pos].iter().collect();
                self.pos += 1;
                if text.trim().is_empty() {
                    return Err(self.err_at(start, "empty candidate name"));
                }
                Ok((text, open == '['))
            }
            Some(c) if c.is_alphanumeric() || c == '_' => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    self.pos += 1;
                }
                Ok((self.chars[start..self.pos].iter().collect(), false))
            }
            _ => Err(self.err("expected a candidate")),
        }
    }
}

#[derive(Default)]
struct Candidates {
    keys: Vec<String>,
    names: Vec<String>,
}

impl Candidates {
    fn declare(&mut self, key: String, name: String) -> Option<usize> {
        if self.keys.contains(&key) {
            return None;
        }
        self.keys.push(key);
        self.names.push(name);
        Some(self.keys.len() - 1)
    }

    fn resolve(&mut self, text: &str, bracketed: bool) -> usize {
        if let Some(i) = self.keys.iter().position(|k| k == text) {
            return i;
        }
        if bracketed && let Some(i) = self.names.iter().position(|n| n == text) {
            return i;
        }
        self.keys.push(text.to_owned());
        self.names.push(text.to_owned());
        self.keys.len() - 1
    }
}

/// Parses an ABIF file.
pub fn parse_abif(text: &str) -> Result<ParsedBallots, ParseError> {
    let mut cands = Candidates::default();
    let mut title = None;
    let mut ballots: Vec<(Vec<Vec<usize>>, u32, usize)> = Vec::new();
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
                    s.key()?.0
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
                ballots.push((vote(&mut s, &mut cands)?, count, line_no));
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
                if cands.declare(key.clone(), name).is_none() {
                    return Err(s.err_at(start, format!("candidate `{key}` declared twice")));
                }
            }
        }
    }
    let profile = build_profile(FORMAT, cands.keys, ballots)?;
    Ok(ParsedBallots {
        format: Format::Abif,
        profile,
        names: cands.names,
        seats: None,
        title,
    })
}

/// The candidates of one vote line, as tiers.
fn vote(s: &mut Scanner, cands: &mut Candidates) -> Result<Vec<Vec<usize>>, ParseError> {
    // (candidate, rating, column) and the separators between them.
    let mut items: Vec<(usize, Option<u64>, usize)> = Vec::new();
    let mut seps: Vec<char> = Vec::new();
    if s.at_end() {
        return Ok(Vec::new());
    }
    loop {
        s.skip_ws();
        let at = s.pos;
        let (text, bracketed) = s.key()?;
        let c = cands.resolve(&text, bracketed);
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
        let mut by_rating = items.clone();
        by_rating.sort_by_key(|i| std::cmp::Reverse(i.1));
        let mut tiers: Vec<Vec<usize>> = Vec::new();
        let mut prev = None;
        for (c, r, _) in by_rating {
            if prev == Some(r) {
                if let Some(t) = tiers.last_mut() {
                    t.push(c);
                }
            } else {
                tiers.push(vec![c]);
                prev = Some(r);
            }
        }
        return Ok(tiers);
    }
    let mut tiers = vec![vec![items[0].0]];
    for (sep, item) in seps.iter().zip(&items[1..]) {
        if *sep == '>' {
            tiers.push(vec![item.0]);
        } else if let Some(t) = tiers.last_mut() {
            t.push(item.0);
        }
    }
    Ok(tiers)
}
