//! The equal-weight quantile average of the renewal forecast and the
//! baseline.

use super::inputs::Method;
use super::summary::{DaySummary, Projection, SamplePaths};

/// Averages, day by day, the quantiles of the renewal paths `renewal` and
/// of the baseline's day distribution, given as a sorted sample
/// `baseline_sorted` of as many draws as there are paths.
///
/// The `i`-th smallest value of the combined sample of a day is the mean of
/// the members' `i`-th smallest values, so every type-7 quantile of it (and
/// its mean) is the mean of the members' quantiles (and means):
/// Vincentization (Vincent 1912; Genest 1992, *Ann Stat* 20:1137), the
/// "quantile average" of Lichtendahl, Grushka-Cockayne & Winkler (2013,
/// *Manage Sci* 59:1594). When paths are kept, the combined values of a day
/// go to the paths in the rank order of the renewal paths on that day, so
/// the paths keep the renewal model's dependence between days (ensemble
/// copula coupling; Schefzik, Thorarinsdottir & Gneiting 2013, *Stat Sci*
/// 28:616). Ties keep path order.
pub(crate) fn quantile_average(
    renewal: &SamplePaths,
    baseline_sorted: &[f64],
    keep_paths: bool,
) -> Projection {
    let (horizon, n) = (renewal.horizon, renewal.paths);
    let mut days = Vec::with_capacity(horizon);
    let mut values = if keep_paths {
        vec![0.0; horizon * n]
    } else {
        Vec::new()
    };
    let mut order: Vec<usize> = (0..n).collect();
    let mut sorted = vec![0.0; n];
    for h in 0..horizon {
        let day = renewal.day(h);
        if keep_paths {
            order.sort_unstable_by(|&a, &b| day[a].total_cmp(&day[b]).then(a.cmp(&b)));
            for (s, &p) in sorted.iter_mut().zip(&order) {
                *s = day[p];
            }
        } else {
            sorted.copy_from_slice(day);
            sorted.sort_unstable_by(f64::total_cmp);
        }
        // The sum of two ascending sequences is ascending.
        for (s, b) in sorted.iter_mut().zip(baseline_sorted) {
            *s = 0.5 * (*s + b);
        }
        days.push(DaySummary::of_sorted(&sorted));
        if keep_paths {
            let out = &mut values[h * n..(h + 1) * n];
            for (s, &p) in sorted.iter().zip(&order) {
                out[p] = *s;
            }
        }
    }
    Projection {
        days,
        paths: keep_paths.then_some(SamplePaths {
            horizon,
            paths: n,
            values,
        }),
        method: Method::Ensemble,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::summary::quantile_sorted;
    use crate::forecast::test_util::{close, ok};

    #[test]
    fn quantiles_and_means_are_averaged() {
        // Renewal day 1: 0, 10, 20, 30 (shuffled over paths); day 2: 4 × 8.
        let renewal = ok(SamplePaths::from_paths(&[
            vec![20.0, 8.0],
            vec![0.0, 8.0],
            vec![30.0, 8.0],
            vec![10.0, 8.0],
        ]));
        let baseline = [2.0, 4.0, 6.0, 100.0];
        let p = quantile_average(&renewal, &baseline, true);
        assert_eq!(p.method, Method::Ensemble);
        let renewal_day1 = [0.0, 10.0, 20.0, 30.0];
        for q in [0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975] {
            let want = 0.5 * (quantile_sorted(&renewal_day1, q) + quantile_sorted(&baseline, q));
            let got = match q {
                0.5 => p.days[0].median,
                0.25 => p.days[0].p50.lower,
                0.75 => p.days[0].p50.upper,
                0.05 => p.days[0].p90.lower,
                0.95 => p.days[0].p90.upper,
                0.025 => p.days[0].p95.lower,
                _ => p.days[0].p95.upper,
            };
            assert!(close(got, want, 1e-12), "q {q}: {got} vs {want}");
        }
        assert!(close(p.days[0].mean, 0.5 * (15.0 + 28.0), 1e-12));
        // Paths follow the renewal ranks: path 1 (smallest on day 1) gets
        // (0 + 2)/2, path 2 (largest) gets (30 + 100)/2.
        let Some(paths) = &p.paths else {
            panic!("paths were asked for")
        };
        assert_eq!(paths.day(0), &[13.0, 1.0, 65.0, 7.0]);
        // Day 2: all renewal values tie, so path order decides.
        assert_eq!(paths.day(1), &[5.0, 6.0, 7.0, 54.0]);
        // Without paths, the same summaries.
        let q = quantile_average(&renewal, &baseline, false);
        assert_eq!(q.days, p.days);
        assert_eq!(q.paths, None);
    }
}
