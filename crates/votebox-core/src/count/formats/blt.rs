//! BLT ballot files (OpenSTV, Electoral Reform Society).
//!
//! ```text
//! 4 2            number of candidates, seats
//! -4             optional withdrawn candidates (negative numbers)
//! 3 1 2 0        weight, preferences (1-based candidate numbers), 0
//! 2 2=3 1 0      `=` joins equal preferences; `-` is a skipped preference
//! 0              end of ballots
//! "Adam"         one quoted name per candidate
//! "Basil"
//! "Charlotte"
//! "Donald"
//! "Title"        optional title
//! ```
//!
//! Tokens are separated by whitespace (line breaks do not matter), `#` starts a comment
//! outside quotes, and an optional ballot ID in parentheses may precede a weight. Withdrawn
//! candidates are left out of the profile (and out of every ballot). Candidate IDs are the
//! names.

use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

use super::plain::{Pending, Piece, read_plain};
use super::{ParseError, ParsedBallots};
use crate::count::profile::{GroupingProfile, UNRANKED};

const FORMAT: &str = "blt";

/// A token: its byte range in the text (line and column are worked out only for an error).
#[derive(Debug, Clone, Copy)]
struct Tok {
    start: usize,
    end: usize,
}

/// Reads tokens one at a time, straight from the bytes (no allocation per token).
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    /// The token after the current position, once looked at.
    peeked: Option<Tok>,
    /// The last token returned (for "end of the file" errors).
    last: Option<Tok>,
    /// An unterminated quote met while scanning (the scan then reports the end).
    error: Option<ParseError>,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            peeked: None,
            last: None,
            error: None,
        }
    }

    fn str(&self, t: Tok) -> &'a str {
        &self.text[t.start..t.end]
    }

    /// Line (from 1) and column (from 1, in characters) of byte offset `at`.
    fn position(&self, at: usize) -> (usize, usize) {
        let before = &self.text.as_bytes()[..at];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        (line, self.text[line_start..at].chars().count() + 1)
    }

    fn err_at(&self, at: usize, msg: String) -> ParseError {
        let (line, column) = self.position(at);
        ParseError::new(FORMAT, line, column, msg)
    }

    fn err(&self, t: Tok, msg: String) -> ParseError {
        self.err_at(t.start, msg)
    }

    /// The "end of the file" error: just after the last token.
    fn eof(&self, what: &str) -> ParseError {
        let (line, column) = self.last.map_or((1, 1), |t| {
            let (line, column) = self.position(t.start);
            (line, column + self.str(t).chars().count())
        });
        ParseError::new(
            FORMAT,
            line,
            column,
            format!("expected {what}, found the end of the file"),
        )
    }

    fn peek(&mut self) -> Result<Option<Tok>, ParseError> {
        if self.peeked.is_none() {
            self.peeked = self.scan();
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.peeked),
        }
    }

    fn next(&mut self) -> Result<Option<Tok>, ParseError> {
        let t = match self.peeked.take() {
            Some(t) => Some(t),
            None => self.scan(),
        };
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if t.is_some() {
            self.last = t;
        }
        Ok(t)
    }

    #[inline(always)]
    fn expect(&mut self, what: &str) -> Result<Tok, ParseError> {
        if self.peeked.is_none()
            && let Some(t) = self.scan()
        {
            self.last = Some(t);
            return Ok(t);
        }
        self.next()?.ok_or_else(|| self.eof(what))
    }

    #[inline(always)]
    fn scan(&mut self) -> Option<Tok> {
        let b = self.text.as_bytes();
        // Skip whitespace (Unicode's, as `char::is_whitespace`) and `#` comments.
        loop {
            let &c = b.get(self.pos)?;
            match CLASS[usize::from(c)] {
                SPACE => self.pos += 1,
                HASH => {
                    self.pos =
                        memchr::memchr(b'\n', &b[self.pos..]).map_or(b.len(), |i| self.pos + i);
                }
                WIDE => match self.text[self.pos..].chars().next() {
                    Some(ch) if ch.is_whitespace() => self.pos += ch.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        let start = self.pos;
        if b[start] == b'"' {
            let line_end = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i);
            let Some(close) = memchr::memchr(b'"', &b[start + 1..line_end]) else {
                self.error = Some(self.err_at(start, "unterminated quoted name".into()));
                self.pos = b.len();
                return None;
            };
            self.pos = start + 1 + close + 1;
            return Some(Tok {
                start,
                end: self.pos,
            });
        }
        let mut end = start;
        while let Some(&c) = b.get(end) {
            match CLASS[usize::from(c)] {
                WORD => end += 1,
                WIDE => match self.text[end..].chars().next() {
                    Some(ch) if !ch.is_whitespace() => end += ch.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        self.pos = end;
        Some(Tok { start, end })
    }
}

/// Byte classes for the lexer.
const WORD: u8 = 0;
const SPACE: u8 = 1;
const QUOTE: u8 = 3;
const HASH: u8 = 4;
/// The first byte of a non-ASCII character (whitespace or not).
const WIDE: u8 = 5;
const CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    let mut i = 0x80;
    while i < 256 {
        t[i] = WIDE;
        i += 1;
    }
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[0x0b] = SPACE;
    t[0x0c] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[b'"' as usize] = QUOTE;
    t[b'#' as usize] = HASH;
    t
};

/// Finds the first quoted name left open on its line, before anything else is read (an
/// unterminated quote is the first error reported, wherever it is). Quotes in comments do not
/// count.
fn check_quotes(lx: &Lexer<'_>) -> Result<(), ParseError> {
    let b = lx.text.as_bytes();
    let mut pos = 0;
    while let Some(i) = memchr::memchr2(b'"', b'#', &b[pos..]) {
        let at = pos + i;
        if b[at] == b'#' {
            match memchr::memchr(b'\n', &b[at..]) {
                Some(j) => pos = at + j,
                None => return Ok(()),
            }
            continue;
        }
        match memchr::memchr2(b'"', b'\n', &b[at + 1..]) {
            Some(j) if b[at + 1 + j] == b'"' => pos = at + 1 + j + 1,
            _ => return Err(lx.err_at(at, "unterminated quoted name".into())),
        }
    }
    Ok(())
}

/// Parses a BLT file.
pub fn parse_blt(text: &str) -> Result<ParsedBallots, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lx = Lexer::new(text);
    check_quotes(&lx)?;
    let number = |lx: &Lexer<'_>, t: Tok, what: &str| -> Result<usize, ParseError> {
        lx.str(t)
            .parse::<usize>()
            .map_err(|_| lx.err(t, format!("expected {what}, found `{}`", lx.str(t))))
    };

    let t = lx.expect("the number of candidates")?;
    let n = number(&lx, t, "the number of candidates")?;
    if n == 0 {
        return Err(lx.err(t, "there must be at least one candidate".into()));
    }
    if n > crate::count::MAX_CANDIDATES {
        // Before `vec![…; n]` (found by tests/fuzz.rs: `usize::MAX` overflowed).
        return Err(lx.err(
            t,
            format!(
                "too many candidates ({n}; at most {})",
                crate::count::MAX_CANDIDATES
            ),
        ));
    }
    let t = lx.expect("the number of seats")?;
    let seats = number(&lx, t, "the number of seats")?;

    let mut withdrawn = vec![false; n];
    let mut nicknames: Option<Nicknames<'_>> = None;
    while let Some(t) = lx.peek()? {
        let s = lx.str(t);
        if s.starts_with('[') {
            option(&mut lx, n, &mut nicknames, &mut withdrawn)?;
            continue;
        }
        let Some(rest) = s.strip_prefix('-') else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        let c: usize = rest.parse().map_err(|_| {
            lx.err(
                t,
                format!("expected a withdrawn candidate number, found `{s}`"),
            )
        })?;
        if c == 0 || c > n {
            return Err(lx.err(t, format!("withdrawn candidate {c} is not in 1..={n}")));
        }
        withdrawn[c - 1] = true;
        lx.next()?;
    }

    // Candidates without the withdrawn ones; names come at the end of the file.
    let mut new_index = vec![usize::MAX; n];
    let mut kept = 0;
    for (i, w) in withdrawn.iter().enumerate() {
        if !w {
            new_index[i] = kept;
            kept += 1;
        }
    }
    let mut row = vec![UNRANKED; kept];
    // Ballot number (from 1) that last named each candidate: catches a candidate named twice.
    let mut seen = vec![0usize; n];
    // The plain ballots first, in parallel for a large file (usually all of them); then the
    // rest token by token.
    let start = lx.peeked.map_or(lx.pos, |t| t.start);
    let plain = Plain {
        nicknames: nicknames.as_ref(),
        n,
        withdrawn: &withdrawn,
        new_index: &new_index,
    };
    let (mut profile, end) = read_plain(&text.as_bytes()[start..], kept, |piece| {
        plain.piece(piece, kept)
    });
    if end > 0 {
        let end = start + end;
        lx.peeked = None;
        lx.pos = end;
        lx.last = Some(Tok {
            start: end - 1,
            end,
        });
    }
    let mut ballot_no = 0usize;
    loop {
        let mut t = lx.expect("a ballot weight or 0")?;
        let s = lx.str(t);
        if s.starts_with('(') && s.ends_with(')') {
            t = lx.expect("a ballot weight")?;
        }
        let s = lx.str(t);
        let weight: u32 = s.parse().map_err(|_| {
            lx.err(
                t,
                format!("expected a ballot weight (integer), found `{s}`"),
            )
        })?;
        if weight == 0 {
            break;
        }
        ballot_no += 1;
        row.fill(UNRANKED);
        let plain = Plain {
            nicknames: nicknames.as_ref(),
            n,
            withdrawn: &withdrawn,
            new_index: &new_index,
        };
        if let Some(end) = plain.ballot(text.as_bytes(), lx.pos, &mut row, &mut seen, ballot_no) {
            lx.pos = end;
            lx.last = Some(Tok {
                start: end - 1,
                end,
            });
            profile.push_row(&row, weight);
            continue;
        }
        // Not plain (or wrong): read it again token by token, for the exact error if any.
        ballot_no += 1;
        row.fill(UNRANKED);
        let mut rank: u16 = 0;
        loop {
            let t = lx.expect("a preference or 0")?;
            let s = &text.as_bytes()[t.start..t.end];
            if s == b"0" {
                break;
            }
            if s == b"-" {
                continue;
            }
            let mut tier_has_member = false;
            let mut at = t.start;
            let mut rest = Some(s);
            while let Some(tail) = rest {
                // `split(|b| b == b'=')` by hand: tokens are short, this is the hot loop.
                let (part, after) = match tail.iter().position(|&b| b == b'=') {
                    Some(i) => (&tail[..i], Some(&tail[i + 1..])),
                    None => (tail, None),
                };
                rest = after;
                let part_err = |msg: String| lx.err_at(at, msg);
                let c = candidate(nicknames.as_ref(), part, n).map_err(part_err)?;
                if seen[c] == ballot_no {
                    return Err(part_err(format!(
                        "candidate {} appears twice on one ballot",
                        c + 1
                    )));
                }
                seen[c] = ballot_no;
                if !withdrawn[c] {
                    if !tier_has_member {
                        tier_has_member = true;
                        rank += 1;
                    }
                    row[new_index[c]] = rank;
                }
                at += part.len() + 1;
            }
        }
        profile.push_row(&row, weight);
    }

    let mut names = Vec::with_capacity(n);
    for _ in 0..n {
        let t = lx.expect("a quoted candidate name")?;
        names.push(quoted(&lx, t)?);
    }
    let title = match lx.next()? {
        Some(t) => Some(quoted(&lx, t)?),
        None => None,
    };
    if let Some(t) = lx.next()? {
        return Err(lx.err(t, format!("unexpected `{}` after the title", lx.str(t))));
    }

    let ids: Vec<String> = names
        .into_iter()
        .zip(&withdrawn)
        .filter(|(_, w)| !**w)
        .map(|(name, _)| name)
        .collect();
    let profile = profile
        .finish(ids)
        .map_err(|e| ParseError::new(FORMAT, 1, 1, e.to_string()))?;
    Ok(ParsedBallots {
        format: super::Format::Blt,
        names: profile.candidates().to_vec(),
        profile,
        seats: Some(seats),
        title,
    })
}
fn quoted(lx: &Lexer<'_>, t: Tok) -> Result<String, ParseError> {
    let s = lx.str(t);
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| lx.err(t, format!("expected a quoted name, found `{s}`")))
}

