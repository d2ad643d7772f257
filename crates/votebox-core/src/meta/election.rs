//! Election discovery and `election.yaml`, plus assembling one [`Election`] from its directory.
//!
//! Discovery (checklist 11): every directory at any depth under `ELECTION_DIR` (not `ELECTION_DIR`
//! itself) that directly contains `election.yaml` is an election, nested ones included; its key is
//! the path relative to `ELECTION_DIR` with `/` replaced by `---`. Entries come in sorted
//! directory-path order. Any error in an election's files makes that one entry
//! [`CatalogEntry::Broken`]; the others are unaffected (checklist 23).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;

use super::candidate::parse_candidate;
use super::voters::parse_voters;
use super::yaml::{self, Count, DateTime, Flag, Text, TextList};
use super::{
    BrokenElection, Catalog, CatalogEntry, CountingOptions, Election, MetaError, MetaFiles,
    render_markdown,
};

/// `election.yaml` as written. Every field is optional here; required ones are checked after.
/// Unknown keys (`description`, `condorcet_method`, `exception_form`, …) are ignored.
#[derive(Deserialize)]
struct RawElection {
    name: Option<Text>,
    organization: Option<Text>,
    start_datetime: Option<DateTime>,
    end_datetime: Option<DateTime>,
    exception_due: Option<DateTime>,
    /// The spelling used by Elekto's docs and several real repositories (Elekto ignores it).
    exceptions_due: Option<DateTime>,
    no_winners: Option<Count>,
    allow_no_opinion: Option<Flag>,
    delete_after: Option<Flag>,
    show_candidate_fields: Option<TextList>,
    election_officers: Option<TextList>,
    eligibility: Option<Text>,
    exception_description: Option<Text>,
    // votebox-only counting keys.
    voting_method: Option<Text>,
    unranked: Option<Text>,
    tie_break_seed: Option<Text>,
    /// votebox-only: who sees the ballot board.
    ballot_board: Option<Text>,
}

/// See [`super::load_catalog`].
pub(super) fn load_catalog(files: &MetaFiles, election_dir: &str) -> Catalog {
    let base = normalize_dir(election_dir);
    let prefix = if base.is_empty() {
        String::new()
    } else {
        format!("{base}/")
    };

    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    for path in files.keys() {
        let Some(rel) = path
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_suffix("/election.yaml"))
        else {
            continue;
        };
        if !rel.is_empty() && !rel.split('/').any(str::is_empty) {
            dirs.insert(rel);
        }
    }

    let mut seen: HashMap<String, String> = HashMap::new();
    let mut entries = Vec::with_capacity(dirs.len());
    for rel in dirs {
        let key = rel.replace('/', "---");
        let path = format!("{prefix}{rel}");
        let result = match seen.get(&key) {
            Some(other) => Err(MetaError {
                file: format!("{path}/election.yaml"),
                line: None,
                message: format!(
                    "election key `{key}` is already used by `{other}`; rename one of the two directories"
                ),
            }),
            None => {
                seen.insert(key.clone(), path.clone());
                parse_election(files, &key, &path)
            }
        };
        entries.push(match result {
            Ok(election) => CatalogEntry::Ok(Arc::new(election)),
            Err(error) => CatalogEntry::Broken(BrokenElection { key, path, error }),
        });
    }
    Catalog { entries }
}

/// SHA-256 of the files directly in an election's directory (what the election is made of;
/// subdirectories hold other elections): `"votebox-files-v1\n"`, then for each file in name
/// order its name, `"\n"`, its length in bytes, `"\n"`, its bytes and `"\n"`. The audit chain
/// records it for every meta commit that changes it.
fn files_sha256(files: &MetaFiles, path: &str) -> String {
    use sha2::{Digest, Sha256};
    let dir_prefix = format!("{path}/");
    let mut h = Sha256::new();
    h.update(b"votebox-files-v1\n");
    for (file_path, bytes) in files
        .range(dir_prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&dir_prefix))
    {
        let name = &file_path[dir_prefix.len()..];
        if name.contains('/') {
            continue;
        }
        h.update(format!("{name}\n{}\n", bytes.len()).as_bytes());
        h.update(bytes);
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// `ELECTION_DIR` as a repository-relative path without leading `./` or surrounding `/`
/// (`""` = the repository root).
fn normalize_dir(dir: &str) -> &str {
    let mut d = dir.trim().trim_matches('/');
    while let Some(rest) = d.strip_prefix("./") {
        d = rest.trim_start_matches('/');
    }
    if d == "." { "" } else { d }
}

/// The file's text: UTF-8 required (a leading BOM is dropped).
fn text_of<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, MetaError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        MetaError {
            file: path.to_owned(),
            line: Some(valid.iter().filter(|&&b| b == b'\n').count() + 1),
            message: format!(
                "the file is not valid UTF-8 (bad byte at offset {}); save it as UTF-8",
                e.valid_up_to()
            ),
        }
    })
}

