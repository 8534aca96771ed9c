//! Quality measures of a labelling against gold labels: precision, recall, F1,
//! macro-F1, accuracy, the confusion matrix and calibration error.

use serde::Serialize;

use super::Label;

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelScores {
    /// Share of sentences predicted with the label that have it.
    pub precision: f64,
    /// Share of sentences with the label that are predicted with it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of gold sentences with the label.
    pub support: usize,
}

/// The quality of predictions against gold labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Number of sentences.
    pub n: usize,
    /// Share of sentences labelled right.
    pub accuracy: f64,
    /// Mean of the three labels' F1.
    pub macro_f1: f64,
    /// Scores per label, by label name.
    pub per_label: std::collections::BTreeMap<String, LabelScores>,
    /// `confusion[gold][predicted]`, labels in the order `call_to_action`, `commitment`,
    /// `context`.
    pub confusion: [[usize; 3]; 3],
}

impl Evaluation {
    /// Scores predicted labels against gold labels (pairs in any order).
    pub fn new(pairs: impl IntoIterator<Item = (Label, Label)>) -> Evaluation {
        let mut confusion = [[0usize; 3]; 3];
        for (gold, pred) in pairs {
            confusion[gold.index()][pred.index()] += 1;
        }
        let n: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..3).map(|i| confusion[i][i]).sum();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let mut per_label = std::collections::BTreeMap::new();
        for label in Label::ALL {
            let i = label.index();
            let tp = confusion[i][i];
            let predicted: usize = (0..3).map(|g| confusion[g][i]).sum();
            let support: usize = confusion[i].iter().sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            per_label.insert(
                label.as_str().to_string(),
                LabelScores {
                    precision,
                    recall,
                    f1,
                    support,
                },
            );
        }
        let macro_f1 = per_label.values().map(|s| s.f1).sum::<f64>() / 3.0;
        Evaluation {
            n,
            accuracy: ratio(correct, n),
            macro_f1,
            per_label,
            confusion,
        }
    }

    /// F1 of one label.
    pub fn f1(&self, label: Label) -> f64 {
        self.per_label[label.as_str()].f1
    }

    /// A plain-text report: per-label scores, macro-F1, accuracy and the confusion matrix.
    pub fn to_table(&self) -> String {
        let mut s = format!(
            "{:<16} {:>9} {:>9} {:>9} {:>8}\n",
            "label", "precision", "recall", "f1", "support"
        );
        for label in Label::ALL {
            let l = &self.per_label[label.as_str()];
            s += &format!(
                "{:<16} {:>9.3} {:>9.3} {:>9.3} {:>8}\n",
                label.as_str(),
                l.precision,
                l.recall,
                l.f1,
                l.support
            );
        }
        s += &format!(
            "\nmacro-F1 {:.3}   accuracy {:.3}   n {}\n\n",
            self.macro_f1, self.accuracy, self.n
        );
        s += &format!(
            "{:<16} {:>14} {:>14} {:>14}\n",
            "gold \\ predicted", "call_to_action", "commitment", "context"
        );
        for label in Label::ALL {
            let r = self.confusion[label.index()];
            s += &format!(
                "{:<16} {:>14} {:>14} {:>14}\n",
                label.as_str(),
                r[0],
                r[1],
                r[2]
            );
        }
        s
    }
}

/// Expected calibration error over equal-width confidence bins: the mean gap between
/// confidence and accuracy, weighted by the share of predictions in each bin.
pub fn expected_calibration_error(confidence_correct: &[(f32, bool)], bins: usize) -> f64 {
    if confidence_correct.is_empty() || bins == 0 {
        return 0.0;
    }
    let mut sum_conf = vec![0f64; bins];
    let mut sum_acc = vec![0f64; bins];
    let mut count = vec![0usize; bins];
    for &(c, ok) in confidence_correct {
        let b = ((c as f64 * bins as f64) as usize).min(bins - 1);
        sum_conf[b] += c as f64;
        sum_acc[b] += ok as u8 as f64;
        count[b] += 1;
    }
    let n = confidence_correct.len() as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_conf[b] - sum_acc[b]).abs() / n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::*;

    #[test]
    fn hand_computed_case() {
        // gold: 2 calls, 1 commitment, 2 context; one call predicted as context and one
        // context predicted as commitment.
        let pairs = [
            (CallToAction, CallToAction),
            (CallToAction, Context),
            (Commitment, Commitment),
            (Context, Context),
            (Context, Commitment),
        ];
        let e = Evaluation::new(pairs);
        assert_eq!(e.n, 5);
        assert!((e.accuracy - 0.6).abs() < 1e-12);
        // call: P 1/1, R 1/2, F1 2/3; commitment: P 1/2, R 1, F1 2/3; context: P 1/2, R 1/2, F1 1/2.
        assert!((e.f1(CallToAction) - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.f1(Commitment) - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.f1(Context) - 0.5).abs() < 1e-12);
        assert!((e.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0 + 0.5) / 3.0).abs() < 1e-12);
        assert_eq!(e.confusion, [[1, 0, 1], [0, 1, 0], [0, 1, 1]]);
    }

    #[test]
    fn calibration_error_of_hand_computed_bins() {
        // Bin 0.9: two predictions at 0.9, one right -> gap 0.4 on 2 of 4.
        // Bin 0.6: two predictions at 0.6, both right -> gap 0.4 on 2 of 4.
        let v = [(0.9, true), (0.9, false), (0.6, true), (0.6, true)];
        let ece = expected_calibration_error(&v, 10);
        assert!((ece - 0.4).abs() < 1e-6, "{ece}");
    }
}
