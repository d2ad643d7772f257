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

use super::plain::{lines_from, read_plain_lines};
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

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

#[derive(Default)]
struct Candidates<'a> {
    keys: Vec<String>,
    names: Vec<String>,
    by_key: FastMap<String, usize>,
    /// First candidate with each display name.
    by_name: FastMap<String, usize>,
    /// The keys again, for the fast path.
    short: ShortKeys,
    long: FastMap<&'a str, usize>,
}

impl<'a> Candidates<'a> {
    fn add(&mut self, key: &'a str, name: &str) -> usize {
        let i = self.keys.len();
        self.keys.push(key.to_owned());
        self.names.push(name.to_owned());
        self.by_key.insert(key.to_owned(), i);
        self.by_name.entry(name.to_owned()).or_insert(i);
        if !self.short.insert(key.as_bytes(), i) {
            self.long.insert(key, i);
        }
        i
    }

    fn declare(&mut self, key: &'a str, name: &str) -> Option<usize> {
        if self.by_key.contains_key(key) {
            return None;
        }
        Some(self.add(key, name))
    }

    fn resolve(&mut self, text: &'a str, bracketed: bool) -> usize {
        if let Some(&i) = self.by_key.get(text) {
            return i;
        }
        if bracketed && let Some(&i) = self.by_name.get(text) {
            return i;
        }
        self.add(text, text)
    }

    /// The candidate with this key (of ASCII letters, digits, `_`, `-`, `.`; `packed` is its
    /// first 8 bytes as [`ShortKeys::pack`] packs them), if already known.
    #[inline(always)]
    fn get(&self, key: &[u8], packed: u64) -> Option<usize> {
        if key.len() <= 8 {
            self.short.get(packed)
        } else {
            self.long.get(std::str::from_utf8(key).ok()?).copied()
        }
    }
}

/// Candidate index by key for keys of up to 8 bytes (the usual case), packed into an integer
/// (a key has no NUL byte, so the packing is unambiguous and never 0), in an open-addressing
/// table that doubles as it fills.
#[derive(Default)]
struct ShortKeys {
    /// (packed key, candidate); 0 = free.
    slots: Vec<(u64, usize)>,
    len: usize,
}

impl ShortKeys {
    #[inline(always)]
    fn pack(b: &[u8]) -> Option<u64> {
        if b.is_empty() || b.len() > 8 {
            return None;
        }
        let mut v = 0u64;
        for (i, &x) in b.iter().enumerate() {
            if x == 0 {
                return None;
            }
            v |= u64::from(x) << (8 * i);
        }
        Some(v)
    }

