//! The binary as a user runs it: real processes, real files, both engines.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path)
}

fn fangkong(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fangkong"))
        .args(args)
        .args(["--database", db])
        .env("FANGKONG_LOG", "warn")
        .env_remove("FANGKONG_USER")
        .output()
        .expect("run fangkong")
}

fn ok(db: &str, args: &[&str]) -> String {
    let out = fangkong(db, args);
    assert!(
        out.status.success(),
        "fangkong {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// A fresh database URL on each engine.
async fn databases(dir: &Path) -> Vec<String> {
    let mut urls = vec![format!("sqlite://{}", dir.join("cli.db").display())];
    urls.extend(fangkong_store_postgres::testing::fresh_database().await);
    urls
}

#[tokio::test]
async fn the_bulletin_comes_from_reports_imported_from_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("nhc.csv");
    let nhc = shared("data/nhc_national_daily_2020.csv");
    for db in databases(dir.path()).await {
        ok(
            &db,
            &[
                "import",
                "nhc",
                nhc.to_str().expect("path"),
                "--to-csv",
                csv.to_str().expect("path"),
            ],
        );
        let out = ok(
            &db,
            &[
                "import",
                "reports",
                "--form",
                "epidemic",
                csv.to_str().expect("path"),
            ],
        );
        assert!(out.contains("56 filed"), "{db}: {out}");
        let zh = ok(&db, &["bulletin", "--date", "2020-01-25"]);
        assert!(
            zh.contains("截至1月25日24时，全国累计报告确诊病例1975例，现有重症病例324例，累计死亡病例56例，累计治愈出院病例49例，现有疑似病例2684例"),
            "{db}: {zh}"
        );
        let en = ok(&db, &["bulletin", "--date", "2020-01-25", "--lang", "en"]);
        assert!(en.contains("a total of 1,975 confirmed cases, of which 324 are severe now; 56 deaths; 49 discharged (cured); and 2,684 suspected cases now"), "{en}");
        // importing the same file again changes nothing
        let out = ok(
            &db,
            &[
                "import",
                "reports",
                "--form",
                "epidemic",
                csv.to_str().expect("path"),
            ],
        );
        assert!(out.contains("0 filed, 0 corrected, 56 unchanged"), "{out}");
        let verify = ok(&db, &["audit", "verify"]);
        assert!(
            verify.contains("report chain: intact (56 entries)"),
            "{verify}"
        );
        // the heads kept in a file, and compared with on the next verify
        let heads = dir.path().join("heads.json");
        let heads = heads.to_str().expect("path");
        let out = ok(&db, &["audit", "witness", "--output", heads]);
        assert!(out.contains("report chain at 56"), "{out}");
        let verify = ok(&db, &["audit", "verify", "--head-file", heads]);
        for line in [
            "compared with the heads the head file witnessed",
            "report chain: intact (56 entries)",
            "roll-ups: agree",
            "line list: agree (0 rows)",
        ] {
            assert!(verify.contains(line), "{line}: {verify}");
        }
    }
}

#[tokio::test]
async fn a_bad_file_is_refused_whole_unless_told_to_skip_bad_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("grid.csv");
    std::fs::write(
        &file,
        "region_code,date,households_visited,returnees_registered,fever_found,home_observation\n\
         420102,2020-02-01,10,1,0,2\n\
         420103,2020-02-01,ten,1,0,2\n\
         420104,2020-02-01,7,0,0,1\n",
    )
    .expect("write");
    for db in databases(dir.path()).await {
        let out = fangkong(
            &db,
            &[
                "import",
                "reports",
                "--form",
                "grid",
                file.to_str().expect("path"),
            ],
        );
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("line 3, column households_visited"), "{err}");
        assert!(err.contains("nothing was imported"), "{err}");
        let figures = ok(
            &db,
            &[
                "report",
                "figures",
                "--form",
                "grid",
                "--region",
                "420100",
                "--date",
                "2020-02-01",
            ],
        );
        assert!(figures.contains("nothing filed"), "{figures}");

        let rejects = dir.path().join("rejects.csv");
        let out = ok(
            &db,
            &[
                "import",
                "reports",
                "--form",
                "grid",
                file.to_str().expect("path"),
                "--skip-bad",
                "--rejects",
                rejects.to_str().expect("path"),
            ],
        );
        assert!(out.contains("2 filed"), "{out}");
        let rejected = std::fs::read_to_string(&rejects).expect("rejects");
        assert!(
            rejected
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("3,households_visited,") && l.contains("420103")),
            "{rejected}"
        );
        let figures = ok(
            &db,
            &[
                "report",
                "figures",
                "--form",
                "grid",
                "--region",
                "420100",
                "--date",
                "2020-02-01",
            ],
        );
        assert!(figures.contains("households_visited=17"), "{figures}");
    }
}

