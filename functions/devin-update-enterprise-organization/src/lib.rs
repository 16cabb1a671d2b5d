//! Devin's `PATCH /v2/enterprise/organizations/{org_id}`: `display_name` and/or `max_acu_limit` (null removes
//! the limit) of one of the enterprise's organizations; `{"status": "success"}`, 404 for an org it does not
//! hold. The org is read and written back on condition it did not change in between (two round trips).

use devin_api::pydantic::{lax_int, object_body, string};
use devin_api::DevinApi;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, BodyProblem, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::store::OrgChange;
use orgmint::{Credential, Store};
use serde_json::{json, Value};

pub const ROUTE: &str = "PATCH /v2/enterprise/organizations/{org_id}";

/// The endpoint on orgmint's pipeline.
pub type Devin = Update;

pub struct Update;

/// What the PATCH changes: each field `None` when not sent; `max_acu_limit: Some(None)` removes the limit.
pub struct Changes {
    pub org_id: String,
    pub display_name: Option<String>,
    pub max_acu_limit: Option<Option<i64>>,
}

/// The body as pydantic validates `{display_name: str | None, max_acu_limit: int | None}`.
pub fn changes(org_id: String, bytes: &[u8]) -> Result<Changes, Vec<Value>> {
    let fields = object_body(bytes)?;
    let mut problems = Vec::new();
    let display_name = match fields.get("display_name") {
        None | Some(Value::Null) => None,
        Some(v) => string(v, json!(["body", "display_name"])).map_err(|p| problems.push(p)).ok(),
    };
    let max_acu_limit = match fields.get("max_acu_limit") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => lax_int(v, json!(["body", "max_acu_limit"])).map(Some).map_err(|p| problems.push(p)).ok(),
    };
    match problems.is_empty() {
        true => Ok(Changes { org_id, display_name, max_acu_limit }),
        false => Err(problems),
    }
}

impl Operation for Update {
    type Dialect = DevinApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: &'static str = "Enterprise admin permissions are required to update organizations";
    const IDEMPOTENT: bool = true;
    type Input = Changes;

    fn parse(req: &Request, _call: &Call) -> Result<Changes, Response<Body>> {
        let (bytes, _) = lambda::body(req, false).map_err(|problem| match problem {
            BodyProblem::TooLarge => devin_api::too_large(),
            BodyProblem::UnsupportedType(_) => {
                devin_api::validation_error(vec![devin_api::pydantic::not_an_object(Value::String(
                    String::from_utf8_lossy(req.body().as_ref()).into_owned(),
                ))])
            }
        })?;
        changes(devin_api::org_id(req), bytes).map_err(devin_api::validation_error)
    }

    async fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Credential>,
        changes: Changes,
    ) -> Result<Response<Body>, Response<Body>> {
        let tenant = &found.caller.tenant;
        let key = found.idempotency.key.as_ref();
        let updated = lambda::update_once(
            store,
            (tenant, tenant, &changes.org_id),
            |org| {
                let mut doc: Value = serde_json::from_str(&org.doc).unwrap_or_else(|_| json!({}));
                let mut name = org.name.clone();
                if let Some(display_name) = &changes.display_name {
                    doc["org_name"] = json!(display_name);
                    name = display_name.clone();
                }
                if let Some(limit) = changes.max_acu_limit {
                    doc["max_cycle_acu_limit"] = json!(limit);
                }
                OrgChange { name, slug: org.slug.clone(), doc: doc.to_string() }
            },
            key,
            call.now_ms,
            devin_api::success,
        )
        .await
        .map_err(devin_api::domain_error)?;
        // Not found (Devin's orgs have no slug to be taken).
        updated.map_err(|_| devin_api::not_found())
    }
}