/// The fast path for the ballots of a typical file: plain ASCII tokens separated by ASCII
/// whitespace, every candidate known and named once.
struct Plain<'p, 'a> {
    nicknames: Option<&'p Nicknames<'a>>,
    n: usize,
    withdrawn: &'p [bool],
    new_index: &'p [usize],
}

impl Plain<'_, '_> {
    /// Reads the plain ballots (weight, preferences, `0`) of `b` up to the first that is not
    /// plain, or the end of the ballots.
    fn piece(&self, b: &[u8], kept: usize) -> Piece {
        let mut profile = GroupingProfile::new(kept);
        let mut pending = Pending::new(kept);
        let mut row = vec![UNRANKED; kept];
        let mut seen = vec![0usize; self.n];
        let mut ballot_no = 0;
        let mut at = 0;
        let mut end = 0;
        let space = |at: usize| b.get(at).is_some_and(|&c| PLAIN[usize::from(c)] == P_SPACE);
        loop {
            while space(at) {
                at += 1;
            }
            if at == b.len() {
                pending.flush(&mut profile);
                return Piece {
                    profile,
                    end,
                    complete: true,
                };
            }
            let s = at;
            let mut weight: u32 = 0;
            while let Some(&d) = b.get(at).filter(|d| d.is_ascii_digit()) {
                if at - s >= 9 {
                    break;
                }
                weight = weight * 10 + u32::from(d - b'0');
                at += 1;
            }
            ballot_no += 1;
            let ballot = if at > s && weight > 0 && space(at) {
                if self.nicknames.is_none() {
                    self.numbers(b, at, &mut row, &mut seen, ballot_no)
                } else {
                    self.ballot(b, at, &mut row, &mut seen, ballot_no)
                }
            } else {
                None
            };
            let Some(e) = ballot else {
                pending.flush(&mut profile);
                return Piece {
                    profile,
                    end,
                    complete: false,
                };
            };
            pending.push(&row, weight, &mut profile);
            row.fill(UNRANKED);
            at = e;
            end = e;
        }
    }

