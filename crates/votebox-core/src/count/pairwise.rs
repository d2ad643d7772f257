//! The pairwise matrix and the sets derived from it (Condorcet winner, Smith, Schwartz).

use super::outcome::Matrix;
use super::profile::{Profile, UNRANKED, Unranked};

/// Lanes per block of the inner loop (rows are padded to a multiple of this).
const LANES: usize = 8;

/// Below this many lane comparisons (lines × candidates²) the matrix is built on one thread.
const PARALLEL_FROM: usize = 1 << 24;

/// The pairwise matrix: `d[x][y]` = number of ballots ranking `x` strictly above `y`
/// (standard orientation; Elekto's internal dict is the transpose).
///
/// Equal ranks count for neither side. Under [`Unranked::NoOpinion`] a candidate unranked on a
/// ballot takes part in no comparison on it; under [`Unranked::Last`] it is below every ranked
/// candidate and tied with the other unranked ones.
///
/// Cost: O(ballot lines × candidates²) with a branch-free inner loop over 16-bit counters
/// (rows padded to 8 lanes so it vectorises), flushed into the 64-bit matrix before they could
/// overflow. Lines with a weight above 65535 are added directly. A large profile is cut into
/// one run of lines per core, counted in parallel and summed (sums of integers: the same
/// matrix).
pub fn pairwise_matrix(profile: &Profile, unranked: Unranked) -> Matrix {
    let m = profile.num_candidates();
    let lines = profile.num_lines();
    let threads = super::parallel::threads();
    if m == 0 || threads < 2 || lines.saturating_mul(m * m) < PARALLEL_FROM {
        return count_lines(profile, 0..lines, unranked);
    }
    let parts = super::parallel::per_run(lines, threads, |range| {
        count_lines(profile, range, unranked)
    });
    let mut d = Matrix::zeros(m);
    for part in &parts {
        for x in 0..m {
            for y in 0..m {
                d.set(x, y, d.get(x, y) + part.get(x, y));
            }
        }
    }
    d
}

/// [`pairwise_matrix`] of the stored lines `lines` of the profile.
fn count_lines(profile: &Profile, lines: std::ops::Range<usize>, unranked: Unranked) -> Matrix {
    let m = profile.num_candidates();
    let mut d = Matrix::zeros(m);
    if m == 0 {
        return d;
    }
    // Ranks are compared as i16 after flipping the top bit (`r ^ 0x8000`), which keeps their
    // unsigned order and is one signed compare per 8 lanes on every x86-64.
    let key = |r: u16| (r ^ 0x8000) as i16;
    // Column values: an unranked column compares as 0 (no rank is < 0) under NoOpinion, and
    // as UNRANKED (every stored rank is < it) under Last. Only ranked rows are visited: an
    // unranked row wins no comparison under either rule. Padding columns stay 0.
    let fill: u16 = match unranked {
        Unranked::NoOpinion => 0,
        Unranked::Last => UNRANKED,
    };
    let stride = m.div_ceil(LANES) * LANES;
    let mut acc = vec![0u16; m * stride];
    let mut acc_weight: u32 = 0;
    let mut col = vec![key(0); stride];
    let flush = |acc: &mut [u16], d: &mut Matrix| {
        for x in 0..m {
            for y in 0..m {
                let a = &mut acc[x * stride + y];
                d.set(x, y, d.get(x, y) + u64::from(*a));
                *a = 0;
            }
        }
    };
    for (ranks, w) in profile.lines_in(lines) {
        for (c, &r) in col.iter_mut().zip(ranks) {
            *c = key(if r == UNRANKED { fill } else { r });
        }
        let Ok(w16) = u16::try_from(w) else {
            for (x, &rx) in ranks.iter().enumerate() {
                if rx == UNRANKED {
                    continue;
                }
                for (y, &cy) in col[..m].iter().enumerate() {
                    if key(rx) < cy {
                        d.set(x, y, d.get(x, y) + u64::from(w));
                    }
                }
            }
            continue;
        };
        if acc_weight + w > u32::from(u16::MAX) {
            flush(&mut acc, &mut d);
            acc_weight = 0;
        }
        acc_weight += w;
        for (x, &rx) in ranks.iter().enumerate() {
            if rx == UNRANKED {
                continue;
            }
            let kx = key(rx);
            let row = &mut acc[x * stride..(x + 1) * stride];
            for (rc, cc) in row.chunks_exact_mut(LANES).zip(col.chunks_exact(LANES)) {
                for i in 0..LANES {
                    let mask = 0u16.wrapping_sub(u16::from(kx < cc[i]));
                    rc[i] = rc[i].wrapping_add(w16 & mask);
                }
            }
        }
    }
    flush(&mut acc, &mut d);
    d
}

