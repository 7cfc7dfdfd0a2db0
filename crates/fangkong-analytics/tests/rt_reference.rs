//! Rt against two references, one `check` per fixture folder under
//! `tests/fixtures/rt/` (`config.csv`, `incidence.csv`, `si.csv`,
//! `expected.csv`; window bounds 1-based as in EpiEstim):
//!
//! - An independent computation: `scripts/reference/rt_reference.py`
//!   re-implements EpiEstim's `discr_si`, `overall_infectivity` and
//!   `estimate_R` with numpy and takes quantiles from `scipy.stats.gamma`.
//!   Every number (serial-interval weights, Λ_t, posterior shape and scale,
//!   mean, sd and the seven quantiles) must agree to 1e-9 relative, well
//!   inside the 1e-6 asked of us, and the "too uncertain" reason must match.
//!   The only absolute slack: 1e-12 on serial-interval weights and 1e-12 of
//!   the largest daily count on Λ, where both sides are rounding noise in
//!   the far tail of the serial interval.
//! - EpiEstim itself: the output its test suite saved for its documented
//!   examples 1–3 (`tests/testthat/_snaps/estimate_R.md`), printed to 7
//!   significant digits, must agree to 1e-6 relative.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use fangkong_analytics::rt::{
    estimate_r, overall_infectivity, Incidence, RtConfig, RtEstimate, TooUncertain,
};
use fangkong_analytics::serial_interval::SerialInterval;

/// A CSV file without quoting: `#` lines skipped, the first line the header.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(case: &str, file: &str) -> Table {
        let path: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "tests",
            "fixtures",
            "rt",
            case,
            file,
        ]
        .iter()
        .collect();
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty());
        let columns = lines
            .next()
            .expect("a header")
            .split(',')
            .map(str::to_owned)
            .collect();
        let rows = lines
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect();
        Table { columns, rows }
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    fn numbers<T: std::str::FromStr>(&self, name: &str) -> Vec<T> {
        let i = self
            .column(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        self.rows
            .iter()
            .map(|r| r[i].parse().unwrap_or_else(|_| panic!("{name}: {}", r[i])))
            .collect()
    }
}

fn config_of(case: &str) -> HashMap<String, String> {
    let text = fs::read_to_string(
        [
            env!("CARGO_MANIFEST_DIR"),
            "tests",
            "fixtures",
            "rt",
            case,
            "config.csv",
        ]
        .iter()
        .collect::<PathBuf>(),
    )
    .expect("config.csv");
    text.lines()
        .filter(|l| !l.starts_with('#') && *l != "key,value")
        .filter_map(|l| l.split_once(','))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs() + abs,
        "{what}: got {got:e}, want {want:e} (difference {:e})",
        got - want
    );
}

fn reason(flag: &str) -> Option<TooUncertain> {
    match flag {
        "" => None,
        "before_one_mean_si" => Some(TooUncertain::BeforeOneMeanSi),
        "infectivity_below_prior" => Some(TooUncertain::InfectivityBelowPrior),
        "posterior_cv" => Some(TooUncertain::PosteriorCv),
        other => panic!("unknown flag {other}"),
    }
}

/// One number of an estimate, by the fixture's column name.
type Getter = fn(&RtEstimate) -> f64;

