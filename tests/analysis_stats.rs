//! The statistics of `polrec compare` against values computed by hand.

use polrec::analysis::stats::{
    cosine, log_odds_dirichlet, wilson, Confusion, ItemCounts, Share, Z95,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Wilson (1927): centre = (p + z²/2n) / (1 + z²/n),
/// half-width = z·sqrt(p(1−p)/n + z²/4n²) / (1 + z²/n).
#[test]
fn wilson_15_of_25_by_hand() {
    // p = 0.6, n = 25, z = 1.959964, z² = 3.841459
    // denominator = 1 + 3.841459/25 = 1.153658
    // centre = (0.6 + 3.841459/50) / 1.153658 = 0.676829 / 1.153658 = 0.586682
    // half = 1.959964 · sqrt(0.24/25 + 3.841459/2500) / 1.153658
    //      = 1.959964 · sqrt(0.0096 + 0.0015366) / 1.153658
    //      = 1.959964 · 0.105530 / 1.153658 = 0.179287
    // interval = [0.407395, 0.765969] by these rounded steps; 0.765967 unrounded.
    let i = wilson(15, 25, Z95).unwrap();
    assert!(close(i.lower, 0.407395, 2e-6), "{}", i.lower);
    assert!(close(i.upper, 0.765967, 2e-6), "{}", i.upper);
}

#[test]
fn wilson_edges_by_hand() {
    // 0 of 10: centre = (0 + 3.841459/20)/1.384146 = 0.138766, half the same: [0, 0.277533].
    let i = wilson(0, 10, Z95).unwrap();
    assert_eq!(i.lower, 0.0);
    assert!(close(i.upper, 0.277533, 2e-6), "{}", i.upper);
    // 10 of 10 mirrors it: [0.722467, 1].
    let i = wilson(10, 10, Z95).unwrap();
    assert!(close(i.lower, 0.722467, 2e-6), "{}", i.lower);
    assert_eq!(i.upper, 1.0);
    // 1 of 3: p = 1/3, denominator 2.280486, centre (0.333333 + 0.640243)/2.280486 = 0.426916,
    // half 1.959964·sqrt(0.074074 + 0.106707)/2.280486 = 0.365424: [0.061492, 0.792340].
    let i = wilson(1, 3, Z95).unwrap();
    assert!(
        close(i.lower, 0.061492, 2e-6) && close(i.upper, 0.792340, 2e-6),
        "{i:?}"
    );
    let s = Share::new(15, 25);
    assert_eq!(s.value, Some(0.6));
    assert_eq!(s.interval, wilson(15, 25, Z95));
}

/// Two groups, three themes: A = (climate 0, health 2, oceans 8), B = (4, 4, 2);
/// corpus (4, 6, 10), 20 tags; prior α₀ = 10, so α = α₀·corpus/20 = (2, 3, 5).
///
/// δ = ln((y_A + α)/(n_A + α₀ − y_A − α)) − ln((y_B + α)/(n_B + α₀ − y_B − α)),
/// σ² = 1/(y_A + α) + 1/(y_B + α), z = δ/σ.
#[test]
fn log_odds_two_groups_by_hand() {
    let a = [0.0, 2.0, 8.0];
    let b = [4.0, 4.0, 2.0];
    let alpha = [2.0, 3.0, 5.0];
    // oceans: δ = ln(13/7) − ln(7/13) = 2·0.619039 = 1.238078;
    //         σ² = 1/13 + 1/7 = 0.219780, σ = 0.468807, z = 2.640912.
    // health: δ = ln(5/15) − ln(7/13) = −1.098612 + 0.619039 = −0.479573;
    //         σ² = 1/5 + 1/7 = 0.342857, σ = 0.585540, z = −0.819027.
    // climate: δ = ln(2/18) − ln(6/14) = −2.197225 + 0.847298 = −1.349927;
    //         σ² = 1/2 + 1/6 = 0.666667, σ = 0.816497, z = −1.653316.
    let expected = [
        (-1.349927, 0.666667, -1.653316),
        (-0.479573, 0.342857, -0.819027),
        (1.238078, 0.219780, 2.640912),
    ];
    for t in 0..3 {
        let counts = ItemCounts {
            focal: a[t],
            focal_total: 10.0,
            other: b[t],
            other_total: 10.0,
        };
        let lo = log_odds_dirichlet(counts, alpha[t], 10.0).unwrap();
        let (d, v, z) = expected[t];
        assert!(close(lo.delta, d, 2e-6), "theme {t}: δ {}", lo.delta);
        assert!(close(lo.variance, v, 2e-6), "theme {t}: σ² {}", lo.variance);
        assert!(close(lo.z, z, 2e-6), "theme {t}: z {}", lo.z);
        // The other group's scores are the mirror image.
        let mirrored = ItemCounts {
            focal: b[t],
            focal_total: 10.0,
            other: a[t],
            other_total: 10.0,
        };
        let lo_b = log_odds_dirichlet(mirrored, alpha[t], 10.0).unwrap();
        assert!(close(lo_b.z, -z, 2e-6));
        // 95% interval δ ± 1.959964·σ.
        let i = lo.interval();
        assert!(
            close(i.lower, d - Z95 * v.sqrt(), 1e-5) && close(i.upper, d + Z95 * v.sqrt(), 1e-5)
        );
    }
}

#[test]
fn cosine_by_hand() {
    // (0, 2, 8)·(4, 4, 2) = 24; |a| = sqrt(68) = 8.246211; |b| = 6; cos = 24/49.477268 = 0.485071.
    let c = cosine(&[0.0f64, 2.0, 8.0], &[4.0, 4.0, 2.0]).unwrap();
    assert!(close(c, 0.485071, 1e-6), "{c}");
    assert!(close(
        cosine(&[1.0f32, 0.0], &[0.0, 1.0]).unwrap(),
        0.0,
        1e-12
    ));
    assert!(close(
        cosine(&[3.0f32, 4.0], &[6.0, 8.0]).unwrap(),
        1.0,
        1e-12
    ));
    assert!(close(
        cosine(&[1.0f64, 1.0], &[-1.0, -1.0]).unwrap(),
        -1.0,
        1e-12
    ));
}

#[test]
fn precision_recall_f1_by_hand() {
    // tp 6, fp 2, fn 4: P = 6/8 = 0.75, R = 6/10 = 0.6, F1 = 12/18 = 0.666667.
    let c = Confusion {
        tp: 6,
        fp: 2,
        fn_: 4,
    };
    assert!(close(c.precision(), 0.75, 1e-12));
    assert!(close(c.recall(), 0.6, 1e-12));
    assert!(close(c.f1(), 2.0 / 3.0, 1e-12));
    assert_eq!(Confusion::default().f1(), 0.0);
}
