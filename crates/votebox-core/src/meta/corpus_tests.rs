//! The real meta repositories in `shared/fixtures/meta/` (copied verbatim from public repos),
//! checked election by election against `elections.json`, the corpus's machine-readable index.
//!
//! Tests may read files; the library may not. Each repository folder is walked into a
//! [`MetaFiles`] map exactly as one git commit would be given to [`load_catalog`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::candidate::parse_candidate;
use super::{Catalog, CatalogEntry, Election, MetaFiles, display_datetime, load_catalog};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/meta");

/// Every file under `root`, keyed by its `/`-separated path relative to `root`.
fn read_repo(root: &Path) -> MetaFiles {
    fn walk(root: &Path, dir: &Path, out: &mut MetaFiles) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_str().expect("UTF-8 file name"))
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                out.insert(key, bytes);
            }
        }
    }
    let mut out = MetaFiles::new();
    walk(root, root, &mut out);
    out
}

fn index() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(format!("{CORPUS}/elections.json")).expect("elections.json");
    match serde_json::from_str(&text).expect("valid JSON") {
        Value::Object(map) => map,
        other => panic!("elections.json is not an object: {other}"),
    }
}

fn load_repo(repo: &str, election_dir: &str) -> Catalog {
    load_catalog(&read_repo(&Path::new(CORPUS).join(repo)), election_dir)
}

/// A list field of `elections.json`; `null` and `"<absent>"` (key missing in the YAML) are empty.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) if s == "<absent>" => Vec::new(),
        Value::Array(items) => items
            .iter()
            .filter_map(|x| match x {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            })
            .collect(),
        other => panic!("expected a list, got {other}"),
    }
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {v}"))
}

/// Checks one parsed election against its `elections.json` record.
fn check_election(e: &Election, want: &Value) {
    let ctx = format!("{}:{}", str_of(want, "repo"), e.key);
    assert_eq!(e.path, str_of(want, "path"), "{ctx} path");
    assert_eq!(e.name, str_of(want, "name"), "{ctx} name");
    assert_eq!(
        display_datetime(e.start),
        str_of(want, "start_datetime"),
        "{ctx} start"
    );
    assert_eq!(
        display_datetime(e.end),
        str_of(want, "end_datetime"),
        "{ctx} end"
    );

    // `exception_due_raw` records whichever spelling the file uses (`exception_due` or the
    // documented `exceptions_due`). Elekto reads only `exception_due` and falls back to the start;
    // votebox also reads `exceptions_due` (checklist 14 SHOULD-FIX), so the raw value is expected
    // either way, and the start only when neither key is present.
    let keys = strings(&want["election_yaml_keys"]);
    match want["exception_due_raw"].as_str() {
        Some(raw) => {
            assert!(
                keys.iter()
                    .any(|k| k == "exception_due" || k == "exceptions_due"),
                "{ctx} raw without key"
            );
            assert_eq!(
                display_datetime(e.exception_due),
                raw,
                "{ctx} exception_due"
            );
        }
        None => assert_eq!(
            e.exception_due, e.start,
            "{ctx} exception_due defaults to start"
        ),
    }

    let seats: u32 = str_of(want, "no_winners").parse().expect("no_winners");
    assert_eq!(e.no_winners, Some(seats), "{ctx} no_winners");
    assert_eq!(
        e.allow_no_opinion,
        str_of(want, "allow_no_opinion") == "True",
        "{ctx} allow_no_opinion"
    );
    assert_eq!(
        e.delete_after,
        str_of(want, "delete_after") == "True",
        "{ctx} delete_after"
    );

    // `null`, `[null]` and absent all mean "no fields" (checklist 18).
    assert_eq!(
        e.show_candidate_fields,
        strings(&want["show_candidate_fields"]),
        "{ctx} show_candidate_fields"
    );
    assert_eq!(
        e.election_officers,
        strings(&want["election_officers"]),
        "{ctx} election_officers"
    );

    let want_ids: BTreeSet<String> = strings(&want["candidate_ids"]).into_iter().collect();
    let got_ids: BTreeSet<String> = e.candidates.iter().map(|c| c.id.clone()).collect();
    assert_eq!(got_ids, want_ids, "{ctx} candidate IDs");
    let count = want["candidates"].as_u64().expect("candidates");
    assert_eq!(e.candidates.len() as u64, count, "{ctx} candidate count");
    let got_files: Vec<&str> = e.candidates.iter().map(|c| c.file_name.as_str()).collect();
    assert_eq!(
        got_files,
        strings(&want["candidate_files"]),
        "{ctx} candidate files (sorted)"
    );
    for c in &e.candidates {
        assert!(
            !c.name.trim().is_empty(),
            "{ctx} {} has a name",
            c.file_name
        );
    }

    if want["voters_file"].as_bool().expect("voters_file") {
        let n = want["voter_entries"].as_u64().expect("voter_entries");
        let voters = e
            .voters
            .as_ref()
            .unwrap_or_else(|| panic!("{ctx} voters.yaml present"));
        assert_eq!(voters.len() as u64, n, "{ctx} voter entries");
        let unique: BTreeSet<String> = voters
            .iter()
            .map(|v| v.trim().to_ascii_lowercase())
            .collect();
        // The index counted unique entries among PyYAML *strings*; k8s `steering/2026` has one
        // unquoted numeric login (`- 249043822`, an int for PyYAML) that votebox reads as text.
        let numeric_extra = u64::from(ctx == "kubernetes+community:steering---2026");
        let want_unique = want["voters_unique_case_insensitive"]
            .as_u64()
            .expect("unique")
            + numeric_extra;
        assert_eq!(unique.len() as u64, want_unique, "{ctx} unique voters");
    } else {
        assert_eq!(e.voters, None, "{ctx} no voters.yaml");
    }

    let desc = want["election_desc_md"]
        .as_bool()
        .expect("election_desc_md");
    assert_eq!(e.description_html.is_some(), desc, "{ctx} election_desc.md");
    if desc {
        assert!(
            !e.description_html.as_deref().unwrap_or("").is_empty(),
            "{ctx} desc rendered"
        );
    }
    let results = want["results_md"].as_bool().expect("results_md");
    assert_eq!(e.results_html.is_some(), results, "{ctx} results.md");
}

