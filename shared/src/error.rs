//! The domain's errors. Vendor crates map each variant to their own status, envelope and wording.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The scope already holds `cap` organizations; nothing was written.
    CapReached {
        cap: u32,
    },
    /// The slug is already claimed in this scope; nothing was written.
    SlugTaken {
        slug: String,
    },
    Unauthenticated(AuthFailure),
    Forbidden(Denied),
    /// Input the domain itself refuses (vendors validate their own bodies before calling the domain).
    Invalid(String),
    /// The caller is over its rate limit; retry after this many seconds.
    Throttled {
        retry_after_s: u32,
    },
    /// DynamoDB is slow, throttling or gone. The detail is for logs, never for the client.
    Unavailable(String),
    /// A freshly minted id or secret digest already exists, so nothing was written: the caller may mint
    /// again and retry.
    IdCollision,
    /// A stored item lacks an attribute or has it of the wrong type (named here, for logs): a bug or a
    /// hand edit of the table, never the client's doing.
    Corrupt(String),
    /// The request's `Idempotency-Key` cannot be honoured; see [`crate::idempotency`].
    Idempotency(IdempotencyProblem),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotencyProblem {
    /// Not 1 to 255 visible ASCII characters.
    Malformed,
    /// Already used with another request (another path or body, or a record that no longer opens).
    Reused,
    /// A request with the same key committed at the same moment and its record cannot be read yet.
    Concurrent,
}

impl IdempotencyProblem {
    /// The sentence a client sees, whatever the vendor's envelope.
    pub fn message(self) -> &'static str {
        match self {
            IdempotencyProblem::Malformed => "Idempotency-Key must be 1 to 255 visible ASCII characters",
            IdempotencyProblem::Reused => {
                "Idempotency-Key has already been used with a different request; use a new key for a new request"
            }
            IdempotencyProblem::Concurrent => {
                "A request with this Idempotency-Key is being processed; retry shortly"
            }
        }
    }

    /// The HTTP status the IETF draft gives it: 400 malformed, 422 reused, 409 concurrent.
    pub fn status(self) -> u16 {
        match self {
            IdempotencyProblem::Malformed => 400,
            IdempotencyProblem::Reused => 422,
            IdempotencyProblem::Concurrent => 409,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential was presented.
    Missing,
    /// A credential was presented but none such exists (or it belongs to another vendor).
    Unknown,
    /// The credential exists but its expiry has passed.
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The scope the request names does not exist or is not the caller's.
    NotInScope,
    /// The caller's role does not allow creating organizations.
    Role,
    /// The caller lacks a required permission.
    Permission,
    /// The tenant's plan is below what the operation needs.
    Plan,
    /// The tenant does not have the feature enabled.
    Feature,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::CapReached { cap } => write!(f, "cap of {cap} organizations reached"),
            Error::SlugTaken { slug } => write!(f, "slug '{slug}' is taken"),
            Error::Unauthenticated(why) => write!(f, "unauthenticated: {why:?}"),
            Error::Forbidden(why) => write!(f, "forbidden: {why:?}"),
            Error::Invalid(what) => write!(f, "invalid: {what}"),
            Error::Throttled { retry_after_s } => write!(f, "throttled for {retry_after_s}s"),
            Error::Unavailable(detail) => write!(f, "storage unavailable: {detail}"),
            Error::IdCollision => f.write_str("a freshly minted id already exists"),
            Error::Corrupt(detail) => write!(f, "corrupt stored item: {detail}"),
            Error::Idempotency(problem) => f.write_str(problem.message()),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A short stable code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            Error::CapReached { .. } => "cap_reached",
            Error::SlugTaken { .. } => "slug_taken",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::Invalid(_) => "invalid",
            Error::Throttled { .. } => "throttled",
            Error::Unavailable(_) => "unavailable",
            Error::IdCollision => "id_collision",
            Error::Corrupt(_) => "corrupt_item",
            Error::Idempotency(IdempotencyProblem::Malformed) => "idempotency_key_malformed",
            Error::Idempotency(IdempotencyProblem::Reused) => "idempotency_key_reused",
            Error::Idempotency(IdempotencyProblem::Concurrent) => "idempotency_key_concurrent",
        }
    }
}
