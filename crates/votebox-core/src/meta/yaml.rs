//! YAML plumbing shared by the meta parsers: serde-saphyr options, lenient scalar types that read
//! values the way Elekto's PyYAML did (or more leniently), and conversion of parse errors into
//! [`MetaError`]s with a file, a 1-based line and a readable message.
//!
//! Scalars are read through `deserialize_string`, which serde-saphyr answers with the scalar's
//! source text. So `249043822`, `007vedant`, `yes` or `1e3` reach us exactly as written, and we do
//! the typing ourselves (whole numbers, booleans, datetimes) with our own error messages.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, UserMessageFormatter};
use time::{Date, Month, PrimitiveDateTime, Time};

use super::MetaError;

/// Parses one YAML document. An empty document (blank, or only comments) gives `Ok(None)`.
///
/// `line_offset` is added to reported lines (for YAML cut out of a larger file, such as a
/// candidate header).
pub(super) fn parse<T: DeserializeOwned>(
    src: &str,
    file: &str,
    line_offset: usize,
) -> Result<Option<T>, MetaError> {
    let options = serde_saphyr::options! {
        // PyYAML keeps the last of duplicate keys; so do we.
        duplicate_keys: DuplicateKeyPolicy::LastWins,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Option<T>>(src, options)
        .map_err(|err| to_meta_error(&err, src, file, line_offset))
}

/// Converts a serde-saphyr error into a [`MetaError`], naming the top-level key the error is in
/// when that can be told from the source.
fn to_meta_error(
    err: &serde_saphyr::Error,
    src: &str,
    file: &str,
    line_offset: usize,
) -> MetaError {
    let inner = err.without_snippet();
    let line = inner
        .location()
        .map(|l| l.line())
        .filter(|&l| l > 0)
        .and_then(|l| usize::try_from(l).ok());
    let mut message = match inner {
        serde_saphyr::Error::Unexpected { expected, .. } => match *expected {
            "string scalar" => "expected a single value, found a list or a mapping".to_owned(),
            "sequence start" => "expected a list (`- item` lines)".to_owned(),
            "mapping start" => "expected a mapping (`key: value` lines)".to_owned(),
            other => format!("expected {other}"),
        },
        other => UserMessageFormatter.format_message(other).into_owned(),
    };
    if let Some(key) = line.and_then(|l| top_level_key(src, l)) {
        message = format!("`{key}`: {message}");
    }
    MetaError {
        file: file.to_owned(),
        line: line.map(|l| l + line_offset),
        message,
    }
}

/// The block-style top-level key whose value contains 1-based `line`, if any: the closest line at
/// or above it that starts in column 0 with `key:`.
fn top_level_key(src: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = src.lines().take(line).collect();
    for l in lines.iter().rev() {
        let Some(first) = l.chars().next() else {
            continue;
        };
        if first.is_whitespace() || matches!(first, '#' | '-' | '.') {
            if first == '-' && l.trim_end() == "---" {
                return None; // document start: no enclosing key
            }
            continue;
        }
        if matches!(first, '{' | '[') {
            return None;
        }
        let (key, _) = l.split_once(':')?;
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        return (!key.is_empty() && key.len() <= 64).then(|| key.to_owned());
    }
    None
}

/// A scalar's text exactly as written (plain scalars) or as unquoted (quoted scalars).
/// Null is not a `Text`: wrap in `Option`. A list or mapping is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a single value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_char<E: de::Error>(self, v: char) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_string(V)
    }
}

/// A list of scalars as strings; null entries are dropped. (Use `Option<TextList>` so that a
/// null or missing list is `None`.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TextList(pub Vec<String>);

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items: Vec<Option<Text>> = Vec::deserialize(d)?;
        Ok(TextList(items.into_iter().flatten().map(|t| t.0).collect()))
    }
}

/// A boolean, with YAML 1.1 spellings as PyYAML reads them (`yes`/`no`/`on`/`off`/`true`/`false`,
/// in lower, Title or UPPER case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        match s.trim() {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Ok(Flag(true)),
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                Ok(Flag(false))
            }
            other => Err(de::Error::custom(format!(
                "expected True or False, found `{other}`"
            ))),
        }
    }
}

/// A non-negative whole number that fits in `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        let t = s.trim();
        let digits = t.strip_prefix('+').unwrap_or(t);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = digits.parse::<u32>()
        {
            return Ok(Count(n));
        }
        Err(de::Error::custom(format!(
            "expected a whole number (0 or more), found `{t}`"
        )))
    }
}

/// A datetime read as naive UTC; see [`parse_datetime`] for the accepted forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DateTime(pub PrimitiveDateTime);

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        parse_datetime(&s).map(DateTime).map_err(de::Error::custom)
    }
}

