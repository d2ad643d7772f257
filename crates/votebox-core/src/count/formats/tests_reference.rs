//! The fast readers read exactly what the straightforward readers they replaced read
//! ([`super::reference`]), on random files of every format and on random edits of them: the
//! same ballots (the fast readers of weighted formats merge identical ballots, so the
//! reference's profile is compared after [`Profile::aggregate`]), names, seats and title, and
//! an error exactly when the reference has one.

use proptest::prelude::*;

use super::{Format, parse_ballots, reference};
use crate::count::Profile;

/// A random election: number of candidates and ballots as (tiers of candidate indices,
/// weight).
type Election = (usize, Vec<(Vec<Vec<usize>>, u32)>);

fn election() -> impl Strategy<Value = Election> {
    (1usize..7).prop_flat_map(|m| {
        let ballot = (
            Just(m).prop_perturb(|m, mut rng| {
                let mut order: Vec<usize> = (0..m).collect();
                for i in (1..m).rev() {
                    order.swap(i, rng.random_range(0..=i));
                }
                let len = rng.random_range(0..=m);
                let mut tiers: Vec<Vec<usize>> = Vec::new();
                for &c in &order[..len] {
                    match tiers.last_mut() {
                        Some(t) if rng.random_ratio(1, 4) => t.push(c),
                        _ => tiers.push(vec![c]),
                    }
                }
                tiers
            }),
            prop_oneof![4 => Just(1u32), 1 => 1u32..5],
        );
        (Just(m), prop::collection::vec(ballot, 0..25))
    })
}

fn blt((m, ballots): &Election) -> String {
    let mut s = format!("{m} 2\n");
    for (tiers, w) in ballots {
        s.push_str(&w.to_string());
        for t in tiers {
            let t: Vec<String> = t.iter().map(|c| (c + 1).to_string()).collect();
            s.push(' ');
            s.push_str(&t.join("="));
        }
        s.push_str(" 0\n");
    }
    s.push_str("0\n");
    for c in 0..*m {
        s.push_str(&format!("\"Cand {c}\"\n"));
    }
    s.push_str("\"Title\"\n");
    s
}

fn csv((m, ballots): &Election) -> String {
    let ids: Vec<String> = (0..*m).map(|c| format!("c{c}")).collect();
    let mut s = ids.join(",") + "\n";
    for (tiers, w) in ballots {
        let mut cells = vec!["No opinion".to_owned(); *m];
        for (r, t) in tiers.iter().enumerate() {
            for &c in t {
                cells[c] = (r + 1).to_string();
            }
        }
        for _ in 0..*w {
            s.push_str(&cells.join(","));
            s.push('\n');
        }
    }
    s
}

fn preflib((m, ballots): &Election) -> String {
    let mut s =
        format!("# FILE NAME: x.toi\n# TITLE: T\n# DATA TYPE: toi\n# NUMBER ALTERNATIVES: {m}\n");
    for c in 0..*m {
        s.push_str(&format!("# ALTERNATIVE NAME {}: Alt {c}\n", c + 1));
    }
    for (tiers, w) in ballots {
        let t: Vec<String> = tiers
            .iter()
            .map(|t| {
                let t: Vec<String> = t.iter().map(|c| (c + 1).to_string()).collect();
                if t.len() > 1 {
                    format!("{{{}}}", t.join(","))
                } else {
                    t.join(",")
                }
            })
            .collect();
        s.push_str(&format!("{w}: {}\n", t.join(",")));
    }
    s
}

fn abif((m, ballots): &Election) -> String {
    let mut s = String::from("{\"title\": \"T\"}\n");
    for c in 0..*m {
        s.push_str(&format!("=k{c}:[Name {c}]\n"));
    }
    for (tiers, w) in ballots {
        let t: Vec<String> = tiers
            .iter()
            .map(|t| {
                let t: Vec<String> = t.iter().map(|c| format!("k{c}")).collect();
                t.join("=")
            })
            .collect();
        s.push_str(&format!("{w}: {}\n", t.join(" > ")));
    }
    s
}

/// Random edits: (position as a fraction, character to put there, replace or insert).
fn edits() -> impl Strategy<Value = Vec<(f64, char, bool)>> {
    let chars: Vec<char> = "0123456789 =,:>{}[]\"#-\n()a\u{a0}é/".chars().collect();
    prop::collection::vec(
        (0.0f64..1.0, prop::sample::select(chars), any::<bool>()),
        0..4,
    )
}