/// The candidate that beats every other candidate pairwise (`d[x][y] > d[y][x]` for all y).
pub fn condorcet_winner(d: &Matrix) -> Option<usize> {
    let n = d.size();
    (0..n).find(|&x| (0..n).all(|y| y == x || d.get(x, y) > d.get(y, x)))
}

/// Transitive closure of a relation given as a predicate (reflexive: every x reaches itself).
fn closure(n: usize, rel: impl Fn(usize, usize) -> bool) -> Vec<Vec<bool>> {
    let mut r: Vec<Vec<bool>> = (0..n)
        .map(|x| (0..n).map(|y| x == y || rel(x, y)).collect())
        .collect();
    for k in 0..n {
        let rk = r[k].clone();
        for row in r.iter_mut() {
            if row[k] {
                for (a, &b) in row.iter_mut().zip(&rk) {
                    *a |= b;
                }
            }
        }
    }
    r
}

/// The Smith set: the smallest non-empty set of candidates who each beat every candidate
/// outside it. Computed as the candidates that reach every candidate through the "beats or
/// ties" relation. Input order.
pub fn smith_set(d: &Matrix) -> Vec<usize> {
    let n = d.size();
    let r = closure(n, |x, y| d.get(x, y) >= d.get(y, x));
    (0..n).filter(|&x| (0..n).all(|y| r[x][y])).collect()
}

/// The Schwartz set: the union of the minimal sets not beaten from outside. A candidate is in
/// it iff it can reach (through strict pairwise wins) every candidate that reaches it.
pub fn schwartz_set(d: &Matrix) -> Vec<usize> {
    let n = d.size();
    let r = closure(n, |x, y| d.get(x, y) > d.get(y, x));
    (0..n)
        .filter(|&x| (0..n).all(|y| !r[y][x] || r[x][y]))
        .collect()
}

/// Groups candidates by the number of candidates that beat them (`beats(w, v)`), ascending:
/// returns the tiers (input order inside) and each tier's defeat count.
pub(crate) fn tiers_by_defeats(
    n: usize,
    beats: impl Fn(usize, usize) -> bool,
) -> (Vec<Vec<usize>>, Vec<u32>) {
    let defeats: Vec<u32> = (0..n)
        .map(|v| (0..n).filter(|&w| w != v && beats(w, v)).count() as u32)
        .collect();
    let mut levels: Vec<u32> = defeats.clone();
    levels.sort_unstable();
    levels.dedup();
    let tiers = levels
        .iter()
        .map(|&l| (0..n).filter(|&v| defeats[v] == l).collect())
        .collect();
    (tiers, levels)
}

