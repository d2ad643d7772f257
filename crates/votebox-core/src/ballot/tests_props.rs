//! Fuzzing the ballot form (issue 7, item 6): arbitrary `application/x-www-form-urlencoded`
//! bodies, decoded as the vote handler decodes them, through [`BallotForm::parse`] (capped at
//! [`max_fields`]), [`Ranking::parse`] and [`Ranking::all_equal`], for elections with and
//! without "No opinion".
//!
//! Properties: never panics; an accepted ballot has exactly one row per candidate, in meta
//! order, each rank in 1…N or 100000000 (only where allowed), and every rank the voter gave
//! is the one stored. Bounded by `VOTEBOX_FUZZ_CASES` (default 256).

use crate::meta::{CatalogEntry, Election, MetaFiles, load_catalog};
use proptest::prelude::*;

use super::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("VOTEBOX_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

const CANDIDATES: [&str; 4] = ["alice", "bob", "carol", "d-ve"];

pub(crate) fn election(allow_no_opinion: bool) -> Election {
    let mut files = MetaFiles::new();
    files.insert(
        "elections/e/election.yaml".into(),
        format!(
            "name: E\norganization: O\nstart_datetime: 2020-01-01 00:00:00\n\
             end_datetime: 2030-01-01 00:00:00\nno_winners: 1\n\
             allow_no_opinion: {allow_no_opinion}\nelection_officers: [o]\n"
        )
        .into_bytes(),
    );
    files.insert(
        "elections/e/voters.yaml".into(),
        b"eligible_voters: [v]\n".to_vec(),
    );
    for c in CANDIDATES {
        files.insert(
            format!("elections/e/candidate-{c}.md"),
            format!("-------\nname: {c}\nID: {c}\n-------\nbody\n").into_bytes(),
        );
    }
    let catalog = load_catalog(&files, "elections");
    match catalog.get("e") {
        Some(CatalogEntry::Ok(e)) => (**e).clone(),
        other => panic!("fixture election broken: {other:?}"),
    }
}

/// The fields of `body`, decoded lazily as the vote handler does (after the CSRF and
/// eligibility checks).
fn fields(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// Form-looking bodies: candidate fields (known, unknown, odd `@`s), ranks (valid, out of
/// range, huge, signs, non-digits, percent-escapes), passwords, junk pairs.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        prop::sample::select(CANDIDATES.to_vec()).prop_map(|c| format!("candidate@{c}")),
        Just("candidate@d-ve".to_owned()),
        Just("candidate@x@alice".to_owned()),
        Just("candidate@".to_owned()),
        Just("candidate".to_owned()),
        Just("password".to_owned()),
        Just("password_confirm".to_owned()),
        Just("confirm_all_equal".to_owned()),
        Just("csrf_token".to_owned()),
        "[a-z@%0-9+=&]{0,12}",
    ];
    let value = prop_oneof![
        (1u32..6).prop_map(|r| r.to_string()),
        Just("100000000".to_owned()),
        Just(String::new()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("+1".to_owned()),
        Just("01".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("2147483648".to_owned()),
        Just("%E2%82%AC".to_owned()),
        Just("%ff%fe".to_owned()),
        Just("%".to_owned()),
        "[ -~]{0,16}",
    ];
    prop_oneof![
        4 => prop::collection::vec((key, value), 0..12).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn check(e: &Election, body: Vec<u8>) {
    let Ok(form) = BallotForm::parse(e, fields(&body)) else {
        return; // too many fields: a 413 page
    };
    let given: Vec<(String, String)> = fields(&body).collect();
    let Ok(ranking) = Ranking::parse(e, &form) else {
        return;
    };
    let rows = ranking.rows();
    let _ = ranking.all_equal();
    let n = e.candidates.len();
    assert_eq!(rows.len(), n, "one row per candidate: {rows:?}");
    for (row, c) in rows.iter().zip(&e.candidates) {
        assert_eq!(row.0, c.id, "meta order");
        let r = row.1;
        assert!(
            (r >= 1 && r as usize <= n) || (r == NO_OPINION && e.allow_no_opinion),
            "rank {r} for {}",
            c.id
        );
        // The first `candidate@…<id>` field the voter sent is what is stored.
        if let Some((_, v)) = given.iter().find(|(k, _)| {
            k.split_once('@').is_some_and(|(p, _)| p == "candidate")
                && k.rsplit('@').next() == Some(c.id.as_str())
        }) {
            assert_eq!(v.parse::<i32>().ok(), Some(r), "{}: sent {v:?}", c.id);
        } else {
            assert_eq!(r, NO_OPINION, "{} missing → No opinion", c.id);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ballot_form_decoder_never_panics(body in form_body(), allow in any::<bool>()) {
        check(&election(allow), body);
    }
}

#[test]
fn hostile_bodies() {
    for allow in [true, false] {
        let e = election(allow);
        for body in [
            "candidate@alice=1&candidate@alice=2".to_owned(),
            "candidate@d-ve=1&candidate@alice=1&candidate@bob=1&candidate@carol=1".to_owned(),
            "candidate@alice=100000000&candidate@bob=100000000&candidate@carol=100000000&candidate@d-ve=100000000".to_owned(),
            format!("candidate@alice={}", "9".repeat(10_000)),
            "candidate%40alice=1".to_owned(),
            "=&=&&&==".to_owned(),
            "candidate@alice=%F0%9F%98%80".to_owned(),
            "password=%00%00&candidate@bob=3".to_owned(),
            "candidate@alice=1;candidate@bob=2".to_owned(),
        ] {
            check(&e, body.into_bytes());
        }
    }
}

#[test]
fn a_valid_ballot_goes_through_the_whole_decoder() {
    let e = election(true);
    let body =
        b"csrf_token=t&candidate@alice=2&candidate@d-ve=1&candidate@bob=100000000&password=x";
    let form = BallotForm::parse(&e, fields(body)).expect("decodes");
    let ranking = Ranking::parse(&e, &form).expect("valid");
    let rank = |id: &str| {
        ranking
            .rows()
            .iter()
            .find(|(c, _)| c == id)
            .map(|(_, r)| *r)
    };
    assert_eq!(rank("alice"), Some(2));
    assert_eq!(rank("d-ve"), Some(1));
    assert_eq!(rank("bob"), Some(NO_OPINION));
    assert_eq!(rank("carol"), Some(NO_OPINION));
}
