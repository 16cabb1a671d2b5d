//! The admin CLI's library: tenant provisioning per vendor, shared with the end-to-end tests so that they
//! provision exactly as operators do.

pub mod events;
pub mod jwt;
pub mod registry;
pub mod vendors;

use std::fmt;
use std::io::Write;

/// Writes a secret to a new file readable by its owner only (its directory made if missing); an existing
/// file is never overwritten.
pub fn write_private(path: &std::path::Path, contents: &str) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| CliError::Other(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(fail)?;
    file.write_all(contents.as_bytes()).map_err(fail)
}

/// Why a command failed: the store's own error (kept typed, so that an unreachable DynamoDB can be explained
/// with the endpoint that was tried), or anything else, already worded for the operator.
#[derive(Debug)]
pub enum CliError {
    Storage(orgmint::Error),
    Other(String),
}

impl From<orgmint::Error> for CliError {
    fn from(err: orgmint::Error) -> Self {
        CliError::Storage(err)
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Other(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        CliError::Other(message.to_owned())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Storage(err) => err.fmt(f),
            CliError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CliError {}

/// The DynamoDB endpoint that local-stack.md's `make dev` serves, and the line that points the CLI at it.
pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:8000";

/// What the operator reads when a command fails. When DynamoDB could not be reached, it names the endpoint
/// that was tried (`endpoint`, with `explicit` telling whether `AWS_ENDPOINT_URL_DYNAMODB` or
/// `AWS_ENDPOINT_URL` chose it) and how to point the CLI at the local stack.
pub fn explain(err: &CliError, endpoint: &str, explicit: bool) -> String {
    match err {
        CliError::Storage(orgmint::Error::Unavailable(detail)) => {
            let chosen = if explicit {
                "set by AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL"
            } else {
                "AWS DynamoDB itself: AWS_ENDPOINT_URL_DYNAMODB is not set"
            };
            format!(
                "cannot reach DynamoDB at {endpoint} ({chosen}): {detail}\n\
                 For the local stack that `make dev` runs, in this shell: \
                 export AWS_ENDPOINT_URL_DYNAMODB={LOCAL_ENDPOINT}\n\
                 For AWS: credentials and AWS_REGION as the AWS CLI reads them, and ORGMINT_TABLE if the \
                 table is not named orgmint."
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_endpoint_is_named_with_the_line_that_points_at_the_local_stack() {
        let err =
            CliError::Storage(orgmint::Error::Unavailable("TransactWriteItems: dispatch failure".into()));
        let aws = explain(&err, "https://dynamodb.us-east-1.amazonaws.com", false);
        assert!(aws.contains("https://dynamodb.us-east-1.amazonaws.com"), "{aws}");
        assert!(aws.contains("AWS_ENDPOINT_URL_DYNAMODB is not set"), "{aws}");
        assert!(aws.contains("export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000"), "{aws}");
        assert!(aws.contains("dispatch failure"), "{aws}");
        let local = explain(&err, "http://127.0.0.1:8001", true);
        assert!(local.contains("at http://127.0.0.1:8001 (set by AWS_ENDPOINT_URL_DYNAMODB"), "{local}");
    }

    #[test]
    fn other_failures_are_shown_as_they_are() {
        let err = CliError::Storage(orgmint::Error::CapReached { cap: 3 });
        assert_eq!(explain(&err, "x", false), "cap of 3 organizations reached");
        assert_eq!(explain(&CliError::from("no devin tenant 'x'"), "x", false), "no devin tenant 'x'");
    }
}
