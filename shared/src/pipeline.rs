//! The one pipeline every vendor's endpoint runs: the order of the checks, metering, idempotency,
//! throttling and retries live here once. A vendor implements [`Dialect`] once (where its credentials are,
//! what its roles allow, its error envelope, headers and CORS) and each of its functions one [`Operation`]
//! of it (route, needs, body, act); every operation is an [`Endpoint`]. A create also implements [`Mints`]
//! and its act is [`create_org`]; reads, updates and deletes act on the store themselves.
//!
//! Order: header sizes (431) → authentication, with the rate window and the `Idempotency-Key` record in
//! the same round trip (401) → the rate window (429; every later answer is metered) → authorization
//! (400/403) → an idempotent replay → the body (413/400/422) → the endpoint's act (for a create, the one
//! transaction, minted again when a fresh id collided) → refusals in the vendor's envelope.

use std::future::Future;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use crate::error::Error;
use crate::lambda::{self, Call, ErrorCause, ErrorCode, Idempotency, RateLimitHeaders};
use crate::model::{NewOrg, Vendor};
use crate::rate::RateWindow;
use crate::store::Store;

/// Who authenticated, the rate window their request is metered against, and the request's
/// `Idempotency-Key` with its record: what one authentication round trip finds.
pub struct Authenticated<C> {
    pub caller: C,
    pub rate: RateWindow,
    pub idempotency: Idempotency,
}

/// An organization ready to be written, and the answer the vendor gives once it is.
pub struct Minted {
    pub new: NewOrg,
    pub status: StatusCode,
    pub answer: Value,
}

/// One vendor endpoint, in the vendor's words. Every refusal is a whole
/// response in the vendor's envelope; the pipeline decides when each is given.
// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
pub trait Endpoint: Sync + 'static {
    /// `METHOD /path` as the router and the log line name it.
    const ROUTE: &'static str;
    /// The function (its crate and binary), for the log line.
    const FUNCTION: &'static str;
    const VENDOR: Vendor;
    /// The vendor's rate-limit headers on every metered answer; `None` where the vendor sends none.
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders>;

    /// What the vendor's answers need to know of the request (its path, its time, its trace id …).
    type Ctx: Send + Sync;
    /// The authenticated caller.
    type Caller: Send + Sync;
    /// The request body, validated.
    type Input: Send + Sync;

    fn context(req: &Request, call: &Call) -> Self::Ctx;

    /// 431 for headers over [`lambda::MAX_HEADER_BYTES`] or [`lambda::MAX_HEADERS_TOTAL_BYTES`].
    fn headers_too_large(ctx: &Self::Ctx, message: &str) -> Response<Body>;

    /// The caller, in one round trip; `Err` is the vendor's answer (401, or a 503 when DynamoDB failed).
    fn authenticate(
        store: &Store,
        req: &Request,
        ctx: &Self::Ctx,
    ) -> impl Future<Output = Result<Authenticated<Self::Caller>, Response<Body>>> + Send;

    /// The caller may do this here (the path's scope, role, permissions, plan, features).
    fn authorize(req: &Request, ctx: &Self::Ctx, caller: &Self::Caller) -> Result<(), Response<Body>>;

    /// The body, within [`lambda::MAX_BODY_BYTES`], of a content type the vendor reads, valid.
    fn parse(req: &Request, ctx: &Self::Ctx) -> Result<Self::Input, Response<Body>>;

    /// What the endpoint does once the caller may and the body is valid: for a create, [`create_org`] (the
    /// one transaction, minted again after a collision); a read, an update or a delete does its own store
    /// work. `Err` is a refusal already in the vendor's envelope.
    fn act(
        store: &Store,
        ctx: &Self::Ctx,
        found: &Authenticated<Self::Caller>,
        input: Self::Input,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send;

    /// 429: the caller's window is full (`lambda::throttled` completes it).
    fn too_many_requests(ctx: &Self::Ctx, rate: &RateWindow) -> Response<Body>;

    /// A domain refusal in the vendor's words.
    fn refuse(ctx: &Self::Ctx, err: Error) -> Response<Body>;

    /// The answer to a CORS preflight (`OPTIONS`) where the vendor gives one (it may ask the store whether
    /// the origin is allowed); `None` leaves the request to the pipeline.
    fn preflight(
        _store: &Store,
        _req: &Request,
        _ctx: &Self::Ctx,
    ) -> impl Future<Output = Option<Response<Body>>> + Send {
        async { None }
    }

    /// The CORS headers every answer carries where the vendor sends them (none by default).
    fn cors(_req: &Request, _reply: &mut Response<Body>) {}

    /// The caller's scope as the log line names it (a tenant id: public, stable, never a secret).
    fn tenant(caller: &Self::Caller) -> Option<&str>;

    /// [`Endpoint::refuse`] with what [`refusal`] adds for the log line: how the vendor's own steps (e.g.
    /// [`Endpoint::authenticate`]) refuse a domain error.
    fn refused(ctx: &Self::Ctx, err: Error) -> Response<Body> {
        refusal::<Self>(ctx, err)
    }
}

