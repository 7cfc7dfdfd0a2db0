//! Published data over HTTP: publishing, revising with a reason, the public
//! releases in every version, the errata and the open data with small-area
//! suppression; the real server on 127.0.0.1:0 over a fresh store per test,
//! on SQLite and on PostgreSQL (skipped, loudly, when no PostgreSQL server
//! can be reached outside CI).

#[macro_use]
mod common;

use common::{run, Engine, TestApp};

use anyhow::{anyhow, ensure, Result};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{json, Value};

use fangkong_domain::user::Role;
use fangkong_service::reports::FiledValues;

const DAY: &str = "2020-01-25";

impl TestApp {
    /// File a county's epidemic report for [`DAY`].
    async fn file(&self, county: &str, confirmed: i64) -> Result<()> {
        let values = [
            ("new_confirmed", confirmed),
            ("new_suspected", 2),
            ("new_severe", 0),
            ("new_deaths", 0),
            ("new_recovered", 0),
            ("current_severe", 0),
            ("current_suspected", 2),
            ("current_observation", 40),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
        self.service
            .file_report(
                &self.system,
                "epidemic",
                county,
                NaiveDate::parse_from_str(DAY, "%Y-%m-%d")?,
                FiledValues::Pairs(values),
            )
            .await?;
        Ok(())
    }
}

on_both_engines!(
    a_revision_keeps_the_old_version_and_an_erratum,
    open_data_suppresses_small_counts_below_the_provinces,
    only_the_command_levels_publish,
    no_withheld_count_can_be_recovered_on_any_public_route,
);

/// The row of `code` in a release body.
fn row<'a>(release: &'a Value, code: &str) -> Result<&'a Value> {
    release["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["code"] == code))
        .ok_or_else(|| anyhow!("no row {code} in {release}"))
}

