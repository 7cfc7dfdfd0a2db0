//! The policy matrix: every route of the OpenAPI document, called as every
//! role — on a target inside its jurisdiction (or site) and on one outside
//! — and anonymously, compared with the policy table
//! (`fangkong_domain::policy`, `fangkong_server::policy::ROUTES`).
//!
//! - a role the table gives no grant for the route's actions: 403;
//! - no session on a route that is not public: 401;
//! - a role with a grant, inside: through the gate (neither 401 nor 403,
//!   and no 5xx), and for the reads marked so, 200 with the record;
//! - a role with a grant, outside its subtree or site: 403 or 404, never
//!   the record.
//!
//! A route of the document missing from the table, or from this file's
//! requests, fails the test: new routes join both when they are added.

#[macro_use]
mod common;

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, ensure, Result};
use reqwest::Method;
use serde_json::{json, Value};

use common::{run, Engine, TestApp};
use fangkong_domain::policy::{self, Scope};
use fangkong_domain::user::Role;
use fangkong_server::policy::route_actions;

on_both_engines!(every_route_as_every_role_inside_and_outside);

/// Inside every role's jurisdiction: a community of 江汉区 (the grid
/// worker's), 江汉区 itself for the county, 武汉, 湖北. Outside: 芙蓉区, 长沙.
const VILLAGE: &str = "420103001001";
const COUNTY: &str = "420103";
const OUTSIDE: &str = "430102";
/// The hospital's district (东西湖区): not where its patients live.
const HOSPITAL: &str = "420112";
const SITE: &str = "金银潭医院";
const DAY: &str = "2020-01-20";
/// What no one inside may read: the outside records and their people.
const OUTSIDE_RECORDS: [&str; 5] = ["M-C-OUT", "M-K-OUT", "湘雅医院", "赵六", "王五"];

/// The users, one per role, each with its home region.
const USERS: [(&str, Role, &str); 7] = [
    ("m-nation", Role::National, "000000"),
    ("m-hubei", Role::Provincial, "420000"),
    ("m-wuhan", Role::City, "420100"),
    ("m-jianghan", Role::County, COUNTY),
    ("m-grid", Role::Grid, VILLAGE),
    ("m-hospital", Role::Facility, HOSPITAL),
    ("m-public", Role::Public, "000000"),
];

/// One request: method, path with its query, body.
#[derive(Clone)]
struct Req {
    method: Method,
    path: String,
    body: Option<Value>,
    /// For a role with a grant, inside: the answer must be 200 (or 201).
    ok_inside: bool,
}

fn get(path: impl Into<String>) -> Req {
    Req {
        method: Method::GET,
        path: path.into(),
        body: None,
        ok_inside: false,
    }
}

fn post(path: impl Into<String>, body: Value) -> Req {
    Req {
        method: Method::POST,
        path: path.into(),
        body: Some(body),
        ok_inside: false,
    }
}

impl Req {
    fn ok(mut self) -> Req {
        self.ok_inside = true;
        self
    }
}

/// The ids the fixture made, inside and outside.
struct Ids {
    directive_in: i64,
    directive_out: i64,
    tip_in: i64,
    tip_out: i64,
}

