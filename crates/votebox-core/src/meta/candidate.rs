//! Candidate files (`candidate*` in an election directory).
//!
//! Layout: optional blank lines, a line of only dashes (3 or more), the YAML header, another line of
//! only dashes, then the Markdown body. Opening and closing dash counts need not match; CRLF is
//! fine. Unlike Elekto (which ends the header at the **last** `---` anywhere in the file), the
//! header ends at the **first** dashes-only line after the opening one, so a body may contain
//! horizontal rules and table separators (checklist 17). Every file Elekto accepts gives the same
//! header and body under this rule.
//!
//! Header keys: `name`, `ID` (required; the candidate key) and `info` (a list of single-key
//! mappings, a mapping, or absent — checklist 18). Other keys are ignored.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::yaml::{self, Text};
use super::{Candidate, MetaError, render_markdown};

#[derive(Deserialize)]
struct RawHeader {
    name: Option<Text>,
    #[serde(rename = "ID")]
    id: Option<Text>,
    info: Option<Info>,
}

/// [`RawHeader`] with `info` skipped: read again this way when `info` alone is malformed.
#[derive(Deserialize)]
struct RawHeaderWithoutInfo {
    name: Option<Text>,
    #[serde(rename = "ID")]
    id: Option<Text>,
    #[allow(dead_code)]
    info: Option<IgnoredAny>,
}