/// Publish; a revised figure becomes version 2 only with a reason; the
/// public sees the new value, version 1 keeps the old one, and the errata
/// say what changed, when and why. Publishing again unchanged is a no-op.
async fn a_revision_keeps_the_old_version_and_an_erratum(app: TestApp) -> Result<TestApp> {
    let nation = app.user("nhc.cmd", Role::National, "000000").await?;
    let hubei = app.user("hubei.cmd", Role::Provincial, "420000").await?;
    app.file("420102", 12).await?;
    app.file("420103", 30).await?;

    // the nation and every province, by default
    let a = app
        .post(Some(&nation), "/api/v1/publications", &json!({"date": DAY}))
        .await?;
    let body = a.ok(201)?;
    let pubs = body["publications"].as_array().cloned().unwrap_or_default();
    ensure!(pubs.len() == 32, "the nation and 31 provinces: {}", a.text);
    ensure!(
        pubs.iter()
            .all(|p| p["outcome"] == "published" && p["version"] == 1),
        "{}",
        a.text
    );

    let latest = app
        .get(
            None,
            &format!("/api/v1/public/releases?date={DAY}&region=420000"),
        )
        .await?;
    let v1 = latest.ok(200)?;
    ensure!(
        v1["version"] == 1 && v1["latest"] == true,
        "{}",
        latest.text
    );
    ensure!(row(v1, "420000")?["figures"]["new_confirmed"] == 42);
    ensure!(row(v1, "420100")?["figures"]["new_confirmed"] == 42);
    let text = v1["text_zh"].as_str().unwrap_or("");
    ensure!(
        text.contains("湖北省") && text.contains("新增确诊病例42例"),
        "{text}"
    );
    ensure!(
        !latest.text.contains("hubei.cmd") && !latest.text.contains("nhc.cmd"),
        "no usernames in public: {}",
        latest.text
    );
    // without a date: the latest day published
    let nat = app.get(None, "/api/v1/public/releases").await?;
    let nat = nat.ok(200)?;
    ensure!(
        nat["date"] == DAY && nat["region"]["code"] == "000000",
        "{nat}"
    );
    ensure!(nat["bulletin"]["cum_confirmed"] == 42, "{nat}");

    // 江岸区 corrects its report: the command sees it at once, the public not yet
    app.file("420102", 20).await?;
    let still = app
        .get(
            None,
            &format!("/api/v1/public/releases?date={DAY}&region=420000"),
        )
        .await?;
    ensure!(still.ok(200)?["version"] == 1);
    ensure!(row(&still.body, "420100")?["figures"]["new_confirmed"] == 42);

    // a changed re-publication needs a reason
    let refused = app
        .post(
            Some(&hubei),
            "/api/v1/publications",
            &json!({"date": DAY, "region": "420000"}),
        )
        .await?;
    refused.refused(422, "invalid")?;
    ensure!(
        refused.body["error"]["field"] == "reason",
        "{}",
        refused.text
    );

    let reason = "江岸区 corrected its report of new confirmed cases";
    let a = app
        .post(
            Some(&hubei),
            "/api/v1/publications",
            &json!({"date": DAY, "region": "420000", "reason": reason}),
        )
        .await?;
    let body = a.ok(201)?;
    let p = &body["publications"][0];
    ensure!(p["outcome"] == "revised" && p["version"] == 2, "{}", a.text);
    let errata = p["errata"].as_array().cloned().unwrap_or_default();
    ensure!(
        errata.iter().any(|e| e["region_code"] == "420100"
            && e["field"] == "new_confirmed"
            && e["old_value"] == 42
            && e["new_value"] == 50),
        "{}",
        a.text
    );

    // the public sees version 2; version 1 still shows the old value
    let latest = app
        .get(
            None,
            &format!("/api/v1/public/releases?date={DAY}&region=420000"),
        )
        .await?;
    let v2 = latest.ok(200)?;
    ensure!(
        v2["version"] == 2 && v2["latest_version"] == 2,
        "{}",
        latest.text
    );
    ensure!(v2["reason"] == reason);
    ensure!(row(v2, "420000")?["figures"]["new_confirmed"] == 50);
    let versions = v2["versions"].as_array().cloned().unwrap_or_default();
    ensure!(versions.len() == 2, "{}", latest.text);
    let href = versions[0]["href"].as_str().unwrap_or("");
    ensure!(
        href == format!("/api/v1/public/releases/{DAY}/420000/versions/1"),
        "{href}"
    );
    let old = app.get(None, href).await?;
    let old = old.ok(200)?;
    ensure!(old["version"] == 1 && old["latest"] == false, "{old}");
    ensure!(row(old, "420000")?["figures"]["new_confirmed"] == 42);
    ensure!(old["text_zh"]
        .as_str()
        .unwrap_or("")
        .contains("新增确诊病例42例"));
    app.get(
        None,
        &format!("/api/v1/public/releases/{DAY}/420000/versions/3"),
    )
    .await?
    .refused(404, "not_found")?;
    // the nation's release is not touched until it is re-published
    let nat = app
        .get(None, &format!("/api/v1/public/releases?date={DAY}"))
        .await?;
    ensure!(nat.ok(200)?["version"] == 1);
    ensure!(row(&nat.body, "420000")?["figures"]["new_confirmed"] == 42);

    // the errata list: what changed, when and why
    let list = app
        .get(None, &format!("/api/v1/public/errata?from={DAY}&to={DAY}"))
        .await?;
    let list = list.ok(200)?;
    let errata = list["errata"].as_array().cloned().unwrap_or_default();
    let e = errata
        .iter()
        .find(|e| e["region_code"] == "420000" && e["field"] == "new_confirmed")
        .ok_or_else(|| anyhow!("no erratum of 420000 new_confirmed: {list}"))?;
    ensure!(e["old_value"] == 42 && e["new_value"] == 50, "{e}");
    ensure!(e["version"] == 2 && e["reason"] == reason, "{e}");
    ensure!(e["published_at"].is_string() && e["date"] == DAY, "{e}");
    ensure!(errata.iter().any(|e| e["field"] == "cum_confirmed"));
    ensure!(errata.iter().all(|e| e["release_region"] == "420000"));

    // unchanged: a no-op that says so
    let a = app
        .post(
            Some(&hubei),
            "/api/v1/publications",
            &json!({"date": DAY, "region": "420000", "reason": "again"}),
        )
        .await?;
    let body = a.ok(200)?;
    ensure!(
        body["stored"] == 0 && body["publications"][0]["outcome"] == "unchanged",
        "{}",
        a.text
    );
    ensure!(body["publications"][0]["version"] == 2);

    let actions: Vec<String> = app
        .service
        .audit_recent(&app.system, None, 1000)
        .await?
        .into_iter()
        .map(|e| e.action)
        .collect();
    ensure!(
        actions.iter().filter(|a| *a == "release.publish").count() == 32,
        "{actions:?}"
    );
    ensure!(
        actions.iter().filter(|a| *a == "release.revise").count() == 1,
        "{actions:?}"
    );
    Ok(app)
}

