//! Cumulative ⇄ daily series.
//!
//! Published cumulative counts sometimes fall (a revision, a re-assignment
//! between provinces). Daily counts must never be negative, so a fall is
//! *clipped*: the cumulative series is first made monotone by a running
//! maximum and then differenced. The fall is not lost: the running maximum
//! catches up when the published count passes its old high, and the days on
//! which the published series fell are reported so an erratum can name them.

/// Daily counts from a cumulative series, clipped at zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decumulated {
    /// `daily[0]` is the first cumulative value itself (the count "since the start").
    pub daily: Vec<i64>,
    /// Indices where the published cumulative count fell below its running maximum.
    pub falls: Vec<usize>,
}

/// Daily counts from cumulative ones. A missing value (`None`) carries the
/// previous one forward (nothing new that day).
pub fn decumulate(cumulative: &[Option<i64>]) -> Decumulated {
    let mut daily = Vec::with_capacity(cumulative.len());
    let mut falls = Vec::new();
    let mut high = 0i64;
    for (i, c) in cumulative.iter().enumerate() {
        let c = c.unwrap_or(high);
        if c < high {
            falls.push(i);
        }
        let next = high.max(c);
        daily.push(next - high);
        high = next;
    }
    Decumulated { daily, falls }
}

/// Running sums: the cumulative series of daily counts.
pub fn cumulate(daily: &[i64]) -> Vec<i64> {
    daily
        .iter()
        .scan(0i64, |acc, d| {
            *acc += d;
            Some(*acc)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_series_round_trips() {
        let cum = [Some(548), Some(643), Some(920), Some(1406)];
        let d = decumulate(&cum);
        assert_eq!(d.daily, vec![548, 95, 277, 486]);
        assert!(d.falls.is_empty());
        assert_eq!(cumulate(&d.daily), vec![548, 643, 920, 1406]);
    }

    #[test]
    fn falls_are_clipped_and_named() {
        let cum = [Some(10), Some(12), Some(11), Some(11), Some(15)];
        let d = decumulate(&cum);
        assert_eq!(d.daily, vec![10, 2, 0, 0, 3]);
        assert_eq!(d.falls, vec![2, 3]);
        // the running maximum is kept; it meets the published series again at 15
        assert_eq!(cumulate(&d.daily), vec![10, 12, 12, 12, 15]);
    }

    #[test]
    fn gaps_carry_forward() {
        let d = decumulate(&[None, Some(9), None, Some(17)]);
        assert_eq!(d.daily, vec![0, 9, 0, 8]);
    }

    #[test]
    fn daily_counts_are_never_negative() {
        // a small deterministic sweep over wobbling series
        let mut x: u64 = 7;
        for _ in 0..200 {
            let series: Vec<Option<i64>> = (0..30)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    Some(((x >> 33) % 100) as i64)
                })
                .collect();
            let d = decumulate(&series);
            assert!(d.daily.iter().all(|v| *v >= 0));
            let max = series.iter().flatten().max().copied().unwrap_or(0);
            assert_eq!(d.daily.iter().sum::<i64>(), max);
        }
    }
}
