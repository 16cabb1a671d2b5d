//! Devin's `GET /v2/enterprise/organizations?skip&limit`: the enterprise's organizations, oldest first, as
//! `{"items": […], "has_more", "total", "skip", "limit", "next_cursor"}` (`limit` 1–200, default 100; `skip`
//! ≥ 0). One `Query` of the enterprise's partition (every page, with the SDK's paginator).

use devin_api::pydantic::{bounded, lax_int};
use devin_api::DevinApi;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use orgmint::lambda::{self, Call};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Credential, Store};
use serde_json::{json, Value};

pub const ROUTE: &str = "GET /v2/enterprise/organizations";
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 200;

/// The endpoint on orgmint's pipeline.
pub type Devin = List;

pub struct List;

/// The page asked for.
pub struct Page {
    pub skip: usize,
    pub limit: usize,
}

/// `skip` and `limit` from the query, as FastAPI's query parameters validate (every problem at once).
pub fn page(req: &Request) -> Result<Page, Vec<Value>> {
    let query = req.query_string_parameters_ref();
    let param = |name: &str, default: i64, ge: i64, le: Option<i64>| {
        let Some(raw) = query.and_then(|q| q.first(name)) else { return Ok(default) };
        let input = Value::from(raw);
        let loc = json!(["query", name]);
        lax_int(&input, loc.clone()).and_then(|value| bounded(value, &input, loc, ge, le))
    };
    let (skip, limit) = (param("skip", 0, 0, None), param("limit", DEFAULT_LIMIT, 1, Some(MAX_LIMIT)));
    match (skip, limit) {
        (Ok(skip), Ok(limit)) => Ok(Page { skip: skip as usize, limit: limit as usize }),
        (skip, limit) => Err([skip.err(), limit.err()].into_iter().flatten().collect()),
    }
}

impl Operation for List {
    type Dialect = DevinApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: &'static str = "Enterprise admin permissions are required to list organizations";
    type Input = Page;

    fn parse(req: &Request, _call: &Call) -> Result<Page, Response<Body>> {
        page(req).map_err(devin_api::validation_error)
    }

    async fn act(
        store: &Store,
        _call: &Call,
        found: &Authenticated<Credential>,
        page: Page,
    ) -> Result<Response<Body>, Response<Body>> {
        let mut orgs = store.orgs(&found.caller.tenant).await.map_err(devin_api::domain_error)?;
        orgs.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.id.cmp(&b.id)));
        let total = orgs.len();
        let items: Vec<Value> = orgs
            .iter()
            .skip(page.skip)
            .take(page.limit)
            .map(|org| {
                serde_json::from_str(&org.doc)
                    .unwrap_or_else(|_| json!({"org_id": org.id, "org_name": org.name}))
            })
            .collect();
        let end = page.skip.saturating_add(items.len());
        let has_more = end < total;
        let body = json!({
            "items": items,
            "has_more": has_more,
            "total": total,
            "skip": page.skip,
            "limit": page.limit,
            "next_cursor": if has_more { json!(end) } else { Value::Null },
        });
        Ok(lambda::json_response(StatusCode::OK, &body))
    }
}
