//! SDK failures and unreadable items as the domain's errors, with the cause an operator can act on.

use super::prelude::*;

/// A dispatch failure without a connector error behind it.
#[derive(Debug)]
pub(super) struct NoDetail;

impl std::fmt::Display for NoDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no detail")
    }
}

impl std::error::Error for NoDetail {}

pub(super) static NO_DETAIL: NoDetail = NoDetail;

/// Every SDK failure that is not a domain outcome: timeouts, throttling, a database that is gone.
/// Logs carry the error code only: the SDK's full error context includes the raw response.
pub(super) fn unavailable<E: ProvideErrorMetadata, R>(operation: &str, err: &SdkError<E, R>) -> Error {
    let what = match err {
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(failure) => {
            // The innermost cause says what an operator can act on ("Connection refused", "no credentials");
            // it names no secret.
            let mut cause: &dyn std::error::Error =
                failure.as_connector_error().map_or(&NO_DETAIL as &dyn std::error::Error, |connector| {
                    connector as &dyn std::error::Error
                });
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            let kind = if failure.is_io() {
                "io"
            } else if failure.is_timeout() {
                "timeout"
            } else if failure.is_user() {
                "configuration"
            } else {
                "other"
            };
            let cause: String = cause.to_string().chars().take(160).collect();
            format!("dispatch failure ({kind}: {cause})")
        }
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        SdkError::ConstructionFailure(_) => "request construction failed".to_owned(),
        _ => err.code().unwrap_or("unknown").to_owned(),
    };
    Error::Unavailable(format!("{operation}: {what}"))
}

pub(super) fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("stored item lacks or mistypes '{what}'"))
}