    /// [`Plain::ballot`] for candidates given by number (no `[nick]`), in one tight loop.
    #[inline(always)]
    fn numbers(
        &self,
        b: &[u8],
        mut at: usize,
        row: &mut [u16],
        seen: &mut [usize],
        ballot_no: usize,
    ) -> Option<usize> {
        // The byte at `i`, a line break past the end (which ends a token).
        let byte = |i: usize| b.get(i).copied().unwrap_or(b'\n');
        let mut rank: u16 = 0;
        loop {
            while PLAIN[usize::from(*b.get(at)?)] == P_SPACE {
                at += 1;
            }
            let mut c = b[at];
            if c == b'-' && PLAIN[usize::from(byte(at + 1))] == P_SPACE {
                at += 1;
                continue;
            }
            let mut tier_has_member = false;
            let token = at;
            loop {
                let start = at;
                let mut v = 0usize;
                while c.is_ascii_digit() {
                    // Wraps only past 9 digits, which are refused below.
                    v = v.wrapping_mul(10).wrapping_add(usize::from(c - b'0'));
                    at += 1;
                    c = byte(at);
                }
                let ends_token = match c {
                    b'=' => false,
                    c if PLAIN[usize::from(c)] == P_SPACE => true,
                    _ => return None,
                };
                let len = at - start;
                if len == 0 || len > 9 || b[start] == b'0' {
                    return (start == token && ends_token && len == 1 && v == 0).then_some(at);
                }
                if v > self.n {
                    return None;
                }
                let cand = v - 1;
                if seen[cand] == ballot_no {
                    return None;
                }
                seen[cand] = ballot_no;
                let slot = self.new_index[cand];
                if slot != usize::MAX {
                    if !tier_has_member {
                        tier_has_member = true;
                        rank += 1;
                    }
                    row[slot] = rank;
                }
                if ends_token {
                    break;
                }
                at += 1;
                c = byte(at);
            }
        }
    }