fn edited(text: &str, edits: &[(f64, char, bool)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(at, c, replace) in edits {
        let i = ((chars.len() as f64) * at) as usize;
        if replace && i < chars.len() {
            chars[i] = c;
        } else {
            chars.insert(i.min(chars.len()), c);
        }
    }
    chars.into_iter().collect()
}

fn same_as_reference(text: &str, format: Format, grouped: bool) -> Result<(), TestCaseError> {
    let fast = parse_ballots(text, format);
    let slow = reference::parse(text, format);
    match (fast, slow) {
        (Ok(f), Ok(s)) => {
            let expected: Profile = if grouped {
                s.profile.aggregate()
            } else {
                s.profile.clone()
            };
            prop_assert_eq!(&f.profile, &expected, "{}", text);
            prop_assert_eq!(f.profile.num_ballots(), s.profile.num_ballots());
            prop_assert_eq!(f.names, s.names);
            prop_assert_eq!(f.seats, s.seats);
            prop_assert_eq!(f.title, s.title);
            prop_assert_eq!(f.format, s.format);
        }
        (Err(f), Err(s)) => {
            prop_assert_eq!(f, s, "{}", text);
        }
        (f, s) => prop_assert!(false, "fast {:?} but reference {:?} on {:?}", f, s, text),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn blt_reads_as_the_reference(e in election(), ed in edits()) {
        let text = edited(&blt(&e), &ed);
        // `[nick …]` and the other Droop options are new: the reference never read them.
        prop_assume!(!text.contains('['));
        same_as_reference(&text, Format::Blt, true)?;
    }

    #[test]
    fn csv_reads_as_the_reference(e in election(), ed in edits()) {
        same_as_reference(&edited(&csv(&e), &ed), Format::ElektoCsv, false)?;
    }

    #[test]
    fn preflib_reads_as_the_reference(e in election(), ed in edits()) {
        same_as_reference(&edited(&preflib(&e), &ed), Format::PrefLib, true)?;
    }

    #[test]
    fn abif_reads_as_the_reference(e in election(), ed in edits()) {
        same_as_reference(&edited(&abif(&e), &ed), Format::Abif, true)?;
    }
}

/// A file large enough to be read by several threads, with lines that are not plain at the
/// start of a thread's share, in the middle, and at the end.
#[test]
fn large_csv_reads_as_the_reference() {
    let mut text = String::from("a,b,c,d\n");
    let lines = 400_000;
    for i in 0..lines {
        let line = match i {
            200_000 => "\"2\",1,No opinion,3".to_owned(),
            250_000 => "100000000,-1,4,70000".to_owned(),
            _ => format!("{},{},No opinion,{}", 1 + i % 3, 1 + (i + 1) % 3, 1 + i % 4),
        };
        text.push_str(&line);
        text.push_str(if i % 7 == 0 { "\r\n" } else { "\n" });
    }
    let fast = crate::count::parse_elekto_csv(&text).unwrap();
    let slow = reference::csv::parse_elekto_csv(&text).unwrap();
    assert_eq!(fast.num_lines(), lines);
    assert_eq!(fast, slow);
    text.push_str("1,2\n");
    let fast = crate::count::parse_elekto_csv(&text).unwrap_err();
    let slow = reference::csv::parse_elekto_csv(&text).unwrap_err();
    assert_eq!(fast, slow);
}

/// Weighted files large enough to be read in parallel pieces, with lines the fast paths do
/// not take near where the pieces meet, in the middle of one and at the end.
#[test]
fn large_weighted_files_read_as_the_reference() {
    let m = 6;
    let lines = 450_000usize;
    let ballots: Vec<(Vec<Vec<usize>>, u32)> = (0..lines)
        .map(|i| {
            let len = 1 + i % m;
            let mut tiers: Vec<Vec<usize>> = (0..len).map(|k| vec![(i / 7 + k) % m]).collect();
            if i % 11 == 0 && len > 1 {
                let last = tiers.pop().unwrap_or_default();
                tiers[0].extend(last);
            }
            (tiers, 1 + (i % 3) as u32)
        })
        .collect();
    let e = (m, ballots);
    // (format, text, lines before the ballots, a line the fast path leaves to the general
    // reader)
    let cases = [
        (Format::Blt, blt(&e), 1, "(id) 2 1 3 0"),
        (Format::PrefLib, preflib(&e), 4 + m, "+2: 1,3"),
        (Format::Abif, abif(&e), 1 + m, "2: [Name 1] > k3"),
    ];
    for (format, text, head, odd) in cases {
        let mut out: Vec<&str> = text.lines().collect();
        let n = head + lines;
        for at in [n - 1, n / 2 + 3, n / 2 - 1, n / 3] {
            out.insert(at, odd);
        }
        let text = out.join("\n") + "\n";
        assert!(text.len() > 4 << 20, "{format}: {} bytes", text.len());
        let fast = parse_ballots(&text, format).unwrap();
        let slow = reference::parse(&text, format).unwrap();
        assert_eq!(fast.profile, slow.profile.aggregate(), "{format}");
        assert_eq!(fast.names, slow.names, "{format}");
        assert_eq!(fast.title, slow.title, "{format}");
        let bad = text.replacen(odd, "2: 1,,{", 1);
        assert_eq!(
            parse_ballots(&bad, format).unwrap_err(),
            reference::parse(&bad, format).unwrap_err(),
            "{format}"
        );
    }
}
