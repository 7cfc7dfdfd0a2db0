//! Epidemic curves: daily counts, imported and local, their totals, 7-day
//! moving averages and weekly totals.
//!
//! A curve is a series of days (index = day). The same functions serve the
//! curve by **report date** (the day a case was reported) and by **onset
//! date** (the day symptoms began); the caller builds each from its own data.
//! Two things about onset curves are left to the caller: cases without an
//! onset date are simply absent (not redistributed), and the last days are
//! incomplete because onset precedes report by several days, so a recent fall
//! is partly an artefact — show those days as provisional. Counts are used as
//! given (a negative correction stays negative); sums saturate instead of
//! overflowing.
//!
//! # Moving averages
//!
//! [`moving_average`] averages [`MOVING_AVERAGE_DAYS`] = 7 days, which
//! removes the weekday pattern of reporting. **Trailing** (the default) uses
//! the day and the 6 before it: the value for a day is known that evening and
//! never changes as later data arrive, which suits a daily bulletin; it lags
//! the epidemic by 3 days. **Centred** uses 3 days either side: it is in phase
//! with the curve, but the last 3 days have no value until later data come.
//! Days without a full window (the first 6 trailing; the first and last 3
//! centred) are `None`, not an average of fewer days, which a weekday effect
//! would bias.
//!
//! # Weekly totals
//!
//! [`weekly`] sums 7-day bins. [`Weeks::iso`] aligns the bins on ISO 8601
//! weeks (Monday to Sunday) given the weekday of the first day; the caller
//! turns a bin's first day into its ISO week number, since this crate knows no
//! dates. [`Weeks::starting_on`] gives bins of 7 days from any day. A bin cut
//! by the start or end of the series is returned with fewer days and
//! [`WeekTotal::is_complete`] false.

/// One day's confirmed cases by place of infection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayCount {
    /// Infected elsewhere (输入性).
    pub imported: i64,
    /// Infected locally (本地).
    pub local: i64,
}

impl DayCount {
    /// Imported plus local.
    pub fn total(&self) -> i64 {
        self.imported.saturating_add(self.local)
    }
}

/// A curve split into its series.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Curve {
    pub imported: Vec<i64>,
    pub local: Vec<i64>,
    /// Imported plus local, per day.
    pub total: Vec<i64>,
}

impl Curve {
    pub fn new(days: &[DayCount]) -> Self {
        Curve {
            imported: days.iter().map(|d| d.imported).collect(),
            local: days.iter().map(|d| d.local).collect(),
            total: days.iter().map(DayCount::total).collect(),
        }
    }
}

/// The width of [`moving_average`]'s window.
pub const MOVING_AVERAGE_DAYS: usize = 7;

/// Which days a moving average covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Alignment {
    /// The day and the 6 days before it.
    #[default]
    Trailing,
    /// The 3 days before, the day and the 3 days after.
    Centred,
}

/// The 7-day moving average of `daily`, the same length; `None` where the
/// window does not fit in the series.
pub fn moving_average(daily: &[i64], alignment: Alignment) -> Vec<Option<f64>> {
    let w = MOVING_AVERAGE_DAYS;
    // Days before / after the day that the window covers.
    let (before, after) = match alignment {
        Alignment::Trailing => (w - 1, 0),
        Alignment::Centred => (w / 2, w / 2),
    };
    (0..daily.len())
        .map(|d| {
            let start = d.checked_sub(before)?;
            let window = daily.get(start..=d + after)?;
            let sum: i128 = window.iter().map(|&v| i128::from(v)).sum();
            Some(sum as f64 / w as f64)
        })
        .collect()
}

/// How days are grouped into weeks: bins start on the days `d` with
/// `d % 7 == phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weeks {
    phase: usize,
}

impl Weeks {
    /// Bins of 7 days from the first day of the series: days 0–6, 7–13, ….
    pub fn from_first_day() -> Self {
        Weeks { phase: 0 }
    }

    /// Bins of 7 days of which one starts on `day` (and so every 7 days
    /// before and after it).
    pub fn starting_on(day: usize) -> Self {
        Weeks { phase: day % 7 }
    }

    /// ISO 8601 weeks, Monday to Sunday. `first_day_weekday` is the weekday of
    /// day 0 numbered from Monday = 1 to Sunday = 7 (chrono's
    /// `number_from_monday`); `None` outside 1–7.
    pub fn iso(first_day_weekday: u32) -> Option<Self> {
        if !(1..=7).contains(&first_day_weekday) {
            return None;
        }
        // The first Monday is day (8 − weekday) mod 7.
        Some(Weeks {
            phase: (8 - first_day_weekday as usize) % 7,
        })
    }
}

/// The total of one week bin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekTotal {
    /// The first day of the bin within the series.
    pub first_day: usize,
    /// The last day of the bin within the series.
    pub last_day: usize,
    pub total: i64,
}

impl WeekTotal {
    /// Days of the series in the bin (7 unless cut by the series' ends).
    pub fn days(&self) -> usize {
        self.last_day - self.first_day + 1
    }

    /// Whether the bin has all 7 days.
    pub fn is_complete(&self) -> bool {
        self.days() == 7
    }
}