/// A county figure of 3 is published as "x" in the open data (CSV and
/// JSON) and in the release; a province's is published as it is.
async fn open_data_suppresses_small_counts_below_the_provinces(app: TestApp) -> Result<TestApp> {
    let wuhan = app.user("wuhan.cmd", Role::City, "420100").await?;
    let nation = app.user("nhc.cmd", Role::National, "000000").await?;
    app.file("420102", 12).await?;
    app.file("420103", 3).await?;
    app.post(
        Some(&wuhan),
        "/api/v1/publications",
        &json!({"date": DAY, "region": "420100"}),
    )
    .await?
    .ok(201)?;
    app.post(Some(&nation), "/api/v1/publications", &json!({"date": DAY}))
        .await?
        .ok(201)?;

    let release = app
        .get(
            None,
            &format!("/api/v1/public/releases?date={DAY}&region=420100"),
        )
        .await?;
    let r = release.ok(200)?;
    ensure!(r["text_zh"].is_null(), "no prose below the provinces: {r}");

    // the bulletin of a county: exact for the command whose jurisdiction
    // covers it, refused to anyone else as for a code that does not exist
    let county_bulletin = format!("/api/v1/bulletin?date={DAY}&region=420103");
    let exact = app.get(Some(&wuhan), &county_bulletin).await?;
    ensure!(
        exact.ok(200)?["figures"]["new_confirmed"] == 3,
        "{}",
        exact.text
    );
    let public = app.get(None, &county_bulletin).await?;
    public.refused(422, "invalid")?;
    ensure!(
        !public.text.contains("\"new_confirmed\""),
        "{}",
        public.text
    );
    let other = app.user("beijing.cmd", Role::City, "110100").await?;
    app.get(Some(&other), &county_bulletin)
        .await?
        .refused(422, "invalid")?;
    let missing = app
        .get(None, &format!("/api/v1/bulletin?date={DAY}&region=429999"))
        .await?;
    missing.refused(422, "invalid")?;
    ensure!(
        missing.field() == public.field(),
        "{} vs {}",
        missing.text,
        public.text
    );
    ensure!(row(r, "420103")?["figures"]["new_confirmed"] == "x", "{r}");
    ensure!(row(r, "420102")?["figures"]["new_confirmed"] == 12, "{r}");
    // 15 − 12 − the zeros would give 3: the smallest sibling is withheld beside it
    ensure!(row(r, "420104")?["figures"]["new_confirmed"] == "x", "{r}");
    ensure!(row(r, "420105")?["figures"]["new_confirmed"] == 0, "{r}");
    ensure!(row(r, "420100")?["figures"]["new_confirmed"] == 15, "{r}");

    let csv = app
        .get(
            None,
            &format!("/api/v1/public/open-data.csv?from={DAY}&to={DAY}&level=county"),
        )
        .await?;
    ensure!(csv.status == StatusCode::OK, "{}", csv.text);
    let mut lines = csv.text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "new_confirmed")
        .ok_or_else(|| anyhow!("no new_confirmed column: {}", csv.text))?;
    let jianghan: Vec<&str> = lines
        .clone()
        .find(|l| l.contains(",420103,"))
        .ok_or_else(|| anyhow!("no 江汉区 line: {}", csv.text))?
        .split(',')
        .collect();
    ensure!(jianghan[col] == "x", "{}", csv.text);
    ensure!(
        !jianghan.contains(&"3"),
        "the number never appears: {jianghan:?}"
    );
    let jiangan: Vec<&str> = lines
        .find(|l| l.contains(",420102,"))
        .ok_or_else(|| anyhow!("no 江岸区 line: {}", csv.text))?
        .split(',')
        .collect();
    ensure!(jiangan[col] == "12", "{}", csv.text);

    let json = app
        .get(
            None,
            &format!("/api/v1/public/open-data.json?from={DAY}&to={DAY}&level=county"),
        )
        .await?;
    let j = json.ok(200)?;
    let rows = j["rows"].as_array().cloned().unwrap_or_default();
    // Wuhan's districts (from Wuhan's release), and the prefecture cities
    // without counties that sit under their province (from the province's)
    ensure!(
        rows.iter()
            .filter(|r| r["release_region"] == "420100")
            .count()
            == 13,
        "{}",
        json.text
    );
    ensure!(
        rows.iter().any(|r| r["region_code"] == "441900"),
        "{}",
        json.text
    );
    let jh = rows
        .iter()
        .find(|r| r["region_code"] == "420103")
        .ok_or_else(|| anyhow!("no 420103: {}", json.text))?;
    ensure!(jh["figures"]["new_confirmed"] == "x", "{jh}");
    ensure!(jh["figures"]["new_suspected"] == "x", "{jh}");
    ensure!(
        jh["release_region"] == "420100" && jh["version"] == 1,
        "{jh}"
    );

    // provinces are published as they are
    let p = app
        .get(
            None,
            &format!("/api/v1/public/open-data.json?from={DAY}&to={DAY}&level=province"),
        )
        .await?;
    let p = p.ok(200)?;
    let rows = p["rows"].as_array().cloned().unwrap_or_default();
    ensure!(rows.len() == 31, "{p}");
    let hubei = rows
        .iter()
        .find(|r| r["region_code"] == "420000")
        .ok_or_else(|| anyhow!("no Hubei: {p}"))?;
    ensure!(hubei["figures"]["new_confirmed"] == 15, "{hubei}");
    ensure!(hubei["figures"]["new_suspected"] == 4, "{hubei}");

    app.get(None, "/api/v1/public/open-data.json?level=village")
        .await?
        .refused(422, "invalid")?;
    app.get(
        None,
        "/api/v1/public/open-data.csv?from=2019-01-01&to=2020-12-31",
    )
    .await?
    .refused(422, "invalid")?;
    Ok(app)
}