    /// Reads the preferences of one ballot from byte `at` through its closing `0` into `row`
    /// and returns the offset after it; None for anything else (comments, quotes, non-ASCII,
    /// ballot IDs, errors), which the general lexer then reads.
    #[inline(always)]
    fn ballot(
        &self,
        b: &[u8],
        mut at: usize,
        row: &mut [u16],
        seen: &mut [usize],
        ballot_no: usize,
    ) -> Option<usize> {
        let mut rank: u16 = 0;
        loop {
            while PLAIN[usize::from(*b.get(at)?)] == P_SPACE {
                at += 1;
            }
            // One token: parts separated by `=`.
            let token = at;
            let mut tier_has_member = false;
            loop {
                let start = at;
                let mut key = 0u64;
                while let Some(&c) = b.get(at) {
                    if PLAIN[usize::from(c)] != P_WORD {
                        break;
                    }
                    if at - start < 7 {
                        key |= u64::from(c) << (8 * (at - start));
                    }
                    at += 1;
                }
                let part = &b[start..at];
                let ends_token = match b.get(at) {
                    Some(b'=') => false,
                    None => true,
                    Some(&c) if PLAIN[usize::from(c)] == P_SPACE => true,
                    Some(_) => return None,
                };
                if start == token && ends_token {
                    match part {
                        b"0" => return Some(at),
                        b"-" => break,
                        _ => {}
                    }
                }
                if part.is_empty() {
                    return None;
                }
                let c = match self.nicknames {
                    Some(nicks) if part.len() <= 7 => {
                        nicks.get_packed(key | ((part.len() as u64) << 56))?
                    }
                    Some(_) => return None,
                    None => {
                        if part.len() > 9 || part[0] == b'0' || !part.iter().all(u8::is_ascii_digit)
                        {
                            return None;
                        }
                        let c = part
                            .iter()
                            .fold(0usize, |v, &d| v * 10 + usize::from(d - b'0'));
                        if c == 0 || c > self.n {
                            return None;
                        }
                        c - 1
                    }
                };
                if seen[c] == ballot_no {
                    return None;
                }
                seen[c] = ballot_no;
                if !self.withdrawn[c] {
                    if !tier_has_member {
                        tier_has_member = true;
                        rank += 1;
                    }
                    row[self.new_index[c]] = rank;
                }
                if ends_token {
                    break;
                }
                at += 1;
            }
            match b.get(at) {
                Some(&c) if PLAIN[usize::from(c)] == P_SPACE => {}
                _ => return None,
            }
        }
    }
}

