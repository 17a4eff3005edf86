//! `GET /health` and `GET /openapi.json`: open to anyone who reaches the port.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json_response;

/// The committed OpenAPI document, served as is.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/api/openapi.json");

pub(super) async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

pub(super) async fn openapi() -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        OPENAPI_JSON,
    )
        .into_response()
}
