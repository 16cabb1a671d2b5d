//! Datadog's `GET /api/v1/org`: the child organizations the caller's organization created, oldest first, as
//! `{"orgs": [<Organization>…]}`. One `Query` of the organization's partition.

use datadog_api::DatadogApi;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Credential, Store};
use serde_json::{json, Value};

pub const ROUTE: &str = "GET /api/v1/org";

/// The endpoint on orgmint's pipeline.
pub type Datadog = List;

pub struct List;

impl Operation for List {
    type Dialect = DatadogApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: bool = false;
    type Input = ();

    fn parse(_req: &Request, _call: &Call) -> Result<(), Response<Body>> {
        Ok(())
    }

    async fn act(
        store: &Store,
        _call: &Call,
        found: &Authenticated<Credential>,
        _input: (),
    ) -> Result<Response<Body>, Response<Body>> {
        let mut orgs = store.orgs(&found.caller.tenant).await.map_err(datadog_api::domain_error)?;
        orgs.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.id.cmp(&b.id)));
        let orgs: Vec<Value> =
            orgs.iter().map(|org| serde_json::from_str(&org.doc).unwrap_or(Value::Null)).collect();
        Ok(lambda::json_response(StatusCode::OK, &json!({ "orgs": orgs })))
    }
}