/// Public users, grid workers and units outside the region cannot publish.
async fn only_the_command_levels_publish(app: TestApp) -> Result<TestApp> {
    let public = app.user("citizen", Role::Public, "000000").await?;
    let hunan = app.user("hunan.cmd", Role::Provincial, "430000").await?;
    let body = json!({"date": DAY, "region": "420000"});
    app.post(None, "/api/v1/publications", &body)
        .await?
        .refused(401, "unauthenticated")?;
    app.post(Some(&public), "/api/v1/publications", &body)
        .await?
        .refused(403, "forbidden")?;
    app.post(Some(&hunan), "/api/v1/publications", &body)
        .await?
        .refused(403, "forbidden")?;
    app.post(
        Some(&hunan),
        "/api/v1/publications",
        &json!({"date": "2999-01-01"}),
    )
    .await?
    .refused(422, "invalid")?;
    // their own province, by default
    let a = app
        .post(Some(&hunan), "/api/v1/publications", &json!({"date": DAY}))
        .await?;
    let b = a.ok(201)?;
    ensure!(
        b["publications"].as_array().map(Vec::len) == Some(1)
            && b["publications"][0]["region_code"] == "430000",
        "{}",
        a.text
    );
    app.get(None, &format!("/api/v1/public/releases?date={DAY}"))
        .await?
        .refused(404, "not_found")?;
    let doc = app.get(None, "/api/openapi.json").await?;
    let doc = doc.ok(200)?;
    for path in [
        "/api/v1/publications",
        "/api/v1/public/releases",
        "/api/v1/public/releases/{date}/{region}/versions/{version}",
        "/api/v1/public/errata",
        "/api/v1/public/open-data.csv",
        "/api/v1/public/open-data.json",
    ] {
        ensure!(
            doc["paths"][path].is_object(),
            "{path} not in the OpenAPI document"
        );
    }
    Ok(app)
}