/// A vendor's dialect, written once for all its endpoints: where its credentials are and what its roles
/// allow, its errors, headers and CORS. Each endpoint is an [`Operation`] of it; every operation is an
/// [`Endpoint`] (the impl below), so a vendor writes its dialect once and each function only its own part.
// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
pub trait Dialect: Sync + Send + Sized + 'static {
    const VENDOR: Vendor;
    /// The vendor's rate-limit headers on every metered answer; `None` where the vendor sends none.
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders>;
    type Ctx: Send + Sync;
    type Caller: Send + Sync;
    /// What an operation asks of the dialect: the role or permission it needs, what it needs of the
    /// client … ([`Operation::NEEDS`]).
    type Needs: Send + Sync + 'static;

    fn context(req: &Request, call: &Call) -> Self::Ctx;

    fn headers_too_large(ctx: &Self::Ctx, message: &str) -> Response<Body>;

    /// [`Endpoint::authenticate`] for operation `O` (its needs, whether it honours `Idempotency-Key`).
    fn authenticate<O: Operation<Dialect = Self>>(
        store: &Store,
        req: &Request,
        ctx: &Self::Ctx,
    ) -> impl Future<Output = Result<Authenticated<Self::Caller>, Response<Body>>> + Send;

    /// [`Endpoint::authorize`] for operation `O`, [`Operation::authorize`] included.
    fn authorize<O: Operation<Dialect = Self>>(
        req: &Request,
        ctx: &Self::Ctx,
        caller: &Self::Caller,
    ) -> Result<(), Response<Body>>;

    fn too_many_requests(ctx: &Self::Ctx, rate: &RateWindow) -> Response<Body>;

    fn refuse(ctx: &Self::Ctx, err: Error) -> Response<Body>;

    fn preflight(
        _store: &Store,
        _req: &Request,
        _ctx: &Self::Ctx,
    ) -> impl Future<Output = Option<Response<Body>>> + Send {
        async { None }
    }

    fn cors(_req: &Request, _reply: &mut Response<Body>) {}

    fn tenant(caller: &Self::Caller) -> Option<&str>;
}

/// One endpoint of a [`Dialect`]: its route, what it needs, its body and what it does.
// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
pub trait Operation: Sync + Send + Sized + 'static {
    type Dialect: Dialect;
    /// `METHOD /path` as the router and the log line name it.
    const ROUTE: &'static str;
    /// The function (its crate and binary), for the log line.
    const FUNCTION: &'static str;
    /// What it asks of its dialect.
    const NEEDS: <Self::Dialect as Dialect>::Needs;
    /// Whether the request's `Idempotency-Key` is honoured (creates, updates and deletes).
    const IDEMPOTENT: bool = false;
    type Input: Send + Sync;

    /// The body (or query), within the size limit, valid.
    fn parse(req: &Request, ctx: &<Self::Dialect as Dialect>::Ctx) -> Result<Self::Input, Response<Body>>;

    /// What the caller must be allowed beyond what the dialect checks for every operation.
    fn authorize(
        _ctx: &<Self::Dialect as Dialect>::Ctx,
        _caller: &<Self::Dialect as Dialect>::Caller,
    ) -> Result<(), Response<Body>> {
        Ok(())
    }

    /// See [`Endpoint::act`].
    fn act(
        store: &Store,
        ctx: &<Self::Dialect as Dialect>::Ctx,
        found: &Authenticated<<Self::Dialect as Dialect>::Caller>,
        input: Self::Input,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send;
}