/// Groups candidates by a score (`better(a, b)` when a's score is better), best first:
/// tiers of equal scores and, per tier, the number of candidates in better tiers.
pub(crate) fn tiers_by_score<K: Ord + Copy>(
    n: usize,
    key: impl Fn(usize) -> K,
) -> (Vec<Vec<usize>>, Vec<u32>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&c| (key(c), c));
    let mut tiers: Vec<Vec<usize>> = Vec::new();
    let mut defeats = Vec::new();
    let mut above = 0u32;
    let mut prev: Option<K> = None;
    for c in order {
        let k = key(c);
        if prev == Some(k) {
            if let Some(t) = tiers.last_mut() {
                t.push(c);
            }
        } else {
            above += tiers.last().map_or(0, |t| t.len() as u32);
            tiers.push(vec![c]);
            defeats.push(above);
            prev = Some(k);
        }
    }
    (tiers, defeats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::profile::Ballot;

    fn profile(m: usize, ballots: &[&[Option<u32>]]) -> Profile {
        let c = (0..m).map(|i| format!("c{i}")).collect();
        Profile::with_ballots(c, ballots.iter().map(|b| Ballot::new(b.to_vec()))).unwrap()
    }

    #[test]
    fn no_opinion_and_last_rules() {
        let p = profile(3, &[&[Some(1), None, Some(2)], &[Some(2), Some(2), None]]);
        let d = pairwise_matrix(&p, Unranked::NoOpinion);
        assert_eq!(
            d.to_rows(),
            vec![vec![0, 0, 1], vec![0, 0, 0], vec![0, 0, 0]]
        );
        let d = pairwise_matrix(&p, Unranked::Last);
        assert_eq!(
            d.to_rows(),
            vec![vec![0, 1, 2], vec![0, 0, 1], vec![0, 1, 0]]
        );
    }

    #[test]
    fn weights_and_flush() {
        let mut p = profile(2, &[]);
        let b = Ballot::new(vec![Some(1), Some(2)]);
        for _ in 0..3 {
            p.push_weighted(&b, u32::MAX).unwrap();
        }
        for _ in 0..70_000 {
            p.push_weighted(&b, 1).unwrap();
        }
        p.push_weighted(&b, 65_535).unwrap();
        p.push_weighted(&Ballot::new(vec![Some(2), Some(1)]), 65_536)
            .unwrap();
        let d = pairwise_matrix(&p, Unranked::NoOpinion);
        assert_eq!(d.get(0, 1), 3 * u64::from(u32::MAX) + 70_000 + 65_535);
        assert_eq!(d.get(1, 0), 65_536);
    }

    #[test]
    fn sets() {
        // Cycle a>b>c>a plus d beaten by all.
        let d = Matrix::from_rows(&[
            vec![0, 2, 1, 3],
            vec![1, 0, 2, 3],
            vec![2, 1, 0, 3],
            vec![0, 0, 0, 0],
        ]);
        assert_eq!(condorcet_winner(&d), None);
        assert_eq!(smith_set(&d), vec![0, 1, 2]);
        assert_eq!(schwartz_set(&d), vec![0, 1, 2]);
        let d = Matrix::from_rows(&[vec![0, 1, 0], vec![1, 0, 0], vec![0, 0, 0]]);
        // All tied: Smith = everyone; Schwartz = everyone (nobody beaten).
        assert_eq!(smith_set(&d), vec![0, 1, 2]);
        assert_eq!(schwartz_set(&d), vec![0, 1, 2]);
        let d = Matrix::from_rows(&[vec![0, 2, 1], vec![1, 0, 1], vec![1, 1, 0]]);
        // a beats b, a ties c, b ties c: Smith {a,b,c}, Schwartz {a, c}.
        assert_eq!(smith_set(&d), vec![0, 1, 2]);
        assert_eq!(schwartz_set(&d), vec![0, 2]);
    }

    #[test]
    fn tier_helpers() {
        let (t, l) = tiers_by_score(4, |c| [2, 1, 2, 5][c]);
        assert_eq!(t, vec![vec![1], vec![0, 2], vec![3]]);
        assert_eq!(l, vec![0, 1, 3]);
        let (t, l) = tiers_by_defeats(3, |w, v| w == 0 && v == 2);
        assert_eq!(t, vec![vec![0, 1], vec![2]]);
        assert_eq!(l, vec![0, 1]);
    }
}
