//! Datadog's `GET /api/v1/org/{public_id}`: one child organization of the caller's organization, as
//! `{"org": <Organization>}`; any other (another parent's, none) is 403 `{"errors": ["Forbidden"]}`, the only refusal Datadog's document gives it. One
//! `GetItem`.

use datadog_api::DatadogApi;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Credential, Store};
use serde_json::{json, Value};

pub const ROUTE: &str = "GET /api/v1/org/{public_id}";

/// The endpoint on orgmint's pipeline.
pub type Datadog = Get;

pub struct Get;

impl Operation for Get {
    type Dialect = DatadogApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: bool = false;
    type Input = String;

    fn parse(req: &Request, _call: &Call) -> Result<String, Response<Body>> {
        Ok(datadog_api::public_id(req))
    }

    async fn act(
        store: &Store,
        _call: &Call,
        found: &Authenticated<Credential>,
        public_id: String,
    ) -> Result<Response<Body>, Response<Body>> {
        let org = store.org(&found.caller.tenant, &public_id).await.map_err(datadog_api::domain_error)?;
        let org = org.ok_or_else(datadog_api::not_found)?;
        let doc: Value = serde_json::from_str(&org.doc).unwrap_or(Value::Null);
        Ok(lambda::json_response(StatusCode::OK, &json!({ "org": doc })))
    }
}