/// Byte classes of the fast path: a plain token byte, ASCII whitespace, or anything else.
const P_WORD: u8 = 0;
const P_SPACE: u8 = 1;
const P_OTHER: u8 = 2;
const PLAIN: [u8; 256] = {
    let mut t = [P_OTHER; 256];
    let mut c = b'!';
    while c <= b'~' {
        t[c as usize] = P_WORD;
        c += 1;
    }
    t[b'"' as usize] = P_OTHER;
    t[b'#' as usize] = P_OTHER;
    t[b'=' as usize] = P_OTHER;
    t[b'(' as usize] = P_OTHER;
    t[b'[' as usize] = P_OTHER;
    t[b' ' as usize] = P_SPACE;
    t[b'\t' as usize] = P_SPACE;
    t[b'\r' as usize] = P_SPACE;
    t[b'\n' as usize] = P_SPACE;
    t[0x0b] = P_SPACE;
    t[0x0c] = P_SPACE;
    t
};

/// Candidate index by nickname. Nicknames of up to 7 bytes (the usual case) are packed into
/// an integer and found in a small open-addressing table; longer ones in a hash map.
struct Nicknames<'a> {
    /// (packed nickname, candidate); 0 = free (a packed nickname is never 0).
    slots: Vec<(u64, usize)>,
    /// 64 − log2(slots.len()).
    shift: u32,
    long: FastMap<&'a str, usize>,
}

