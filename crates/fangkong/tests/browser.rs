//! The web UI in a real browser: `fangkong serve --demo` on a free port over
//! a fresh SQLite file, and `node web/e2e/run.mjs` driving Debian's Chromium
//! through playwright-core against it (sign-in, the grid worker's zero report
//! on a phone, the dashboard's map drill-down, the public page without
//! personal data, a case entered with an error then fixed and its next
//! events, a case's transmission chain and a cluster's on the dashboard, the
//! daily follow-up list on a phone, a directive from the province to two
//! cities acknowledged and completed by one, a revision published from the
//! dashboard with its reason, the public page's release version, errata and
//! tip line). One demo serves them all. The script
//! saves the screenshots linked from README.md
//! into docs/screenshots/ and prints the dashboard's load time and the time
//! of each API call it makes.
//!
//! Needs /usr/bin/chromium and a Chinese font (`apt-get install -y chromium
//! fonts-wqy-microhei`; `.ci/run` installs them) and Node.js; `web/node_modules`
//! is installed by fangkong-server's build script. Without Chromium the test
//! fails, saying so: it is never skipped.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the demo may take to generate and start serving (debug build, 2 busy cores).
const START_TIMEOUT: Duration = Duration::from_secs(420);
/// How long the browser tests may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The server under test: this build's `fangkong`, or `FANGKONG_BIN` (`.ci/run`
/// points it at the release build, so the dashboard's timings are those a
/// user would see, not the debug build's).
fn binary() -> String {
    std::env::var("FANGKONG_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_fangkong").to_owned())
}

/// The browser the tests drive: Debian's Chromium, or `FANGKONG_CHROMIUM`.
fn chromium() -> String {
    let path = std::env::var("FANGKONG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "\n\nthe browser tests need Debian's Chromium at {path}, and it is not there.\n\
         Install it (as root) with:\n\n    apt-get update && apt-get install -y chromium fonts-wqy-microhei\n\n\
         and run the tests again (.ci/run does this itself).\n"
    );
    path
}

/// A Chinese font, or the screenshots show boxes for every character.
fn check_chinese_font() {
    let out = Command::new("fc-list")
        .args([":lang=zh", "family"])
        .output();
    let found = out.is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty());
    assert!(
        found,
        "\n\nno Chinese font is installed: the pages would show boxes for every character.\n\
         Install one (as root) with:\n\n    apt-get install -y fonts-wqy-microhei\n"
    );
}

fn check_node() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "the browser tests need Node.js (20 or later) on the PATH"
    );
    let playwright = root().join("web/node_modules/playwright-core");
    assert!(
        playwright.exists(),
        "{} is missing: build the workspace once (fangkong-server's build script runs npm ci in web/)",
        playwright.display()
    );
}

/// The server, stopped when dropped; its log lines are kept for a failure message.
struct Server {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn tail(&self) -> String {
        let log = self.log.lock().unwrap();
        let start = log.len().saturating_sub(40);
        log[start..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `fangkong serve --demo` on a free port; its address once it serves.
fn start_demo(db: &str) -> (Server, String) {
    let mut child = Command::new(binary())
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database",
            db,
        ])
        .env("FANGKONG_LOG", "warn")
        .env_remove("FANGKONG_USER")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fangkong serve --demo");
    let stderr = child.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = Server {
        child,
        log: log.clone(),
    };
    // read the log on a thread, so that the server never blocks on a full pipe
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split("serving sqlite on http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or_default().to_owned();
                    let _ = tx.send(format!("http://{addr}"));
                    sent = true;
                }
            }
            log.lock().unwrap().push(line);
        }
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(url) => (server, url),
        Err(_) => panic!(
            "the demo server did not start within {START_TIMEOUT:?}; its log:\n{}",
            server.tail()
        ),
    }
}

/// Write past the test harness's capture: the timings are worth seeing in every run.
fn show(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

#[test]
fn the_web_ui_works_in_chromium() {
    let chromium = chromium();
    check_chinese_font();
    check_node();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let started = Instant::now();
    let (server, url) = start_demo(&db);
    let startup = started.elapsed();

    let root = root();
    let shots = root.join("docs/screenshots");
    let mut node = Command::new("node")
        .arg("e2e/run.mjs")
        .arg("--base")
        .arg(&url)
        .arg("--screenshots")
        .arg(&shots)
        .current_dir(root.join("web"))
        .env("FANGKONG_CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node web/e2e/run.mjs");
    let out = drain(node.stdout.take().expect("stdout"));
    let err = drain(node.stderr.take().expect("stderr"));
    let run = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().expect("wait for node") {
            break status;
        }
        if run.elapsed() > RUN_TIMEOUT {
            let _ = node.kill();
            let _ = node.wait();
            panic!("the browser tests took longer than {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    show(&format!(
        "\n--- browser tests (demo server started in {:.1} s, tests ran in {:.1} s) ---\n{out}{err}\n",
        startup.as_secs_f64(),
        run.elapsed().as_secs_f64()
    ));
    assert!(
        status.success(),
        "the browser tests failed ({status}); the server's last log lines:\n{}",
        server.tail()
    );
    drop(server);
}

/// Read a stream to its end on a thread, as text.
fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}