/// Finding 5 of issue 12: cells withheld on one public route could be
/// worked out on others (the bulletin of a city gave exact counts; a
/// province minus its published cities recovered 676 of 13,613). A
/// generated outbreak over every county of China for three days, the
/// nation, every province and Hubei's cities published; then every public
/// route is read as an attacker would (releases, open data at every level,
/// the regions of the nation and of every province, the bulletin of every
/// city anonymously), and every parent = Σ children relation is solved
/// repeatedly for cells with one unknown (and groups whose unknowns must
/// sum to zero). Nothing withheld may be recovered.
async fn no_withheld_count_can_be_recovered_on_any_public_route(app: TestApp) -> Result<TestApp> {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::sync::Arc;

    use fangkong_domain::form::epidemic_form;
    use fangkong_domain::region::Level;
    use fangkong_domain::report::Source;
    use fangkong_service::reports::ImportRow;

    let days: Vec<NaiveDate> = (23..=25)
        .map(|d| NaiveDate::from_ymd_opt(2020, 1, d).unwrap_or_default())
        .collect();
    let nation = app.service.nation().await?;
    let counties = app
        .service
        .store()
        .regions_at_level(&nation.path, Level::County)
        .await?;
    let form = epidemic_form();
    let mut seed: u64 = 20_200_123;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut rows = Vec::new();
    for (i, c) in counties.iter().enumerate() {
        let c = Arc::new(c.clone());
        for &date in &days {
            let mut small = |hot: bool| match next(if hot { 6 } else { 12 }) {
                0 | 1 => 1 + next(4) as i64,
                2 => 5 + next(30) as i64,
                _ => 0,
            };
            let hot = c.code.as_str().starts_with("42");
            let pairs = [
                ("new_confirmed", small(hot)),
                ("new_suspected", small(hot)),
                ("new_severe", small(false)),
                ("new_deaths", small(false)),
                ("new_recovered", small(false)),
                ("current_severe", small(false)),
                ("current_suspected", small(hot)),
                ("current_observation", small(hot) * 3),
            ];
            rows.push(ImportRow {
                line: i as u64,
                region: c.clone(),
                date,
                values: form.values_from_pairs(pairs)?,
                filed_at: None,
            });
        }
    }
    app.service
        .import_report_rows(&app.system, "epidemic", rows, Source::Import, "test")
        .await?;
    app.service
        .publish_days(&app.system, &days, None, None)
        .await?;
    let hubei_cities = app.service.children("420000").await?;
    for c in &hubei_cities {
        app.service
            .publish_days(&app.system, &days, Some(c.code.as_str()), None)
            .await?;
    }
    let provinces = app.service.children("000000").await?;

    // what the attacker knows: (day, field, region) → a number or withheld,
    // and the groups parent = Σ children
    type Key = (NaiveDate, String, String);
    let mut cells: HashMap<Key, Option<i64>> = HashMap::new();
    let mut groups: BTreeMap<(NaiveDate, String, String), BTreeSet<String>> = BTreeMap::new();
    let note = |cells: &mut HashMap<Key, Option<i64>>, key: Key, v: &Value| -> Result<()> {
        let now = match v {
            Value::Number(n) => Some(n.as_i64().ok_or_else(|| anyhow!("{n}"))?),
            Value::String(s) if s == "x" => None,
            Value::Null => None,
            other => return Err(anyhow!("unexpected figure {other}")),
        };
        match cells.get(&key) {
            // published on one route, withheld on another: a recovery
            Some(prev) if prev.is_some() != now.is_some() => {
                return Err(anyhow!(
                    "{key:?} is {prev:?} on one route, {now:?} on another"
                ))
            }
            _ => {
                cells.insert(key, now);
            }
        }
        Ok(())
    };
    let mut routes = 0;
    for &date in &days {
        // the releases: the nation, every province, Hubei's cities
        let mut released = vec!["000000".to_owned()];
        released.extend(provinces.iter().map(|p| p.code.to_string()));
        released.extend(hubei_cities.iter().map(|c| c.code.to_string()));
        for code in &released {
            let r = app
                .get(
                    None,
                    &format!("/api/v1/public/releases?date={date}&region={code}"),
                )
                .await?;
            let r = r.ok(200)?.clone();
            routes += 1;
            let rows = r["rows"].as_array().cloned().unwrap_or_default();
            for row in &rows {
                let region = row["code"].as_str().unwrap_or("").to_owned();
                for (field, v) in row["figures"].as_object().cloned().unwrap_or_default() {
                    note(&mut cells, (date, field.clone(), region.clone()), &v)?;
                    if region != *code {
                        groups
                            .entry((date, field, code.clone()))
                            .or_default()
                            .insert(region.clone());
                    }
                }
            }
        }
        // the live regions of the nation and of every province
        let mut parents = vec!["000000".to_owned()];
        parents.extend(provinces.iter().map(|p| p.code.to_string()));
        for code in &parents {
            let r = app
                .get(
                    None,
                    &format!("/api/v1/public/regions?region={code}&date={date}"),
                )
                .await?;
            let r = r.ok(200)?.clone();
            routes += 1;
            for row in r["regions"].as_array().cloned().unwrap_or_default() {
                let region = row["code"].as_str().unwrap_or("").to_owned();
                for field in [
                    "new_confirmed",
                    "new14",
                    "cum_confirmed",
                    "cum_deaths",
                    "cum_recovered",
                ] {
                    note(
                        &mut cells,
                        (date, field.to_owned(), region.clone()),
                        &row[field],
                    )?;
                    groups
                        .entry((date, field.to_owned(), code.clone()))
                        .or_default()
                        .insert(region.clone());
                }
            }
        }
        // the bulletin of a city is not public: the same refusal as for no city
        for c in hubei_cities.iter().chain([&nation]) {
            let code = if c.code.as_str() == "000000" {
                "429999"
            } else {
                c.code.as_str()
            };
            app.get(None, &format!("/api/v1/bulletin?date={date}&region={code}"))
                .await?
                .refused(422, "invalid")?;
            routes += 1;
        }
    }
    // open data at every level, all three days at once
    for level in ["nation", "province", "city", "county"] {
        let r = app
            .get(
                None,
                &format!(
                    "/api/v1/public/open-data.json?from={}&to={}&level={level}",
                    days[0], days[2]
                ),
            )
            .await?;
        let r = r.ok(200)?.clone();
        routes += 1;
        for row in r["rows"].as_array().cloned().unwrap_or_default() {
            let date: NaiveDate = row["date"].as_str().unwrap_or("").parse()?;
            let region = row["region_code"].as_str().unwrap_or("").to_owned();
            let parent = row["release_region"].as_str().unwrap_or("").to_owned();
            for (field, v) in row["figures"].as_object().cloned().unwrap_or_default() {
                note(&mut cells, (date, field.clone(), region.clone()), &v)?;
                if parent != region {
                    groups
                        .entry((date, field, parent.clone()))
                        .or_default()
                        .insert(region.clone());
                }
            }
        }
    }

    // the attack: solve every group with one unknown, again and again
    let withheld: Vec<Key> = cells
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.clone())
        .collect();
    let mut known: HashMap<Key, i64> = cells
        .iter()
        .filter_map(|(k, v)| v.map(|v| (k.clone(), v)))
        .collect();
    let mut recovered = Vec::new();
    loop {
        let mut progress = false;
        for ((date, field, parent), kids) in &groups {
            let pk = (*date, field.clone(), parent.clone());
            let kid_keys: Vec<Key> = kids
                .iter()
                .map(|k| (*date, field.clone(), k.clone()))
                .collect();
            let unknown: Vec<&Key> = std::iter::once(&pk)
                .chain(&kid_keys)
                .filter(|k| !known.contains_key(*k))
                .collect();
            let kids_known: i64 = kid_keys.iter().filter_map(|k| known.get(k)).sum();
            match (unknown.len(), known.get(&pk)) {
                (1, None) => {
                    known.insert(pk.clone(), kids_known);
                    recovered.push(pk.clone());
                    progress = true;
                }
                (1, Some(p)) => {
                    let k = unknown[0].clone();
                    known.insert(k.clone(), p - kids_known);
                    recovered.push(k);
                    progress = true;
                }
                // the unknown children must sum to zero: each is zero
                (n, Some(p)) if n > 1 && *p == kids_known => {
                    for k in unknown.into_iter().cloned().collect::<Vec<_>>() {
                        known.insert(k.clone(), 0);
                        recovered.push(k);
                    }
                    progress = true;
                }
                _ => {}
            }
        }
        if !progress {
            break;
        }
    }
    // only what a route withheld counts (a figure no route sends, such as
    // the nation's new14, is worked out but was never hidden)
    recovered.retain(|k| matches!(cells.get(k), Some(None)));
    eprintln!(
        "disclosure attack ({}): {} public answers read, {} cells, {} withheld tried, {} recovered, {} groups",
        app.service.engine(),
        routes,
        cells.len(),
        withheld.len(),
        recovered.len(),
        groups.len()
    );
    ensure!(
        withheld.len() > 1_000,
        "too few withheld cells to try: {}",
        withheld.len()
    );
    ensure!(
        recovered.is_empty(),
        "{} of {} withheld cells recovered, e.g. {:?}",
        recovered.len(),
        withheld.len(),
        &recovered[..recovered.len().min(5)]
    );
    Ok(app)
}
