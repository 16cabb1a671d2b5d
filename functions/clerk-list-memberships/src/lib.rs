//! Clerk's Frontend API `GET /v1/me/organization_memberships?limit&offset&paginated`: the user's memberships
//! (newest first, as the client lists them) with the client; `paginated=true` answers
//! `{"data": […], "total_count"}`, else the array (`limit` 1–500, default 10; `offset` ≥ 0). One round trip.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use clerk_fapi::{enveloped, errors, objects, Fapi, Needs, Signed};
use orgmint::lambda::Call;
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::Store;
use serde_json::{json, Value};

pub const ROUTE: &str = "GET /v1/me/organization_memberships";
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 500;

/// The endpoint on orgmint's pipeline.
pub type Clerk = ListMemberships;

pub struct ListMemberships;

pub struct Page {
    pub limit: usize,
    pub offset: usize,
    pub paginated: bool,
}

impl Operation for ListMemberships {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, answers_signed_out: false };
    type Input = Page;

    fn parse(req: &Request, call: &Call) -> Result<Page, Response<Body>> {
        let query = req.query_string_parameters_ref();
        let get = |name: &str| query.and_then(|q| q.first(name));
        let invalid = |param: &str, long: &str| {
            errors::errors(
                call,
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![errors::param_error("form_param_value_invalid", param, "is invalid", long)],
                "form_param_value_invalid",
            )
        };
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => {
                raw.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                    invalid("limit", &format!("limit must be an integer from 1 to {MAX_LIMIT}."))
                })?
            }
        };
        let offset = match get("offset") {
            None => 0,
            Some(raw) => raw
                .parse::<usize>()
                .map_err(|_| invalid("offset", "offset must be an integer of 0 or more."))?,
        };
        let paginated = match get("paginated") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid("paginated", "paginated must be true or false.")),
        };
        Ok(Page { limit, offset, paginated })
    }

    async fn act(
        _store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        page: Page,
    ) -> Result<Response<Body>, Response<Body>> {
        let signed = &found.caller;
        let user = objects::user(&signed.account, signed.user_id(), &signed.orgs);
        let all = user["organization_memberships"].as_array().cloned().unwrap_or_default();
        let data: Vec<Value> = all.iter().skip(page.offset).take(page.limit).cloned().collect();
        let response = match page.paginated {
            true => json!({"data": data, "total_count": all.len()}),
            false => Value::Array(data),
        };
        Ok(enveloped(response, objects::client(signed, call.now_ms)))
    }
}
