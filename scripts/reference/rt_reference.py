#!/usr/bin/env python3
"""Independent reference values for fangkong's Rt (Cori et al. 2013, EpiEstim).

Computes what R package EpiEstim's estimate_R computes for a known serial
interval -- discr_si, overall infectivity, the gamma posterior on EpiEstim's
default weekly windows and its quantiles -- with numpy and scipy.stats.gamma
instead of fangkong's own code, and writes the results as CSV fixtures for
crates/fangkong-analytics/tests/rt_reference.rs.

Run from anywhere (it creates .cache/reference-venv at the repository root and
installs numpy and scipy from PyPI on first use, then re-runs itself there):

    python3 scripts/reference/rt_reference.py

It rewrites crates/fangkong-analytics/tests/fixtures/rt/<case>/ for the cases
below; the epiestim-example* folders hold EpiEstim's own published output and
are not touched. The code follows EpiEstim's R source line by line where it
matters (R/estimate_R.R, R/discr_si.R, R/overall_infectivity.R,
R/utilities.R) and says so.
"""

import math
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".cache" / "reference-venv"
FIXTURES = ROOT / "crates" / "fangkong-analytics" / "tests" / "fixtures" / "rt"
JHU = ROOT.parent / "shared" / "data" / "jhu_china_provinces_2020.csv"
REQUIREMENTS = ["numpy>=1.26", "scipy>=1.11"]


def ensure_venv():
    """Re-run inside .cache/reference-venv with numpy and scipy installed."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = VENV / "bin" / "python"
    if not python.exists():
        venv.create(VENV, with_pip=True)
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS])
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


ensure_venv()

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.stats import gamma  # noqa: E402

QUANTILES = [0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975]
QUANTILE_NAMES = ["q025", "q05", "q25", "median", "q75", "q95", "q975"]

# Flu2009 from EpiEstim (data/Flu2009.rda): incidence and si_distr
FLU2009_INCIDENCE = [1, 1, 0, 2, 5, 3, 3, 3, 6, 2, 5, 9, 13, 12, 13, 11, 12, 6, 6, 6, 3, 1, 0, 2, 0, 0, 0, 0, 2, 0, 2, 0]
FLU2009_SI = [0.000, 0.233, 0.359, 0.198, 0.103, 0.053, 0.027, 0.014, 0.007, 0.003, 0.002, 0.001]


def discr_si(k, mu, sigma):
    """EpiEstim's discr_si: gamma(mu - 1, sigma) shifted by one day, with a
    uniform start within the day (Cori et al. 2013, Web Appendix 11)."""
    a = ((mu - 1) / sigma) ** 2
    b = sigma**2 / (mu - 1)
    k = np.asarray(k, dtype=float)

    def cdf(x, shape):
        return gamma.cdf(x, shape, scale=b)

    res = k * cdf(k, a) + (k - 2) * cdf(k - 2, a) - 2 * (k - 1) * cdf(k - 1, a)
    res = res + a * b * (2 * cdf(k - 1, a + 1) - cdf(k - 2, a + 1) - cdf(k, a + 1))
    return np.maximum(0.0, res)


def process_incid(local, imported):
    """EpiEstim's process_I: every case of the first time step is imported."""
    local = list(local)
    imported = list(imported)
    imported[0] += local[0]
    local[0] = 0
    return np.array(local, dtype=float), np.array(imported, dtype=float)


def overall_infectivity(total, si_distr):
    """EpiEstim's overall_infectivity: lambda[t] = sum(si_distr[1:t] * I[t:1])
    (1-based); lambda[1] is NA, written here as 0."""
    lam = np.zeros(len(total))
    for t in range(1, len(total)):
        lam[t] = sum(si_distr[j] * total[t - j] for j in range(0, t + 1))
    return lam


def estimate_r(local, imported, si, window, mean_prior, std_prior, cv_posterior):
    """EpiEstim's estimate_R_func for a certain SI, default sliding windows.

    `si` is ("gamma", mean, sd) for method parametric_si or ("discrete", w)
    for non_parametric_si. Returns the SI used, lambda and one row per window
    (t_start and t_end 1-based as in EpiEstim)."""
    local, imported = process_incid(local, imported)
    T = len(local)
    t_start = list(range(2, T - window + 2))
    t_end = [s + window - 1 for s in t_start]
    a_prior = (mean_prior / std_prior) ** 2
    b_prior = std_prior**2 / mean_prior
    if si[0] == "gamma":
        si_distr = list(discr_si(np.arange(0, T), si[1], si[2]))
    else:
        si_distr = list(si[1])
    if len(si_distr) < T + 1:
        si_distr += [0.0] * (T + 1 - len(si_distr))
    final_mean_si = sum(w * k for k, w in enumerate(si_distr))
    total = local + imported
    lam = overall_infectivity(total, si_distr)
    # fangkong's flags (rt.rs module docs), from EpiEstim's own formulas:
    # NA rule t_end > final_mean_si; min cases ceiling(1/cv^2 - a_prior)
    min_cases = math.ceil(1 / cv_posterior**2 - a_prior)
    rows = []
    for s, e in zip(t_start, t_end):
        cases = sum(local[s - 1 : e])
        exposure = sum(lam[s - 1 : e])
        a_post = a_prior + cases
        b_post = 1 / (1 / b_prior + exposure)
        if e <= final_mean_si:
            flag = "before_one_mean_si"
        elif exposure < 1 / b_prior:
            flag = "infectivity_below_prior"
        elif cases < min_cases:
            flag = "posterior_cv"
        else:
            flag = ""
        q = gamma.ppf(QUANTILES, a_post, scale=b_post)
        rows.append([s, e, a_post, b_post, a_post * b_post, math.sqrt(a_post) * b_post, *q, flag])
    return si_distr[:T], lam, rows


