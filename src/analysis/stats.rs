//! Statistics of the comparison: Wilson score intervals, weighted log-odds with an
//! informative Dirichlet prior ("Fightin' Words"), cosine similarity, and
//! precision/recall/F1.

use serde::Serialize;

/// The standard normal quantile for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A closed interval `[lower, upper]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

/// A proportion `count / n` with its 95% Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    /// Number of successes.
    pub count: u64,
    /// Number of trials.
    pub n: u64,
    /// `count / n`, `None` when `n` is 0.
    pub value: Option<f64>,
    /// The 95% Wilson score interval, `None` when `n` is 0.
    pub interval: Option<Interval>,
}

impl Share {
    /// The share `count / n` with its 95% Wilson interval.
    pub fn new(count: u64, n: u64) -> Share {
        Share {
            count,
            n,
            value: (n > 0).then(|| count as f64 / n as f64),
            interval: wilson(count, n, Z95),
        }
    }
}

/// The Wilson score interval of a binomial proportion of `successes` in `trials`
/// at normal quantile `z` (Wilson 1927), clamped to `[0, 1]`.
///
/// `None` when there are no trials or `successes > trials`.
pub fn wilson(successes: u64, trials: u64, z: f64) -> Option<Interval> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    // At 0 and n successes the bounds are exactly 0 and 1; rounding would miss them.
    Some(Interval {
        lower: if successes == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        upper: if successes == trials {
            1.0
        } else {
            (centre + half).min(1.0)
        },
    })
}

/// The weighted log-odds ratio of one item between a focal group and a comparison
/// group, with its estimated variance and z-score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogOdds {
    /// The log-odds ratio δ (positive: more frequent in the focal group).
    pub delta: f64,
    /// The approximate variance of δ.
    pub variance: f64,
    /// `delta / sqrt(variance)`.
    pub z: f64,
}

impl LogOdds {
    /// The 95% normal interval `delta ± 1.96·sd`.
    pub fn interval(&self) -> Interval {
        let half = Z95 * self.variance.sqrt();
        Interval {
            lower: self.delta - half,
            upper: self.delta + half,
        }
    }
}

/// Counts of one item (a theme, a word) in a focal group and a comparison group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemCounts {
    /// Occurrences of the item in the focal group (y_w^i).
    pub focal: f64,
    /// All item occurrences in the focal group (n^i).
    pub focal_total: f64,
    /// Occurrences of the item in the comparison group (y_w^j).
    pub other: f64,
    /// All item occurrences in the comparison group (n^j).
    pub other_total: f64,
}

/// The weighted log-odds ratio with an informative Dirichlet prior of Monroe,
/// Colaresi and Quinn (2008, "Fightin' Words", eq. 16 and 20):
///
/// δ = log((y^i + α_w) / (n^i + α_0 − y^i − α_w)) − log((y^j + α_w) / (n^j + α_0 − y^j − α_w)),
/// σ² ≈ 1/(y^i + α_w) + 1/(y^j + α_w), z = δ / σ.
///
/// `alpha` is the item's prior pseudo-count α_w, `alpha_total` the sum α_0 of all
/// items' pseudo-counts. `None` where the prior is not positive or an odds is
/// undefined (an item that makes up everything).
pub fn log_odds_dirichlet(counts: ItemCounts, alpha: f64, alpha_total: f64) -> Option<LogOdds> {
    if alpha <= 0.0 || alpha_total < alpha {
        return None;
    }
    let ItemCounts {
        focal,
        focal_total,
        other,
        other_total,
    } = counts;
    let focal_rest = focal_total + alpha_total - focal - alpha;
    let other_rest = other_total + alpha_total - other - alpha;
    if focal_rest <= 0.0 || other_rest <= 0.0 {
        return None;
    }
    let delta = ((focal + alpha) / focal_rest).ln() - ((other + alpha) / other_rest).ln();
    let variance = 1.0 / (focal + alpha) + 1.0 / (other + alpha);
    Some(LogOdds {
        delta,
        variance,
        z: delta / variance.sqrt(),
    })
}

/// Cosine similarity of two vectors; `None` when their lengths differ or either is zero.
pub fn cosine<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> Option<f64> {
    if a.len() != b.len() {
        return None;
    }
    let (mut dot, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x.into(), y.into());
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    (aa > 0.0 && bb > 0.0).then(|| dot / (aa.sqrt() * bb.sqrt()))
}

/// Counts of true positives, false positives and false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Predicted and correct.
    pub tp: u64,
    /// Predicted but not correct.
    pub fp: u64,
    /// Correct but not predicted.
    pub fn_: u64,
}

impl Confusion {
    /// `tp / (tp + fp)`; 0 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `tp / (tp + fn)`; 0 when nothing was to be found.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// The harmonic mean of precision and recall, `2tp / (2tp + fp + fn)`.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_of_nothing_is_none() {
        assert_eq!(wilson(0, 0, Z95), None);
        assert_eq!(wilson(3, 2, Z95), None);
        assert_eq!(Share::new(0, 0).value, None);
    }

    #[test]
    fn wilson_stays_in_unit_interval() {
        for n in 1..40u64 {
            for k in 0..=n {
                let i = wilson(k, n, Z95).unwrap();
                let p = k as f64 / n as f64;
                assert!(0.0 <= i.lower && i.lower <= p && p <= i.upper && i.upper <= 1.0);
            }
        }
    }

    #[test]
    fn cosine_of_mismatched_or_zero_is_none() {
        assert_eq!(cosine(&[1.0f64, 2.0], &[1.0]), None);
        assert_eq!(cosine(&[0.0f64, 0.0], &[1.0, 1.0]), None);
    }

    #[test]
    fn degenerate_log_odds_are_none() {
        let c = ItemCounts {
            focal: 3.0,
            focal_total: 3.0,
            other: 2.0,
            other_total: 2.0,
        };
        // One item making up the whole corpus has no defined odds.
        assert_eq!(log_odds_dirichlet(c, 5.0, 5.0), None);
        assert_eq!(log_odds_dirichlet(c, 0.0, 5.0), None);
    }
}
