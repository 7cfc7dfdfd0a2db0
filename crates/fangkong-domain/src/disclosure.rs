//! Disclosure control of published counts: which cells of a tree of
//! regions are withheld so that no small count can be worked out.
//!
//! A *cell* is one count (one field, one day) of one region; its parent is
//! the cell of the parent region, and a parent equals the sum of its
//! children (the roll-up). The public sees every cell that is not withheld.
//!
//! - **Primary suppression**: a count from 1 to [`SUPPRESS_BELOW`] − 1 of a
//!   small area (a city, a county or anything smaller) is withheld.
//! - **Complementary suppression**: a withheld cell must not be recoverable
//!   from the others. Every withheld cell is published with the same marker,
//!   so the public knows of a withheld cell only that it is a count (≥ 0).
//!   [`recoverable`] is the attacker: it narrows each withheld cell to an
//!   interval with every parent = Σ children equation, until nothing
//!   changes; a cell whose interval is one number is recovered. [`withhold`]
//!   adds cells until it finds none: first the local rule (an equation with
//!   exactly one withheld cell gets the smallest published sibling withheld
//!   too; a withheld parent whose children are all published gets its
//!   smallest child), then whatever the audit still recovers. Ties go to
//!   the cell listed first: callers list regions by code, so every route
//!   withholds the same cells of the same figures.
//!
//! Cells that are not small areas (the nation, the provinces) are never
//! withheld, nor is the only child of one (a municipality's one city: the
//! same count as its province's). A small count that is the only nonzero child of a province
//! stays protected only by its zero siblings being withheld with it.

/// Counts from 1 to this minus one of a small area are withheld.
pub const SUPPRESS_BELOW: i64 = 5;

/// One count in a tree of counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The index of the parent's cell; `None` for a root.
    pub parent: Option<usize>,
    pub value: i64,
    /// Whether the region is a small area (below the provinces): only
    /// these may be withheld.
    pub small: bool,
}

/// Whether a count is withheld on its own (primary suppression).
pub fn is_primary(cell: &Cell) -> bool {
    cell.small && cell.value > 0 && cell.value < SUPPRESS_BELOW
}

/// A large bound standing for "no upper bound" without overflow in sums.
const UNBOUNDED: i128 = i64::MAX as i128;

/// The children of each cell.
fn children_of(cells: &[Cell]) -> Vec<Vec<usize>> {
    let mut kids = vec![Vec::new(); cells.len()];
    for (i, c) in cells.iter().enumerate() {
        if let Some(p) = c.parent.filter(|p| *p < cells.len() && *p != i) {
            kids[p].push(i);
        }
    }
    kids
}

/// The attacker: the withheld cells (indices) whose value follows from the
/// published ones through the parent = Σ children equations, by interval
/// narrowing (each withheld cell starts as [0, ∞)).
pub fn recoverable(cells: &[Cell], withheld: &[bool]) -> Vec<usize> {
    let kids = children_of(cells);
    let bounds = narrow(cells, withheld, &kids);
    (0..cells.len())
        .filter(|&i| withheld.get(i).copied().unwrap_or(false) && bounds[i].0 == bounds[i].1)
        .collect()
}

