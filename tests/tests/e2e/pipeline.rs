//! The pipeline serves endpoints that are not creates: a read goes through the same checks (authentication,
//! the rate window and its headers, authorization, the log line, refusals in the vendor's envelope) and acts
//! on the store itself. The endpoint here is a test's own, in Devin's dialect: the lifecycle endpoints of
//! each vendor are built the same way.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, Call, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Endpoint};
use orgmint::{Credential, Error, RateWindow, Store, Vendor};
use orgmint_tests::{authorization, body_json, event, request, store, tenant, with, Options};
use serde_json::{json, Value};

/// How many organizations the caller's enterprise holds, in Devin's words.
struct CountOrgs;

const HEADERS: RateLimitHeaders = RateLimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: "x-ratelimit-reset",
    fixed: &[],
    block_s: 0,
};

fn detail(status: StatusCode, message: &str) -> Response<Body> {
    lambda::json_response(status, &json!({ "detail": message }))
}

impl Endpoint for CountOrgs {
    const ROUTE: &'static str = "GET /v2/enterprise/organizations/count";
    const FUNCTION: &'static str = "count-enterprise-organizations";
    const VENDOR: Vendor = Vendor::Devin;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = Some(&HEADERS);
    type Ctx = Call;
    type Caller = Credential;
    type Input = ();

    fn tenant(caller: &Credential) -> Option<&str> {
        Some(&caller.tenant.id)
    }

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(_call: &Call, message: &str) -> Response<Body> {
        detail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message)
    }

    async fn authenticate(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> Result<Authenticated<Credential>, Response<Body>> {
        let key =
            lambda::bearer_token(req).ok_or_else(|| detail(StatusCode::UNAUTHORIZED, "Not authenticated"))?;
        let (mut found, idempotency) = lambda::authenticate(store, req, Vendor::Devin, &[key])
            .await
            .map_err(|e| Self::refused(call, e))?;
        let caller =
            found.credentials.remove(0).map_err(|_| detail(StatusCode::UNAUTHORIZED, "Invalid API key"))?;
        let idempotency = idempotency.map_err(|e| Self::refused(call, e))?;
        Ok(Authenticated { caller, rate: found.rate, idempotency })
    }

    fn authorize(_req: &Request, _call: &Call, _caller: &Credential) -> Result<(), Response<Body>> {
        Ok(())
    }

    fn parse(_req: &Request, _call: &Call) -> Result<(), Response<Body>> {
        Ok(())
    }

    async fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Credential>,
        _input: (),
    ) -> Result<Response<Body>, Response<Body>> {
        let total = store.count_orgs(&found.caller.tenant).await.map_err(|e| Self::refused(call, e))?;
        Ok(lambda::json_response(StatusCode::OK, &json!({ "total": total })))
    }

    fn too_many_requests(_call: &Call, rate: &RateWindow) -> Response<Body> {
        lambda::throttled(detail(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded"), rate.reset_s())
    }

    fn refuse(_call: &Call, err: Error) -> Response<Body> {
        detail(StatusCode::SERVICE_UNAVAILABLE, &err.to_string())
    }
}

fn get(auth: Option<&str>) -> Request {
    let mut ev = with(event("devin-create-success"), &[("authorization", auth)], Some(""));
    ev["requestContext"]["http"]["method"] = json!("GET");
    ev["rawPath"] = json!("/v2/enterprise/organizations/count");
    request(&ev)
}

#[tokio::test]
async fn a_read_goes_through_the_same_checks_and_meters_as_a_create() {
    let store = store().await;
    let p = tenant(store, &Options { rate_limit: Some(3), ..Options::new(Vendor::Devin) }).await;
    let auth = authorization(&p);
    let created = orgmint_cli::registry::handler(
        Vendor::Devin,
        store,
        request(&with(event("devin-create-success"), &[("authorization", Some(&auth))], None)),
    )
    .await;
    assert_eq!(created.status(), StatusCode::OK);

    let counted = pipeline::handler::<CountOrgs>(store, get(Some(&auth))).await;
    assert_eq!(counted.status(), StatusCode::OK);
    assert_eq!(body_json(&counted), json!({"total": 1}));
    // Metered against the same key's window: the create, then this read.
    let remaining =
        |r: &Response<Body>| r.headers().get("x-ratelimit-remaining").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(remaining(&counted).as_deref(), Some("1"));

    // Refusals in the dialect: no key, a wrong key (neither counted), then the window full.
    let anonymous = pipeline::handler::<CountOrgs>(store, get(None)).await;
    assert_eq!((anonymous.status(), remaining(&anonymous)), (StatusCode::UNAUTHORIZED, None));
    let wrong = pipeline::handler::<CountOrgs>(store, get(Some("Bearer apk_user_nope"))).await;
    assert_eq!(body_json(&wrong), json!({"detail": "Invalid API key"}));
    assert_eq!(pipeline::handler::<CountOrgs>(store, get(Some(&auth))).await.status(), StatusCode::OK);
    let over = pipeline::handler::<CountOrgs>(store, get(Some(&auth))).await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(over.headers().contains_key("retry-after"));
    let body: Value = body_json(&over);
    assert_eq!(body["detail"], "Rate limit exceeded");
}
