//! Lockdown and bearer-token auth in front of the management API.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::api_error::ApiError;
use super::AppState;

/// `managementApiEnabled: false` locks every guarded route (403) until
/// restart; `requireAuth: true` demands `Authorization: Bearer <token>`.
pub(super) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = state.config();
    if !config.management_api_enabled {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "MANAGEMENT_DISABLED",
            "the management API is disabled until restart",
        )
        .into_response();
    }
    if config.require_auth {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let allowed = match (state.admin_token(), given) {
            (Some(token), Some(given)) => bool::from(token.as_bytes().ct_eq(given.as_bytes())),
            _ => false,
        };
        if !allowed {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "this route needs Authorization: Bearer <admin token>",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}
