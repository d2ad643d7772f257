//! Property tests: Condorcet consistency, ballot-order invariance, removal of a candidate
//! nobody ranks.

use proptest::prelude::*;

use super::*;

const CONDORCET_METHODS: [Method; 5] = [
    Method::Schulze,
    Method::SchulzeMargins,
    Method::RankedPairs,
    Method::Minimax,
    Method::Copeland,
];

/// Up to 6 candidates; ballots with ranks 1..=4 or unranked, with weights.
fn profiles() -> impl Strategy<Value = Profile> {
    (2usize..=6).prop_flat_map(|m| {
        let ballot = prop::collection::vec(prop::option::weighted(0.8, 1u32..=4), m);
        prop::collection::vec((ballot, 1u32..=3), 0..25).prop_map(move |lines| {
            let ids = (0..m).map(|i| format!("c{i}")).collect();
            let mut p = Profile::new(ids).unwrap();
            for (ranks, w) in lines {
                p.push_ranks(&ranks, w).unwrap();
            }
            p
        })
    })
}

/// Strict (no equal ranks), possibly truncated ballots over up to 5 candidates.
fn strict_profiles() -> impl Strategy<Value = Profile> {
    (2usize..=5).prop_flat_map(|m| {
        let ballot = (Just((0..m).collect::<Vec<usize>>()).prop_shuffle(), 1..=m);
        prop::collection::vec((ballot, 1u32..=4), 0..20).prop_map(move |lines| {
            let ids = (0..m).map(|i| format!("c{i}")).collect();
            let mut p = Profile::new(ids).unwrap();
            for ((order, len), w) in lines {
                let tiers: Vec<Vec<usize>> = order[..len].iter().map(|&c| vec![c]).collect();
                p.push_weighted(&Ballot::from_tiers(m, &tiers).unwrap(), w)
                    .unwrap();
            }
            p
        })
    })
}

fn unranked_rules() -> impl Strategy<Value = Unranked> {
    prop_oneof![Just(Unranked::NoOpinion), Just(Unranked::Last)]
}

fn shuffled(p: &Profile, seed: u64) -> Profile {
    let mut lines: Vec<(Ballot, u32)> = (0..p.num_lines()).map(|i| p.line(i)).collect();
    // Deterministic Fisher–Yates with a small LCG.
    let mut s = seed;
    for i in (1..lines.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (s >> 33) as usize % (i + 1);
        lines.swap(i, j);
    }
    let mut q = Profile::new(p.candidates().to_vec()).unwrap();
    for (b, w) in lines {
        q.push_weighted(&b, w).unwrap();
    }
    q
}