def hubei_daily():
    """Daily new confirmed cases in Hubei, decumulated with a running maximum
    (fangkong's series::decumulate), all counted as local."""
    cumulative = []
    for line in JHU.read_text().splitlines()[1:]:
        province, _date, confirmed = line.split(",")[:3]
        if province == "Hubei":
            cumulative.append(int(confirmed))
    daily, high = [], 0
    for c in cumulative:
        nxt = max(high, c)
        daily.append(nxt - high)
        high = nxt
    return daily, [0] * len(daily)


def synthetic_imported():
    """Deterministic: an imported wave seeding local transmission, 60 days."""
    imported = [int(round(12 * math.exp(-((t - 6) ** 2) / 18))) for t in range(60)]
    local = [int(round(3 + 40 * math.exp(-((t - 30) ** 2) / 120) + 5 * math.sin(t))) for t in range(60)]
    local = [max(0, v) for v in local]
    return local, imported


def sporadic():
    """Small counts with long silences: windows with no infectivity at all."""
    local = [0] * 70
    for day, cases in [(0, 3), (2, 1), (5, 2), (9, 1), (40, 4), (41, 6), (43, 9), (44, 12), (46, 15), (48, 11)]:
        local[day] = cases
    return local, [0] * 70


CASES = {
    # name: (local, imported, si, window, mean_prior, std_prior, cv_posterior, note)
    "hubei": (
        *hubei_daily(),
        ("gamma", 7.5, 3.4),
        7, 5.0, 5.0, 0.3,
        "JHU CSSE Hubei 2020 daily new confirmed (decumulated); SI mean 7.5 sd 3.4 (Li et al. NEJM 2020)",
    ),
    "imported": (
        *synthetic_imported(),
        ("gamma", 4.7, 2.9),
        7, 5.0, 5.0, 0.3,
        "synthetic local and imported cases; SI mean 4.7 sd 2.9 (Nishiura et al. 2020)",
    ),
    "discrete": (
        *sporadic(),
        ("discrete", FLU2009_SI),
        5, 2.6, 2.0, 0.4,
        "sporadic cases, Flu2009 si_distr as weights, window 5, prior mean 2.6 sd 2, cv 0.4",
    ),
    "flu2009": (
        FLU2009_INCIDENCE, [0] * len(FLU2009_INCIDENCE),
        ("gamma", 2.6, 1.5),
        7, 5.0, 5.0, 0.3,
        "EpiEstim's Flu2009 with parametric_si mean 2.6 sd 1.5 (EpiEstim's Example 3)",
    ),
    "measles-short": (
        [1, 0, 0, 2, 0, 1, 3, 0, 2, 5, 4, 6, 3, 8, 9, 7, 12, 10, 15, 11],
        [0] * 20,
        ("gamma", 14.9, 3.9),
        3, 5.0, 5.0, 0.3,
        "a series shorter than the SI: SI mean 14.9 sd 3.9, window 3",
    ),
}


def write_case(name, local, imported, si, window, mean_prior, std_prior, cv, note):
    si_used, lam, rows = estimate_r(local, imported, si, window, mean_prior, std_prior, cv)
    folder = FIXTURES / name
    folder.mkdir(parents=True, exist_ok=True)
    header = f"# generated by scripts/reference/rt_reference.py (numpy {np.__version__}, scipy {scipy.__version__}); do not edit\n"
    config = [("note", note), ("window", window), ("prior_mean", mean_prior), ("prior_sd", std_prior), ("cv_posterior", cv)]
    if si[0] == "gamma":
        config += [("si", "gamma"), ("si_mean", si[1]), ("si_sd", si[2])]
    else:
        config += [("si", "discrete")]
    (folder / "config.csv").write_text(header + "key,value\n" + "".join(f"{k},{v}\n" for k, v in config))
    (folder / "si.csv").write_text(header + "k,w\n" + "".join(f"{k},{float(w)!r}\n" for k, w in enumerate(si_used)))
    (folder / "incidence.csv").write_text(
        header
        + "day,local,imported,lambda\n"
        + "".join(f"{d},{l},{i},{float(x)!r}\n" for d, (l, i, x) in enumerate(zip(local, imported, lam)))
    )
    columns = "t_start,t_end,shape,scale,mean,sd," + ",".join(QUANTILE_NAMES) + ",too_uncertain"
    lines = [",".join([str(r[0]), str(r[1])] + [repr(float(v)) for v in r[2:-1]] + [r[-1]]) for r in rows]
    (folder / "expected.csv").write_text(header + "# t_start, t_end: 1-based, as EpiEstim\n" + columns + "\n" + "\n".join(lines) + "\n")
    print(f"{name}: {len(local)} days, {len(rows)} windows -> {folder.relative_to(ROOT)}")


def main():
    for name, case in CASES.items():
        write_case(name, *case)


if __name__ == "__main__":
    main()
