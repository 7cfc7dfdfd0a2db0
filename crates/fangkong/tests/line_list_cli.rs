//! The line list from the command line: case and contact files in, the
//! chain out, a bad file refused; on both engines.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

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

async fn databases(dir: &Path) -> Vec<String> {
    let mut urls = vec![format!("sqlite://{}", dir.join("cli.db").display())];
    urls.extend(fangkong_store_postgres::testing::fresh_database().await);
    urls
}

const CASES: &str =
    "case_id,region_code,sex,age,onset_date,report_date,classification,source_case_id,name\n\
X1,420102,male,50,2020-01-05,2020-01-08,confirmed,,甲\n\
X2,420103,female,45,2020-01-10,2020-01-12,confirmed,X1,乙\n\
X3,420104,male,30,2020-01-15,2020-01-17,suspected,X2,丙\n\
X4,110101,male,30,2020-01-15,2020-01-17,suspected,,丁\n";

const CONTACTS: &str = "contact_id,source_case_id,region_code,exposure,last_exposure_date\n\
K1,X1,420102,household,2020-01-07\n\
K2,X3,420104,work,2020-01-16\n\
K2,X4,420104,work,2020-01-16\n";

#[tokio::test]
async fn a_chain_of_imported_cases_and_contacts_prints_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.csv");
    let contacts = dir.path().join("contacts.csv");
    std::fs::write(&cases, CASES).unwrap();
    std::fs::write(&contacts, CONTACTS).unwrap();
    for db in databases(dir.path()).await {
        let out = ok(&db, &["import", "cases", cases.to_str().unwrap()]);
        assert!(out.contains("imported 4 cases"), "{db}: {out}");
        let out = ok(&db, &["import", "contacts", contacts.to_str().unwrap()]);
        assert!(out.contains("imported 2 contacts"), "{db}: {out}");

        let json = ok(
            &db,
            &["chain", "--case", "X2", "--depth", "1", "--format", "json"],
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut nodes: Vec<&str> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        nodes.sort();
        assert_eq!(nodes, ["X1", "X2", "X3"], "{db}: {json}");
        let mut edges: Vec<(&str, &str)> = v["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
            .collect();
        edges.sort();
        assert_eq!(edges, [("X1", "X2"), ("X2", "X3")], "{db}: {json}");

        // the whole cluster: K2 joins X3 and X4
        let json = ok(&db, &["chain", "--case", "X2", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut nodes: Vec<&str> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        nodes.sort();
        assert_eq!(nodes, ["K1", "K2", "X1", "X2", "X3", "X4"], "{db}: {json}");
        assert_eq!(v["edges"].as_array().unwrap().len(), 5, "{json}");

        let dot = ok(
            &db,
            &["chain", "--case", "X1", "--depth", "1", "--format", "dot"],
        );
        assert!(dot.contains("\"X1\" -> \"X2\""), "{dot}");

        let show = ok(&db, &["cases", "show", "X2"]);
        assert!(show.contains("source cases:   X1"), "{show}");

        // a handful of cases cannot be 5-anonymous: none is written by default
        let export = ok(&db, &["export", "cases", "--deidentified"]);
        assert!(!export.contains("X2,"), "{export}");
        let export = ok(&db, &["export", "cases", "--deidentified", "--k", "1"]);
        assert!(
            export.contains("X2,420103") && export.contains("40-49"),
            "{export}"
        );
        assert!(!export.contains("乙"), "{export}");
    }
}

#[tokio::test]
async fn a_bad_case_file_exits_non_zero_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("bad.csv");
    std::fs::write(
        &cases,
        "case_id,region_code,sex,age,onset_date,report_date,classification\n\
         Y1,420102,male,50,2020-01-05,2020-01-08,confirmed\n\
         Y2,420102,male,50,2020-02-31,2020-01-08,confirmed\n\
         Y3,420102,male,50,2020-01-05,2020-01-08,maybe\n",
    )
    .unwrap();
    for db in databases(dir.path()).await {
        let out = fangkong(&db, &["import", "cases", cases.to_str().unwrap()]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("line 3, column onset_date"), "{db}: {err}");
        assert!(err.contains("line 4, column classification"), "{db}: {err}");
        let out = fangkong(&db, &["cases", "show", "Y1"]);
        assert!(!out.status.success(), "nothing was imported");

        let out = ok(
            &db,
            &["import", "cases", cases.to_str().unwrap(), "--skip-bad"],
        );
        assert!(out.contains("imported 1 cases"), "{out}");
        let rejects = std::fs::read_to_string(format!("{}.rejects.csv", cases.display())).unwrap();
        assert_eq!(rejects.lines().count(), 3, "{rejects}");
        std::fs::remove_file(format!("{}.rejects.csv", cases.display())).unwrap();
    }
}
