use serde_json::json;
use walletpay_ports::StoreError;

/// An HTTP answer produced by a use case: status, JSON body and extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: String) -> Self {
        Reply {
            status,
            content_type: "application/json",
            body,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A refused request: an HTTP status, a stable machine code, a human message and, where
/// one field is at fault, its path in the request (`customer.phone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            500,
            "internal_error",
            "Something went wrong on our side. It is safe to retry with the same Idempotency-Key.",
        )
    }

    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "dependency unavailable");
        ApiError::new(
            503,
            "service_unavailable",
            "A dependency is unavailable. Retry shortly with the same Idempotency-Key.",
        )
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(404, "not_found", format!("No such {what}."))
    }

    pub fn to_reply(&self) -> Reply {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "field": self.field }
        });
        Reply::json(self.status, body.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Backend(_) => ApiError::unavailable(e),
            _ => ApiError::internal(e),
        }
    }
}
