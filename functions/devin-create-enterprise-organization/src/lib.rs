//! Devin's `POST /v2/enterprise/organizations`: its dialect (`devin_api`) over orgmint's capped create.

mod validate;

use std::future::Future;

use devin_api::DevinApi;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, BodyProblem, Call};
use orgmint::pipeline::{self, Authenticated, Minted, Mints, Operation};
use orgmint::{Credential, Member, NewOrg, Org, RateWindow, Store};
use serde_json::{json, Value};

pub use devin_api::{API_KEY, API_KEY_PREFIX, ENTERPRISE_ADMIN};
pub use validate::{validate, EnterpriseOrgCreate};

pub const ROUTE: &str = "POST /v2/enterprise/organizations";

/// The endpoint on orgmint's pipeline.
pub type Devin = Create;

/// The handler as the Lambda runtime and the tests call it: request id, round trips and the log line
/// around the pipeline.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Create>(store, req).await
}

/// `POST /v2/enterprise/organizations`.
pub struct Create;

impl Operation for Create {
    type Dialect = DevinApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: &'static str = "Enterprise admin permissions are required to create organizations";
    const IDEMPOTENT: bool = true;
    type Input = EnterpriseOrgCreate;

    fn parse(req: &Request, _call: &Call) -> Result<EnterpriseOrgCreate, Response<Body>> {
        let (bytes, _) = lambda::body(req, false).map_err(|problem| match problem {
            BodyProblem::TooLarge => devin_api::too_large(),
            BodyProblem::UnsupportedType(_) => devin_api::validation_error(vec![validate::not_an_object(
                Value::String(String::from_utf8_lossy(req.body().as_ref()).into_owned()),
            )]),
        })?;
        validate(bytes).map_err(devin_api::validation_error)
    }

    fn act(
        store: &Store,
        call: &Call,
        found: &Authenticated<Credential>,
        input: EnterpriseOrgCreate,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send {
        pipeline::create_org::<Self>(store, call, found, input)
    }
}

impl Mints for Create {
    fn mint(
        call: &Call,
        caller: &Credential,
        input: &EnterpriseOrgCreate,
        rate: &RateWindow,
        _attempt: u32,
    ) -> Minted {
        let org_id = format!("org-{}", orgmint::ids::random_hex(32));
        let members = u64::from(input.add_creator_as_member);
        let answer = json!({
            "org_id": org_id,
            "org_name": input.display_name,
            "created_at": orgmint::clock::rfc3339(call.now_ms),
            "max_cycle_acu_limit": input.acu_limit,
            "max_session_acu_limit": Value::Null,
            "org_admin_count": members,
            "org_member_count": members,
            "org_user_count": members,
        });
        let new = NewOrg {
            tenant: caller.tenant.clone(),
            slug_scope: None,
            org: Org {
                id: org_id,
                name: input.display_name.clone(),
                slug: None,
                created_ms: call.now_ms,
                doc: answer.to_string(),
            },
            members: if input.add_creator_as_member {
                vec![Member { principal: caller.principal.clone(), role: "admin".to_owned() }]
            } else {
                Vec::new()
            },
            credentials: Vec::new(),
            child_tenant: None,
            rate: Some(rate.clone()),
            idempotency: None,
        };
        Minted { new, status: StatusCode::OK, answer }
    }
}
