//! Datadog's `PUT /api/v1/org/{public_id}`: the caller's organization (with `org_management`) renames one of
//! its children or changes its description or settings; `{"org": <Organization>}` as it now is, 403 for an
//! org it does not hold. The org is read and written back on condition it did not change in between.

use datadog_api::{all_errors, DatadogApi};
use datadog_create_child_org::checked_name;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, with_code, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::store::OrgChange;
use orgmint::{Credential, Org, Store};
use serde_json::{json, Map, Value};

pub const ROUTE: &str = "PUT /api/v1/org/{public_id}";

/// The endpoint on orgmint's pipeline.
pub type Datadog = Update;

pub struct Update;

/// What the PUT changes: the fields of the Organization sent (`name`, `description`, `settings`).
pub struct Changes {
    pub public_id: String,
    pub name: Option<String>,
    pub fields: Map<String, Value>,
}

/// The body: a JSON object; `name` as a create checks it; `description` a string; `settings` an object.
pub fn changes(public_id: String, bytes: &[u8]) -> Result<Changes, Vec<String>> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(vec!["Request body must be a JSON object (an Organization)".to_owned()]);
    };
    let mut problems = Vec::new();
    let name = match fields.get("name") {
        None | Some(Value::Null) => None,
        Some(_) => checked_name(&fields).map_err(|p| problems.push(p)).ok(),
    };
    if fields.get("description").is_some_and(|d| !d.is_string() && !d.is_null()) {
        problems.push("'description' must be a string".to_owned());
    }
    if fields.get("settings").is_some_and(|s| !s.is_object() && !s.is_null()) {
        problems.push("'settings' must be an object".to_owned());
    }
    match problems.is_empty() {
        true => Ok(Changes { public_id, name, fields }),
        false => Err(problems),
    }
}

impl Operation for Update {
    type Dialect = DatadogApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: bool = true;
    const IDEMPOTENT: bool = true;
    type Input = Changes;

    fn parse(req: &Request, _call: &Call) -> Result<Changes, Response<Body>> {
        let bytes = datadog_api::json_body(req)?;
        changes(datadog_api::public_id(req), bytes)
            .map_err(|problems| with_code(all_errors(StatusCode::BAD_REQUEST, &problems), "invalid"))
    }

    async fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Credential>,
        changes: Changes,
    ) -> Result<Response<Body>, Response<Body>> {
        let tenant = &found.caller.tenant;
        let key = found.idempotency.key.as_ref();
        let answer = |org: &Org| {
            let doc: Value = serde_json::from_str(&org.doc).unwrap_or(Value::Null);
            (StatusCode::OK, json!({ "org": doc }))
        };
        let updated = lambda::update_once(
            store,
            (tenant, tenant, &changes.public_id),
            |org| {
                let mut doc: Value = serde_json::from_str(&org.doc).unwrap_or_else(|_| json!({}));
                if let Some(name) = &changes.name {
                    doc["name"] = json!(name);
                }
                if let Some(Value::String(description)) = changes.fields.get("description") {
                    doc["description"] = json!(description);
                }
                if let Some(Value::Object(settings)) = changes.fields.get("settings") {
                    // Settings merge: what is sent replaces, what is not stays.
                    let current = doc["settings"].as_object().cloned().unwrap_or_default();
                    let mut merged = current;
                    merged.extend(settings.clone());
                    doc["settings"] = Value::Object(merged);
                }
                let name = changes.name.clone().unwrap_or_else(|| org.name.clone());
                OrgChange { name, slug: org.slug.clone(), doc: doc.to_string() }
            },
            key,
            call.now_ms,
            answer,
        )
        .await
        .map_err(datadog_api::domain_error)?;
        // Not found (Datadog's orgs have no slug to be taken).
        updated.map_err(|_| datadog_api::not_found())
    }
}