/// Parses everything in one election directory (`path`, repository-relative).
fn parse_election(files: &MetaFiles, key: &str, path: &str) -> Result<Election, MetaError> {
    let yaml_path = format!("{path}/election.yaml");
    let missing = |what: &str| MetaError {
        file: yaml_path.clone(),
        line: None,
        message: format!("`{what}` is required"),
    };
    let src = text_of(
        &yaml_path,
        files.get(&yaml_path).map_or(&[][..], Vec::as_slice),
    )?;
    let raw: RawElection = yaml::parse(src, &yaml_path, 0)?.ok_or_else(|| MetaError {
        file: yaml_path.clone(),
        line: None,
        message: "the file is empty; `name`, `start_datetime` and `end_datetime` are required"
            .to_owned(),
    })?;
    let name = raw.name.ok_or_else(|| missing("name"))?.0;
    let start = raw
        .start_datetime
        .ok_or_else(|| missing("start_datetime"))?
        .0;
    let end = raw.end_datetime.ok_or_else(|| missing("end_datetime"))?.0;
    let exception_due = raw
        .exception_due
        .or(raw.exceptions_due)
        .map_or(start, |d| d.0);

    let voters_path = format!("{path}/voters.yaml");
    let voters = match files.get(&voters_path) {
        None => None,
        Some(bytes) => Some(parse_voters(text_of(&voters_path, bytes)?, &voters_path)?),
    };

    let dir_prefix = format!("{path}/");
    let mut candidates: Vec<super::Candidate> = Vec::new();
    for (file_path, bytes) in files
        .range(dir_prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&dir_prefix))
    {
        let Some(file_name) = file_path.get(dir_prefix.len()..) else {
            continue;
        };
        if file_name.contains('/') || !file_name.starts_with("candidate") {
            continue;
        }
        let candidate = parse_candidate(text_of(file_path, bytes)?, file_path, file_name)?;
        if let Some(other) = candidates.iter().find(|c| c.id == candidate.id) {
            return Err(MetaError {
                file: file_path.clone(),
                line: None,
                message: format!(
                    "`ID: {}` is also the ID in `{}`; every candidate needs a different ID",
                    candidate.id, other.file_name
                ),
            });
        }
        candidates.push(candidate);
    }

    let markdown = |file: &str| -> Result<Option<String>, MetaError> {
        let file_path = format!("{path}/{file}");
        files
            .get(&file_path)
            .map(|bytes| text_of(&file_path, bytes).map(render_markdown))
            .transpose()
    };
    let description_html = markdown("election_desc.md")?;
    let results_html = markdown("results.md")?;

    Ok(Election {
        key: key.to_owned(),
        path: path.to_owned(),
        files_sha256: files_sha256(files, path),
        name,
        organization: raw.organization.map(|t| t.0),
        start,
        end,
        exception_due,
        no_winners: raw.no_winners.map(|c| c.0),
        allow_no_opinion: raw.allow_no_opinion.is_none_or(|f| f.0),
        delete_after: raw.delete_after.is_some_and(|f| f.0),
        show_candidate_fields: raw.show_candidate_fields.map(|l| l.0).unwrap_or_default(),
        election_officers: raw.election_officers.map(|l| l.0).unwrap_or_default(),
        eligibility: raw.eligibility.map(|t| t.0),
        exception_description: raw.exception_description.map(|t| t.0),
        description_html,
        results_html,
        voters,
        candidates,
        counting: CountingOptions {
            method: raw.voting_method.map(|t| t.0),
            unranked: raw.unranked.map(|t| t.0),
            tie_break_seed: raw.tie_break_seed.map(|t| t.0),
        },
        ballot_board: raw.ballot_board.map(|t| t.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Status, load_catalog};
    use time::macros::datetime;

    const DASHES: &str = "-------------------------------------------------------------";

    fn files(list: &[(&str, &str)]) -> MetaFiles {
        list.iter()
            .map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec()))
            .collect()
    }

    fn minimal(name: &str) -> String {
        format!(
            "name: {name}\nstart_datetime: 2021-10-18 00:00:01\nend_datetime: 2021-11-04 23:59:00\nno_winners: 3\nelection_officers:\n  - jberkus\n"
        )
    }

    fn candidate(id: &str) -> String {
        format!("{DASHES}\nname: Person {id}\nID: {id}\ninfo:\n  - employer: X\n{DASHES}\n\nHi\n")
    }

    fn only(c: &Catalog) -> &Election {
        assert_eq!(c.entries.len(), 1, "{:?}", c.broken().collect::<Vec<_>>());
        c.elections().next().expect("parsed election")
    }

    #[test]
    fn checklist_11_nested_keys() {
        let f = files(&[
            ("elections/2021/TOC/election.yaml", &minimal("TOC")),
            ("elections/2021/TOC/OWNERS", "approvers: []"),
            ("elections/2021-SC/election.yaml", &minimal("SC")),
            ("elections/name_the_app/election.yaml", &minimal("App")),
            (
                "elections/name_the_app/sub/election.yaml",
                &minimal("Nested"),
            ),
            (
                "elections/steering/documentation/template/voters.yaml",
                "eligible_voters: []",
            ),
            ("elections/steering/README.md", "# Steering"),
            (
                "elections/election.yaml",
                &minimal("Root is never an election"),
            ),
            ("other/2020/election.yaml", &minimal("Outside ELECTION_DIR")),
            ("README.md", "hi"),
        ]);
        let c = load_catalog(&f, "elections");
        let keys: Vec<&str> = c.entries.iter().map(CatalogEntry::key).collect();
        assert_eq!(
            keys,
            [
                "2021-SC",
                "2021---TOC",
                "name_the_app",
                "name_the_app---sub"
            ]
        );
        assert_eq!(c.broken().count(), 0);
        let toc = c.get("2021---TOC").expect("2021---TOC");
        let CatalogEntry::Ok(toc) = toc else {
            panic!("broken")
        };
        assert_eq!(toc.path, "elections/2021/TOC");
        assert_eq!(toc.name, "TOC");
        // Deeper ELECTION_DIR, with slashes and `./` tolerated.
        let f = files(&[("steering/elections/2022/election.yaml", &minimal("x"))]);
        for dir in [
            "steering/elections",
            "steering/elections/",
            "./steering/elections",
            "/steering/elections",
        ] {
            let c = load_catalog(&f, dir);
            assert_eq!(
                c.entries.iter().map(CatalogEntry::key).collect::<Vec<_>>(),
                ["2022"],
                "{dir}"
            );
        }
        // ELECTION_DIR = repository root.
        let c = load_catalog(&f, "");
        assert_eq!(
            c.entries.iter().map(CatalogEntry::key).collect::<Vec<_>>(),
            ["steering---elections---2022"]
        );
        let c = load_catalog(&f, ".");
        assert_eq!(c.entries.len(), 1);
    }

    #[test]
    fn files_sha256_covers_the_directorys_own_files_only() {
        let base = [
            ("elections/app/election.yaml", minimal("App")),
            ("elections/app/candidate-a.md", candidate("a")),
        ];
        let of = |extra: &[(&str, &str)]| {
            let mut list: Vec<(&str, &str)> = base.iter().map(|(p, c)| (*p, c.as_str())).collect();
            list.extend_from_slice(extra);
            let c = load_catalog(&files(&list), "elections");
            let e = c.elections().find(|e| e.key == "app").expect("app parses");
            e.files_sha256.clone()
        };
        let plain = of(&[]);
        assert_eq!(plain.len(), 64);
        assert_eq!(
            of(&[("elections/app/sub/election.yaml", &minimal("Sub"))]),
            plain
        );
        assert_eq!(of(&[("elections/other/README.md", "x")]), plain);
        assert_ne!(of(&[("elections/app/results.md", "# Results")]), plain);
        assert_ne!(of(&[("elections/app/README.md", "")]), plain);
    }

    #[test]
    fn colliding_keys_break_the_second() {
        let f = files(&[
            ("elections/a/b/election.yaml", &minimal("one")),
            ("elections/a---b/election.yaml", &minimal("two")),
        ]);
        let c = load_catalog(&f, "elections");
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.elections().count(), 1);
        let broken: Vec<_> = c.broken().collect();
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].key, "a---b");
        assert!(
            broken[0].error.message.contains("already used"),
            "{}",
            broken[0].error
        );
    }

    #[test]
    fn full_election() {
        let yaml = "\
# A full election
name: 2021 Steering Committee Election
organization: Kubernetes
start_datetime: 2021-10-18 00:00:01 # start
end_datetime: 2021-11-04T23:59:00
no_winners: 4
allow_no_opinion: False
delete_after: yes
show_candidate_fields:
  - employer
  - slack
election_officers:
  - jberkus
  - 12345
eligibility: Contributors with 50 contributions.
exception_description: >
  Tell us why.
exception_due: 2021-10-31 10:00:00
voting_method: schulze
unranked: last
tie_break_seed: 42
ballot_board: public
description: legacy key, ignored
condorcet_method: schulze
";
        let f = files(&[
            ("e/x/election.yaml", yaml),
            (
                "e/x/voters.yaml",
                "eligible_voters:\n- alice\n- 249043822\n",
            ),
            ("e/x/candidate-b.md", &candidate("b")),
            ("e/x/candidate-a.md", &candidate("a")),
            ("e/x/nomination-template.md", "not: [a candidate"),
            ("e/x/election_desc.md", "# Hello\n\n<script>x</script>"),
            ("e/x/results.md", "1. a\n2. b\n"),
            ("e/x/templates/candidate-z.md", "ignored: in a subdirectory"),
        ]);
        let c = load_catalog(&f, "e");
        let e = only(&c);
        assert_eq!(e.key, "x");
        assert_eq!(e.name, "2021 Steering Committee Election");
        assert_eq!(e.organization.as_deref(), Some("Kubernetes"));
        assert_eq!(e.start, datetime!(2021-10-18 00:00:01));
        assert_eq!(e.end, datetime!(2021-11-04 23:59:00));
        assert_eq!(e.exception_due, datetime!(2021-10-31 10:00:00));
        assert_eq!(e.no_winners, Some(4));
        assert!(!e.allow_no_opinion);
        assert!(e.delete_after);
        assert_eq!(e.show_candidate_fields, ["employer", "slack"]);
        assert_eq!(e.election_officers, ["jberkus", "12345"]);
        assert_eq!(
            e.eligibility.as_deref(),
            Some("Contributors with 50 contributions.")
        );
        assert_eq!(e.exception_description.as_deref(), Some("Tell us why.\n"));
        assert_eq!(
            e.voters.as_deref(),
            Some(&["alice".to_owned(), "249043822".to_owned()][..])
        );
        assert_eq!(
            e.candidates
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(e.candidates[0].file_name, "candidate-a.md");
        let desc = e.description_html.as_deref().unwrap();
        assert!(
            desc.contains("<h1>Hello</h1>") && !desc.contains("script"),
            "{desc}"
        );
        assert!(e.results_html.as_deref().unwrap().contains("<ol>"));
        assert_eq!(
            e.counting,
            CountingOptions {
                method: Some("schulze".into()),
                unranked: Some("last".into()),
                tie_break_seed: Some("42".into()),
            }
        );
        assert_eq!(e.ballot_board.as_deref(), Some("public"));
        assert!(e.is_eligible("ALICE"));
        assert!(e.is_eligible("249043822"));
        assert!(!e.is_eligible("bob"));
    }

    #[test]
    fn defaults() {
        let yaml =
            "name: N\nstart_datetime: 2023-08-01 00:00:00\nend_datetime: 2023-08-02 00:00:00\n";
        let c = load_catalog(&files(&[("e/x/election.yaml", yaml)]), "e");
        let e = only(&c);
        assert_eq!(e.organization, None);
        assert_eq!(e.no_winners, None);
        assert_eq!(e.seats(), 1);
        assert!(e.allow_no_opinion);
        assert!(!e.delete_after);
        assert!(e.show_candidate_fields.is_empty());
        assert!(e.election_officers.is_empty());
        assert_eq!(e.exception_due, e.start);
        assert_eq!(e.ballot_board, None);
        assert_eq!(e.description_html, None);
        assert_eq!(e.results_html, None);
        assert!(e.candidates.is_empty());
        assert_eq!(e.counting, CountingOptions::default());
    }

    #[test]
    fn checklist_14_exception_due_spellings() {
        let base =
            "name: N\nstart_datetime: 2023-08-01 00:00:00\nend_datetime: 2023-08-30 00:00:00\n";
        let due = |extra: &str| {
            let yaml = format!("{base}{extra}");
            let c = load_catalog(&files(&[("e/x/election.yaml", &yaml)]), "e");
            only(&c).exception_due
        };
        assert_eq!(due(""), datetime!(2023-08-01 00:00:00));
        assert_eq!(due("exception_due:\n"), datetime!(2023-08-01 00:00:00));
        assert_eq!(
            due("exceptions_due: 2023-08-19 23:59:00\n"),
            datetime!(2023-08-19 23:59:00)
        );
        assert_eq!(
            due("exceptions_due: 2023-08-19 23:59:00\nexception_due: 2023-08-10 00:00:00\n"),
            datetime!(2023-08-10 00:00:00)
        );
    }

    #[test]
    fn checklist_18_show_candidate_fields_null_forms() {
        for (extra, want) in [
            ("", vec![]),
            ("show_candidate_fields:\n", vec![]),
            ("show_candidate_fields: null\n", vec![]),
            ("show_candidate_fields:\n  -\n", vec![]),
            ("show_candidate_fields: [null]\n", vec![]),
            ("show_candidate_fields: []\n", vec![]),
            (
                "show_candidate_fields: [employer, null, slack]\n",
                vec!["employer", "slack"],
            ),
        ] {
            let yaml = format!("{}{extra}", minimal("N"));
            let c = load_catalog(&files(&[("e/x/election.yaml", &yaml)]), "e");
            assert_eq!(only(&c).show_candidate_fields, want, "{extra:?}");
        }
    }

    #[test]
    fn unpadded_and_offset_datetimes() {
        let yaml = "name: N\nstart_datetime: 2020-12-1 0:00:01\nend_datetime: 2020-12-10T10:00:00+02:00\nexception_due: 2020-12-05\n";
        let c = load_catalog(&files(&[("e/x/election.yaml", yaml)]), "e");
        let e = only(&c);
        assert_eq!(e.start, datetime!(2020-12-01 00:00:01));
        assert_eq!(e.end, datetime!(2020-12-10 08:00:00));
        assert_eq!(e.exception_due, datetime!(2020-12-05 00:00:00));
        let yaml =
            "name: N\nstart_datetime: 2023-08-01T00:00:01Z\nend_datetime: '2023-08-22 23:59:00'\n";
        let c = load_catalog(&files(&[("e/x/election.yaml", yaml)]), "e");
        let e = only(&c);
        assert_eq!(e.start, datetime!(2023-08-01 00:00:01));
        assert_eq!(e.end, datetime!(2023-08-22 23:59:00));
    }

    #[test]
    fn checklist_13_status_boundaries_inclusive() {
        let yaml =
            "name: N\nstart_datetime: 2025-12-05 00:00:01\nend_datetime: 2025-12-05 00:00:02\n";
        let c = load_catalog(&files(&[("e/x/election.yaml", yaml)]), "e");
        let e = only(&c);
        assert_eq!(
            e.status(datetime!(2025-12-05 00:00:00.999999)),
            Status::Upcoming
        );
        assert_eq!(e.status(datetime!(2025-12-05 00:00:01)), Status::Running);
        assert_eq!(e.status(datetime!(2025-12-05 00:00:01.5)), Status::Running);
        assert_eq!(e.status(datetime!(2025-12-05 00:00:02)), Status::Running);
        assert_eq!(
            e.status(datetime!(2025-12-05 00:00:02.000001)),
            Status::Completed
        );
    }

    #[test]
    fn checklist_23_malformed_election_yaml_breaks_only_that_election() {
        let f = files(&[
            ("elections/a/election.yaml", &minimal("A")),
            (
                "elections/b/election.yaml",
                "name: B\nstart_datetime: 2021-10-18 00:00:01\nend_datetime: [oops\n",
            ),
            (
                "elections/c/election.yaml",
                "name: C\nstart_datetime: 2021-10-18 00:00:01\nend_datetime: 2021-11-04 23:59:00\nno_winners: three # typo\n",
            ),
            (
                "elections/d/election.yaml",
                "name: D\n\nstart_datetime: next monday\nend_datetime: 2021-11-04 23:59:00\n",
            ),
            (
                "elections/e/election.yaml",
                "organization: no name\nstart_datetime: 2021-10-18\nend_datetime: 2021-11-04\n",
            ),
            ("elections/f/election.yaml", &minimal("F")),
        ]);
        let c = load_catalog(&f, "elections");
        assert_eq!(c.entries.len(), 6);
        assert_eq!(
            c.elections().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["a", "f"]
        );
        let broken: HashMap<&str, &BrokenElection> =
            c.broken().map(|b| (b.key.as_str(), b)).collect();

        let b = broken["b"];
        assert_eq!(b.path, "elections/b");
        assert_eq!(b.error.file, "elections/b/election.yaml");
        assert!(b.error.line.is_some_and(|l| l >= 3), "{}", b.error);

        let c_err = &broken["c"].error;
        assert_eq!(c_err.file, "elections/c/election.yaml");
        assert_eq!(c_err.line, Some(4), "{c_err}");
        assert!(
            c_err.message.contains("`no_winners`") && c_err.message.contains("three"),
            "{c_err}"
        );
        assert_eq!(
            c_err.to_string(),
            format!("elections/c/election.yaml:4: {}", c_err.message)
        );

        let d = &broken["d"].error;
        assert_eq!(d.line, Some(3), "{d}");
        assert!(
            d.message.contains("`start_datetime`") && d.message.contains("next monday"),
            "{d}"
        );

        let e = &broken["e"].error;
        assert_eq!(e.line, None);
        assert!(e.message.contains("`name` is required"), "{e}");
    }

    #[test]
    fn wrong_types_are_reported() {
        for (extra, key) in [
            ("allow_no_opinion: maybe\n", "allow_no_opinion"),
            ("show_candidate_fields: employer\n", "show_candidate_fields"),
            ("election_officers:\n  - {a: b}\n", "election_officers"),
            ("organization:\n  - a\n", "organization"),
            ("no_winners: -1\n", "no_winners"),
        ] {
            let yaml = format!(
                "name: N\nstart_datetime: 2023-08-01 00:00:00\nend_datetime: 2023-08-02 00:00:00\n{extra}"
            );
            let c = load_catalog(&files(&[("e/x/election.yaml", &yaml)]), "e");
            let b = c
                .broken()
                .next()
                .unwrap_or_else(|| panic!("{extra:?} should be broken"));
            assert!(
                b.error.message.starts_with(&format!("`{key}`:")),
                "{}",
                b.error
            );
            assert!(b.error.line.is_some_and(|l| l >= 4), "{}", b.error);
        }
        for yaml in ["", "# nothing\n", "- a list\n", "just text\n"] {
            let c = load_catalog(&files(&[("e/x/election.yaml", yaml)]), "e");
            assert_eq!(c.broken().count(), 1, "{yaml:?}");
        }
    }

    #[test]
    fn missing_voters_yaml_is_not_broken() {
        let c = load_catalog(&files(&[("e/x/election.yaml", &minimal("N"))]), "e");
        let e = only(&c);
        assert_eq!(e.voters, None);
        assert!(!e.is_eligible("anyone"));
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/voters.yaml", "eligible_voters:\n"),
            ]),
            "e",
        );
        assert_eq!(only(&c).voters, Some(vec![]));
    }

    #[test]
    fn malformed_voters_yaml_breaks_the_election() {
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/voters.yaml", "eligible_voters:\n- a\n- [b\n"),
            ]),
            "e",
        );
        let b = c.broken().next().expect("broken");
        assert_eq!(b.error.file, "e/x/voters.yaml");
    }

    #[test]
    fn bad_candidate_breaks_the_election() {
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/candidate-a.md", &candidate("a")),
                ("e/x/candidate-template.md", "# Fill me in\n\nname: ...\n"),
                ("e/y/election.yaml", &minimal("Y")),
            ]),
            "e",
        );
        assert_eq!(
            c.elections().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["y"]
        );
        let b = c.broken().next().expect("broken");
        assert_eq!(b.key, "x");
        assert_eq!(b.error.file, "e/x/candidate-template.md");
        assert_eq!(b.error.line, Some(1));
    }

    #[test]
    fn checklist_16_candidate_files_any_extension_and_duplicate_ids() {
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/candidate-a.md", &candidate("a")),
                ("e/x/candidates.txt", &candidate("b")),
                ("e/x/Candidate-c.md", "ignored: capital C"),
            ]),
            "e",
        );
        let e = only(&c);
        assert_eq!(
            e.candidates
                .iter()
                .map(|c| (c.id.as_str(), c.file_name.as_str()))
                .collect::<Vec<_>>(),
            [("a", "candidate-a.md"), ("b", "candidates.txt")]
        );
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/candidate-a.md", &candidate("a")),
                ("e/x/candidate-a2.md", &candidate("a")),
            ]),
            "e",
        );
        let b = c.broken().next().expect("duplicate IDs are broken");
        assert_eq!(b.error.file, "e/x/candidate-a2.md");
        assert!(b.error.message.contains("candidate-a.md"), "{}", b.error);
    }

    #[test]
    fn checklist_16_candidate_id_differs_from_file_name() {
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/candidate-cobb.md", &candidate("gerg")),
            ]),
            "e",
        );
        let e = only(&c);
        assert_eq!(
            e.candidate("gerg").map(|c| c.file_name.as_str()),
            Some("candidate-cobb.md")
        );
        assert!(e.candidate_by_file_id("gerg").is_none());
        assert!(e.candidate_by_file_id("cobb").is_some());
    }

    #[test]
    fn non_utf8_files_break_with_message() {
        for file in [
            "election.yaml",
            "voters.yaml",
            "candidate-a.md",
            "election_desc.md",
            "results.md",
        ] {
            let mut f = files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/voters.yaml", "eligible_voters: [a]\n"),
                ("e/x/candidate-a.md", &candidate("a")),
                ("e/x/election_desc.md", "desc"),
                ("e/x/results.md", "res"),
            ]);
            let path = format!("e/x/{file}");
            f.insert(path.clone(), b"line one\nline two \xff\xfe\n".to_vec());
            let c = load_catalog(&f, "e");
            let b = c
                .broken()
                .next()
                .unwrap_or_else(|| panic!("{file} should break"));
            assert_eq!(b.error.file, path);
            assert_eq!(b.error.line, Some(2));
            assert!(b.error.message.contains("UTF-8"), "{}", b.error);
        }
    }

    #[test]
    fn bom_is_tolerated() {
        let mut f = files(&[]);
        f.insert(
            "e/x/election.yaml".into(),
            [&b"\xEF\xBB\xBF"[..], minimal("N").as_bytes()].concat(),
        );
        let c = load_catalog(&f, "e");
        assert_eq!(only(&c).name, "N");
    }

    #[test]
    fn checklist_19_description_and_results_presence() {
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/election_desc.md", ""),
            ]),
            "e",
        );
        let e = only(&c);
        assert_eq!(e.description_html.as_deref(), Some(""));
        assert_eq!(e.results_html, None);
        assert!(!e.results_published(datetime!(2030-01-01 00:00:00)));
        let c = load_catalog(
            &files(&[
                ("e/x/election.yaml", &minimal("N")),
                ("e/x/results.md", "Winner: a"),
            ]),
            "e",
        );
        let e = only(&c);
        assert!(e.results_published(datetime!(2021-11-04 23:59:01)));
        assert!(!e.results_published(datetime!(2021-11-04 23:59:00)));
    }

    #[test]
    fn never_panics_on_junk() {
        let junk: [&[u8]; 8] = [
            b"",
            b"\0\0\0",
            b"---\n---\n---\n",
            b"name: &a [*a]\n",
            b"a: &a [*a, *a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
            b"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
            b"name: x\nstart_datetime: 99999-99-99 99:99:99\n",
            b"\t- \xc3\x28",
        ];
        for j in junk {
            for file in [
                "election.yaml",
                "voters.yaml",
                "candidate-x.md",
                "results.md",
            ] {
                let mut f = files(&[("e/x/election.yaml", &minimal("N"))]);
                f.insert(format!("e/x/{file}"), j.to_vec());
                let _ = load_catalog(&f, "e");
            }
        }
    }
}