#[test]
fn corpus_matches_elections_json() {
    let index = index();
    assert!(index.len() >= 7, "expected the 7 corpus repositories");
    let mut total = 0;
    for (repo, info) in &index {
        let election_dir = str_of(info, "election_dir");
        let catalog = load_repo(repo, election_dir);
        let broken: Vec<String> = catalog
            .broken()
            .map(|b| format!("{}: {}", b.key, b.error))
            .collect();
        assert!(broken.is_empty(), "{repo}: broken elections: {broken:#?}");

        let wanted = info["elections"].as_array().expect("elections");
        let got_keys: BTreeSet<&str> = catalog.entries.iter().map(CatalogEntry::key).collect();
        let want_keys: BTreeSet<&str> = wanted.iter().map(|w| str_of(w, "key")).collect();
        assert_eq!(got_keys, want_keys, "{repo}: election keys");
        assert_eq!(catalog.entries.len(), wanted.len(), "{repo}: no duplicates");

        for want in wanted {
            let key = str_of(want, "key");
            let Some(CatalogEntry::Ok(e)) = catalog.get(key) else {
                panic!("{repo}: {key} missing or broken");
            };
            check_election(e, want);
            total += 1;
        }
    }
    // 42 elections in 7 repositories; the developers' copy holds back a few (see CATALOG.md).
    assert!(total >= 30, "only {total} elections checked");
}

#[test]
fn checklist_11_nested_keys_in_corpus() {
    let catalog = load_repo("elekto-io+elekto.meta.test", "elections");
    let keys: Vec<&str> = catalog.entries.iter().map(CatalogEntry::key).collect();
    assert_eq!(keys, ["2021---GB", "2021---TOC", "name_the_app"]);
    let catalog = load_repo("istio+community", "steering/elections");
    assert!(catalog.get("2022").is_some());
    assert!(catalog.entries.iter().all(|e| !e.key().contains('/')));
    // A wrong ELECTION_DIR finds nothing rather than failing.
    assert!(load_repo("istio+community", "elections").entries.is_empty());
}

#[test]
fn test_meta_zip_is_identical_to_meta_test_repo() {
    let a = load_repo("elekto-io+elekto.meta.test", "elections");
    let b = load_repo("elekto-test-meta", "elections");
    let a: Vec<&Election> = a.elections().collect();
    let b: Vec<&Election> = b.elections().collect();
    assert_eq!(a, b);
}

