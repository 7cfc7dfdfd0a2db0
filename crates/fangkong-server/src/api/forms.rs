//! The forms units file each day: their fields, level and deadline. Public.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use fangkong_domain::form::Form;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::PathParams;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/forms", get(list_forms))
        .route("/api/v1/forms/{name}", get(form))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldBody {
    #[schema(example = "new_confirmed")]
    pub name: String,
    /// `additive` (a flow: sums over days and regions) or `stock` (a level:
    /// sums over regions; over days the latest value stands).
    #[schema(example = "additive")]
    pub kind: String,
    pub label_zh: String,
    pub label_en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FormBody {
    #[schema(example = "epidemic")]
    pub name: String,
    pub label_zh: String,
    pub label_en: String,
    /// The level whose units file this form every day.
    #[schema(example = "county")]
    pub level: String,
    /// Minutes after local midnight of the report's day by which it is due
    /// (more than 1440: the next day).
    #[schema(example = 1920)]
    pub deadline_minutes: u32,
    /// The deadline in words, local time.
    #[schema(example = "08:00 the next day")]
    pub deadline: String,
    pub fields: Vec<FieldBody>,
}

fn deadline_text(minutes: u32) -> String {
    let (day, rest) = (minutes / 1440, minutes % 1440);
    let clock = format!("{:02}:{:02}", rest / 60, rest % 60);
    match day {
        0 => format!("{clock} the same day"),
        1 => format!("{clock} the next day"),
        n => format!("{clock} {n} days later"),
    }
}

impl From<&Form> for FormBody {
    fn from(f: &Form) -> Self {
        FormBody {
            name: f.name.clone(),
            label_zh: f.label_zh.clone(),
            label_en: f.label_en.clone(),
            level: f.level.name().to_owned(),
            deadline_minutes: f.deadline_minutes,
            deadline: deadline_text(f.deadline_minutes),
            fields: f
                .fields
                .iter()
                .map(|x| FieldBody {
                    name: x.name.clone(),
                    kind: x.kind.name().to_owned(),
                    label_zh: x.label_zh.clone(),
                    label_en: x.label_en.clone(),
                })
                .collect(),
        }
    }
}

/// Every form.
#[utoipa::path(
    get,
    path = "/api/v1/forms",
    tag = "forms",
    responses((status = 200, description = "the forms", body = [FormBody]))
)]
pub async fn list_forms(State(state): State<AppState>) -> Json<Vec<FormBody>> {
    Json(state.service.forms().iter().map(FormBody::from).collect())
}

/// One form.
#[utoipa::path(
    get,
    path = "/api/v1/forms/{name}",
    tag = "forms",
    params(("name" = String, Path, description = "form name", example = "grid")),
    responses(
        (status = 200, description = "the form", body = FormBody),
        (status = 404, description = "no such form", body = ErrorBody),
    )
)]
pub async fn form(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
) -> ApiResult<Json<FormBody>> {
    let form = state
        .service
        .forms()
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| crate::error::ApiError::NotFound(format!("form {name:?} not found")))?;
    Ok(Json(FormBody::from(form)))
}

#[cfg(test)]
mod tests {
    use super::deadline_text;

    #[test]
    fn deadlines_read_as_clock_times() {
        assert_eq!(deadline_text(20 * 60), "20:00 the same day");
        assert_eq!(deadline_text(24 * 60 + 8 * 60), "08:00 the next day");
    }
}
