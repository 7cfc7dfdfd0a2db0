//! Every route and the action it performs: the HTTP half of the policy
//! table (`fangkong_domain::policy`).
//!
//! [`authorize`] runs before every handler. It finds the matched route in
//! [`ROUTES`] (a route that is not there is refused), lets anyone through
//! to what everyone may do, asks anyone else for a live session (401), and
//! refuses a role with no grant for any of the route's actions (403). The
//! service then checks the scope: which regions, which site. The principal
//! found here rides along to the handler, so a request reads its session
//! once.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use fangkong_domain::policy::{self, Action};
use fangkong_service::ServiceError;

use crate::auth::{principal_from_header, Auth};
use crate::error::ApiError;
use crate::AppState;

use Action::*;

/// `(method, route, actions)`: the route needs a grant for one of the
/// actions (a case event is a classification or a treatment; the service
/// tells which).
pub const ROUTES: &[(&str, &str, &[Action])] = &[
    // the public page and the web UI's shell
    ("GET", "/", &[ReadPublic]),
    ("GET", "/healthz", &[ReadPublic]),
    ("GET", "/login", &[ReadPublic]),
    ("GET", "/app", &[ReadPublic]),
    ("GET", "/app/", &[ReadPublic]),
    ("GET", "/app/{*rest}", &[ReadPublic]),
    ("GET", "/assets/{*path}", &[ReadPublic]),
    ("GET", "/api/openapi.json", &[ReadPublic]),
    ("GET", "/api/v1/openapi.json", &[ReadPublic]),
    ("GET", "/api/v1/calendar", &[ReadPublic]),
    ("GET", "/api/v1/regions", &[ReadPublic]),
    ("GET", "/api/v1/regions/{code}", &[ReadPublic]),
    ("GET", "/api/v1/regions/{code}/children", &[ReadPublic]),
    ("GET", "/api/v1/forms", &[ReadPublic]),
    ("GET", "/api/v1/forms/{name}", &[ReadPublic]),
    ("GET", "/api/v1/bulletin", &[ReadPublic]),
    ("GET", "/api/v1/public/series", &[ReadPublic]),
    ("GET", "/api/v1/public/regions", &[ReadPublic]),
    ("GET", "/api/v1/public/releases", &[ReadPublic]),
    (
        "GET",
        "/api/v1/public/releases/{date}/{region}/versions/{version}",
        &[ReadPublic],
    ),
    ("GET", "/api/v1/public/errata", &[ReadPublic]),
    ("GET", "/api/v1/public/open-data.csv", &[ReadPublic]),
    ("GET", "/api/v1/public/open-data.json", &[ReadPublic]),
    ("POST", "/api/v1/tips", &[SubmitTip]),
    // sessions and accounts
    ("POST", "/api/v1/sessions", &[SignIn]),
    ("DELETE", "/api/v1/sessions", &[ManageAccount]),
    ("GET", "/api/v1/me", &[ManageAccount]),
    ("PUT", "/api/v1/me/password", &[ManageAccount]),
    ("GET", "/api/v1/users", &[ReadUsers]),
    ("POST", "/api/v1/users", &[ManageUsers]),
    (
        "DELETE",
        "/api/v1/users/{username}/sessions",
        &[ManageUsers],
    ),
    // daily reports
    ("POST", "/api/v1/reports", &[FileReport]),
    ("POST", "/api/v1/reports/import", &[FileReport]),
    (
        "GET",
        "/api/v1/reports/{form}/{region}/{date}",
        &[ReadReports],
    ),
    ("GET", "/api/v1/figures", &[ReadReports]),
    ("GET", "/api/v1/series", &[ReadReports]),
    ("GET", "/api/v1/completeness", &[ReadReports]),
    ("GET", "/api/v1/reports/export", &[ExportReports]),
    (
        "POST",
        "/api/v1/reports/{form}/{region}/{date}/review",
        &[ReviewReports],
    ),
    ("GET", "/api/v1/reports/overdue-reviews", &[ReviewReports]),
    // risk assessment
    ("GET", "/api/v1/dashboard", &[ReadAnalytics]),
    ("GET", "/api/v1/analytics/curve", &[ReadAnalytics]),
    ("GET", "/api/v1/analytics/rt", &[ReadAnalytics]),
    ("GET", "/api/v1/analytics/growth", &[ReadAnalytics]),
    ("GET", "/api/v1/analytics/forecast", &[ReadAnalytics]),
    ("GET", "/api/v1/analytics/risk", &[ReadAnalytics]),
    ("GET", "/api/v1/analytics/alerts", &[ReadAlerts]),
    ("POST", "/api/v1/analytics/alerts/run", &[RunAlerts]),
    (
        "POST",
        "/api/v1/analytics/alerts/{id}/acknowledge",
        &[HandleAlerts],
    ),
    (
        "POST",
        "/api/v1/analytics/alerts/{id}/close",
        &[HandleAlerts],
    ),
    // publishing
    ("POST", "/api/v1/publications", &[Publish]),
    // directives, tips, tasks
    ("POST", "/api/v1/directives", &[IssueDirectives]),
    ("GET", "/api/v1/directives", &[WorkTasks]),
    ("GET", "/api/v1/directives/{id}", &[WorkTasks]),
    (
        "POST",
        "/api/v1/directives/{id}/targets/{region}/acknowledge",
        &[WorkTasks],
    ),
    (
        "POST",
        "/api/v1/directives/{id}/targets/{region}/complete",
        &[WorkTasks],
    ),
    ("GET", "/api/v1/tasks", &[WorkTasks]),
    ("GET", "/api/v1/tips", &[HandleTips]),
    ("POST", "/api/v1/tips/{id}/handle", &[HandleTips]),
    // the line list
    ("POST", "/api/v1/cases", &[ReportCase]),
    ("GET", "/api/v1/cases", &[ReadCases]),
    ("GET", "/api/v1/cases/{id}", &[ReadCases]),
    (
        "POST",
        "/api/v1/cases/{id}/events",
        &[ClassifyCase, TreatCase],
    ),
    ("GET", "/api/v1/cases/{id}/chain", &[ReadChains]),
    ("GET", "/api/v1/cases/{id}/chain.dot", &[ReadChains]),
    ("GET", "/api/v1/cases/{id}/chain.graphml", &[ReadChains]),
    ("GET", "/api/v1/cases/{id}/cluster", &[ReadChains]),
    ("GET", "/api/v1/clusters", &[ReadChains]),
    ("GET", "/api/v1/spreaders", &[ReadChains]),
    ("POST", "/api/v1/contacts", &[RegisterContacts]),
    ("GET", "/api/v1/contacts", &[ReadContacts]),
    ("GET", "/api/v1/contacts/{id}", &[ReadContacts]),
    ("POST", "/api/v1/contacts/{id}/links", &[RegisterContacts]),
    ("POST", "/api/v1/contacts/{id}/follow-ups", &[FollowUp]),
    ("POST", "/api/v1/contacts/{id}/convert", &[ConvertContact]),
    ("GET", "/api/v1/follow-ups/due", &[FollowUp]),
    ("GET", "/api/v1/persons/candidates", &[ReviewPersons]),
    ("POST", "/api/v1/persons/candidates/{id}", &[ReviewPersons]),
    ("GET", "/api/v1/line-list/figures", &[ReadLineListFigures]),
    (
        "GET",
        "/api/v1/line-list/mismatches",
        &[ReadLineListFigures],
    ),
    // the audit trail
    ("GET", "/api/v1/audit", &[ReadAudit]),
    ("GET", "/api/v1/audit/verify", &[ReadAudit]),
];

