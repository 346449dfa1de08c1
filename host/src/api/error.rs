//! The one error type of the REST API and its JSON body.
//!
//! Every failure answers `{"error_code": STATUS, "message": "..."}`, as
//! Kafka Connect does. Messages of client errors are meant for the user;
//! internal errors are logged in full and answered with a short text.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config::ConfigError;
use crate::worker::WorkerError;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the user.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 for a connector, with Kafka Connect's wording.
    pub fn connector_not_found(name: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("Connector {name} not found"))
    }

    /// 404 for a task, with Kafka Connect's wording.
    pub fn task_not_found(name: &str, task: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("Task {name}-{task} not found"),
        )
    }

    /// 400 for a config with problems, every one listed, in Kafka
    /// Connect's wording.
    pub fn invalid_config(error: &ConfigError) -> Self {
        let n = error.problems.len();
        let mut message =
            format!("Connector configuration is invalid and contains the following {n} error(s):");
        for problem in &error.problems {
            message.push('\n');
            message.push_str(&problem.to_string());
        }
        Self::bad_request(message)
    }

    /// 500, logged; the client sees only `what`.
    pub fn internal(what: &str, detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "{what}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{what}; see the server log"),
        )
    }
}

impl From<WorkerError> for ApiError {
    fn from(error: WorkerError) -> Self {
        match error {
            WorkerError::NotFound(name) => ApiError::connector_not_found(&name),
            WorkerError::Exists(name) => ApiError::new(
                StatusCode::CONFLICT,
                format!("Connector {name} already exists"),
            ),
            WorkerError::Invalid(e) => ApiError::invalid_config(&e),
            WorkerError::Rebalancing => ApiError::new(
                StatusCode::CONFLICT,
                "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)",
            ),
            WorkerError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, message),
            WorkerError::BadRequest(message) => ApiError::bad_request(message),
            e @ WorkerError::NotStopped(_) => ApiError::bad_request(e.to_string()),
            WorkerError::Unavailable(message) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
            }
            WorkerError::Internal(message) => ApiError::internal("the worker failed", message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error_code": self.status.as_u16(),
            "message": self.message,
        });
        (self.status, Json(body)).into_response()
    }
}
