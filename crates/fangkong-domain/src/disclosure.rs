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