/// The requests for a route: `(inside, outside)`; `outside` is `None` where
/// the route names no target (its own account, its own task list, …).
fn requests(
    method: &str,
    route: &str,
    ids: &Ids,
    role: Option<Role>,
) -> Option<(Req, Option<Req>)> {
    let both = |f: &dyn Fn(&str) -> Req| Some((f(VILLAGE), Some(f(OUTSIDE))));
    let case = |f: &dyn Fn(&str) -> Req| Some((f("M-C-IN"), Some(f("M-C-OUT"))));
    let contact = |f: &dyn Fn(&str) -> Req| Some((f("M-K-IN"), Some(f("M-K-OUT"))));
    let only = |r: Req| Some((r, None));
    let analytics = |name: &str| {
        let name = name.to_owned();
        both(&move |r| {
            get(format!(
                "/api/v1/analytics/{name}?region={r}&from=2020-01-01&to=2020-01-31"
            ))
        })
    };
    let (inside, outside) = (VILLAGE, OUTSIDE);
    let _ = (inside, outside);
    match (method, route) {
        ("GET", "/") | ("GET", "/healthz") | ("GET", "/api/openapi.json")
        | ("GET", "/api/v1/openapi.json") | ("GET", "/api/v1/calendar")
        | ("GET", "/api/v1/forms") | ("GET", "/api/v1/me") | ("GET", "/api/v1/tasks")
        | ("GET", "/api/v1/users") | ("GET", "/api/v1/audit") | ("GET", "/api/v1/audit/verify")
        | ("GET", "/api/v1/reports/overdue-reviews") | ("GET", "/api/v1/directives")
        | ("GET", "/api/v1/tips") | ("GET", "/api/v1/persons/candidates")
        | ("GET", "/api/v1/clusters") | ("GET", "/api/v1/spreaders")
        | ("GET", "/api/v1/public/errata") | ("GET", "/api/v1/public/open-data.csv")
        | ("GET", "/api/v1/public/open-data.json") => only(get(route)),
        ("GET", "/api/v1/forms/{name}") => only(get("/api/v1/forms/grid").ok()),
        ("GET", "/api/v1/regions") => only(get("/api/v1/regions?q=江汉")),
        ("GET", "/api/v1/regions/{code}") => both(&|r| get(format!("/api/v1/regions/{r}"))),
        ("GET", "/api/v1/regions/{code}/children") => {
            both(&|r| get(format!("/api/v1/regions/{r}/children")))
        }
        ("GET", "/api/v1/bulletin") => both(&|r| get(format!("/api/v1/bulletin?date={DAY}&region={r}"))),
        ("GET", "/api/v1/public/series") => both(&|r| get(format!("/api/v1/public/series?region={r}"))),
        ("GET", "/api/v1/public/regions") => both(&|r| get(format!("/api/v1/public/regions?region={r}"))),
        ("GET", "/api/v1/public/releases") => both(&|r| get(format!("/api/v1/public/releases?region={r}"))),
        ("GET", "/api/v1/public/releases/{date}/{region}/versions/{version}") => {
            both(&|r| get(format!("/api/v1/public/releases/{DAY}/{r}/versions/1")))
        }
        ("POST", "/api/v1/tips") => both(&|r| {
            let now = chrono::Utc::now().timestamp_millis();
            post(
                "/api/v1/tips",
                json!({"what": "楼上有人从武汉回来未登记", "region": r, "started_at": now - 60_000}),
            )
        }),
        ("POST", "/api/v1/sessions") => only(post(
            "/api/v1/sessions",
            json!({"username": "m-public", "password": common::PASSWORD}),
        )),
        // a wrong current password: through the gate, refused by the service (422)
        ("PUT", "/api/v1/me/password") => only(Req {
            method: Method::PUT,
            path: "/api/v1/me/password".into(),
            body: Some(json!({"old_password": "not my password", "new_password": "another long password"})),
            ok_inside: false,
        }),
        // the matrix's own session ends last (see below); here a bystander's
        ("DELETE", "/api/v1/sessions") => only(Req {
            method: Method::DELETE,
            path: "/api/v1/sessions".into(),
            body: None,
            ok_inside: false,
        }),
        ("DELETE", "/api/v1/users/{username}/sessions") => Some((
            Req {
                method: Method::DELETE,
                path: "/api/v1/users/m-bystander-in/sessions".into(),
                body: None,
                ok_inside: false,
            },
            Some(Req {
                method: Method::DELETE,
                path: "/api/v1/users/m-bystander-out/sessions".into(),
                body: None,
                ok_inside: false,
            }),
        )),
        ("POST", "/api/v1/users") => both(&|r| {
            post(
                "/api/v1/users",
                json!({"username": format!("m-new-{r}"), "role": "grid", "region_code": r, "password": "a long password"}),
            )
        }),
        // daily reports
        ("POST", "/api/v1/reports") => both(&|r| {
            let form = if r == VILLAGE { "grid" } else { "epidemic" };
            post("/api/v1/reports", json!({"form": form, "region_code": r, "date": DAY, "zero": true}))
        }),
        ("POST", "/api/v1/reports/import") => both(&|r| {
            let form = if r == VILLAGE { "grid" } else { "epidemic" };
            Req {
                method: Method::POST,
                path: format!("/api/v1/reports/import?form={form}"),
                body: Some(Value::String(format!("region_code,date\n{r},{DAY}\n"))),
                ok_inside: false,
            }
        }),
        ("GET", "/api/v1/reports/{form}/{region}/{date}") => Some((
            get(format!("/api/v1/reports/grid/{VILLAGE}/{DAY}")).ok(),
            Some(get(format!("/api/v1/reports/epidemic/{OUTSIDE}/{DAY}"))),
        )),
        ("POST", "/api/v1/reports/{form}/{region}/{date}/review") => Some((
            post(format!("/api/v1/reports/grid/{VILLAGE}/{DAY}/review"), json!({"status": "accepted"})),
            Some(post(format!("/api/v1/reports/epidemic/{OUTSIDE}/{DAY}/review"), json!({"status": "accepted"}))),
        )),
        ("GET", "/api/v1/figures") => Some((
            get(format!("/api/v1/figures?form=grid&region={VILLAGE}&date={DAY}")).ok(),
            Some(get(format!("/api/v1/figures?form=epidemic&region={OUTSIDE}&date={DAY}"))),
        )),
        ("GET", "/api/v1/series") => Some((
            get(format!("/api/v1/series?form=grid&region={VILLAGE}&from=2020-01-01&to=2020-01-31")).ok(),
            Some(get(format!("/api/v1/series?form=epidemic&region={OUTSIDE}&from=2020-01-01&to=2020-01-31"))),
        )),
        ("GET", "/api/v1/completeness") => Some((
            get(format!("/api/v1/completeness?form=grid&region={VILLAGE}&date={DAY}")).ok(),
            Some(get(format!("/api/v1/completeness?form=epidemic&region={OUTSIDE}&date={DAY}"))),
        )),
        ("GET", "/api/v1/reports/export") => Some((
            get(format!("/api/v1/reports/export?form=grid&region={VILLAGE}&from=2020-01-01&to=2020-01-31")).ok(),
            Some(get(format!("/api/v1/reports/export?form=epidemic&region={OUTSIDE}&from=2020-01-01&to=2020-01-31"))),
        )),
        // risk assessment
        ("GET", "/api/v1/dashboard") => both(&|r| get(format!("/api/v1/dashboard?region={r}&date={DAY}"))),
        ("GET", "/api/v1/analytics/curve") => analytics("curve"),
        ("GET", "/api/v1/analytics/rt") => analytics("rt"),
        ("GET", "/api/v1/analytics/growth") => analytics("growth"),
        ("GET", "/api/v1/analytics/forecast") => both(&|r| get(format!("/api/v1/analytics/forecast?region={r}&date={DAY}"))),
        ("GET", "/api/v1/analytics/risk") => both(&|r| get(format!("/api/v1/analytics/risk?region={r}&date={DAY}"))),
        ("GET", "/api/v1/analytics/alerts") => both(&|r| get(format!("/api/v1/analytics/alerts?region={r}"))),
        ("POST", "/api/v1/analytics/alerts/run") => {
            both(&|r| post("/api/v1/analytics/alerts/run", json!({"region": r, "date": DAY})))
        }
        // no alert was raised: an id that does not exist answers alike inside and out
        ("POST", "/api/v1/analytics/alerts/{id}/acknowledge") => {
            only(post("/api/v1/analytics/alerts/424242/acknowledge", json!({"note": "seen"})))
        }
        ("POST", "/api/v1/analytics/alerts/{id}/close") => only(post(
            "/api/v1/analytics/alerts/424242/close",
            json!({"verdict": "false_alarm", "note": "checked"}),
        )),
        ("POST", "/api/v1/publications") => both(&|r| post("/api/v1/publications", json!({"date": DAY, "region": r}))),
        // directives and tips
        ("POST", "/api/v1/directives") => both(&|r| {
            post(
                "/api/v1/directives",
                json!({"text": "落实网格化排查", "deadline": "2099-01-01T00:00:00Z", "targets": [r]}),
            )
        }),
        ("GET", "/api/v1/directives/{id}") => Some((
            get(format!("/api/v1/directives/{}", ids.directive_in)).ok(),
            Some(get(format!("/api/v1/directives/{}", ids.directive_out))),
        )),
        ("POST", "/api/v1/directives/{id}/targets/{region}/acknowledge") => Some((
            post(format!("/api/v1/directives/{}/targets/{VILLAGE}/acknowledge", ids.directive_in), json!({})),
            Some(post(format!("/api/v1/directives/{}/targets/{OUTSIDE}/acknowledge", ids.directive_out), json!({}))),
        )),
        ("POST", "/api/v1/directives/{id}/targets/{region}/complete") => Some((
            post(format!("/api/v1/directives/{}/targets/{VILLAGE}/complete", ids.directive_in), json!({"note": "done"})),
            Some(post(format!("/api/v1/directives/{}/targets/{OUTSIDE}/complete", ids.directive_out), json!({"note": "done"}))),
        )),
        ("POST", "/api/v1/tips/{id}/handle") => Some((
            post(format!("/api/v1/tips/{}/handle", ids.tip_in), json!({"note": "visited"})),
            Some(post(format!("/api/v1/tips/{}/handle", ids.tip_out), json!({"note": "visited"}))),
        )),
        // the line list
        // a hospital reports as its own district
        ("POST", "/api/v1/cases") => both(&|r| {
            let unit = match role {
                Some(Role::Facility) if r == VILLAGE => HOSPITAL,
                _ => r,
            };
            post(
                "/api/v1/cases",
                json!({"case_id": format!("M-NEW-{r}-{}", role.map_or("anon", Role::name)), "region_code": r, "reporting_unit": unit, "report_date": DAY}),
            )
        }),
        ("GET", "/api/v1/cases") => both(&|r| get(format!("/api/v1/cases?region={r}"))),
        ("GET", "/api/v1/cases/{id}") => case(&|c| get(format!("/api/v1/cases/{c}")).ok()),
        ("POST", "/api/v1/cases/{id}/events") => case(&|c| {
            post(
                format!("/api/v1/cases/{c}/events"),
                json!({"event": "set_severity", "severity": "severe", "date": "2020-01-22", "expected_version": "CURRENT"}),
            )
        }),
        ("GET", "/api/v1/cases/{id}/chain") => case(&|c| get(format!("/api/v1/cases/{c}/chain")).ok()),
        ("GET", "/api/v1/cases/{id}/chain.dot") => case(&|c| get(format!("/api/v1/cases/{c}/chain.dot"))),
        ("GET", "/api/v1/cases/{id}/chain.graphml") => {
            case(&|c| get(format!("/api/v1/cases/{c}/chain.graphml")))
        }
        ("GET", "/api/v1/cases/{id}/cluster") => case(&|c| get(format!("/api/v1/cases/{c}/cluster"))),
        ("POST", "/api/v1/contacts") => both(&|r| {
            let source = if r == VILLAGE { "M-C-IN" } else { "M-C-OUT" };
            post(
                "/api/v1/contacts",
                json!({"contact_id": format!("M-K-NEW-{r}"), "region_code": r,
                       "reporting_unit": r, "registered_date": DAY,
                       "links": [{"source_case_id": source, "exposure": "household", "last_exposure_date": "2020-01-19"}]}),
            )
        }),
        ("GET", "/api/v1/contacts") => both(&|r| get(format!("/api/v1/contacts?region={r}"))),
        ("GET", "/api/v1/contacts/{id}") => contact(&|c| get(format!("/api/v1/contacts/{c}")).ok()),
        ("POST", "/api/v1/contacts/{id}/links") => contact(&|c| {
            let source = if c == "M-K-IN" { "M-C-IN" } else { "M-C-OUT" };
            post(
                format!("/api/v1/contacts/{c}/links"),
                json!({"source_case_id": source, "exposure": "work", "last_exposure_date": "2020-01-19"}),
            )
        }),
        ("POST", "/api/v1/contacts/{id}/follow-ups") => contact(&|c| {
            post(
                format!("/api/v1/contacts/{c}/follow-ups"),
                json!({"date": "2020-01-22", "reached": true, "temperature": 36.6}),
            )
        }),
        ("POST", "/api/v1/contacts/{id}/convert") => contact(&|c| {
            post(format!("/api/v1/contacts/{c}/convert"), json!({"case_id": format!("M-CV-{c}"), "report_date": "2020-01-23"}))
        }),
        ("GET", "/api/v1/follow-ups/due") => both(&|r| get(format!("/api/v1/follow-ups/due?region={r}&date=2020-01-22"))),
        ("POST", "/api/v1/persons/candidates/{id}") => {
            only(post("/api/v1/persons/candidates/424242", json!({"decision": "distinct"})))
        }
        ("GET", "/api/v1/line-list/figures") => {
            both(&|r| get(format!("/api/v1/line-list/figures?region={r}&from=2020-01-18&to=2020-01-22")))
        }
        ("GET", "/api/v1/line-list/mismatches") => {
            both(&|r| get(format!("/api/v1/line-list/mismatches?region={r}&from=2020-01-18&to=2020-01-22")))
        }
        _ => None,
    }
}