/// Parses a YAML-1.1-style timestamp into naive UTC.
///
/// Accepted (a superset of what works in Elekto):
/// * `YYYY-M-D` + (`T`, `t` or spaces/tabs) + `H:MM:SS` with 1–2 digit parts and an optional
///   `.fraction` (only the first 6 digits are kept, as PyYAML does): naive, read as UTC.
/// * the same with `:SS` left out (seconds 0).
/// * the same followed by `Z` or `±HH[:MM]` / `±HHMM` (optionally after spaces): converted to UTC.
///   Elekto crashes on these (aware vs naive comparison).
/// * a bare date `YYYY-M-D`: midnight. Elekto crashes on these too.
pub(super) fn parse_datetime(input: &str) -> Result<PrimitiveDateTime, String> {
    let s = input.trim();
    let bad = || {
        format!("`{s}` is not a valid date and time (expected `YYYY-MM-DD HH:MM:SS`, read as UTC)")
    };
    let mut cur = Cursor {
        s: s.as_bytes(),
        pos: 0,
    };

    let year = cur.digits(4, 4).ok_or_else(bad)?;
    cur.expect(b'-').ok_or_else(bad)?;
    let month = cur.digits(1, 2).ok_or_else(bad)?;
    cur.expect(b'-').ok_or_else(bad)?;
    let day = cur.digits(1, 2).ok_or_else(bad)?;
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| format!("`{s}`: month {month} does not exist"))?;
    let date = i32::try_from(year)
        .ok()
        .zip(u8::try_from(day).ok())
        .and_then(|(y, d)| Date::from_calendar_date(y, month, d).ok())
        .ok_or_else(|| format!("`{s}`: day {day} does not exist in that month"))?;
    if cur.at_end() {
        return Ok(PrimitiveDateTime::new(date, Time::MIDNIGHT));
    }

    // Separator: `T`/`t`, or one or more spaces/tabs.
    match cur.peek() {
        Some(b'T' | b't') => cur.pos += 1,
        Some(b' ' | b'\t') => cur.skip_blanks(),
        _ => return Err(bad()),
    }
    let hour = cur.digits(1, 2).ok_or_else(bad)?;
    cur.expect(b':').ok_or_else(bad)?;
    let minute = cur.digits(1, 2).ok_or_else(bad)?;
    let second = if cur.peek() == Some(b':') {
        cur.pos += 1;
        cur.digits(1, 2).ok_or_else(bad)?
    } else {
        0
    };
    let mut micro = 0u32;
    if cur.peek() == Some(b'.') {
        cur.pos += 1;
        let start = cur.pos;
        while cur.peek().is_some_and(|b| b.is_ascii_digit()) {
            cur.pos += 1;
        }
        let frac = s.get(start..cur.pos).unwrap_or("");
        let mut padded: String = frac.chars().take(6).collect();
        while padded.len() < 6 {
            padded.push('0');
        }
        micro = padded.parse().map_err(|_| bad())?;
    }
    let time = u8::try_from(hour)
        .ok()
        .zip(u8::try_from(minute).ok())
        .zip(u8::try_from(second).ok())
        .and_then(|((h, m), sec)| Time::from_hms_micro(h, m, sec, micro).ok())
        .ok_or_else(|| {
            format!("`{s}`: {hour:02}:{minute:02}:{second:02} is not a valid time of day")
        })?;
    let naive = PrimitiveDateTime::new(date, time);

    cur.skip_blanks();
    if cur.at_end() {
        return Ok(naive);
    }
    // Time zone: Z, or ±HH[:MM] / ±HHMM.
    let offset_seconds: i64 = match cur.peek() {
        Some(b'Z' | b'z') => {
            cur.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            cur.pos += 1;
            let start = cur.pos;
            let hh = cur.digits(1, 2).ok_or_else(bad)?;
            let mm = if cur.peek() == Some(b':') {
                cur.pos += 1;
                cur.digits(2, 2).ok_or_else(bad)?
            } else if cur.pos - start == 2 && cur.peek().is_some_and(|b| b.is_ascii_digit()) {
                cur.digits(2, 2).ok_or_else(bad)?
            } else {
                0
            };
            if hh > 23 || mm > 59 {
                return Err(format!("`{s}`: invalid time zone offset"));
            }
            let secs = i64::from(hh) * 3600 + i64::from(mm) * 60;
            if sign == b'-' { -secs } else { secs }
        }
        _ => return Err(bad()),
    };
    if !cur.at_end() {
        return Err(bad());
    }
    // Local time = UTC + offset, so UTC = local − offset.
    naive
        .checked_sub(time::Duration::seconds(offset_seconds))
        .ok_or_else(|| format!("`{s}` is out of range"))
}

