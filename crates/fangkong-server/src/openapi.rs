//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types: `GET /api/v1/openapi.json`
//! (also served at `/api/openapi.json`, where it was first).

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fangkong",
        description = "fangkong 防控: the epidemic prevention-and-control platform's HTTP API. \
                       Log in at POST /api/v1/sessions and send the token as `Authorization: Bearer <token>`. \
                       Every error answers `{\"error\":{\"code\",\"field\"?,\"message\"}}`."
    ),
    paths(
        api::health::health,
        api::page::index,
        api::sessions::create_session,
        api::sessions::me,
        api::sessions::end_session,
        api::sessions::change_password,
        api::regions::region,
        api::regions::children,
        api::regions::search_regions,
        api::forms::list_forms,
        api::forms::form,
        api::reports::file_report,
        api::reports::report,
        api::reports::review_report,
        api::reports::overdue_reviews,
        api::reports::import_reports,
        api::reports::export_reports,
        api::rollup::figures,
        api::rollup::series,
        api::rollup::completeness,
        api::bulletin::bulletin,
        api::publications::publish,
        api::publications::latest_release,
        api::publications::release_version,
        api::publications::errata,
        api::publications::open_data_json,
        api::publications::open_data_csv,
        api::analytics::curve,
        api::analytics::rt,
        api::analytics::growth,
        api::analytics::forecast,
        api::analytics::alerts,
        api::analytics::run_alerts,
        api::analytics::acknowledge,
        api::analytics::close,
        api::analytics::risk,
        api::tasks::issue,
        api::tasks::list_directives,
        api::tasks::directive,
        api::tasks::acknowledge,
        api::tasks::complete,
        api::tasks::tasks,
        api::tasks::submit_tip,
        api::tasks::list_tips,
        api::tasks::handle_tip,
        api::audit::audit,
        api::audit::verify,
        api::users::list_users,
        api::users::create_user,
        api::users::revoke_sessions,
        api::line_list::cases::report_case,
        api::line_list::cases::case,
        api::line_list::cases::list_cases,
        api::line_list::cases::record_event,
        api::line_list::cases::figures,
        api::line_list::cases::mismatches,
        api::line_list::contacts::register_contact,
        api::line_list::contacts::contact,
        api::line_list::contacts::list_contacts,
        api::line_list::contacts::add_link,
        api::line_list::contacts::follow_up,
        api::line_list::contacts::due,
        api::line_list::contacts::convert,
        api::line_list::chains::chain,
        api::line_list::chains::chain_dot,
        api::line_list::chains::chain_graphml,
        api::line_list::chains::cluster,
        api::line_list::chains::clusters,
        api::line_list::chains::spreaders,
        api::line_list::persons::candidates,
        api::line_list::persons::decide,
        crate::ui::data::calendar,
        crate::ui::data::dashboard,
        crate::ui::data::public_series,
        crate::ui::data::public_regions,
        openapi_json,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail, crate::error::RowErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "sessions", description = "logging in and out, one's password"),
        (name = "regions", description = "the region tree (public)"),
        (name = "forms", description = "the daily report forms (public)"),
        (name = "reports", description = "daily reports, corrections, reviews, files"),
        (name = "rollup", description = "figures, series, completeness"),
        (name = "bulletin", description = "the daily bulletin (public)"),
        (name = "publications", description = "published releases in every version, errata, open data (public); publishing"),
        (name = "analytics", description = "curves, growth, Rt, forecasts, alerts, risk levels"),
        (name = "tasks", description = "directives to the units below, the public tip line, the task list"),
        (name = "audit", description = "the audit trail (national level)"),
        (name = "users", description = "users"),
        (name = "line list", description = "cases, close contacts and follow-up, chains and clusters, person matching"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "docs",
    responses((status = 200, description = "the OpenAPI 3 document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
