#!/usr/bin/env bash
# Rt for 3,000 regions x 365 days: fangkong against epyestim (Python) on the
# same generated data, with the same method (Cori et al. 2013: weekly windows,
# gamma serial interval 4.7/2.9, prior mean 5 sd 5, mean, sd and 95% interval).
#
#   scripts/bench-rt.sh
#
# Makes .cache/bench-venv (pip install epyestim), runs
# `cargo bench -p fangkong-analytics --bench rt` on all cores and on one (it
# writes its input to .cache/rt-bench/), times epyestim's Cori step on that
# input in one Python process (scripts/bench/epyestim_rt.py, which first checks
# that both compute the same numbers) and prints both times and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/bench-venv
data="$PWD/.cache/rt-bench"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet epyestim==0.1
fi

median_ms() { sed -n 's/^rt: median of [0-9]* runs \([0-9.]*\) ms.*/\1/p'; }
all=$(FANGKONG_BENCH_DATA="$data" cargo bench -p fangkong-analytics --bench rt | tee /dev/stderr)
one=$(RAYON_NUM_THREADS=1 cargo bench -p fangkong-analytics --bench rt | tee /dev/stderr)
"$venv/bin/python" scripts/bench/epyestim_rt.py "$data" \
  --rust-ms "$(median_ms <<<"$all")" --rust-ms-one-thread "$(median_ms <<<"$one")"