/// `info` in either shape, as (field, value) pairs in file order. Null values become `""`.
struct Info(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Info {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Info;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of `- field: value` entries or a mapping of `field: value`")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Info, E> {
                Ok(Info(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Info, E> {
                Ok(Info(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Info, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = seq.next_element::<Option<InfoEntry>>()? {
                    if let Some(InfoEntry(Some(pair))) = entry {
                        out.push(pair);
                    }
                }
                Ok(Info(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Info, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(key)) = map.next_key::<Text>()? {
                    let value: Option<Text> = map.next_value()?;
                    out.push((key, value.map(|t| t.0).unwrap_or_default()));
                }
                Ok(Info(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of the list form: its **first** key and value (as Elekto takes them); the rest of a
/// multi-key entry is ignored. `{}` gives `None`.
struct InfoEntry(Option<(String, String)>);

impl<'de> Deserialize<'de> for InfoEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InfoEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an `info` entry of the form `- field: value`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InfoEntry, A::Error> {
                let mut first = None;
                while let Some(Text(key)) = map.next_key::<Text>()? {
                    if first.is_none() {
                        let value: Option<Text> = map.next_value()?;
                        first = Some((key, value.map(|t| t.0).unwrap_or_default()));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(InfoEntry(first))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where the header and body are in a candidate file.
#[derive(Debug, PartialEq, Eq)]
struct Split<'a> {
    /// Header text (lines between the dash lines, `\n`-joined, CR removed).
    header: String,
    /// Number of file lines before the first header line (to turn header lines into file lines).
    header_line_offset: usize,
    /// Everything after the closing dash line.
    body: &'a str,
}

fn is_dash_line(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && t.bytes().all(|b| b == b'-')
}

fn split(text: &str) -> Result<Split<'_>, (Option<usize>, String)> {
    let mut lines = text.split_inclusive('\n');
    let mut consumed = 0usize; // bytes
    let mut line_no = 0usize; // lines consumed
    // Leading blank lines, then the opening dash line.
    loop {
        let Some(raw) = lines.next() else {
            return Err((
                None,
                "empty file: expected a header between two lines of dashes (`---`)".to_owned(),
            ));
        };
        consumed += raw.len();
        line_no += 1;
        if raw.trim().is_empty() {
            continue;
        }
        if is_dash_line(raw) {
            break;
        }
        return Err((
            Some(line_no),
            "expected the file to start with a line of dashes (`---`) opening the header"
                .to_owned(),
        ));
    }
    let header_line_offset = line_no;
    let mut header_lines = Vec::new();
    for raw in lines {
        consumed += raw.len();
        if is_dash_line(raw) {
            let body = text.get(consumed..).unwrap_or("");
            return Ok(Split {
                header: header_lines.join("\n"),
                header_line_offset,
                body,
            });
        }
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        header_lines.push(line.strip_suffix('\r').unwrap_or(line));
    }
    Err((
        Some(header_line_offset),
        "the header opened here is never closed by a line of dashes (`---`)".to_owned(),
    ))
}

/// Parses one candidate file. `path` is its repository path (for errors), `file_name` its name in
/// the election directory.
pub(super) fn parse_candidate(
    text: &str,
    path: &str,
    file_name: &str,
) -> Result<Candidate, MetaError> {
    let err = |line: Option<usize>, message: String| MetaError {
        file: path.to_owned(),
        line,
        message,
    };
    let parts = split(text).map_err(|(line, message)| err(line, message))?;
    let offset = parts.header_line_offset;
    let (raw, info_note) = match yaml::parse::<RawHeader>(&parts.header, path, offset) {
        Ok(raw) => (raw, None),
        // A malformed `info` costs the candidate its fields, with a note; not the election.
        Err(info_error) => match yaml::parse::<RawHeaderWithoutInfo>(&parts.header, path, offset) {
            Ok(raw) => (
                raw.map(|r| RawHeader {
                    name: r.name,
                    id: r.id,
                    info: None,
                }),
                Some(format!(
                    "This candidate's `info` could not be read, so no fields are shown ({}).",
                    info_error.message
                )),
            ),
            Err(_) => return Err(info_error),
        },
    };
    let Some(raw) = raw else {
        return Err(err(
            Some(parts.header_line_offset),
            "the header is empty: it needs at least `name` and `ID`".to_owned(),
        ));
    };
    let id = match raw.id {
        Some(Text(id)) if !id.trim().is_empty() => id,
        _ => {
            return Err(err(
                Some(parts.header_line_offset),
                "the header has no `ID` (the candidate's GitHub login, used as their key)"
                    .to_owned(),
            ));
        }
    };
    let name = match raw.name {
        Some(Text(name)) if !name.trim().is_empty() => name,
        _ => id.clone(),
    };
    Ok(Candidate {
        id,
        name,
        file_name: file_name.to_owned(),
        info: raw.info.map(|i| i.0).unwrap_or_default(),
        info_note,
        body_html: render_markdown(parts.body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elekto_85_malformed_info_keeps_the_candidate_with_a_note() {
        for info in [
            "info: just a sentence",
            "info: 42",
            "info:\n  - a plain string entry",
            "info:\n  - employer: [a, list]",
        ] {
            let text = format!("---\nname: Jane\nID: jdoe\n{info}\n---\nBio\n");
            let c = parse(&text).unwrap_or_else(|e| panic!("{info}: {e}"));
            assert_eq!((c.id.as_str(), c.name.as_str()), ("jdoe", "Jane"));
            assert!(c.info.is_empty(), "{info}");
            let note = c.info_note.unwrap_or_else(|| panic!("{info}: no note"));
            assert!(note.contains("`info` could not be read"), "{note}");
        }
        // A header broken elsewhere still breaks the file.
        assert!(parse("---\nname: [Jane\nID: jdoe\ninfo: x\n---\n").is_err());
        // Empty and mapping-form info are fine and give no note.
        for info in ["info:", "info: []", "info: {}", "info:\n  employer: Acme"] {
            let text = format!("---\nname: Jane\nID: jdoe\n{info}\n---\n");
            assert_eq!(parse(&text).unwrap().info_note, None, "{info}");
        }
    }

    const PATH: &str = "elections/x/candidate-jdoe.md";
    const DASHES: &str = "-------------------------------------------------------------";

    fn parse(text: &str) -> Result<Candidate, MetaError> {
        parse_candidate(text, PATH, "candidate-jdoe.md")
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn checklist_17_standard_template() {
        let text = format!(
            "{DASHES}\nname: Jane Doe\nID: jdoe\ninfo:\n  - employer: Example Corp\n  - slack: jane.doe\n{DASHES}\n\n## About me\n\nHello.\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.id, "jdoe");
        assert_eq!(c.name, "Jane Doe");
        assert_eq!(c.file_name, "candidate-jdoe.md");
        assert_eq!(
            c.info,
            pairs(&[("employer", "Example Corp"), ("slack", "jane.doe")])
        );
        assert!(c.body_html.contains("<h2>About me</h2>"), "{}", c.body_html);
        assert!(c.body_html.contains("<p>Hello.</p>"), "{}", c.body_html);
    }

    #[test]
    fn checklist_17_tab_after_id() {
        let text = "-------------------------------------------------\nname: Ana Medina\nID:\tanammedina21\n--------------------------------------------------\nBody\n";
        let c = parse(text).unwrap();
        assert_eq!(c.id, "anammedina21");
        assert_eq!(c.name, "Ana Medina");
        assert!(c.info.is_empty());
    }

    #[test]
    fn checklist_17_body_may_contain_dashes() {
        let text = format!(
            "{DASHES}\nname: Jane\nID: jdoe\n{DASHES}\nIntro\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n-----\nEnd\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.id, "jdoe");
        assert!(c.body_html.contains("<hr>"), "{}", c.body_html);
        assert!(c.body_html.contains("<table>"), "{}", c.body_html);
        assert!(c.body_html.contains("<td>2</td>"), "{}", c.body_html);
        assert!(c.body_html.contains("End"), "{}", c.body_html);
    }

    #[test]
    fn checklist_17_layout_variants() {
        // Blank line before the header, mismatched dash counts, blank and whitespace-only lines
        // inside the header, trailing spaces, CRLF, no final newline, 3-dash Jekyll style.
        let variants = [
            format!("\n{DASHES}\nname: Jane\nID: jdoe\n{DASHES}\nBody"),
            "------------------------------------------------------------\nname: Jane\nID: jdoe\n-------------------------------------------------------------\nBody\n".to_owned(),
            format!("{DASHES}\n\nname: Jane   \n \nID: jdoe\n\n{DASHES}\n\nBody\n"),
            format!("{DASHES}\r\nname: Jane\r\nID: jdoe\r\n{DASHES}\r\n\r\nBody\r\n"),
            "---\nname: Jane\nID: jdoe\n---\nBody\n".to_owned(),
        ];
        for text in &variants {
            let c = parse(text).unwrap_or_else(|e| panic!("{e}\n{text:?}"));
            assert_eq!(
                (c.id.as_str(), c.name.as_str()),
                ("jdoe", "Jane"),
                "{text:?}"
            );
            assert_eq!(c.body_html.trim(), "<p>Body</p>", "{text:?}");
        }
    }

    #[test]
    fn checklist_18_info_list_mapping_absent_null() {
        let list = format!(
            "{DASHES}\nname: J\nID: j\ninfo:\n- employer: X\n- slack:\n- Affiliation: A\n- Affiliation: a\n- \n{DASHES}\n"
        );
        assert_eq!(
            parse(&list).unwrap().info,
            pairs(&[
                ("employer", "X"),
                ("slack", ""),
                ("Affiliation", "A"),
                ("Affiliation", "a")
            ])
        );
        let map = format!(
            "{DASHES}\nname: J\nID: j\ninfo:\n  employer: Red Hat\n  slack: cblecker\n  github: 12345\n{DASHES}\n"
        );
        assert_eq!(
            parse(&map).unwrap().info,
            pairs(&[
                ("employer", "Red Hat"),
                ("slack", "cblecker"),
                ("github", "12345")
            ])
        );
        let absent = format!("{DASHES}\nname: J\nID: j\n{DASHES}\n");
        assert!(parse(&absent).unwrap().info.is_empty());
        let null = format!("{DASHES}\nname: J\nID: j\ninfo:\n{DASHES}\n");
        assert!(parse(&null).unwrap().info.is_empty());
        // A multi-key list entry contributes its first key only, as in Elekto.
        let multi = format!(
            "{DASHES}\nname: J\nID: j\ninfo:\n- employer: X\n  slack: Y\n- github: g\n{DASHES}\n"
        );
        assert_eq!(
            parse(&multi).unwrap().info,
            pairs(&[("employer", "X"), ("github", "g")])
        );
    }

    #[test]
    fn info_wrong_shape_is_a_note_not_an_error() {
        let text = format!("{DASHES}\nname: J\nID: j\ninfo: just text\n{DASHES}\n");
        let c = parse(&text).unwrap();
        assert!(c.info.is_empty());
        let note = c.info_note.unwrap();
        assert!(note.contains("(`info`: "), "{note}");
    }

    #[test]
    fn blank_body_is_empty() {
        let c = parse(&format!("{DASHES}\nname: J\nID: j\n{DASHES}\n\n  \n")).unwrap();
        assert_eq!(c.body_html, "");
        let c = parse(&format!("{DASHES}\nname: J\nID: j\n{DASHES}")).unwrap();
        assert_eq!(c.body_html, "");
    }

    #[test]
    fn missing_id_is_an_error() {
        let err = parse(&format!("{DASHES}\nname: Jane\n{DASHES}\nBody\n")).unwrap_err();
        assert_eq!(err.file, PATH);
        assert!(err.message.contains("`ID`"), "{err}");
        let err = parse(&format!("{DASHES}\nname: Jane\nID:\n{DASHES}\n")).unwrap_err();
        assert!(err.message.contains("`ID`"), "{err}");
    }

    #[test]
    fn missing_name_falls_back_to_id() {
        let c = parse(&format!("{DASHES}\nID: jdoe\n{DASHES}\n")).unwrap();
        assert_eq!(c.name, "jdoe");
    }

    #[test]
    fn numeric_id_is_text() {
        let c = parse(&format!("{DASHES}\nname: N\nID: 249043822\n{DASHES}\n")).unwrap();
        assert_eq!(c.id, "249043822");
    }

    #[test]
    fn broken_layouts_are_errors() {
        for (text, line) in [
            ("", None),
            ("\n\n", None),
            ("name: Jane\nID: jdoe\n---\nBody\n", Some(1)),
            ("\n---\nname: Jane\nID: jdoe\nBody\n", Some(2)),
            ("--\nname: Jane\n--\n", Some(1)),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert_eq!(err.file, PATH);
        }
    }

    #[test]
    fn bad_header_yaml_reports_file_line() {
        // Line 4 of the file is the bad one (line 3 of the header after a leading blank line).
        let text = format!("\n{DASHES}\nname: Jane\nID: [jdoe\n{DASHES}\n");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.file, PATH);
        assert!(err.line.is_some_and(|l| (4..=5).contains(&l)), "{err}");
        // A template left with placeholders that are not YAML.
        let text = format!("{DASHES}\nname: <your name>\nID: {{{{ id }}\n{DASHES}\n");
        assert!(parse(&text).is_err());
    }

    #[test]
    fn header_body_split_positions() {
        let s = split("\n---\nname: a\r\nID: b\n-----\nbody\n---\nmore").unwrap();
        assert_eq!(s.header, "name: a\nID: b");
        assert_eq!(s.header_line_offset, 2);
        assert_eq!(s.body, "body\n---\nmore");
    }

    #[test]
    fn xss_in_body_is_sanitised() {
        let text = format!(
            "{DASHES}\nname: J\nID: j\n{DASHES}\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n"
        );
        let c = parse(&text).unwrap();
        assert!(!c.body_html.contains("script"), "{}", c.body_html);
        assert!(!c.body_html.contains("javascript:"), "{}", c.body_html);
        assert!(!c.body_html.contains("onerror"), "{}", c.body_html);
    }
}