/// What the table says of `role` (`None`: anonymous) on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Through the gate.
    Allowed,
    /// 401: a session is needed.
    SignIn,
    /// 403: no grant.
    Refused,
}

fn expect(role: Option<Role>, actions: &[policy::Action]) -> Expect {
    if actions.iter().any(|a| policy::is_public(*a)) {
        return Expect::Allowed;
    }
    match role {
        None => Expect::SignIn,
        Some(r) if actions.iter().any(|a| policy::scope(r, *a).is_some()) => Expect::Allowed,
        Some(_) => Expect::Refused,
    }
}

async fn call(app: &TestApp, token: Option<&str>, req: &Req) -> Result<(u16, String)> {
    let mut req = req.clone();
    // a case event is written against the version stored now
    if let Some(body) = req
        .body
        .as_mut()
        .filter(|b| b["expected_version"] == "CURRENT")
    {
        let id = req
            .path
            .split('/')
            .nth(4)
            .ok_or_else(|| anyhow!("no case id in {}", req.path))?;
        let case = app.service.case(&app.system, &id.parse()?).await?;
        body["expected_version"] = json!(case.entry.case.version());
    }
    let mut b = app.http.request(req.method.clone(), app.url(&req.path));
    if let Some(t) = token {
        b = b.bearer_auth(t);
    }
    match &req.body {
        Some(Value::String(csv)) => {
            b = b.header("content-type", "text/csv").body(csv.clone());
        }
        Some(body) => b = b.json(body),
        None => {}
    }
    let a = app.send(b).await?;
    Ok((a.status.as_u16(), a.text))
}

