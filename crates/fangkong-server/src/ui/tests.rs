//! The UI's routes through the whole application (middleware included), on a
//! fresh SQLite store: pages, assets and their headers, and the open data's
//! rules.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use chrono::Duration;
use tower::ServiceExt;

use fangkong_service::reports::FiledValues;
use fangkong_service::{Service, Settings};

use super::{bundle_paths, takes_gzip, CONTENT_SECURITY_POLICY};
use crate::{app, AppState};

struct Fixture {
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ui.db").display());
    let store = fangkong_store_sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    let service = Service::open(Arc::new(store), Settings::default())
        .await
        .unwrap();
    Fixture {
        state: AppState::new(Arc::new(service)),
        _dir: dir,
    }
}

async fn get(f: &Fixture, uri: &str, headers: &[(header::HeaderName, &str)]) -> Response {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    app(f.state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(r: Response) -> Vec<u8> {
    axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

fn header_of(r: &Response, name: header::HeaderName) -> &str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn pages_are_served_compressed_or_not_with_a_strict_policy() {
    let f = fixture().await;
    let r = get(&f, "/", &[(header::ACCEPT_ENCODING, "gzip, br")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, header::CONTENT_ENCODING), "gzip");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
    assert_eq!(
        header_of(&r, header::CONTENT_SECURITY_POLICY),
        CONTENT_SECURITY_POLICY
    );
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    let etag = header_of(&r, header::ETAG).to_owned();
    let mut html = String::new();
    flate2::read::GzDecoder::new(&body(r).await[..])
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.contains("<title>fangkong 防控</title>"), "{html}");
    // no inline script or style, nothing from another host
    assert!(
        !html.contains("<style") && !html.contains("style="),
        "{html}"
    );
    assert!(!html.contains("http://") && !html.contains("https://"));
    let script = html
        .split("<script type=\"module\" src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();

    // a client without gzip gets the page unpacked
    let plain = get(&f, "/", &[]).await;
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(String::from_utf8(body(plain).await).unwrap(), html);

    // revalidation
    let again = get(&f, "/", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // the app's pages
    for uri in ["/login", "/app", "/app/", "/app/dashboard?region=420000"] {
        let r = get(&f, uri, &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
        let text = String::from_utf8(body(r).await).unwrap();
        assert!(text.contains("/assets/app-"), "{uri}: {text}");
    }

    // hashed assets are cached for good
    let js = get(&f, &script, &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(
        header_of(&js, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert!(header_of(&js, header::CACHE_CONTROL).contains("immutable"));
    let missing = get(&f, "/assets/nothing-here.js", &[]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(header_of(&missing, header::CONTENT_TYPE).starts_with("application/json"));
}

#[test]
fn every_asset_has_a_known_content_type() {
    for p in bundle_paths() {
        let a = super::assets::get(p).unwrap();
        assert_ne!(a.content_type, "application/octet-stream", "{p}");
        assert!(a.gzip.starts_with(&[0x1f, 0x8b]), "{p} is gzip");
    }
    assert!(takes_gzip(&{
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap());
        h
    }));
}

#[tokio::test]
async fn open_data_is_aggregate_and_small_counts_are_withheld() {
    let f = fixture().await;
    let service = &f.state.service;
    let system = service.system().await.unwrap();
    let day = service.today() - Duration::days(1);
    let form = service.form("epidemic").unwrap().clone();
    let values = |new: i64| {
        FiledValues::Pairs(
            form.fields
                .iter()
                .map(|x| {
                    let v = if x.name == "new_confirmed" { new } else { 0 };
                    (x.name.clone(), v)
                })
                .collect(),
        )
    };
    // 江汉区 3 cases, 江岸区 4: Wuhan has 7, 黄石 (420200) none
    service
        .file_report(&system, "epidemic", "420103", day, values(3))
        .await
        .unwrap();
    service
        .file_report(&system, "epidemic", "420102", day, values(4))
        .await
        .unwrap();
    service
        .file_report(&system, "epidemic", "420202", day, values(2))
        .await
        .unwrap();

    let json = |r: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&r).unwrap();
    let nation = json(body(get(&f, "/api/v1/public/regions", &[]).await).await);
    let hubei = nation["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "420000")
        .unwrap();
    assert_eq!(
        hubei["new_confirmed"], 9,
        "provinces are published as they are"
    );
    assert_eq!(hubei["suppressed"], false);

    let cities = json(body(get(&f, "/api/v1/public/regions?region=420000", &[]).await).await);
    let city = |code: &str| {
        cities["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(city("420100")["new_confirmed"], 7);
    assert_eq!(city("420200")["new_confirmed"], serde_json::Value::Null);
    assert_eq!(city("420200")["suppressed"], true);
    // 9 − 7 − the zeros would give 2: the smallest sibling is withheld too
    assert_eq!(city("420300")["new_confirmed"], serde_json::Value::Null);
    assert_eq!(
        city("420500")["new_confirmed"],
        0,
        "zero is not a small count"
    );

    let csv = get(&f, "/api/v1/public/regions?region=420000&format=csv", &[]).await;
    assert!(header_of(&csv, header::CONTENT_TYPE).starts_with("text/csv"));
    let csv = String::from_utf8(body(csv).await).unwrap();
    assert!(csv.contains("420200,黄石市,"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("420200,") && l.contains(",x,")),
        "{csv}"
    );

    // below the provinces there is no open data
    let county = get(&f, "/api/v1/public/regions?region=420100", &[]).await;
    assert_eq!(county.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let series = json(body(get(&f, "/api/v1/public/series?region=420000", &[]).await).await);
    let last = series["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["values"]["new_confirmed"], 9);
    assert_eq!(last["cum_confirmed"], 9);

    // the dashboard needs a sign-in
    let dash = get(&f, "/api/v1/dashboard?region=420000", &[]).await;
    assert_eq!(dash.status(), StatusCode::UNAUTHORIZED);
    let cal = json(body(get(&f, "/api/v1/calendar", &[]).await).await);
    assert_eq!(cal["today"], service.today().to_string());
}

#[test]
fn the_pages_routes_are_in_the_openapi_document() {
    use utoipa::OpenApi;
    let doc = crate::openapi::ApiDoc::openapi();
    for path in [
        "/api/v1/calendar",
        "/api/v1/dashboard",
        "/api/v1/public/series",
        "/api/v1/public/regions",
    ] {
        assert!(
            doc.paths.paths.contains_key(path),
            "{path} is not documented"
        );
    }
}