#[tokio::test]
async fn jhu_2020_loads_and_exports_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jhu = shared("data/jhu_china_provinces_2020.csv");
    for db in databases(dir.path()).await {
        let out = fangkong(&db, &["import", "jhu", jhu.to_str().expect("path")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("810000"),
            "Hong Kong is named as left out"
        );
        let figures = ok(
            &db,
            &[
                "report",
                "figures",
                "--form",
                "epidemic",
                "--region",
                "000000",
                "--date",
                "2020-02-29",
            ],
        );
        assert!(
            figures.contains("since the start: new_confirmed=79251"),
            "{figures}"
        );
        let export = dir.path().join("hubei.csv");
        ok(
            &db,
            &[
                "export",
                "reports",
                "--form",
                "epidemic",
                "--region",
                "420000",
                "--to",
                "2020-02-29",
                "--output",
                export.to_str().expect("path"),
            ],
        );
        let text = std::fs::read_to_string(&export).expect("export");
        assert_eq!(
            text.lines().count(),
            1 + 39,
            "a header and 2020-01-22..02-29"
        );
        // the export is an import file
        let copy = format!("sqlite://{}", dir.path().join("copy.db").display());
        ok(
            &copy,
            &[
                "import",
                "reports",
                "--form",
                "epidemic",
                export.to_str().expect("path"),
            ],
        );
        let figures = ok(
            &copy,
            &[
                "report",
                "figures",
                "--form",
                "epidemic",
                "--region",
                "420000",
                "--date",
                "2020-02-29",
            ],
        );
        assert!(
            figures.contains("new_confirmed=66337"),
            "Hubei's JHU cumulative on 2020-02-29: {figures}"
        );
        let _ = std::fs::remove_file(dir.path().join("copy.db"));
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_answers_health_checks_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("serve.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_fangkong"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .env("FANGKONG_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let started = Instant::now();
    let url = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        let line = lines.next().expect("a line").expect("utf8");
        if let Some(rest) = line.split("http://").nth(1) {
            break format!("http://{}", rest.split('/').next().expect("addr"));
        }
    };
    let health: serde_json::Value = reqwest::get(format!("{url}/healthz"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["engine"], "sqlite");
    drop(server);
}

#[test]
fn the_demo_builds_a_living_outbreak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = fangkong(&db, &["demo", "--no-serve"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    for user in [
        "nation",
        "hubei",
        "wuhan",
        "jianghan",
        "grid",
        "jinyintan",
        "public",
    ] {
        assert!(
            err.lines().any(|l| l.trim_start().starts_with(user)),
            "login {user} listed: {err}"
        );
    }
    // every county of China files the epidemic form; the outbreak shows in the bulletin
    let yesterday = ok(
        &db,
        &[
            "report",
            "completeness",
            "--form",
            "epidemic",
            "--region",
            "000000",
            "--date",
            &days_ago(1),
        ],
    );
    assert!(
        yesterday.contains("reports of 2978 units (county)"),
        "{yesterday}"
    );
    let bulletin = ok(
        &db,
        &["bulletin", "--date", &days_ago(1), "--region", "420000"],
    );
    let cumulative: i64 = bulletin
        .split("累计报告确诊病例")
        .nth(1)
        .and_then(|t| t.split('例').next())
        .and_then(|n| n.parse().ok())
        .expect("cumulative confirmed");
    assert!(cumulative > 100, "Hubei has an outbreak: {bulletin}");
    // a few villages were late a week ago, and the chains verify
    let week = ok(
        &db,
        &[
            "report",
            "completeness",
            "--form",
            "grid",
            "--region",
            "420000",
            "--date",
            &days_ago(7),
            "--limit",
            "5",
        ],
    );
    assert!(week.contains("late:"), "{week}");
    assert!(week.contains("reports of 27057 units (village)"), "{week}");
    // the line list: the index case's cluster crosses Wuhan's districts
    let chain: serde_json::Value = serde_json::from_str(&ok(
        &db,
        &["chain", "--case", "WH-0001", "--format", "json"],
    ))
    .expect("chain json");
    let nodes = chain["nodes"].as_array().expect("nodes");
    let mut counties: Vec<&str> = nodes.iter().filter_map(|n| n["region"].as_str()).collect();
    counties.sort_unstable();
    counties.dedup();
    assert!(nodes.len() > 100, "{} nodes", nodes.len());
    assert!(
        counties.len() >= 3,
        "a cluster across counties: {counties:?}"
    );
    assert!(chain["edges"]
        .as_array()
        .is_some_and(|e| e.len() + 1 >= nodes.len()));
    let due = ok(
        &db,
        &[
            "contacts",
            "due",
            "--region",
            "420100",
            "--date",
            &days_ago(0),
        ],
    );
    assert!(due.contains("MJ-"), "contacts to follow up today: {due}");
    // the grid worker has contacts of their community to follow up
    let grid = ok(
        &db,
        &["contacts", "due", "--as", "grid", "--date", &days_ago(0)],
    );
    assert!(grid.contains("MJ-"), "the grid worker's list: {grid}");
    let verify = ok(&db, &["audit", "verify"]);
    assert!(verify.contains("report chain: intact"), "{verify}");
}

/// A day before today in China's local time, as the demo counts days.
fn days_ago(n: i64) -> String {
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    (today - chrono::Duration::days(n)).to_string()
}

#[tokio::test]
async fn analyze_rt_prints_one_csv_row_per_window_from_imported_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jhu = shared("data/jhu_china_provinces_2020.csv");
    let si = dir.path().join("si.csv");
    // A discrete serial interval: day,weight with day 0 at 0.
    std::fs::write(
        &si,
        "day,weight\n0,0\n1,0.1\n2,0.2\n3,0.3\n4,0.2\n5,0.1\n6,0.1\n",
    )
    .unwrap();
    for db in databases(dir.path()).await {
        ok(&db, &["import", "jhu", jhu.to_str().unwrap()]);
        let args = [
            "analyze",
            "rt",
            "--region",
            "420000",
            "--from",
            "2020-02-01",
            "--to",
            "2020-02-29",
            "--format",
            "csv",
        ];
        let out = ok(&db, &args);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("date,mean,median,q025,q975"), "{db}");
        let rows: Vec<Vec<String>> = lines
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect();
        assert_eq!(
            rows.len(),
            29,
            "{db}: a window ends on each day of February"
        );
        assert_eq!(rows[0][0], "2020-02-01");
        assert_eq!(rows[28][0], "2020-02-29");
        for r in &rows {
            let x: Vec<f64> = r[1..].iter().map(|v| v.parse().unwrap()).collect();
            assert!(
                x[2] < x[1] && x[1] < x[3],
                "{db}: q025 < median < q975 in {r:?}"
            );
        }
        let last_q975: f64 = rows[28][4].parse().unwrap();
        assert!(
            last_q975 < 1.0,
            "{db}: Hubei's epidemic was shrinking by the end of February"
        );

        // The default serial interval is the gamma of mean 4.7 and sd 2.9.
        let explicit = ok(
            &db,
            &[&args[..], &["--si-mean", "4.7", "--si-sd", "2.9"]].concat(),
        );
        assert_eq!(explicit, out);
        let discrete = ok(
            &db,
            &[&args[..], &["--si-file", si.to_str().unwrap()]].concat(),
        );
        assert_ne!(discrete, out);
        assert_eq!(discrete.lines().count(), 30);

        let bad = fangkong(
            &db,
            &[&args[..], &["--si-mean", "0.5", "--si-sd", "1"]].concat(),
        );
        assert!(!bad.status.success());
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains("si_mean"), "{db}: {err}");

        let json = ok(
            &db,
            &[
                "analyze",
                "growth",
                "--region",
                "420000",
                "--from",
                "2020-02-16",
                "--to",
                "2020-02-29",
                "--format",
                "json",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["trend"], "halving", "{db}: {json}");
    }
}

/// A service in this process over the database the binary uses.
async fn service_on(db: &str) -> fangkong_service::Service {
    let store: std::sync::Arc<dyn fangkong_store::Store> = if db.starts_with("sqlite:") {
        std::sync::Arc::new(
            fangkong_store_sqlite::SqliteStore::connect(db)
                .await
                .expect("sqlite"),
        )
    } else {
        std::sync::Arc::new(
            fangkong_store_postgres::PgStore::connect(db)
                .await
                .expect("postgres"),
        )
    };
    fangkong_service::Service::open(store, fangkong_service::Settings::default())
        .await
        .expect("service")
}

/// `fangkong user passwd` sets a password read from standard input and ends
/// the user's sessions; `fangkong user revoke` ends them and keeps the
/// password; a county cannot do either for a user outside its county.
#[tokio::test]
async fn an_administrator_sets_passwords_and_ends_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    for db in databases(dir.path()).await {
        for (user, role, region) in [
            ("Jianghan", "county", "420103"),
            ("wuchang", "county", "420106"),
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_fangkong"))
                .args(["user", "add", user, "--role", role, "--region", region])
                .args(["--database", &db])
                .env("FANGKONG_PASSWORD", "first password")
                .env("FANGKONG_LOG", "warn")
                .env_remove("FANGKONG_USER")
                .output()
                .expect("run");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let service = service_on(&db).await;
        let session = service
            .login("jianghan", "first password", None)
            .await
            .expect("login");

        let mut child = Command::new(env!("CARGO_BIN_EXE_fangkong"))
            .args(["user", "passwd", "JIANGHAN", "--database", &db])
            .env("FANGKONG_LOG", "warn")
            .env_remove("FANGKONG_USER")
            .env_remove("FANGKONG_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::io::Write::write_all(
            &mut child.stdin.take().expect("stdin"),
            b"second password\n",
        )
        .expect("write");
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            service.authenticate(&session.token).await.is_err(),
            "{db}: the old session lives"
        );
        assert!(service
            .login("jianghan", "first password", None)
            .await
            .is_err());
        let session = service
            .login("Jianghan", "second password", None)
            .await
            .expect("the new password");

        // a county of elsewhere cannot end them
        let out = fangkong(&db, &["user", "revoke", "jianghan", "--as", "wuchang"]);
        assert!(!out.status.success(), "{db}: revoked from elsewhere");
        assert!(service.authenticate(&session.token).await.is_ok());

        let out = ok(&db, &["user", "revoke", "jianghan"]);
        assert!(out.contains("1 sessions of Jianghan ended"), "{db}: {out}");
        assert!(service.authenticate(&session.token).await.is_err());
        service
            .login("jianghan", "second password", None)
            .await
            .expect("the password stays");
        let log = ok(&db, &["audit", "log", "--key", "user/Jianghan"]);
        assert!(
            log.contains("user.password.set") && log.contains("user.revoke"),
            "{db}: {log}"
        );
        assert!(!log.contains("second password"), "{log}");
    }
}