async fn fixture(app: &TestApp) -> Result<(BTreeMap<&'static str, String>, Ids)> {
    let s = &app.service;
    let sys = &app.system;
    let rows = fangkong_service::regions::parse_region_csv(
        format!("code,parent_code,name,level\n420103001,{COUNTY},民族街道,township\n{VILLAGE},420103001,民族社区,village\n").as_bytes(),
    )?;
    s.import_regions(sys, rows).await?;
    let mut tokens = BTreeMap::new();
    for (name, role, region) in USERS {
        let site = (role == Role::Facility).then_some(SITE);
        s.add_user_at_site(sys, name, name, role, region, site, common::PASSWORD)
            .await?;
        tokens.insert(name, app.login(name).await?);
    }
    let nation = tokens["m-nation"].clone();
    // whose sessions an administrator ends
    s.add_user(
        sys,
        "m-bystander-in",
        "m-bystander-in",
        Role::Grid,
        VILLAGE,
        common::PASSWORD,
    )
    .await?;
    s.add_user(
        sys,
        "m-bystander-out",
        "m-bystander-out",
        Role::County,
        OUTSIDE,
        common::PASSWORD,
    )
    .await?;
    // a case living in the community, reported by 江汉区, admitted at the hospital;
    // one in 长沙, admitted there
    for (id, name, home, unit, hospital) in [
        ("M-C-IN", "张三", VILLAGE, COUNTY, (HOSPITAL, SITE)),
        ("M-C-OUT", "赵六", OUTSIDE, OUTSIDE, (OUTSIDE, "湘雅医院")),
    ] {
        app.post(
            Some(&nation),
            "/api/v1/cases",
            &json!({"case_id": id, "name": name, "phone": "13900001111", "region_code": home,
                    "reporting_unit": unit, "onset_date": "2020-01-18", "report_date": DAY,
                    "facility_region": hospital.0, "facility_name": hospital.1, "admission_date": "2020-01-21"}),
        )
        .await?
        .ok(201)?;
    }
    // its contacts: one observed at the hospital's isolation ward, one in 长沙
    for (id, name, home, unit, source, site) in [
        ("M-K-IN", "李四", VILLAGE, HOSPITAL, "M-C-IN", Some(SITE)),
        ("M-K-OUT", "王五", OUTSIDE, OUTSIDE, "M-C-OUT", None),
    ] {
        app.post(
            Some(&nation),
            "/api/v1/contacts",
            &json!({"contact_id": id, "name": name, "region_code": home, "reporting_unit": unit,
                    "registered_date": DAY, "place": if site.is_some() { "centralised" } else { "home" }, "site": site,
                    "links": [{"source_case_id": source, "exposure": "household", "last_exposure_date": "2020-01-19"}]}),
        )
        .await?
        .ok(201)?;
    }
    for (form, region) in [("grid", VILLAGE), ("epidemic", OUTSIDE)] {
        app.post(
            Some(&nation),
            "/api/v1/reports",
            &json!({"form": form, "region_code": region, "date": DAY, "zero": true}),
        )
        .await?;
    }
    let directive = |target: &'static str| {
        let nation = nation.clone();
        async move {
            let a = app
                .post(
                    Some(&nation),
                    "/api/v1/directives",
                    &json!({"text": "排查返乡人员", "deadline": "2099-01-01T00:00:00Z", "targets": [target]}),
                )
                .await?;
            a.ok(201)?["id"]
                .as_i64()
                .ok_or_else(|| anyhow!("no directive id: {}", a.text))
        }
    };
    let directive_in = directive(VILLAGE).await?;
    let directive_out = directive(OUTSIDE).await?;
    let now = chrono::Utc::now().timestamp_millis();
    for region in [VILLAGE, OUTSIDE] {
        app.post(
            None,
            "/api/v1/tips",
            &json!({"what": "有人发热未就医", "region": region, "started_at": now - 60_000}),
        )
        .await?
        .ok(201)?;
    }
    let tips = s.tips(sys, true, 100).await?;
    let tip_of = |path_part: &str| {
        tips.iter()
            .find(|t| t.tip.responsible_path.contains(path_part))
            .map(|t| t.tip.id)
            .ok_or_else(|| anyhow!("no tip for {path_part}"))
    };
    let ids = Ids {
        directive_in,
        directive_out,
        tip_in: tip_of(COUNTY)?,
        tip_out: tip_of(OUTSIDE)?,
    };
    Ok((tokens, ids))
}