    #[inline(always)]
    fn slot(&self, key: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// Adds a key not there yet; false if it does not fit in 8 bytes.
    fn insert(&mut self, key: &[u8], c: usize) -> bool {
        let Some(packed) = Self::pack(key) else {
            return false;
        };
        if 2 * (self.len + 1) > self.slots.len() {
            let size = (2 * self.slots.len()).max(16);
            let old = std::mem::replace(&mut self.slots, vec![(0, 0); size]);
            for (k, c) in old.into_iter().filter(|&(k, _)| k != 0) {
                self.place(k, c);
            }
        }
        self.place(packed, c);
        self.len += 1;
        true
    }

    fn place(&mut self, key: u64, c: usize) {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        while self.slots[i].0 != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = (key, c);
    }

    #[inline(always)]
    fn get(&self, key: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
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

/// The candidates of one ballot in order, each marked when it starts a new tier
/// ([`NEW_TIER`]).
type Items = Vec<u32>;

/// Marks a candidate in [`Items`] that starts a tier.
const NEW_TIER: u32 = 1 << 31;

/// Byte classes of the fast path.
const K_OTHER: u8 = 0;
/// Can start a key: ASCII letter, digit, `_`.
const K_START: u8 = 1;
/// Can continue a key only: `-`, `.`.
const K_CONT: u8 = 2;
const K_SPACE: u8 = 3;
const KEY: [u8; 256] = {
    let mut t = [K_OTHER; 256];
    let mut c = 0;
    while c < 128 {
        if (c as u8).is_ascii_alphanumeric() || c == b'_' as usize {
            t[c] = K_START;
        }
        c += 1;
    }
    t[b'-' as usize] = K_CONT;
    t[b'.' as usize] = K_CONT;
    t[b' ' as usize] = K_SPACE;
    t[b'\t' as usize] = K_SPACE;
    t
};

/// The fast path for a typical vote line: `count:` then bare ASCII keys of candidates already
/// known, separated by `>`, `=` or `,` and ASCII spaces, up to the end of the line or a `#`
/// comment. Fills `row` (all `UNRANKED` on entry, at least as wide as the candidates) with the
/// tier of each candidate and returns the count; 0 for a blank or comment line; None for
/// anything else (ratings, brackets, quotes, new candidates, other characters, errors), which
/// the general reader then reads.
#[inline]
fn plain_vote(b: &[u8], cands: &Candidates<'_>, row: &mut [u16]) -> Option<u32> {
    let class = |i: usize| b.get(i).map(|&c| KEY[usize::from(c)]);
    let mut i = 0;
    while class(i) == Some(K_SPACE) {
        i += 1;
    }
    if matches!(b.get(i), None | Some(b'#')) {
        return Some(0);
    }
    let (count, after) = super::plain::small_count(b, i)?;
    i = after;
    while class(i) == Some(K_SPACE) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let mut rank: u16 = 0;
    let mut new_tier = true;
    loop {
        while class(i) == Some(K_SPACE) {
            i += 1;
        }
        match b.get(i) {
            None | Some(b'#') if rank == 0 => return Some(count),
            _ => {}
        }
        let key_start = i;
        if class(i) != Some(K_START) {
            return None;
        }
        let mut packed = 0u64;
        while let Some(&k) = b.get(i) {
            if !matches!(KEY[usize::from(k)], K_START | K_CONT) {
                break;
            }
            if i - key_start < 8 {
                packed |= u64::from(k) << (8 * (i - key_start));
            }
            i += 1;
        }
        let c = cands.get(&b[key_start..i], packed)?;
        let slot = row.get_mut(c)?;
        if *slot != UNRANKED {
            return None;
        }
        if new_tier {
            rank = rank.checked_add(1).filter(|&r| r < UNRANKED)?;
        }
        *slot = rank;
        while class(i) == Some(K_SPACE) {
            i += 1;
        }
        match b.get(i) {
            None | Some(b'#') => return Some(count),
            Some(b'>') => new_tier = true,
            Some(b'=' | b',') => new_tier = false,
            Some(_) => return None,
        }
        i += 1;
    }
}

/// Makes the rows at least `m` wide (a candidate met after some ballots): exactly `m` while
/// there are few rows, else at least twice as wide (so that widening costs little however many
/// candidates come late; [`parse_abif`] narrows the rows at the end).
fn fit(profile: &mut GroupingProfile, row: &mut Vec<u16>, m: usize) {
    let w = profile.width();
    if m <= w {
        return;
    }
    let width = if profile.num_lines().saturating_mul(m) <= 1 << 16 {
        m
    } else {
        m.max(2 * w).min(crate::count::MAX_CANDIDATES)
    };
    profile.set_width(width);
    row.clear();
    row.resize(width, UNRANKED);
}

/// The reader's state from one line to the next.
#[derive(Default)]
struct Reader<'a> {
    cands: Candidates<'a>,
    title: Option<String>,
    items: Items,
    scratch: Scratch,
    /// The ballots so far, rows at least as wide as the candidates.
    profile: GroupingProfile,
    /// All `UNRANKED`, as wide as the profile's rows.
    row: Vec<u16>,
    /// More candidates than a profile takes: the rest of the file is still read (for its
    /// errors), its ballots are not kept.
    too_many: bool,
}

impl<'a> Reader<'a> {
    fn line(&mut self, line_no: usize, line: &'a str) -> Result<(), ParseError> {
        self.too_many |= self.cands.keys.len() > crate::count::MAX_CANDIDATES;
        if !self.too_many && line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            fit(&mut self.profile, &mut self.row, self.cands.keys.len());
            if let Some(count) = plain_vote(line.as_bytes(), &self.cands, &mut self.row) {
                self.profile.push_row(&self.row, count);
                self.row.fill(UNRANKED);
                return Ok(());
            }
            self.row.fill(UNRANKED);
        }
        let mut s = Scanner::new(line_no, line);
        if s.at_end() {
            return Ok(());
        }
        match s.peek() {
            Some('{') => {
                s.pos += 1;
                if s.at_end() {
                    return Err(s.err("expected `}`"));
                }
                if s.peek() == Some('}') {
                    return Ok(());
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
                    self.title = Some(value);
                }
            }
            Some(c) if c.is_ascii_digit() => {
                let count = s.integer("a ballot count")?;
                let count =
                    u32::try_from(count).map_err(|_| s.err_at(0, "ballot count too large"))?;
                s.expect(':')?;
                self.items.clear();
                vote(&mut s, &mut self.cands, &mut self.scratch, &mut self.items)?;
                let m = self.cands.keys.len();
                self.too_many |= m > crate::count::MAX_CANDIDATES;
                if self.too_many {
                    return Ok(());
                }
                fit(&mut self.profile, &mut self.row, m);
                let mut rank = 0u16;
                for &item in &self.items {
                    if item & NEW_TIER != 0 {
                        rank += 1;
                    }
                    self.row[(item & !NEW_TIER) as usize] = rank;
                }
                self.profile.push_row(&self.row, count);
                self.row.fill(UNRANKED);
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
                if self.cands.declare(key, name).is_none() {
                    return Err(s.err_at(start, format!("candidate `{key}` declared twice")));
                }
            }
        }
        Ok(())
    }
}

/// Parses an ABIF file.
///
/// Line by line up to the first vote line; from there the plain vote lines (see
/// [`plain_vote`]) are read in parallel into rows of ranks, merged with identical ballots as
/// they are added; then the rest line by line again.
pub fn parse_abif(text: &str) -> Result<ParsedBallots, ParseError> {
    let mut r = Reader::default();
    let unmarked = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut votes = None;
    for (line_no, line) in numbered_lines(text) {
        if line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            let at = line.as_ptr() as usize - unmarked.as_ptr() as usize;
            votes = Some((line_no, &unmarked[at..]));
            break;
        }
        r.line(line_no, line)?;
    }
    if let Some((first_no, body)) = votes {
        let mut done = 0;
        let m = r.cands.keys.len();
        if m <= crate::count::MAX_CANDIDATES {
            fit(&mut r.profile, &mut r.row, m);
            let width = r.profile.width();
            let cands = &r.cands;
            let (plain, end) = read_plain_lines(body.as_bytes(), width, |line, row| {
                plain_vote(line, cands, row)
            });
            if r.profile.num_lines() == 0 {
                (r.profile, done) = (plain, end);
            } else if r.profile.total() + plain.total() <= u64::from(u32::MAX) {
                r.profile.append(plain);
                done = end;
            }
        }
        let rest_no = first_no + memchr::memchr_iter(b'\n', &body.as_bytes()[..done]).count();
        for (line_no, line) in lines_from(&body[done..], rest_no) {
            r.line(line_no, line)?;
        }
    }
    let m = r.cands.keys.len();
    if m > crate::count::MAX_CANDIDATES {
        let e = crate::count::ProfileError::TooManyCandidates(m);
        return Err(ParseError::new(FORMAT, 1, 1, e.to_string()));
    }
    let mut profile = r.profile;
    if profile.width() != m {
        profile.set_width(m);
    }
    let profile = profile
        .finish(r.cands.keys)
        .map_err(|e| ParseError::new(FORMAT, 1, 1, e.to_string()))?;
    Ok(ParsedBallots {
        format: Format::Abif,
        profile,
        names: r.cands.names,
        seats: None,
        title: r.title,
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

/// Reads the candidates of one vote line into `out` (empty on entry).
fn vote<'a>(
    s: &mut Scanner<'a>,
    cands: &mut Candidates<'a>,
    scratch: &mut Scratch,
    out: &mut Items,
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
            out.push(c as u32 | if new_tier { NEW_TIER } else { 0 });
        }
        return Ok(());
    }
    out.push(items[0].0 as u32 | NEW_TIER);
    for (sep, item) in seps.iter().zip(&items[1..]) {
        let new_tier = *sep == '>';
        out.push(item.0 as u32 | if new_tier { NEW_TIER } else { 0 });
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