/// Every cell's interval after narrowing.
fn narrow(cells: &[Cell], withheld: &[bool], kids: &[Vec<usize>]) -> Vec<(i128, i128)> {
    let mut b: Vec<(i128, i128)> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if withheld.get(i).copied().unwrap_or(false) {
                (0, UNBOUNDED)
            } else {
                (c.value as i128, c.value as i128)
            }
        })
        .collect();
    let groups: Vec<usize> = (0..cells.len()).filter(|&p| !kids[p].is_empty()).collect();
    // each pass can only shrink intervals; a handful of passes settles real trees
    for _ in 0..64 {
        let mut changed = false;
        for &p in &groups {
            let ks = &kids[p];
            // the children's sum: lowest, and highest as a finite part and
            // how many children have no upper bound
            let lo_sum: i128 = ks.iter().map(|&k| b[k].0).sum();
            let open = ks.iter().filter(|&&k| b[k].1 >= UNBOUNDED).count();
            let hi_fin: i128 = ks
                .iter()
                .filter(|&&k| b[k].1 < UNBOUNDED)
                .map(|&k| b[k].1)
                .sum();
            let hi_sum = if open > 0 { UNBOUNDED } else { hi_fin };
            let (plo, phi) = b[p];
            let np = (plo.max(lo_sum), phi.min(hi_sum));
            if np != b[p] && np.0 <= np.1 {
                b[p] = np;
                changed = true;
            }
            let (plo, phi) = b[p];
            for &k in ks {
                let (klo, khi) = b[k];
                let others_lo = lo_sum - klo;
                let k_open = khi >= UNBOUNDED;
                let others_open = open - usize::from(k_open);
                let lo = if others_open > 0 {
                    klo
                } else {
                    let others_hi = hi_fin - if k_open { 0 } else { khi };
                    klo.max(plo - others_hi)
                };
                let hi = if phi >= UNBOUNDED {
                    khi
                } else {
                    khi.min(phi - others_lo)
                };
                if (lo, hi) != (klo, khi) && lo <= hi {
                    b[k] = (lo, hi);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    b
}

/// Which cells to withhold: primary suppression, then complementary
/// suppression until [`recoverable`] finds nothing (see the module docs).
pub fn withhold(cells: &[Cell]) -> Vec<bool> {
    let kids = children_of(cells);
    // the only child of a published region (a municipality's one city) is
    // that region's count again: published as it is, and so on down
    let mut small: Vec<bool> = cells.iter().map(|c| c.small).collect();
    loop {
        let mut changed = false;
        for (i, c) in cells.iter().enumerate() {
            let alone = c
                .parent
                .is_some_and(|p| p < cells.len() && !small[p] && kids[p].len() == 1);
            if small[i] && alone {
                small[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let owned: Vec<Cell> = cells
        .iter()
        .zip(&small)
        .map(|(c, &small)| Cell { small, ..*c })
        .collect();
    let cells = &owned[..];
    let mut w: Vec<bool> = cells.iter().map(is_primary).collect();
    let smallest = |w: &[bool], among: &mut dyn Iterator<Item = usize>| {
        among
            .filter(|&i| !w[i] && cells[i].small)
            .min_by_key(|&i| (cells[i].value, i))
    };
    // the local rule, until it changes nothing
    loop {
        let mut changed = false;
        for p in 0..cells.len() {
            let ks = &kids[p];
            if ks.is_empty() {
                continue;
            }
            let unknown = usize::from(w[p]) + ks.iter().filter(|&&k| w[k]).count();
            if unknown == 1 {
                let pick = smallest(&w, &mut ks.iter().copied())
                    .or_else(|| (cells[p].small && !w[p]).then_some(p));
                if let Some(i) = pick {
                    w[i] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // then the audit, one more cell at a time, beside what it recovers
    for _ in 0..cells.len() {
        let Some(&x) = recoverable(cells, &w).first() else {
            break;
        };
        let siblings = cells[x]
            .parent
            .filter(|p| *p < cells.len())
            .map(|p| kids[p].clone())
            .unwrap_or_default();
        let pick = smallest(&w, &mut siblings.into_iter())
            .or_else(|| smallest(&w, &mut kids[x].iter().copied()))
            .or_else(|| {
                cells[x]
                    .parent
                    .filter(|&p| p < cells.len() && cells[p].small && !w[p])
            });
        match pick {
            Some(i) => w[i] = true,
            None => break,
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(parent: Option<usize>, value: i64, small: bool) -> Cell {
        Cell {
            parent,
            value,
            small,
        }
    }

    /// A province of 3 cities: a single small count would be the province
    /// minus the others, so the next smallest sibling is withheld too.
    #[test]
    fn a_lone_small_count_gets_its_smallest_sibling_withheld() {
        let cells = [
            cell(None, 40, false),
            cell(Some(0), 3, true),
            cell(Some(0), 12, true),
            cell(Some(0), 25, true),
        ];
        let before: Vec<bool> = cells.iter().map(is_primary).collect();
        assert_eq!(recoverable(&cells, &before), vec![1], "40 - 12 - 25 = 3");
        let w = withhold(&cells);
        assert_eq!(w, vec![false, true, true, false]);
        assert!(recoverable(&cells, &w).is_empty());
    }

    #[test]
    fn a_withheld_city_needs_a_withheld_county() {
        // province 0; cities 1 (=3, primary) and 2 (=20); city 1's counties 3, 4
        let cells = [
            cell(None, 23, false),
            cell(Some(0), 3, true),
            cell(Some(0), 20, true),
            cell(Some(1), 0, true),
            cell(Some(1), 3, true),
        ];
        let w = withhold(&cells);
        assert!(w[1] && w[2] && w[4]);
        // city 1 = county 4 + 0, but both are withheld: neither follows
        assert!(!w[3]);
        assert!(recoverable(&cells, &w).is_empty());
    }

    #[test]
    fn zeros_and_large_counts_alone_are_published() {
        let cells = [
            cell(None, 30, false),
            cell(Some(0), 0, true),
            cell(Some(0), 30, true),
        ];
        assert_eq!(withhold(&cells), vec![false; 3]);
        assert_eq!(withhold(&[cell(None, 3, false)]), vec![false]);
    }

    /// Random trees shaped like a country (provinces, cities, counties) with
    /// sparse small counts: nothing withheld can be recovered.
    #[test]
    fn nothing_withheld_in_random_trees_is_recoverable() {
        let mut seed: u64 = 0x2020_0123;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut tried = 0;
        for _ in 0..200 {
            let mut cells = vec![cell(None, 0, false)];
            for _ in 0..1 + next(4) {
                let prov = cells.len();
                cells.push(cell(Some(0), 0, false));
                for _ in 0..1 + next(5) {
                    let city = cells.len();
                    cells.push(cell(Some(prov), 0, true));
                    for _ in 0..1 + next(4) {
                        let v = match next(10) {
                            0..=4 => 0,
                            5..=7 => 1 + next(4) as i64,
                            _ => 5 + next(40) as i64,
                        };
                        cells.push(cell(Some(city), v, true));
                    }
                }
            }
            // roll up: children come after their parents
            for i in (1..cells.len()).rev() {
                if let Some(p) = cells[i].parent {
                    cells[p].value += cells[i].value;
                }
            }
            let w = withhold(&cells);
            tried += w.iter().filter(|x| **x).count();
            for (i, c) in cells.iter().enumerate() {
                let only = |p: usize| cells.iter().filter(|x| x.parent == Some(p)).count() == 1;
                let alone = c.parent.is_some_and(|p| {
                    only(p)
                        && (!cells[p].small
                            || cells[p].parent.is_some_and(|q| !cells[q].small && only(q)))
                });
                assert!(
                    !is_primary(c) || alone || w[i],
                    "a primary cell is withheld"
                );
                assert!(c.small || !w[i], "only small areas are withheld");
            }
            assert_eq!(recoverable(&cells, &w), Vec::<usize>::new(), "{cells:?}");
        }
        assert!(tried > 500, "{tried}");
    }
}

/// How far the de-identified export's dates are coarsened: the primary
/// dates (onset, report) and the others.
pub const DATE_LEVELS: [&str; 5] = [
    "by day",
    "by ISO week",
    "onset and report by ISO week, the others withheld",
    "onset and report by month, the others withheld",
    "withheld",
];

/// For each of [`DATE_LEVELS`], the [`coarse_date`] level of a primary date and of another.
const DATE_SCHEME: [(usize, usize); 5] = [(0, 0), (1, 1), (1, 3), (2, 3), (3, 3)];

/// A date at one of the [`DATE_LEVELS`]: `2020-01-10`, `2020-W02` (the ISO
/// week), `2020-01`, or empty.
pub fn coarse_date(d: Option<chrono::NaiveDate>, level: usize) -> String {
    use chrono::Datelike;
    match (d, level) {
        (None, _) => String::new(),
        (Some(d), 0) => d.to_string(),
        (Some(d), 1) => {
            let w = d.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        (Some(d), 2) => format!("{}-{:02}", d.year(), d.month()),
        _ => String::new(),
    }
}

/// One row's quasi-identifiers: each region column as a ladder from the
/// finest code to the coarsest (index = region level), the columns kept as
/// they are (sex, age band), and the dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuasiIds {
    pub regions: Vec<Vec<String>>,
    pub fixed: Vec<String>,
    pub dates: Vec<Option<chrono::NaiveDate>>,
    /// How many of `dates`, from the first, are primary (kept longest).
    pub primary_dates: usize,
}

impl QuasiIds {
    fn key(&self, region_level: usize, date_level: usize) -> Vec<String> {
        let mut key: Vec<String> = self
            .regions
            .iter()
            .map(|l| {
                l.get(region_level)
                    .or(l.last())
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        key.extend(self.fixed.iter().cloned());
        key.extend((0..self.dates.len()).map(|i| self.date(i, date_level)));
        key
    }

    /// Date `i` at one of the [`DATE_LEVELS`].
    pub fn date(&self, i: usize, date_level: usize) -> String {
        let (primary, other) = DATE_SCHEME[date_level.min(DATE_SCHEME.len() - 1)];
        let level = if i < self.primary_dates {
            primary
        } else {
            other
        };
        coarse_date(self.dates.get(i).copied().flatten(), level)
    }
}

/// What [`k_anonymize`] chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anonymized {
    /// The index into each region ladder.
    pub region_level: usize,
    /// The index into [`DATE_LEVELS`].
    pub date_level: usize,
    /// Which rows are published (the others are withheld).
    pub kept: Vec<bool>,
    /// The smallest number of published rows sharing their quasi-identifiers
    /// (0 when nothing is published).
    pub k_reached: usize,
}

impl Anonymized {
    pub fn withheld(&self) -> usize {
        self.kept.iter().filter(|k| !**k).count()
    }
}

/// k-anonymity by full-domain generalisation: the least coarsening (region
/// first, then dates: region level + date level as small as it can be,
/// dates kept finer on a tie) at which withholding the rows whose
/// quasi-identifiers are shared by fewer than `k` rows withholds at most
/// `max_withheld` of them; when none does, the coarsening that withholds the
/// fewest. Every published row then shares its quasi-identifiers with at
/// least `k - 1` others.
pub fn k_anonymize(rows: &[QuasiIds], k: usize, max_withheld: usize) -> Anonymized {
    let k = k.max(1);
    let region_levels = rows
        .iter()
        .flat_map(|r| r.regions.iter().map(Vec::len))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut candidates: Vec<(usize, usize)> = (0..region_levels)
        .flat_map(|r| (0..DATE_LEVELS.len()).map(move |d| (r, d)))
        .collect();
    candidates.sort_by_key(|&(r, d)| (r + d, d));
    let mut best: Option<Anonymized> = None;
    for (r, d) in candidates {
        let keys: Vec<Vec<String>> = rows.iter().map(|q| q.key(r, d)).collect();
        let mut sizes: std::collections::HashMap<&Vec<String>, usize> = Default::default();
        for key in &keys {
            *sizes.entry(key).or_default() += 1;
        }
        let kept: Vec<bool> = keys.iter().map(|key| sizes[key] >= k).collect();
        let k_reached = keys
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(key, _)| sizes[key])
            .min()
            .unwrap_or(0);
        let a = Anonymized {
            region_level: r,
            date_level: d,
            kept,
            k_reached,
        };
        if a.withheld() <= max_withheld {
            return a;
        }
        if best.as_ref().is_none_or(|b| a.withheld() < b.withheld()) {
            best = Some(a);
        }
    }
    best.unwrap_or(Anonymized {
        region_level: 0,
        date_level: 0,
        kept: Vec::new(),
        k_reached: 0,
    })
}

#[cfg(test)]
mod k_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn rows_are_coarsened_until_each_is_one_of_k() {
        let day = |n: u32| NaiveDate::from_ymd_opt(2020, 1, n);
        // ten people in two villages of one county, onsets on ten days
        let rows: Vec<QuasiIds> = (0..10)
            .map(|i| QuasiIds {
                regions: vec![vec![
                    format!("42010300{}", i % 2),
                    "420103".into(),
                    "420100".into(),
                ]],
                fixed: vec!["female".into(), "40-49".into()],
                dates: vec![day(6 + i)],
                primary_dates: 1,
            })
            .collect();
        let a = k_anonymize(&rows, 5, 0);
        assert_eq!(a.withheld(), 0);
        assert!(a.k_reached >= 5);
        // weeks 2 and 3 hold 7 and 3 onsets: the month, in each village of 5
        assert_eq!((a.region_level, a.date_level), (0, 3), "{a:?}");
        assert_eq!(coarse_date(day(6), 1), "2020-W02");
        assert_eq!(coarse_date(day(6), 2), "2020-01");
        // a lone row that no coarsening can hide is withheld
        let mut more = rows.clone();
        more.push(QuasiIds {
            regions: vec![vec!["110101".into(), "110100".into(), "110000".into()]],
            fixed: vec!["male".into(), "80+".into()],
            dates: vec![day(6)],
            primary_dates: 1,
        });
        let a = k_anonymize(&more, 5, 1);
        assert_eq!(a.withheld(), 1);
        assert!(!a.kept[10] && a.k_reached >= 5);
    }
}
