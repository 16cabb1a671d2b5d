//! API Gateway v2 events aimed at a request path, for the tests and the bench, which drive the functions
//! with the events under `events/`.

use serde_json::{Map, Value};

/// Points `event` at `path_and_query` (`/v1/organizations?_is_native=1`): `rawPath` and the context's
/// path, and the query as API Gateway gives it, `rawQueryString` and `queryStringParameters` (a
/// repeated key's values joined by commas).
pub fn aim(event: &mut Value, path_and_query: &str) {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    event["rawPath"] = Value::from(path);
    event["requestContext"]["http"]["path"] = Value::from(path);
    event["rawQueryString"] = Value::from(query);
    let mut params: Map<String, Value> = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let joined = match params.get(key.as_ref()).and_then(Value::as_str) {
            Some(before) => format!("{before},{value}"),
            None => value.into_owned(),
        };
        params.insert(key.into_owned(), Value::from(joined));
    }
    if let Some(event) = event.as_object_mut() {
        match params.is_empty() {
            true => event.remove("queryStringParameters"),
            false => event.insert("queryStringParameters".into(), Value::Object(params)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_query_goes_where_api_gateway_puts_it() {
        let mut event = json!({"rawPath": "/x", "requestContext": {"http": {"path": "/x"}}, "queryStringParameters": {"a": "1"}});
        aim(&mut event, "/v1/organizations?_is_native=1&k=a&k=b%20c");
        assert_eq!(event["rawPath"], "/v1/organizations");
        assert_eq!(event["requestContext"]["http"]["path"], "/v1/organizations");
        assert_eq!(event["rawQueryString"], "_is_native=1&k=a&k=b%20c");
        assert_eq!(event["queryStringParameters"], json!({"_is_native": "1", "k": "a,b c"}));
        aim(&mut event, "/api/v1/org");
        assert_eq!(
            (event["rawPath"].as_str(), event["rawQueryString"].as_str()),
            (Some("/api/v1/org"), Some(""))
        );
        assert!(event.get("queryStringParameters").is_none());
    }
}
