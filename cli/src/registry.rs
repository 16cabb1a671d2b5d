//! Every vendor orgmint serves, in one table: its function (the crate, binary and template name), its
//! route, and its real handler. The CLI, the tests and the bench read vendors from here; a new vendor is
//! one row and one arm of [`handler`].

use lambda_http::{Body, Request, Response};
use orgmint::pipeline::Endpoint;
use orgmint::{pipeline, Store, Vendor};

/// One vendor's endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    pub vendor: Vendor,
    /// The crate, its binary and the function in `infra/template.yaml`.
    pub name: &'static str,
    /// `METHOD /path`, as the router and the log line name it.
    pub route: &'static str,
}

/// Every vendor's function, in name order.
pub const FUNCTIONS: [Function; 4] = [
    row::<calcom_create_managed_organization::Calcom>(),
    row::<clerk_create_organization::Clerk>(),
    row::<datadog_create_child_org::Datadog>(),
    row::<devin_create_enterprise_organization::Devin>(),
];

/// Every other endpoint (Clerk's Frontend API around its create: what clerk-js calls; the organization
/// lifecycle), in name order.
pub const ENDPOINTS: [Function; 20] = [
    row::<calcom_delete_managed_organization::Calcom>(),
    row::<calcom_get_managed_organization::Calcom>(),
    row::<calcom_list_managed_organizations::Calcom>(),
    row::<calcom_update_managed_organization::Calcom>(),
    row::<clerk_create_session_token::Clerk>(),
    row::<clerk_delete_organization::Clerk>(),
    row::<clerk_get_client::Clerk>(),
    row::<clerk_get_environment::Clerk>(),
    row::<clerk_get_jwks::Clerk>(),
    row::<clerk_get_organization::Clerk>(),
    row::<clerk_list_memberships::Clerk>(),
    Function {
        vendor: Vendor::Clerk,
        name: clerk_override_organization::NAMED.function,
        route: clerk_override_organization::ROUTE,
    },
    row::<clerk_touch_session::Clerk>(),
    row::<clerk_update_organization::Clerk>(),
    row::<datadog_get_org::Datadog>(),
    row::<datadog_list_orgs::Datadog>(),
    row::<datadog_update_org::Datadog>(),
    row::<devin_delete_enterprise_organization::Devin>(),
    row::<devin_list_enterprise_organizations::Devin>(),
    row::<devin_update_enterprise_organization::Devin>(),
];

/// The registry's row of an endpoint: what its crate says of itself.
const fn row<E: Endpoint>() -> Function {
    Function { vendor: E::VENDOR, name: E::FUNCTION, route: E::ROUTE }
}

/// The function of `vendor`.
pub fn function(vendor: Vendor) -> &'static Function {
    FUNCTIONS.iter().find(|f| f.vendor == vendor).expect("every vendor has a function")
}

/// `vendor`'s real handler, as the Lambda runtime calls it (request id, deadline, round trips, log line
/// around the pipeline). Boxed: handler futures are large, and callers run many on spawned tasks.
pub async fn handler(vendor: Vendor, store: &'static Store, req: Request) -> Response<Body> {
    use pipeline::handler as piped;
    match vendor {
        Vendor::Calcom => Box::pin(piped::<calcom_create_managed_organization::Calcom>(store, req)).await,
        Vendor::Clerk => Box::pin(piped::<clerk_create_organization::Clerk>(store, req)).await,
        Vendor::Datadog => Box::pin(piped::<datadog_create_child_org::Datadog>(store, req)).await,
        Vendor::Devin => Box::pin(piped::<devin_create_enterprise_organization::Devin>(store, req)).await,
    }
}

/// The real handler of one of [`ENDPOINTS`] by its function name; `None` for another name.
pub async fn endpoint_handler(name: &str, store: &'static Store, req: Request) -> Option<Response<Body>> {
    use pipeline::handler as piped;
    Some(match name {
        "calcom-delete-managed-organization" => {
            Box::pin(piped::<calcom_delete_managed_organization::Calcom>(store, req)).await
        }
        "calcom-get-managed-organization" => {
            Box::pin(piped::<calcom_get_managed_organization::Calcom>(store, req)).await
        }
        "calcom-list-managed-organizations" => {
            Box::pin(piped::<calcom_list_managed_organizations::Calcom>(store, req)).await
        }
        "calcom-update-managed-organization" => {
            Box::pin(piped::<calcom_update_managed_organization::Calcom>(store, req)).await
        }
        "clerk-create-session-token" => {
            Box::pin(piped::<clerk_create_session_token::Clerk>(store, req)).await
        }
        "clerk-delete-organization" => Box::pin(piped::<clerk_delete_organization::Clerk>(store, req)).await,
        "clerk-get-client" => Box::pin(piped::<clerk_get_client::Clerk>(store, req)).await,
        "clerk-get-organization" => Box::pin(piped::<clerk_get_organization::Clerk>(store, req)).await,
        "clerk-list-memberships" => Box::pin(piped::<clerk_list_memberships::Clerk>(store, req)).await,
        "clerk-override-organization" => Box::pin(clerk_override_organization::handler(store, req)).await,
        "clerk-update-organization" => Box::pin(piped::<clerk_update_organization::Clerk>(store, req)).await,
        "clerk-get-environment" => Box::pin(piped::<clerk_get_environment::Clerk>(store, req)).await,
        "clerk-get-jwks" => Box::pin(piped::<clerk_get_jwks::Clerk>(store, req)).await,
        "clerk-touch-session" => Box::pin(piped::<clerk_touch_session::Clerk>(store, req)).await,
        "datadog-get-org" => Box::pin(piped::<datadog_get_org::Datadog>(store, req)).await,
        "datadog-list-orgs" => Box::pin(piped::<datadog_list_orgs::Datadog>(store, req)).await,
        "datadog-update-org" => Box::pin(piped::<datadog_update_org::Datadog>(store, req)).await,
        "devin-delete-enterprise-organization" => {
            Box::pin(piped::<devin_delete_enterprise_organization::Devin>(store, req)).await
        }
        "devin-list-enterprise-organizations" => {
            Box::pin(piped::<devin_list_enterprise_organizations::Devin>(store, req)).await
        }
        "devin-update-enterprise-organization" => {
            Box::pin(piped::<devin_update_enterprise_organization::Devin>(store, req)).await
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_exactly_one_function_whose_route_is_its_crates() {
        for vendor in [Vendor::Calcom, Vendor::Clerk, Vendor::Datadog, Vendor::Devin] {
            assert_eq!(FUNCTIONS.iter().filter(|f| f.vendor == vendor).count(), 1, "{vendor}");
            assert!(function(vendor).name.starts_with(vendor.as_str()), "{vendor}");
        }
        let mut names: Vec<_> = FUNCTIONS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        assert_eq!(names, FUNCTIONS.iter().map(|f| f.name).collect::<Vec<_>>(), "name order");
        let mut names: Vec<_> = ENDPOINTS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        assert_eq!(names, ENDPOINTS.iter().map(|f| f.name).collect::<Vec<_>>(), "name order");
    }
}
