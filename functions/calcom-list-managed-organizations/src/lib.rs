//! Cal.com's `GET /v2/organizations/{orgId}/organizations`: the organizations the manager `{orgId}` manages,
//! in id order, `skip` (≥ 0, default 0) and `take` (1–250, default 250) of them, filtered by `slug` and by
//! `metadataKey` + `metadataValue` (both, or neither is applied), as `{"status": "success", "data": […],
//! "pagination": {…}}` — Cal.com's `getPagination` meta. The guards are the create's with the PBAC
//! permission `organization.read`; the query is validated as Cal.com's `SkipTakePagination` (class-validator
//! after `parseInt`). One `Query` of the manager's partition after authentication (the SDK's paginator).

use calcom_api::validator::{Invalid, Problem};
use calcom_api::{CalcomApi, Caller, Ctx, Needs, ORGANIZATION_READ};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::{Org, Store};
use serde_json::{json, Value};

pub const ROUTE: &str = "GET /v2/organizations/{orgId}/organizations";
/// `SkipTakePagination`'s default and largest `take`.
pub const DEFAULT_TAKE: u64 = 250;

/// The endpoint on orgmint's pipeline.
pub type Calcom = List;

pub struct List;

/// The query, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub skip: u64,
    pub take: u64,
    pub slug: Option<String>,
    /// `metadataKey` and `metadataValue`, when both are given (not empty).
    pub metadata: Option<(String, String)>,
}

/// JavaScript's `parseInt(value)`: leading blanks, a sign, then digits up to the first non-digit (`0x`
/// reads hex); `None` (NaN) when there are none.
pub fn parse_int(raw: &str) -> Option<f64> {
    let text = raw.trim_start();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, text) = match text.get(..2) {
        Some("0x" | "0X") => (16, &text[2..]),
        _ => (10, text),
    };
    let digits: Vec<u32> = text.chars().map_while(|c| c.to_digit(radix)).collect();
    if digits.is_empty() {
        return None;
    }
    let value = digits.iter().fold(0f64, |acc, d| acc * f64::from(radix) + f64::from(*d));
    Some(if negative { -value } else { value })
}

/// `@Transform(value ? parseInt(value) : default) @IsNumber() @Min(min) @Max(max?)`: the number, or its
/// problem with every constraint it breaks.
fn paging_number(
    name: &'static str,
    raw: Option<&str>,
    default: u64,
    min: u64,
    max: Option<u64>,
) -> Result<u64, Problem> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Ok(default) };
    let number = parse_int(raw);
    let mut broken = Vec::new();
    if number.is_none() {
        broken.push(("isNumber", format!("{name} must be a number conforming to the specified constraints")));
    }
    // NaN is neither at least nor at most anything.
    if !number.is_some_and(|n| n >= min as f64) {
        broken.push(("min", format!("{name} must not be less than {min}")));
    }
    if let Some(max) = max {
        if !number.is_some_and(|n| n <= max as f64) {
            broken.push(("max", format!("{name} must not be greater than {max}")));
        }
    }
    match number {
        Some(n) if broken.is_empty() => Ok(n as u64),
        // JSON has no NaN: Cal.com's filter prints it as null, which `value` leaves out.
        _ => Err(Problem::new(name, number.map(Value::from).as_ref(), &broken)),
    }
}

/// The query as Cal.com's `GetManagedOrganizationsInput_2024_08_13` validates it (every problem at once).
pub fn page(query: impl Fn(&str) -> Option<String>) -> Result<Page, Invalid> {
    let take = paging_number("take", query("take").as_deref(), DEFAULT_TAKE, 1, Some(DEFAULT_TAKE));
    let skip = paging_number("skip", query("skip").as_deref(), 0, 0, None);
    let filter = |name| query(name).filter(|v| !v.is_empty());
    let metadata = filter("metadataKey").zip(filter("metadataValue"));
    match (skip, take) {
        (Ok(skip), Ok(take)) => Ok(Page { skip, take, slug: query("slug"), metadata }),
        (skip, take) => Err(Invalid::Constraints([take.err(), skip.err()].into_iter().flatten().collect())),
    }
}

/// Whether `org` passes the page's filters: its slug equal to `slug`, its metadata's `key` the string
/// `value` (as Prisma's JSON path filter compares).
fn matches(page: &Page, org: &Org) -> bool {
    let slug_ok = page.slug.as_ref().is_none_or(|slug| org.slug.as_ref() == Some(slug));
    let metadata_ok = page.metadata.as_ref().is_none_or(|(key, value)| {
        let doc: Value = serde_json::from_str(&org.doc).unwrap_or(Value::Null);
        doc["metadata"][key.as_str()].as_str() == Some(value.as_str())
    });
    slug_ok && metadata_ok
}

/// Cal.com's `getPagination`, word for word.
pub fn pagination(skip: u64, take: u64, total: u64) -> Value {
    let safe_skip = skip.min(total);
    let total_pages = if take == 0 { 0 } else { total.div_ceil(take) };
    let current_page = if total_pages == 0 { 0 } else { (safe_skip / take + 1).clamp(1, total_pages) };
    json!({
        "returnedItems": total.saturating_sub(safe_skip).min(take),
        "totalItems": total,
        "itemsPerPage": take,
        "remainingItems": total.saturating_sub(safe_skip + take),
        "currentPage": current_page,
        "totalPages": total_pages,
        "hasNextPage": safe_skip + take < total,
        "hasPreviousPage": safe_skip > 0,
    })
}