impl<O: Operation> Endpoint for O {
    const ROUTE: &'static str = O::ROUTE;
    const FUNCTION: &'static str = O::FUNCTION;
    const VENDOR: Vendor = O::Dialect::VENDOR;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = O::Dialect::RATE_LIMIT_HEADERS;
    type Ctx = <O::Dialect as Dialect>::Ctx;
    type Caller = <O::Dialect as Dialect>::Caller;
    type Input = O::Input;

    fn context(req: &Request, call: &Call) -> Self::Ctx {
        O::Dialect::context(req, call)
    }

    fn headers_too_large(ctx: &Self::Ctx, message: &str) -> Response<Body> {
        O::Dialect::headers_too_large(ctx, message)
    }

    fn authenticate(
        store: &Store,
        req: &Request,
        ctx: &Self::Ctx,
    ) -> impl Future<Output = Result<Authenticated<Self::Caller>, Response<Body>>> + Send {
        O::Dialect::authenticate::<O>(store, req, ctx)
    }

    fn authorize(req: &Request, ctx: &Self::Ctx, caller: &Self::Caller) -> Result<(), Response<Body>> {
        O::Dialect::authorize::<O>(req, ctx, caller)
    }

    fn parse(req: &Request, ctx: &Self::Ctx) -> Result<Self::Input, Response<Body>> {
        O::parse(req, ctx)
    }

    fn act(
        store: &Store,
        ctx: &Self::Ctx,
        found: &Authenticated<Self::Caller>,
        input: Self::Input,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send {
        O::act(store, ctx, found, input)
    }

    fn too_many_requests(ctx: &Self::Ctx, rate: &RateWindow) -> Response<Body> {
        O::Dialect::too_many_requests(ctx, rate)
    }

    fn refuse(ctx: &Self::Ctx, err: Error) -> Response<Body> {
        O::Dialect::refuse(ctx, err)
    }

    fn preflight(
        store: &Store,
        req: &Request,
        ctx: &Self::Ctx,
    ) -> impl Future<Output = Option<Response<Body>>> + Send {
        O::Dialect::preflight(store, req, ctx)
    }

    fn cors(req: &Request, reply: &mut Response<Body>) {
        O::Dialect::cors(req, reply)
    }

    fn tenant(caller: &Self::Caller) -> Option<&str> {
        O::Dialect::tenant(caller)
    }
}

/// An endpoint that creates an organization: what [`create_org`] needs besides the [`Endpoint`].
pub trait Mints: Endpoint {
    /// The organization to write and the answer to give, with fresh ids and secrets (`attempt` counts from
    /// 1: a retry after [`Mints::retry`] said so mints again).
    fn mint(
        ctx: &Self::Ctx,
        caller: &Self::Caller,
        input: &Self::Input,
        rate: &RateWindow,
        attempt: u32,
    ) -> Minted;

