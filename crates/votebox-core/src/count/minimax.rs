//! Minimax (Simpson–Kramer): the candidate whose worst pairwise defeat is smallest wins.
//!
//! [`Method::Minimax`] uses winning votes (a defeat's size is the winner's votes `d[y][x]`,
//! only when `d[y][x] > d[x][y]`; a candidate never defeated scores 0). The margins and
//! pairwise-opposition variants are available through [`minimax_outcome`]. Candidates are
//! ranked by score, lower is better; equal scores share a tier.

use super::outcome::{Matrix, Outcome};
use super::pairwise::{pairwise_matrix, tiers_by_score};
use super::{CountError, CountOptions, Method, Profile};

/// How the worst pairwise defeat is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MinimaxScore {
    /// Largest `d[y][x]` over the candidates y that beat x (0 if none). The default.
    #[default]
    WinningVotes,
    /// Largest `d[y][x] - d[x][y]` over all y (may be negative).
    Margins,
    /// Largest `d[y][x]` over all y, win or lose.
    Opposition,
}

/// Each candidate's Minimax score (lower is better). With a single candidate every score is 0.
pub fn minimax_scores(d: &Matrix, variant: MinimaxScore) -> Vec<i64> {
    let n = d.size();
    (0..n)
        .map(|x| {
            (0..n)
                .filter(|&y| y != x)
                .map(|y| {
                    let (against, for_) = (d.get(y, x) as i64, d.get(x, y) as i64);
                    match variant {
                        MinimaxScore::WinningVotes => {
                            if against > for_ {
                                against
                            } else {
                                0
                            }
                        }
                        MinimaxScore::Margins => against - for_,
                        MinimaxScore::Opposition => against,
                    }
                })
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Minimax with the given score variant.
pub fn minimax_outcome(
    profile: &Profile,
    opts: &CountOptions,
    variant: MinimaxScore,
) -> Result<Outcome, CountError> {
    super::check(profile, opts)?;
    let d = pairwise_matrix(profile, opts.unranked);
    let scores = minimax_scores(&d, variant);
    let (tiers, defeats) = tiers_by_score(scores.len(), |c| scores[c]);
    let mut out = super::base_outcome(profile, opts, Method::Minimax, d);
    out.scores = Some(super::candidate_scores(
        profile,
        scores.iter().map(|&s| s as f64),
    ));
    out.log.push(format!("minimax score: {variant:?}"));
    super::finish_ranked(&mut out, profile, opts, tiers, defeats);
    super::finish_tie_break(&mut out, opts);
    Ok(out)
}

pub(crate) fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    minimax_outcome(profile, opts, MinimaxScore::WinningVotes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants() {
        // a beats b 3:2, b beats c 4:1, c beats a 3:2 (rows = for, columns = against).
        let d = Matrix::from_rows(&[vec![0, 3, 2], vec![2, 0, 4], vec![3, 1, 0]]);
        assert_eq!(
            minimax_scores(&d, MinimaxScore::WinningVotes),
            vec![3, 3, 4]
        );
        assert_eq!(minimax_scores(&d, MinimaxScore::Margins), vec![1, 1, 3]);
        assert_eq!(minimax_scores(&d, MinimaxScore::Opposition), vec![3, 3, 4]);
        assert_eq!(
            minimax_scores(&Matrix::zeros(1), MinimaxScore::Margins),
            vec![0]
        );
    }
}