/// Weekly totals of `daily`, in order, including cut bins at either end.
pub fn weekly(daily: &[i64], weeks: Weeks) -> Vec<WeekTotal> {
    let mut out = Vec::with_capacity(daily.len() / 7 + 2);
    let mut first_day = 0;
    while first_day < daily.len() {
        // The next bin starts at the next day ≡ phase (mod 7) after first_day.
        let next_start = first_day + 1 + (weeks.phase + 7 - (first_day + 1) % 7) % 7;
        let last_day = next_start.min(daily.len()) - 1;
        let total = daily[first_day..=last_day]
            .iter()
            .fold(0i64, |acc, &v| acc.saturating_add(v));
        out.push(WeekTotal {
            first_day,
            last_day,
            total,
        });
        first_day = last_day + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // A steadily rising fortnight: day d has d + 1 cases.
    const DAILY: [i64; 14] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];

    #[test]
    fn totals_add_imported_and_local() {
        let days = [
            DayCount {
                imported: 2,
                local: 0,
            },
            DayCount {
                imported: 1,
                local: 5,
            },
            DayCount {
                imported: 0,
                local: 7,
            },
        ];
        let curve = Curve::new(&days);
        assert_eq!(curve.imported, vec![2, 1, 0]);
        assert_eq!(curve.local, vec![0, 5, 7]);
        assert_eq!(curve.total, vec![2, 6, 7]);
        assert_eq!(Curve::new(&[]), Curve::default());
        let huge = DayCount {
            imported: i64::MAX,
            local: 1,
        };
        assert_eq!(huge.total(), i64::MAX);
    }

    #[test]
    fn trailing_average_starts_on_the_seventh_day() {
        let avg = moving_average(&DAILY, Alignment::default());
        assert_eq!(avg.len(), 14);
        assert!(avg[..6].iter().all(Option::is_none));
        // (1 + … + 7) / 7 = 4; then each day moves it by 1.
        assert_eq!(avg[6], Some(4.0));
        assert_eq!(avg[13], Some(11.0));
        let weekday_pattern = [0, 10, 10, 10, 10, 10, 30, 0, 10];
        let avg = moving_average(&weekday_pattern, Alignment::Trailing);
        assert_eq!(avg[6], Some(80.0 / 7.0));
        assert_eq!(avg[7], Some(80.0 / 7.0));
        assert_eq!(avg[8], Some(80.0 / 7.0));
    }

    #[test]
    fn centred_average_leaves_three_days_at_each_end() {
        let avg = moving_average(&DAILY, Alignment::Centred);
        assert!(avg[..3].iter().all(Option::is_none));
        assert!(avg[11..].iter().all(Option::is_none));
        // Day 3 averages days 0–6: the trailing value of day 6.
        assert_eq!(avg[3], Some(4.0));
        assert_eq!(avg[10], Some(11.0));
    }

    #[test]
    fn short_series_have_no_average() {
        assert_eq!(moving_average(&[5; 6], Alignment::Trailing), vec![None; 6]);
        assert_eq!(moving_average(&[5; 6], Alignment::Centred), vec![None; 6]);
        assert!(moving_average(&[], Alignment::Trailing).is_empty());
        assert_eq!(
            moving_average(&[i64::MAX; 7], Alignment::Trailing)[6],
            Some(i64::MAX as f64)
        );
    }

    fn bins(weeks: &[WeekTotal]) -> Vec<(usize, usize, i64)> {
        weeks
            .iter()
            .map(|w| (w.first_day, w.last_day, w.total))
            .collect()
    }

    #[test]
    fn bins_from_the_first_day() {
        let w = weekly(&DAILY[..10], Weeks::from_first_day());
        assert_eq!(bins(&w), vec![(0, 6, 28), (7, 9, 27)]);
        assert!(w[0].is_complete());
        assert!(!w[1].is_complete());
        assert_eq!(w[1].days(), 3);
        assert!(weekly(&[], Weeks::from_first_day()).is_empty());
    }

    #[test]
    fn iso_weeks_start_on_monday() {
        // 2020-01-23 (Wuhan's lockdown) was a Thursday (4): the first Monday,
        // 2020-01-27, is day 4. Days 0–3 close ISO week 2020-W04.
        let weeks = Weeks::iso(4).unwrap();
        let w = weekly(&DAILY, weeks);
        // 1+2+3+4 = 10; 5+…+11 = 56; 12+13+14 = 39.
        assert_eq!(bins(&w), vec![(0, 3, 10), (4, 10, 56), (11, 13, 39)]);
        assert!(!w[0].is_complete() && w[1].is_complete() && !w[2].is_complete());
        // A series starting on a Monday is binned from its first day.
        assert_eq!(Weeks::iso(1), Some(Weeks::from_first_day()));
        // Starting on a Sunday: day 0 alone, then Monday–Sunday.
        assert_eq!(
            bins(&weekly(&DAILY[..9], Weeks::iso(7).unwrap())),
            vec![(0, 0, 1), (1, 7, 35), (8, 8, 9)]
        );
        assert_eq!(Weeks::iso(0), None);
        assert_eq!(Weeks::iso(8), None);
    }

    #[test]
    fn bins_from_any_day_and_the_grand_total() {
        let weeks = Weeks::starting_on(9);
        assert_eq!(weeks, Weeks::starting_on(2));
        let w = weekly(&DAILY, weeks);
        assert_eq!(bins(&w), vec![(0, 1, 3), (2, 8, 42), (9, 13, 60)]);
        assert_eq!(w.iter().map(|b| b.total).sum::<i64>(), DAILY.iter().sum());
    }
}