/// Ranking restricted to the given candidates, as names, without empty tiers.
fn restricted(o: &Outcome, keep: &[String]) -> Vec<Vec<String>> {
    o.ranking
        .iter()
        .map(|t| {
            t.iter()
                .filter(|c| keep.contains(c))
                .cloned()
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn condorcet_winner_always_wins(p in profiles(), unranked in unranked_rules()) {
        let d = pairwise_matrix(&p, unranked);
        if let Some(cw) = condorcet_winner(&d) {
            for method in CONDORCET_METHODS {
                let o = count(&p, &CountOptions::new(method, 1).with_unranked(unranked)).unwrap();
                prop_assert_eq!(&o.winners, &vec![p.candidates()[cw].clone()], "{}", method);
                prop_assert_eq!(&o.ranking[0], &vec![p.candidates()[cw].clone()]);
                prop_assert_eq!(o.smith_set.clone(), vec![p.candidates()[cw].clone()]);
            }
        }
    }

    #[test]
    fn ballot_order_never_matters(
        p in profiles(),
        unranked in unranked_rules(),
        seed in any::<u64>(),
        seats in 1usize..=3,
    ) {
        let q = shuffled(&p, seed);
        let agg = p.aggregate();
        for method in Method::ALL {
            let seats = if method == Method::Irv { 1 } else { seats };
            let opts = CountOptions::new(method, seats).with_unranked(unranked);
            let a = count(&p, &opts).unwrap();
            let b = count(&q, &opts).unwrap();
            let c = count(&agg, &opts).unwrap();
            prop_assert_eq!(&a, &b, "{}", method);
            prop_assert_eq!(&a, &c, "{}", method);
        }
    }

    #[test]
    fn removing_a_candidate_nobody_ranks_changes_nothing_else(
        p in profiles(),
        unranked in unranked_rules(),
        at in 0usize..7,
    ) {
        // Insert a candidate `zz` nobody ranks at position `at`.
        let m = p.num_candidates();
        let at = at.min(m);
        let mut ids = p.candidates().to_vec();
        ids.insert(at, "zz".to_owned());
        let mut big = Profile::new(ids).unwrap();
        for i in 0..p.num_lines() {
            let (b, w) = p.line(i);
            let mut r = b.ranks().to_vec();
            r.insert(at, None);
            big.push_ranks(&r, w).unwrap();
        }
        prop_assert_eq!(&big.without_candidates(&[at]), &p);
        let others = p.candidates().to_vec();
        for method in CONDORCET_METHODS {
            let opts = CountOptions::new(method, 1).with_unranked(unranked);
            let small = count(&p, &opts).unwrap();
            let large = count(&big, &opts).unwrap();
            prop_assert_eq!(restricted(&large, &others), small.ranking.clone(), "{}", method);
            // The pairwise matrix of the others is unchanged.
            let (ds, dl) = (small.pairwise.unwrap(), large.pairwise.unwrap());
            for x in 0..m {
                for y in 0..m {
                    let (lx, ly) = (x + usize::from(x >= at), y + usize::from(y >= at));
                    prop_assert_eq!(ds.get(x, y), dl.get(lx, ly));
                }
            }
        }
        // STV and IRV: the unranked candidate never wins and never changes who does.
        for method in [Method::Irv, Method::StvMeek] {
            let opts = CountOptions::new(method, 1).with_unranked(Unranked::NoOpinion);
            let small = count(&p, &opts).unwrap();
            let large = count(&big, &opts).unwrap();
            prop_assert_eq!(&small.winners, &large.winners, "{}", method);
            prop_assert!(!large.winners.contains(&"zz".to_owned()));
        }
    }

    #[test]
    fn one_seat_meek_is_irv_on_strict_ballots(p in strict_profiles()) {
        let irv = count(&p, &CountOptions::new(Method::Irv, 1)).unwrap();
        let stv = count(&p, &CountOptions::new(Method::StvMeek, 1)).unwrap();
        prop_assert_eq!(&irv.winners, &stv.winners);
        prop_assert_eq!(&irv.ties_at_last_seat, &stv.ties_at_last_seat);
        prop_assert_eq!(&irv.rounds[0].tallies, &stv.rounds[0].tallies);
    }

    /// Scottish STV: at every stage the candidates' votes, the non-transferable votes and the
    /// value lost to truncation add up exactly to the valid papers (every strict ballot here
    /// is valid), and nothing is ever negative.
    #[test]
    fn scottish_stv_conserves_votes_at_every_stage(p in strict_profiles(), seats in 1usize..=3) {
        let o = count(&p, &CountOptions::new(Method::StvScottish, seats)).unwrap();
        let units = |v: f64| (v * 1e5).round() as i64;
        let valid = p.num_ballots() as i64 * 100_000;
        let mut last_loss = 0;
        for r in &o.rounds {
            let st = r.stage.as_ref().unwrap();
            let sum: i64 = r.tallies.iter().map(|t| units(t.votes)).sum();
            prop_assert_eq!(sum + units(r.exhausted) + units(st.total_loss), valid);
            prop_assert!(r.tallies.iter().all(|t| t.votes >= 0.0));
            // The loss only grows, and only by what this stage lost.
            prop_assert_eq!(units(st.total_loss), last_loss + units(st.loss));
            last_loss = units(st.total_loss);
        }
    }

    /// Scottish STV: a candidate with a quota of first preferences is elected at stage 1, and
    /// the seats are filled (or the tie across them reported) whenever there are enough
    /// candidates; with a tie-break they are always filled.
    #[test]
    fn scottish_stv_elects_quota_holders_and_fills_the_seats(
        p in strict_profiles(),
        seats in 1usize..=3,
    ) {
        let seats = seats.min(p.num_candidates());
        let o = count(&p, &CountOptions::new(Method::StvScottish, seats)).unwrap();
        let quota = o.rounds[0].quota.unwrap();
        for t in &o.rounds[0].tallies {
            if t.votes >= quota {
                prop_assert!(o.rounds[0].elected.contains(&t.candidate));
                prop_assert!(o.winners.contains(&t.candidate));
            }
        }
        prop_assert!(o.winners.len() <= seats);
        prop_assert!(o.winners.len() + o.ties_at_last_seat.len() >= seats);
        let tb = TieBreak::from_seed("s");
        let o = count(&p, &CountOptions::new(Method::StvScottish, seats).with_tie_break(tb)).unwrap();
        prop_assert_eq!(o.winners.len(), seats);
    }

    #[test]
    fn seeded_tie_break_always_decides(p in profiles(), seats in 1usize..=3) {
        for method in Method::ALL {
            let seats = if method == Method::Irv { 1 } else { seats.min(p.num_candidates()) };
            let opts = CountOptions::new(method, seats).with_tie_break(TieBreak::from_seed("s"));
            let o = count(&p, &opts).unwrap();
            prop_assert!(o.ties_at_last_seat.is_empty(), "{}", method);
            prop_assert_eq!(o.winners.len(), seats, "{}", method);
        }
    }
}
