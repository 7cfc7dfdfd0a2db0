#!/usr/bin/env python3
"""Time epyestim's Cori estimator on the Rt benchmark's data.

Usage (scripts/bench-rt.sh runs it inside .cache/bench-venv, where
`pip install epyestim` put epyestim, pandas and scipy):

    python scripts/bench/epyestim_rt.py DIR [--rust-ms MS] [--rust-ms-one-thread MS] [--runs N]

DIR is where `FANGKONG_BENCH_DATA=DIR cargo bench -p fangkong-analytics
--bench rt` wrote incidence.csv (region,day,incidence) and estimates.csv
(fangkong's results for regions 0-2).

What is timed: epyestim's own Cori step, `epyestim.estimate_r.estimate_r`
(overall infectivity by np.convolve, window sums by pandas rolling, posterior
shape and scale), then the posterior mean, sd and 2.5/50/97.5% quantiles
with epyestim's `gamma_quantiles` (scipy's gammaincinv), as its
`aggregate_quantiles_r` does: for every region, one after the other, as
epyestim is called. Not timed: epyestim's top-level `estimate_r`, which wraps
this in bootstrapping, smoothing and deconvolution of reported cases (another
computation). The serial interval is EpiEstim's discr_si(4.7, 2.9), as in the
Rust benchmark. Windows: epyestim's rolling windows also start on day 0 (one
more window per region than EpiEstim's, which start on day 1).
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from epyestim.estimate_r import estimate_r, gamma_quantiles
from scipy.stats import gamma

SI_MEAN, SI_SD, WINDOW = 4.7, 2.9, 7
A_PRIOR, B_PRIOR = 1.0, 5.0  # mean 5, sd 5


def discr_si(days, mu, sigma):
    """EpiEstim's discr_si on 0..days-1 (trailing exact zeros dropped)."""
    a, b = ((mu - 1) / sigma) ** 2, sigma**2 / (mu - 1)
    k = np.arange(days, dtype=float)
    F = lambda x, s: gamma.cdf(x, s, scale=b)  # noqa: E731
    w = k * F(k, a) + (k - 2) * F(k - 2, a) - 2 * (k - 1) * F(k - 1, a)
    w += a * b * (2 * F(k - 1, a + 1) - F(k - 2, a + 1) - F(k, a + 1))
    w = np.maximum(0.0, w)
    return w[: np.flatnonzero(w)[-1] + 1]


def cori(series, si):
    post = estimate_r(series, si, A_PRIOR, B_PRIOR, window_size=WINDOW)
    a, b = post.a_posterior, post.b_posterior
    return pd.DataFrame(
        {
            "mean": a * b,
            "sd": np.sqrt(a) * b,
            "q025": gamma_quantiles(0.025, a, b),
            "median": gamma_quantiles(0.5, a, b),
            "q975": gamma_quantiles(0.975, a, b),
        }
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--rust-ms", type=float, help="fangkong's median time, all cores")
    parser.add_argument("--rust-ms-one-thread", type=float, help="fangkong's median time, one thread")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    data = pd.read_csv(args.dir / "incidence.csv")
    days = int(data.day.max()) + 1
    regions = [pd.Series(g.incidence.to_numpy(dtype=float)) for _, g in data.groupby("region", sort=True)]
    si = discr_si(days, SI_MEAN, SI_SD)

    # the same numbers as fangkong on the regions it wrote out
    ours = pd.read_csv(args.dir / "estimates.csv")
    worst = 0.0
    for region, rows in ours.groupby("region"):
        theirs = cori(regions[region], si)
        for col in ["mean", "q025", "median", "q975"]:
            got = theirs.loc[rows.t_end.to_numpy(), col].to_numpy()
            worst = max(worst, float(np.max(np.abs(got - rows[col].to_numpy()) / np.abs(rows[col].to_numpy()))))
    # pandas' rolling sums add and subtract as the window moves, so after a
    # wave they drift by ~1e-10 from a direct sum: agreement is 1e-8, not 1e-14
    print(f"epyestim: agrees with fangkong on regions 0-2 to {worst:.1e} relative")
    assert worst < 1e-8, "epyestim and fangkong disagree: not the same computation"

    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        for series in regions:
            cori(series, si)
        times.append(time.perf_counter() - start)
    windows = len(regions) * (days - WINDOW + 1)
    median_ms = statistics.median(times) * 1e3
    print(
        f"epyestim: {len(regions)} regions x {days} days, {windows} windows, one process; "
        f"median of {args.runs} runs {median_ms:.0f} ms (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f})"
    )
    if args.rust_ms:
        print(f"epyestim / fangkong (all cores): {median_ms / args.rust_ms:.1f}x")
    if args.rust_ms_one_thread:
        print(f"epyestim / fangkong (one thread each): {median_ms / args.rust_ms_one_thread:.1f}x")


if __name__ == "__main__":
    main()