async fn every_route_as_every_role_inside_and_outside(app: TestApp) -> Result<TestApp> {
    let (tokens, ids) = fixture(&app).await?;
    let doc = app.get(None, "/api/openapi.json").await?;
    let paths = doc.ok(200)?["paths"]
        .as_object()
        .ok_or_else(|| anyhow!("no paths"))?
        .clone();
    let mut routes = Vec::new();
    for (path, methods) in &paths {
        for method in methods.as_object().into_iter().flat_map(|m| m.keys()) {
            routes.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut failures = Vec::new();
    let mut calls = 0;
    let mut cells = 0;
    for (method, route) in &routes {
        let m = Method::from_bytes(method.as_bytes())?;
        let Some(actions) = route_actions(&m, route) else {
            failures.push(format!("{method} {route}: not in the policy table"));
            continue;
        };
        if requests(method, route, &ids, None).is_none() {
            failures.push(format!("{method} {route}: no request in tests/policy.rs"));
            continue;
        }
        let mut callers: Vec<(Option<Role>, Option<String>)> = vec![(None, None)];
        for (name, role, _) in USERS {
            // logging out ends the token: a session of its own for that call
            let token = if (method.as_str(), route.as_str()) == ("DELETE", "/api/v1/sessions") {
                app.login(name).await?
            } else {
                tokens[name].clone()
            };
            callers.push((Some(role), Some(token)));
        }
        for (role, token) in callers {
            let token = token.as_deref();
            let Some((inside, outside)) = requests(method, route, &ids, role) else {
                continue;
            };
            let want = expect(role, actions);
            let who = role.map_or("anonymous", Role::name);
            for (place, req) in [("inside", Some(&inside)), ("outside", outside.as_ref())] {
                let Some(req) = req else { continue };
                // the national level has no outside
                if place == "outside" && role == Some(Role::National) {
                    continue;
                }
                cells += 1;
                calls += 1;
                let (status, text) = call(&app, token, req).await?;
                let head: String = text.chars().take(160).collect();
                let bad = match want {
                    Expect::SignIn => status != 401,
                    Expect::Refused => status != 403,
                    Expect::Allowed => {
                        let scope =
                            role.and_then(|r| actions.iter().find_map(|a| policy::scope(r, *a)));
                        let refused = status == 403
                            || status == 404
                            || (req.method == Method::POST && status == 422);
                        if status >= 500 || status == 401 {
                            true
                        } else if place == "outside" && scope == Some(Scope::Subtree) {
                            // nothing outside the subtree: not even an aggregate
                            !refused
                        } else if place == "outside" && scope == Some(Scope::OwnSite) {
                            // a site may list its own patients anywhere, never others
                            !refused && OUTSIDE_RECORDS.iter().any(|id| text.contains(id))
                        } else if req.ok_inside {
                            !(200..300).contains(&status)
                        } else {
                            status == 403
                        }
                    }
                };
                if bad {
                    failures.push(format!(
                        "{method} {} as {who} ({place}): expected {want:?}, got {status}: {head}",
                        req.path
                    ));
                }
            }
        }
    }
    // every API route in the table is a route of the document
    for (method, route, _) in fangkong_server::policy::ROUTES {
        let api = route.starts_with("/api/v1/") && !route.ends_with("openapi.json");
        if api && !routes.iter().any(|(m, r)| m == method && r == route) {
            failures.push(format!(
                "{method} {route}: in the policy table, not in the OpenAPI document"
            ));
        }
    }
    println!(
        "policy matrix: {} routes × {} callers (7 roles and anonymous) × inside/outside: {cells} cells, {calls} calls, {} failures",
        routes.len(),
        USERS.len() + 1,
        failures.len()
    );
    if !failures.is_empty() {
        bail!(
            "{} cells differ from the policy table:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    ensure!(
        routes.len() > 60,
        "only {} routes in the document",
        routes.len()
    );
    Ok(app)
}