/// The actions of a route; `None` for a route not in the table. `HEAD`
/// is answered as `GET`.
pub fn route_actions(method: &Method, route: &str) -> Option<&'static [Action]> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, a)| *a)
}

/// The gate in front of every handler (see the module docs).
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let Some(route) = route else {
        // no route matched: the fallback answers 404
        return next.run(req).await;
    };
    let Some(actions) = route_actions(req.method(), &route) else {
        if ROUTES.iter().any(|(_, r, _)| *r == route) {
            // the route takes other methods: answer as the router would
            return (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({"error": {
                    "code": "method_not_allowed",
                    "message": "this route does not take this method",
                }})),
            )
                .into_response();
        }
        tracing::error!(method = %req.method(), route, "a route missing from the policy table was refused");
        return ApiError::Forbidden(format!(
            "{} {route} is not in the policy table, so it is refused",
            req.method()
        ))
        .into_response();
    };
    if actions.iter().any(|a| policy::is_public(*a)) {
        return next.run(req).await;
    }
    let header = req.headers().get(AUTHORIZATION).cloned();
    let who = match principal_from_header(&state, header.as_ref()).await {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    if !actions.iter().any(|a| who.may(*a)) {
        return ApiError::from(ServiceError::Refused {
            role: who.role,
            action: actions[0],
        })
        .into_response();
    }
    req.extensions_mut().insert(Auth(who));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_listed_once() {
        for (i, (m, r, actions)) in ROUTES.iter().enumerate() {
            assert!(!actions.is_empty(), "{m} {r}");
            assert!(
                !ROUTES[..i].iter().any(|(m2, r2, _)| m2 == m && r2 == r),
                "{m} {r} is listed twice"
            );
        }
        assert_eq!(
            route_actions(&Method::HEAD, "/api/v1/bulletin"),
            Some(&[ReadPublic][..])
        );
        assert_eq!(route_actions(&Method::PATCH, "/api/v1/bulletin"), None);
    }
}
