//! Clerk's Frontend API `GET /v1/environment`: the instance's settings as clerk-js loads them first —
//! `auth_config`, `display_config`, `user_settings`, `organization_settings` and the rest, each complete
//! as the FAPI document defines it (clerk-js breaks on half objects). The instance is the client token's;
//! the session need not be active.

use std::sync::OnceLock;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use clerk_fapi::objects::derived_id;
use clerk_fapi::{Fapi, Needs, Signed, ATTR_MAX_MEMBERSHIPS, DEFAULT_MAX_MEMBERSHIPS, ORGANIZATIONS};
use orgmint::lambda::{self, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Store, Tenant};
use serde_json::{json, Value};

pub const ROUTE: &str = "GET /v1/environment";

/// The endpoint on orgmint's pipeline.
pub type Clerk = GetEnvironment;

pub struct GetEnvironment;

/// Every instance's environment before its own settings: a development instance signing in by email
/// code or password, one session per client, organizations with admin delete (the FAPI document's
/// objects, every required field present).
const TEMPLATE: &str = include_str!("environment.json");

/// The environment of `instance`.
pub fn environment(instance: &Tenant) -> Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    let mut env =
        PARSED.get_or_init(|| serde_json::from_str(TEMPLATE).expect("the template is JSON")).clone();
    let id = &instance.tenant.id;
    env["auth_config"]["id"] = json!(derived_id("aac_", &[id, "auth_config"]));
    env["display_config"]["id"] = json!(derived_id("display_config_", &[id, "display_config"]));
    env["display_config"]["application_name"] = json!(instance.name);
    let max_memberships = instance
        .attributes
        .get(ATTR_MAX_MEMBERSHIPS)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_MAX_MEMBERSHIPS);
    let settings = &mut env["organization_settings"];
    settings["enabled"] = json!(instance.features.iter().any(|f| f == ORGANIZATIONS));
    settings["max_allowed_memberships"] = json!(max_memberships);
    env
}

impl Operation for GetEnvironment {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: false, orgs: false, answers_signed_out: false };
    type Input = ();

    fn parse(_req: &Request, _call: &Call) -> Result<(), Response<Body>> {
        Ok(())
    }

    async fn act(
        _store: &Store,
        _call: &Call,
        found: &Authenticated<Signed>,
        _input: (),
    ) -> Result<Response<Body>, Response<Body>> {
        Ok(lambda::json_response(StatusCode::OK, &environment(&found.caller.instance)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgmint::{TenantRef, Vendor};

    #[test]
    fn the_instance_sets_its_name_organizations_and_memberships() {
        let mut instance = Tenant::new(TenantRef::new(Vendor::Clerk, "ins_1"), "Acme", 100, 0);
        let env = environment(&instance);
        assert_eq!(env["display_config"]["application_name"], "Acme");
        assert_eq!(env["organization_settings"]["enabled"], false);
        assert_eq!(env["organization_settings"]["max_allowed_memberships"], DEFAULT_MAX_MEMBERSHIPS);
        instance.features.push(ORGANIZATIONS.into());
        instance.attributes.insert(ATTR_MAX_MEMBERSHIPS.into(), "7".into());
        let env = environment(&instance);
        assert_eq!(env["organization_settings"]["enabled"], true);
        assert_eq!(env["organization_settings"]["max_allowed_memberships"], 7);
        for object in ["auth_config", "display_config", "user_settings", "organization_settings"] {
            assert!(env[object].is_object(), "{object}");
        }
    }
}
