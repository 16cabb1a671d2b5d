//! SDK failures and unreadable items as the domain's errors, with the cause an operator can act on.

use super::prelude::*;

/// Every SDK failure that is not a domain outcome: timeouts, throttling, a database that is gone.
/// Logs carry the error's kind and, for a dispatch failure, its innermost cause: never the SDK's full error
/// context, which includes the raw response.
pub(super) fn unavailable<E: ProvideErrorMetadata, R>(operation: &str, err: &SdkError<E, R>) -> Error {
    let what = match err {
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(failure) => {
            // The innermost cause says what an operator can act on ("Connection refused", "no credentials");
            // it names no secret.
            let cause = failure.as_connector_error().map_or_else(
                || "no detail".to_owned(),
                |connector| {
                    let mut cause: &dyn std::error::Error = connector;
                    while let Some(inner) = cause.source() {
                        cause = inner;
                    }
                    cause.to_string().chars().take(160).collect()
                },
            );
            let kind = if failure.is_io() {
                "io"
            } else if failure.is_timeout() {
                "timeout"
            } else if failure.is_user() {
                "configuration"
            } else {
                "other"
            };
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