/// Runs one fixture folder and compares every number in it to `rel`.
fn check(case: &str, rel: f64) {
    let config_csv = config_of(case);
    let number = |key: &str| -> f64 { config_csv[key].parse().expect(key) };
    let si_table = Table::read(case, "si.csv");
    let si_expected: Vec<f64> = si_table.numbers("w");
    let si = match config_csv["si"].as_str() {
        "gamma" => {
            SerialInterval::gamma(number("si_mean"), number("si_sd")).expect("a valid gamma SI")
        }
        _ => SerialInterval::discrete(&si_expected).expect("valid SI weights"),
    };
    for (k, want) in si_expected.iter().enumerate() {
        let got = si.weights().get(k).copied().unwrap_or(0.0);
        close(&format!("{case}: w_{k}"), got, *want, rel, 1e-12);
    }
    if let (Some(mean), Some(sd)) = (
        config_csv.get("epiestim_si_mean"),
        config_csv.get("epiestim_si_sd"),
    ) {
        close(
            &format!("{case}: SI mean"),
            si.mean(),
            mean.parse().expect("mean"),
            rel,
            0.0,
        );
        close(
            &format!("{case}: SI sd"),
            si.sd(),
            sd.parse().expect("sd"),
            rel,
            0.0,
        );
    }

    let incidence_table = Table::read(case, "incidence.csv");
    let local: Vec<u32> = incidence_table.numbers("local");
    let imported: Vec<u32> = incidence_table.numbers("imported");
    let incidence = Incidence::with_imported(&local, &imported).expect("equal lengths");
    if incidence_table.column("lambda").is_some() {
        let largest = local
            .iter()
            .zip(&imported)
            .map(|(l, i)| f64::from(l + i))
            .fold(0.0, f64::max);
        let lambda = overall_infectivity(incidence, &si);
        for (t, want) in incidence_table.numbers::<f64>("lambda").iter().enumerate() {
            close(
                &format!("{case}: lambda_{t}"),
                lambda[t],
                *want,
                rel,
                1e-12 * largest,
            );
        }
    }

    let config = RtConfig::default()
        .with_window(number("window") as usize)
        .and_then(|c| c.with_prior(number("prior_mean"), number("prior_sd")))
        .and_then(|c| c.with_cv_posterior(number("cv_posterior")))
        .expect("a valid config");
    let estimates = estimate_r(incidence, &si, &config);
    let expected = Table::read(case, "expected.csv");
    assert_eq!(
        estimates.len(),
        expected.rows.len(),
        "{case}: number of windows"
    );
    let values: [(&str, Getter); 13] = [
        ("shape", |e| e.posterior.shape()),
        ("scale", |e| e.posterior.scale()),
        ("mean", |e| e.mean),
        ("sd", |e| e.sd),
        ("q025", |e| e.q025),
        ("q05", |e| e.posterior.quantile(0.05)),
        ("q25", |e| e.posterior.quantile(0.25)),
        ("median", |e| e.median),
        ("q75", |e| e.posterior.quantile(0.75)),
        ("q95", |e| e.posterior.quantile(0.95)),
        ("q975", |e| e.q975),
        // the fields and the posterior agree with each other too
        ("mean", |e| e.posterior.mean()),
        ("q975", |e| e.posterior.quantile(0.975)),
    ];
    let (start, end) = (
        expected.numbers::<usize>("t_start"),
        expected.numbers::<usize>("t_end"),
    );
    let flags = expected.column("too_uncertain");
    for (row, e) in expected.rows.iter().zip(&estimates) {
        let at = format!("{case}: window {}..{}", e.t_start, e.t_end);
        let r = start
            .iter()
            .position(|s| *s == e.t_start + 1)
            .expect("the same windows");
        assert_eq!(end[r], e.t_end + 1, "{at}");
        for (name, get) in &values {
            if let Some(i) = expected.column(name) {
                let want: f64 = row[i].parse().expect("a number");
                close(&format!("{at}: {name}"), get(e), want, rel, 0.0);
            }
        }
        if let Some(i) = flags {
            assert_eq!(e.too_uncertain, reason(&row[i]), "{at}");
        }
    }
}

/// The reference computation's requirement is 1e-6; it holds to 1e-9.
const REFERENCE: f64 = 1e-9;
/// EpiEstim prints 7 significant digits.
const PUBLISHED: f64 = 1e-6;

#[test]
fn hubei_2020_daily_confirmed() {
    check("hubei", REFERENCE);
}

#[test]
fn local_and_imported_cases() {
    check("imported", REFERENCE);
}

#[test]
fn discrete_si_sporadic_cases_and_a_custom_prior() {
    check("discrete", REFERENCE);
}

#[test]
fn flu2009_parametric_si() {
    check("flu2009", REFERENCE);
}

#[test]
fn series_shorter_than_the_serial_interval() {
    check("measles-short", REFERENCE);
}

#[test]
fn epiestim_example_1_flu2009_non_parametric_si() {
    check("epiestim-example1", PUBLISHED);
}

#[test]
fn epiestim_example_2_local_and_imported() {
    check("epiestim-example2", PUBLISHED);
}

#[test]
fn epiestim_example_3_flu2009_parametric_si() {
    check("epiestim-example3", PUBLISHED);
}