    /// Whether a create refused with `err` is minted and tried again. Nothing was written. By default a
    /// fresh id that already exists is drawn again, once.
    fn retry(err: &Error, attempt: u32, _input: &Self::Input) -> bool {
        matches!(err, Error::IdCollision) && attempt < 2
    }
}

/// The endpoint behind [`lambda::serve`]: the request id, the deadline, round trips and the log line.
pub async fn handler<E: Endpoint>(store: &'static Store, req: Request) -> Response<Body> {
    lambda::serve(store, named::<E>(), req, create::<E>).await
}

/// The Lambda entry point of an endpoint, on [`lambda::runtime`]: `main` is this one line.
pub fn main<E: Endpoint>() -> Result<(), lambda_http::Error> {
    lambda::runtime()?.block_on(lambda::run(named::<E>(), create::<E>))
}

fn named<E: Endpoint>() -> lambda::Named {
    lambda::Named { function: E::FUNCTION, vendor: E::VENDOR, route: E::ROUTE }
}

/// One request through every check, in the order of the module's doc; every answer, preflights included,
/// with the vendor's CORS headers.
pub async fn create<E: Endpoint>(store: &'static Store, req: Request, call: Call) -> Response<Body> {
    let ctx = E::context(&req, &call);
    let mut reply = match E::preflight(store, &req, &ctx).await {
        Some(reply) => reply,
        None => checked::<E>(store, &req, &ctx).await,
    };
    E::cors(&req, &mut reply);
    reply
}

async fn checked<E: Endpoint>(store: &'static Store, req: &Request, ctx: &E::Ctx) -> Response<Body> {
    if let Some(message) = lambda::oversized_headers(req) {
        return E::headers_too_large(ctx, &message);
    }
    let found = match E::authenticate(store, req, ctx).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let rate = &found.rate;
    let mut reply =
        lambda::metered(store, rate, E::RATE_LIMIT_HEADERS, |rate| E::too_many_requests(ctx, rate), async {
            authorized::<E>(store, req, ctx, &found).await.unwrap_or_else(|reply| reply)
        })
        .await;
    if let Some(tenant) = E::tenant(&found.caller) {
        reply.extensions_mut().insert(lambda::TenantId(tenant.to_owned()));
    }
    reply
}

async fn authorized<E: Endpoint>(
    store: &Store,
    req: &Request,
    ctx: &E::Ctx,
    found: &Authenticated<E::Caller>,
) -> Result<Response<Body>, Response<Body>> {
    E::authorize(req, ctx, &found.caller)?;
    if let Some(replay) = found.idempotency.replay() {
        return replay.map_err(|err| refusal::<E>(ctx, err));
    }
    let input = E::parse(req, ctx)?;
    E::act(store, ctx, found, input).await
}

/// A create's [`Endpoint::act`]: the organization minted, written in one transaction (minted again when
/// [`Mints::retry`] says so), and the vendor's answer, or its refusal.
pub async fn create_org<E: Mints>(
    store: &Store,
    ctx: &E::Ctx,
    found: &Authenticated<E::Caller>,
    input: E::Input,
) -> Result<Response<Body>, Response<Body>> {
    let key = found.idempotency.key.as_ref();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Minted { new, status, answer } = E::mint(ctx, &found.caller, &input, &found.rate, attempt);
        match lambda::create_once(store, new, key, status, &answer).await {
            Ok(reply) => return Ok(reply),
            Err(err) if E::retry(&err, attempt, &input) => continue,
            // The transaction found the window full (a concurrent request filled it since authentication).
            Err(Error::Throttled { .. }) => return Err(E::too_many_requests(ctx, &found.rate)),
            Err(err) => return Err(refusal::<E>(ctx, err)),
        }
    }
}

/// The vendor's refusal, its log line naming the domain's code unless the vendor named one, and for a
/// server-side failure its cause (the SDK's error kind, the unreadable attribute: never a secret), which the
/// client is not told.
pub fn refusal<E: Endpoint + ?Sized>(ctx: &E::Ctx, err: Error) -> Response<Body> {
    let code = err.code();
    let cause = match &err {
        Error::Unavailable(detail) | Error::Corrupt(detail) => Some(detail.clone()),
        Error::IdCollision => Some(err.to_string()),
        _ => None,
    };
    let mut reply = E::refuse(ctx, err);
    if reply.extensions().get::<ErrorCode>().is_none() {
        reply.extensions_mut().insert(ErrorCode(code));
    }
    if let Some(cause) = cause {
        reply.extensions_mut().insert(ErrorCause(cause));
    }
    reply
}