/// A tiny byte cursor for [`parse_datetime`].
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.pos += 1)
    }
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    /// Reads `min..=max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.pos;
        let mut value: u32 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(b - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        (self.pos - start >= min).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn datetime_forms() {
        let cases = [
            ("2023-08-01 00:00:01", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01T00:00:01", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01t00:00:01", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01   \t00:00:01", datetime!(2023-08-01 00:00:01)),
            ("2020-12-1 0:00:01", datetime!(2020-12-01 00:00:01)),
            ("2020-12-1 00:10:00", datetime!(2020-12-01 00:10:00)),
            ("2023-8-1 0:00:01", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01 10:30", datetime!(2023-08-01 10:30:00)),
            ("2023-08-01 00:00:01.5", datetime!(2023-08-01 00:00:01.5)),
            (
                "2023-08-01 00:00:01.123456789",
                datetime!(2023-08-01 00:00:01.123456),
            ),
            ("2023-08-01 00:00:01.", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01", datetime!(2023-08-01 00:00:00)),
            ("  2023-08-01 00:00:01  ", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01T00:00:01Z", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01 00:00:01 Z", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01T02:00:01+02:00", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01T02:00:01+0200", datetime!(2023-08-01 00:00:01)),
            ("2023-08-01 00:00:01 -5", datetime!(2023-08-01 05:00:01)),
            ("2023-12-31 23:30:00 -01:00", datetime!(2024-01-01 00:30:00)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_datetime(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn datetime_rejects() {
        for input in [
            "",
            "tomorrow",
            "23-08-01 00:00:01",
            "2023-13-01 00:00:01",
            "2023-02-30 00:00:01",
            "2023-08-01 24:00:00",
            "2023-08-01 10:60:00",
            "2023-08-01 10:00:61",
            "2023-08-01 10",
            "2023-08-01X10:00:00",
            "2023-08-01 10:00:00 UTC",
            "2023-08-01 10:00:00+25:00",
            "2023-08-01 10:00:00+02:00 extra",
            "9999-12-31 23:59:59 -23:59",
            "2023-08-01 ١٠:00:00",
        ] {
            let err = parse_datetime(input).expect_err(input);
            assert!(!err.is_empty());
        }
    }

    #[derive(Debug, Deserialize)]
    struct Probe {
        t: Option<Text>,
        f: Option<Flag>,
        c: Option<Count>,
        l: Option<TextList>,
        d: Option<DateTime>,
    }

    fn probe(src: &str) -> Result<Option<Probe>, MetaError> {
        parse(src, "x.yaml", 0)
    }

    #[test]
    fn scalars_keep_their_text() {
        let p = probe("t: 249043822\nl: [007vedant, 0123, 1e3, yes, null, ~, 'quoted', 1:20]\n")
            .unwrap()
            .unwrap();
        assert_eq!(p.t, Some(Text("249043822".into())));
        assert_eq!(
            p.l.unwrap().0,
            ["007vedant", "0123", "1e3", "yes", "quoted", "1:20"]
        );
    }

    #[test]
    fn flags_yaml11() {
        for (src, want) in [
            ("yes", true),
            ("True", true),
            ("ON", true),
            ("no", false),
            ("False", false),
        ] {
            let p = probe(&format!("f: {src}\n")).unwrap().unwrap();
            assert_eq!(p.f, Some(Flag(want)), "{src}");
        }
        let err = probe("f: maybe\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("`f`"), "{err}");
        assert!(err.message.contains("maybe"), "{err}");
    }

    #[test]
    fn counts() {
        assert_eq!(probe("c: 3\n").unwrap().unwrap().c, Some(Count(3)));
        assert_eq!(probe("c: '4'\n").unwrap().unwrap().c, Some(Count(4)));
        for bad in ["-3", "three", "1.5", "99999999999"] {
            let err = probe(&format!("t: x\nc: {bad}\n")).unwrap_err();
            assert_eq!(err.line, Some(2), "{bad}");
            assert!(
                err.message.starts_with("`c`: expected a whole number"),
                "{err}"
            );
        }
    }

    #[test]
    fn error_lines_and_keys() {
        let err = probe("t: x\n\n# comment\nd: not-a-date # trailing\n").unwrap_err();
        assert_eq!(err.line, Some(4));
        assert!(err.message.starts_with("`d`: "), "{err}");
        assert_eq!(err.file, "x.yaml");

        let err = probe("t:\n  - a\n  - b\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("expected a single value"), "{err}");

        let err = probe("l: foo\n").unwrap_err();
        assert!(err.message.contains("expected a list"), "{err}");

        let err = parse::<Probe>("t: x\nl:\n- a\n  bad: [\n", "f.yaml", 10).unwrap_err();
        assert!(err.line.is_some_and(|l| l > 10), "{err}");
    }

    #[test]
    fn datetime_field() {
        let p = probe("d: 2023-08-01 10:00:00 # comment\n")
            .unwrap()
            .unwrap();
        assert_eq!(p.d, Some(DateTime(datetime!(2023-08-01 10:00:00))));
    }

    #[test]
    fn empty_document_is_none() {
        assert!(probe("").unwrap().is_none());
        assert!(probe("# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let p = probe("t: a\nt: b\n").unwrap().unwrap();
        assert_eq!(p.t, Some(Text("b".into())));
    }

    #[test]
    fn top_level_key_lookup() {
        let src = "---\nname: x\nlist:\n- a\n- b\n  # c\nother: 1\n";
        assert_eq!(top_level_key(src, 1), None);
        assert_eq!(top_level_key(src, 2).as_deref(), Some("name"));
        assert_eq!(top_level_key(src, 5).as_deref(), Some("list"));
        assert_eq!(top_level_key(src, 7).as_deref(), Some("other"));
        assert_eq!(top_level_key("{a: 1}\n", 1), None);
    }
}