impl Operation for List {
    type Dialect = CalcomApi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { permission: ORGANIZATION_READ, managed_org: false };
    type Input = Result<Page, Invalid>;

    /// The query is a pipe's: refused after the guards, in `act`.
    fn parse(req: &Request, _ctx: &Ctx) -> Result<Self::Input, Response<Body>> {
        let query = req.query_string_parameters_ref().cloned();
        Ok(page(|name| query.as_ref().and_then(|q| q.first(name)).map(str::to_owned)))
    }

    async fn act(
        store: &Store,
        ctx: &Ctx,
        found: &Authenticated<Caller>,
        page: Self::Input,
    ) -> Result<Response<Body>, Response<Body>> {
        let page = page.map_err(|invalid| calcom_api::invalid_body(ctx, invalid))?;
        let manager = &found.caller.credential.tenant;
        let mut orgs = store.orgs(manager).await.map_err(|e| calcom_api::domain_error(e, ctx))?;
        orgs.retain(|org| matches(&page, org));
        // Cal.com orders by the managed organization's id (a number).
        orgs.sort_by_key(|org| (org.id.parse::<u64>().unwrap_or(u64::MAX), org.id.clone()));
        let total = orgs.len() as u64;
        let data: Vec<Value> = orgs
            .iter()
            .skip(usize::try_from(page.skip).unwrap_or(usize::MAX))
            .take(page.take as usize)
            .map(calcom_api::managed_org)
            .collect();
        let body = json!({
            "status": "success",
            "data": data,
            "pagination": pagination(page.skip, page.take, total),
        });
        Ok(orgmint::lambda::json_response(StatusCode::OK, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<Page, Invalid> {
        page(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    fn broken(pairs: &[(&str, &str)]) -> Vec<(&'static str, Vec<&'static str>)> {
        match query(pairs) {
            Err(Invalid::Constraints(problems)) => problems
                .iter()
                .map(|p| (p.property, p.constraints.iter().map(|(c, _)| *c).collect()))
                .collect(),
            other => panic!("{pairs:?}: {other:?}"),
        }
    }

    #[test]
    fn parse_int_reads_as_javascript_does() {
        assert_eq!(parse_int("12"), Some(12.0));
        assert_eq!(parse_int("  12abc"), Some(12.0));
        assert_eq!(parse_int("1.9"), Some(1.0));
        assert_eq!(parse_int("1e3"), Some(1.0));
        assert_eq!(parse_int("-3"), Some(-3.0));
        assert_eq!(parse_int("0x10"), Some(16.0));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int("-"), None);
    }

    #[test]
    fn defaults_filters_and_each_broken_constraint() {
        let page = query(&[]).unwrap();
        assert_eq!((page.skip, page.take, page.slug, page.metadata), (0, 250, None, None));
        // Empty values are the defaults (`value ? … : default`).
        assert_eq!(query(&[("take", ""), ("skip", "")]).unwrap().take, 250);
        assert_eq!(query(&[("take", "10abc"), ("skip", "3")]).unwrap().take, 10);
        // A metadata filter needs both halves; one alone is not applied.
        assert_eq!(query(&[("metadataKey", "k")]).unwrap().metadata, None);
        assert_eq!(
            query(&[("metadataKey", "k"), ("metadataValue", "v")]).unwrap().metadata,
            Some(("k".into(), "v".into()))
        );
        assert_eq!(broken(&[("take", "0")]), [("take", vec!["min"])]);
        assert_eq!(broken(&[("take", "251")]), [("take", vec!["max"])]);
        assert_eq!(broken(&[("take", "x")]), [("take", vec!["isNumber", "min", "max"])]);
        assert_eq!(broken(&[("skip", "-1")]), [("skip", vec!["min"])]);
        assert_eq!(
            broken(&[("skip", "x"), ("take", "0")]),
            [("take", vec!["min"]), ("skip", vec!["isNumber", "min"])]
        );
    }

    #[test]
    fn pagination_is_cal_coms_get_pagination() {
        assert_eq!(
            pagination(10, 10, 123),
            json!({"returnedItems": 10, "totalItems": 123, "itemsPerPage": 10, "remainingItems": 103,
                   "currentPage": 2, "totalPages": 13, "hasNextPage": true, "hasPreviousPage": true})
        );
        assert_eq!(
            pagination(0, 250, 0),
            json!({"returnedItems": 0, "totalItems": 0, "itemsPerPage": 250, "remainingItems": 0,
                   "currentPage": 0, "totalPages": 0, "hasNextPage": false, "hasPreviousPage": false})
        );
        // Past the end: the last page, nothing returned.
        assert_eq!(pagination(50, 10, 25)["currentPage"], 3);
        assert_eq!(pagination(50, 10, 25)["returnedItems"], 0);
        assert_eq!(pagination(20, 10, 25)["returnedItems"], 5);
    }
}
