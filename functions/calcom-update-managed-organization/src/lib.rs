//! Cal.com's `PATCH /v2/organizations/{orgId}/organizations/{managedOrganizationId}`: `name` and/or `metadata`
//! (which replaces the stored metadata whole) of an organization the manager manages; 200 `{"status":
//! "success", "data": {id, name, slug, metadata?}}`. Cal.com's `UpdateOrganizationInput` strips anything
//! else (`slug` included). The guards are the create's with the PBAC permission `organization.update`, then
//! IsManagedOrgInManagerOrg's 404, then the body's constraints (guards run before pipes). The org is read
//! and written back on condition it did not change in between, with the `Idempotency-Key`'s record.

use calcom_api::validator::{self, object_body, Invalid};
use calcom_api::{CalcomApi, Caller, Ctx, Needs, ORGANIZATION_UPDATE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda;
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::store::OrgChange;
use orgmint::{Org, Store};
use serde_json::{json, Map, Value};

pub const ROUTE: &str = "PATCH /v2/organizations/{orgId}/organizations/{managedOrganizationId}";

/// The endpoint on orgmint's pipeline.
pub type Calcom = Update;

pub struct Update;

/// What the PATCH changes: each `None` when not sent (or `null`, which class-validator skips).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

/// The body as `ValidationPipe` validates `UpdateOrganizationInput`.
pub fn changes(fields: &Map<String, Value>) -> Result<Changes, Invalid> {
    let given = |name: &str| fields.get(name).filter(|v| !v.is_null());
    let mut problems = Vec::new();
    let name = given("name").and_then(|v| validator::name(Some(v)).map_err(|p| problems.push(p)).ok());
    let metadata = given("metadata").and_then(|v| validator::metadata(v).map_err(|p| problems.push(p)).ok());
    match problems.is_empty() {
        true => Ok(Changes { name, metadata }),
        false => Err(Invalid::Constraints(problems)),
    }
}

impl Operation for Update {
    type Dialect = CalcomApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { permission: ORGANIZATION_UPDATE, managed_org: false };
    const IDEMPOTENT: bool = true;
    type Input = Result<Changes, Invalid>;

    /// Express's body parser (size, type, JSON) runs before the guards and refuses here; the constraints
    /// are a pipe's, judged in `act` after the managed-org guard.
    fn parse(req: &Request, ctx: &Ctx) -> Result<Self::Input, Response<Body>> {
        let fields = calcom_api::validated(req, ctx, object_body)?;
        Ok(changes(&fields))
    }

    async fn act(
        store: &Store,
        ctx: &Ctx,
        found: &Authenticated<Caller>,
        changes: Self::Input,
    ) -> Result<Response<Body>, Response<Body>> {
        let (id, manager) = calcom_api::managed(ctx, found)?;
        let refuse = |e| calcom_api::domain_error(e, ctx);
        let changes = match changes {
            Ok(changes) => changes,
            // IsManagedOrgInManagerOrg judges first: a body refused for an org not managed here is a 404.
            Err(invalid) => {
                store.org(manager, &id).await.map_err(refuse)?.ok_or_else(|| calcom_api::not_managed(ctx))?;
                return Err(calcom_api::invalid_body(ctx, invalid));
            }
        };
        let change = |org: &Org| {
            let mut doc = calcom_api::managed_org(org);
            let name = changes.name.clone().unwrap_or_else(|| org.name.clone());
            doc["name"] = json!(name);
            if let Some(metadata) = &changes.metadata {
                doc["metadata"] = Value::Object(metadata.clone());
            }
            OrgChange { name, slug: org.slug.clone(), doc: doc.to_string() }
        };
        let answer = |org: &Org| (StatusCode::OK, calcom_api::success_body(calcom_api::managed_org(org)));
        let key = found.idempotency.key.as_ref();
        lambda::update_once(store, (manager, manager, &id), change, key, ctx.now_ms, answer)
            .await
            .map_err(refuse)?
            // The slug does not change: only "not managed here" is left.
            .map_err(|_| calcom_api::not_managed(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: Value) -> Map<String, Value> {
        body.as_object().unwrap().clone()
    }

    #[test]
    fn name_and_metadata_as_class_validator_reads_them_and_the_rest_is_stripped() {
        let all = changes(&fields(json!({"name": "N", "metadata": {"k": 1}, "slug": "ignored"}))).unwrap();
        assert_eq!(all.name.as_deref(), Some("N"));
        assert_eq!(all.metadata, Some(fields(json!({"k": 1}))));
        assert_eq!(changes(&fields(json!({"name": null, "metadata": null}))).unwrap(), Changes::default());
        let Err(Invalid::Constraints(problems)) = changes(&fields(json!({"name": "", "metadata": "s"})))
        else {
            panic!()
        };
        let broken: Vec<_> = problems
            .iter()
            .map(|p| (p.property, p.constraints.iter().map(|c| c.0).collect::<Vec<_>>()))
            .collect();
        assert_eq!(broken, [("name", vec!["isLength"]), ("metadata", vec!["isObject", "ValidateMetadata"])]);
    }
}