impl<'a> Nicknames<'a> {
    fn with_capacity(n: usize) -> Self {
        let size = (2 * n).next_power_of_two().max(16);
        Self {
            slots: vec![(0, 0); size],
            shift: 64 - size.trailing_zeros(),
            long: FastMap::default(),
        }
    }

    /// Up to 7 bytes and the length, in one integer.
    #[inline(always)]
    fn pack(b: &[u8]) -> Option<u64> {
        if b.len() > 7 {
            return None;
        }
        let mut v = (b.len() as u64) << 56;
        for (i, &x) in b.iter().enumerate() {
            v |= u64::from(x) << (8 * i);
        }
        Some(v)
    }

    #[inline(always)]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// False if the nickname was already there.
    fn insert(&mut self, nick: &'a str, c: usize) -> bool {
        let Some(key) = Self::pack(nick.as_bytes()) else {
            return self.long.insert(nick, c).is_none();
        };
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            match self.slots[i] {
                (0, _) => {
                    self.slots[i] = (key, c);
                    return true;
                }
                (k, _) if k == key => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    #[inline(always)]
    fn get(&self, nick: &[u8]) -> Option<usize> {
        match Self::pack(nick) {
            Some(key) => self.get_packed(key),
            None => std::str::from_utf8(nick)
                .ok()
                .and_then(|s| self.long.get(s).copied()),
        }
    }

    #[inline(always)]
    fn get_packed(&self, key: u64) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            match self.slots[i] {
                (0, _) => return None,
                (k, c) if k == key => return Some(c),
                _ => i = (i + 1) & mask,
            }
        }
    }
}

/// A candidate of a ballot (index from 0): its number, or its nickname when the file gives
/// them (`[nick …]`).
#[inline(always)]
fn candidate(nicknames: Option<&Nicknames<'_>>, part: &[u8], n: usize) -> Result<usize, String> {
    let text = || String::from_utf8_lossy(part).into_owned();
    if let Some(nicks) = nicknames {
        return nicks
            .get(part)
            .ok_or_else(|| format!("expected a candidate nickname, found `{}`", text()));
    }
    let c: usize = if !part.is_empty() && part.len() <= 18 && part.iter().all(u8::is_ascii_digit) {
        part.iter().fold(0, |v, &d| v * 10 + usize::from(d - b'0'))
    } else {
        text()
            .parse()
            .map_err(|_| format!("expected a candidate number, found `{}`", text()))?
    };
    if c == 0 || c > n {
        return Err(format!("candidate {c} is not in 1..={n}"));
    }
    Ok(c - 1)
}