#[test]
fn checklist_17_tab_after_id_in_corpus() {
    let catalog = load_repo("kubernetes+community", "elections");
    let Some(CatalogEntry::Ok(e)) = catalog.get("code-of-conduct---2023") else {
        panic!("code-of-conduct---2023");
    };
    let c = e.candidate("anammedina21").expect("anammedina21");
    assert_eq!(c.name, "Ana Margarita Medina");
    assert!(c.info.is_empty());
    assert!(
        c.body_html.contains("<h1>Ana Margarita Medina</h1>"),
        "{}",
        c.body_html
    );
    assert!(e.show_candidate_fields.is_empty(), "[null] → no fields");
}

#[test]
fn checklist_18_info_mapping_and_list_in_corpus() {
    let catalog = load_repo("kubernetes+community", "elections");
    let Some(CatalogEntry::Ok(gb)) = catalog.get("steering---2025-GB") else {
        panic!("steering---2025-GB");
    };
    let c = gb.candidate("cblecker").expect("cblecker");
    assert_eq!(
        c.info,
        [
            ("employer".to_owned(), "Red Hat".to_owned()),
            ("slack".to_owned(), "cblecker".to_owned())
        ]
    );
    let Some(CatalogEntry::Ok(s21)) = catalog.get("steering---2021") else {
        panic!("steering---2021");
    };
    assert!(
        s21.candidates.iter().all(|c| !c.info.is_empty()),
        "list form everywhere in 2021"
    );

    let kalkayan = load_repo("kalkayan+k8s.elections.meta", "elections");
    let Some(CatalogEntry::Ok(sc)) = kalkayan.get("2020_SC") else {
        panic!("2020_SC")
    };
    let cp = sc.candidate("cpanato").expect("cpanato");
    let affiliations: Vec<&str> = cp
        .info
        .iter()
        .filter(|(k, _)| k == "Affiliation")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        affiliations,
        ["Independent", "independent"],
        "duplicate info keys kept in order"
    );
}

#[test]
fn corpus_id_differs_from_file_name() {
    let catalog = load_repo("cloudfoundry+community", "elections");
    let Some(CatalogEntry::Ok(e)) = catalog.get("2025---TOC") else {
        panic!("2025---TOC")
    };
    assert_eq!(e.voters, None, "no voters.yaml, still served");
    assert_eq!(
        e.candidate("gerg").map(|c| c.file_name.as_str()),
        Some("candidate-cobb.md")
    );
}

#[test]
fn corpus_numeric_voter_stays_text() {
    let catalog = load_repo("kubernetes+community", "elections");
    let Some(CatalogEntry::Ok(e)) = catalog.get("steering---2026") else {
        panic!("steering---2026")
    };
    assert!(
        e.is_eligible("249043822"),
        "unquoted numeric login is a string"
    );
}

/// Elekto's own header rule (header = from index 1 up to the **last** `---` in the file, `-` then
/// newlines stripped; body = after it, same stripping) applied to every real candidate file must
/// give the same candidate as votebox's first-dash-line rule (checklist 17 MUST).
#[test]
fn checklist_17_same_as_elekto_rule_on_every_corpus_candidate() {
    let mut checked = 0;
    for repo in index().keys() {
        let files = read_repo(&Path::new(CORPUS).join(repo));
        for (path, bytes) in &files {
            let Some((_, name)) = path.rsplit_once('/') else {
                continue;
            };
            if !name.starts_with("candidate") {
                continue;
            }
            let dir = &path[..path.len() - name.len()];
            if !files.contains_key(&format!("{dir}election.yaml")) {
                continue;
            }
            let text = std::str::from_utf8(bytes).expect("UTF-8");
            let ours = parse_candidate(text, path, name).unwrap_or_else(|e| panic!("{e}"));

            let end = text.rfind("---").expect("has ---");
            let header = text[1..end].trim_matches('-').trim_matches('\n');
            let body = text[end + 3..].trim_matches('-').trim_matches('\n');
            let elekto_form = format!("---\n{header}\n---\n{body}");
            let elekto =
                parse_candidate(&elekto_form, path, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(ours, elekto, "{path}");
            checked += 1;
        }
    }
    assert!(checked >= 150, "only {checked} candidate files");
}

#[test]
fn corpus_repos_are_listed_in_index() {
    let index = index();
    let on_disk: BTreeSet<String> = std::fs::read_dir(CORPUS)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = index.keys().cloned().collect();
    assert_eq!(on_disk, listed);
}