/// An option of Droop's BLT dialect (also read by stv-rs), before the ballots: `[nick a b …]`
/// names the candidates for the ballots, `[withdrawn a …]` withdraws some (by nickname, or
/// number without `[nick]`), `[tie a b …]` is a tie-break order (read and ignored: votebox
/// reports ties, or breaks them with `--tie-break-seed`).
fn option<'a>(
    lx: &mut Lexer<'a>,
    n: usize,
    nicknames: &mut Option<Nicknames<'a>>,
    withdrawn: &mut [bool],
) -> Result<(), ParseError> {
    let open = lx.expect("an option")?;
    let first = lx.str(open);
    let mut closed = first.len() > 1 && first.ends_with(']');
    let kind = first.trim_start_matches('[').trim_end_matches(']');
    let mut values: Vec<(Tok, &'a str)> = Vec::new();
    while !closed {
        let t = lx.expect("`]`")?;
        let s = lx.str(t);
        closed = s.ends_with(']');
        let v = s.trim_end_matches(']');
        if !v.is_empty() {
            values.push((t, v));
        }
    }
    match kind {
        "nick" => {
            if values.len() != n {
                return Err(lx.err(
                    open,
                    format!("`[nick]` names {} candidates, expected {n}", values.len()),
                ));
            }
            let mut map = Nicknames::with_capacity(n);
            for (i, &(t, v)) in values.iter().enumerate() {
                if !map.insert(v, i) {
                    return Err(lx.err(t, format!("nickname `{v}` given twice")));
                }
            }
            *nicknames = Some(map);
        }
        "withdrawn" => {
            for &(t, v) in &values {
                let c = candidate(nicknames.as_ref(), v.as_bytes(), n).map_err(|m| lx.err(t, m))?;
                withdrawn[c] = true;
            }
        }
        "tie" => {}
        other => {
            return Err(lx.err(
                open,
                format!("unknown option `[{other}]` (expected nick, withdrawn or tie)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "4 2\n-4\n3 1 2 0\n4 1 2=3 0\n(b7) 2 3 - 1 0\n1 4 0\n0\n\"Adam\"\n\"Basil\"\n\"Charlotte\"\n\"Donald\"\n\"Sample election\" # comment\n";

    #[test]
    fn parses_sample() {
        let p = parse_blt(SAMPLE).unwrap();
        assert_eq!(p.seats, Some(2));
        assert_eq!(p.title.as_deref(), Some("Sample election"));
        let prof = &p.profile;
        assert_eq!(prof.candidates(), &["Adam", "Basil", "Charlotte"]);
        assert_eq!(prof.num_ballots(), 10);
        assert_eq!(
            prof.line(0),
            (crate::count::Ballot::new(vec![Some(1), Some(2), None]), 3)
        );
        assert_eq!(prof.line(1).0.ranks(), &[Some(1), Some(2), Some(2)]);
        assert_eq!(prof.line(2).0.ranks(), &[Some(2), None, Some(1)]);
        // Ballot for the withdrawn Donald only: blank.
        assert_eq!(prof.line(3).0.ranks(), &[None, None, None]);
    }

    /// Droop's dialect, as stv-rs reads and writes it: ballots by nickname.
    #[test]
    fn nicknames_withdrawn_and_tie_options() {
        let text = "4 2\n[nick a b c d]\n[withdrawn d]\n[tie d c b a]\n3 a b 0\n2 b=c a 0\n\
                    1 d 0\n2 b=c a 0\n0\n\"A\"\n\"B\"\n\"C\"\n\"D\"\n\"T\"\n";
        let p = parse_blt(text).unwrap();
        let prof = &p.profile;
        assert_eq!(prof.candidates(), &["A", "B", "C"]);
        assert_eq!(prof.num_ballots(), 8);
        // Identical ballots are merged as they are read.
        assert_eq!(prof.num_lines(), 3);
        assert_eq!(prof.line(1).0.ranks(), &[Some(2), Some(1), Some(1)]);
        assert_eq!(prof.line(1).1, 4);
        assert_eq!(prof.line(2).0.ranks(), &[None, None, None]);
        let e = parse_blt("2 1\n[nick a b]\n1 a c 0\n0\n\"A\"\n\"B\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 5));
        assert!(e.message.contains("nickname"), "{e}");
        let e = parse_blt("2 1\n[nick a]\n0\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        let e = parse_blt("2 1\n[seats 3]\n0\n").unwrap_err();
        assert!(e.message.contains("unknown option"), "{e}");
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_blt("").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        let e = parse_blt("3 x\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
        let e = parse_blt("3 1\n1 1 4 0\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 5));
        assert!(e.message.contains("not in 1..=3"), "{e}");
        let e = parse_blt("3 1\n1 1 2=1 0\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));
        let e = parse_blt("2 1\n1 1 0\n0\n\"A\"\nB\n").unwrap_err();
        assert_eq!((e.line, e.column), (5, 1));
        let e = parse_blt("2 1\n1 1 0\n0\n\"A\"\n").unwrap_err();
        assert!(e.message.contains("end of the file"), "{e}");
        let e = parse_blt("2 1\n0\n\"A\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        let e = parse_blt("2 1\n-3\n0\n\"A\"\n\"B\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
    }
}
