//! `OrganizationCreateBody` validated strictly, each problem one string of Datadog's `errors` array.

use serde_json::{Map, Value};

/// At most this many characters (Unicode scalar values) in a child organization's name.
pub const NAME_MAX_CHARS: usize = 32;
pub const BILLING_TYPES: [&str; 1] = ["parent_billing"];
pub const SUBSCRIPTION_TYPES: [&str; 3] = ["trial", "free", "pro"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationCreateBody {
    pub name: String,
    pub billing_type: String,
    pub subscription_type: String,
}

/// Parses and validates a request body; `Err` holds the messages of a 400.
pub fn validate(bytes: &[u8]) -> Result<OrganizationCreateBody, Vec<String>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec!["Request body is required: a JSON object with a 'name'".to_owned()]);
    }
    let body: Value = serde_json::from_slice(bytes).map_err(|e| vec![format!("Invalid JSON: {e}")])?;
    let Value::Object(fields) = body else {
        return Err(vec!["Request body must be a JSON object".to_owned()]);
    };
    let mut errors = Vec::new();
    let name = name(&fields).map_err(|e| errors.push(e)).ok();
    let billing_type =
        typed_choice(&fields, "billing", &BILLING_TYPES, "parent_billing").map_err(|e| errors.push(e)).ok();
    let subscription_type =
        typed_choice(&fields, "subscription", &SUBSCRIPTION_TYPES, "pro").map_err(|e| errors.push(e)).ok();
    match (name, billing_type, subscription_type) {
        (Some(name), Some(billing_type), Some(subscription_type)) if errors.is_empty() => {
            Ok(OrganizationCreateBody { name, billing_type, subscription_type })
        }
        _ => Err(errors),
    }
}

/// The `name` of a body, as a create checks it (an update's too).
pub fn name(fields: &Map<String, Value>) -> Result<String, String> {
    match fields.get("name") {
        None | Some(Value::Null) => Err("'name' is required".to_owned()),
        Some(Value::String(name)) => {
            let chars = name.chars().count();
            if name.trim().is_empty() {
                Err("'name' must not be blank".to_owned())
            } else if chars > NAME_MAX_CHARS {
                Err(format!("'name' must be at most {NAME_MAX_CHARS} characters long (got {chars})"))
            } else if name.chars().any(char::is_control) {
                Err("'name' must not contain control characters".to_owned())
            } else {
                Ok(name.clone())
            }
        }
        Some(other) => Err(format!("'name' must be a string, not {}", type_name(other))),
    }
}

/// An optional `{ "type": … }` object whose type is one of `allowed`.
fn typed_choice(
    fields: &Map<String, Value>,
    field: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, String> {
    let object = match fields.get(field) {
        None | Some(Value::Null) => return Ok(default.to_owned()),
        Some(Value::Object(object)) => object,
        Some(other) => return Err(format!("'{field}' must be an object, not {}", type_name(other))),
    };
    let expected = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
    match object.get("type") {
        None | Some(Value::Null) => Ok(default.to_owned()),
        Some(Value::String(kind)) if allowed.contains(&kind.as_str()) => Ok(kind.clone()),
        Some(Value::String(kind)) => Err(format!("'{field}.type' must be one of {expected}, not '{kind}'")),
        Some(other) => Err(format!("'{field}.type' must be a string, not {}", type_name(other))),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_choices() {
        let body = validate(br#"{"name":"Child"}"#).unwrap();
        assert_eq!((body.billing_type.as_str(), body.subscription_type.as_str()), ("parent_billing", "pro"));
        let body = validate(
            br#"{"name":"Child","subscription":{"type":"trial"},"billing":{"type":"parent_billing"}}"#,
        )
        .unwrap();
        assert_eq!(body.subscription_type, "trial");
    }

    #[test]
    fn names_count_unicode_scalar_values() {
        assert!(validate(format!(r#"{{"name":"{}"}}"#, "é".repeat(32)).as_bytes()).is_ok());
        let errors = validate(format!(r#"{{"name":"{}"}}"#, "é".repeat(33)).as_bytes()).unwrap_err();
        assert_eq!(errors, vec!["'name' must be at most 32 characters long (got 33)"]);
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = validate(br#"{"name":5,"billing":{"type":"own"},"subscription":"pro"}"#).unwrap_err();
        assert_eq!(
            errors,
            vec![
                "'name' must be a string, not a number",
                "'billing.type' must be one of 'parent_billing', not 'own'",
                "'subscription' must be an object, not a string",
            ]
        );
        assert_eq!(validate(b"{}").unwrap_err(), vec!["'name' is required"]);
        assert_eq!(validate(br#"{"name":"  "}"#).unwrap_err(), vec!["'name' must not be blank"]);
        assert!(validate(b"[1]").unwrap_err()[0].contains("JSON object"));
        assert!(validate(b"{oops").unwrap_err()[0].starts_with("Invalid JSON"));
        assert!(validate(b"").is_err());
    }
}

/// Properties over hostile input: any bytes or JSON get an answer (never a panic) of one message per
/// problem; every valid body is accepted with Datadog's defaults; each invalid value gets its message.
#[cfg(test)]
mod properties {
    use super::*;
    use orgmint::arbitrary;
    use proptest::prelude::*;
    use serde_json::json;

    const FIELDS: &[&str] = &["name", "billing", "subscription"];

    proptest! {
        #[test]
        fn any_input_gets_an_answer(bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..512), arbitrary::body(FIELDS)]) {
            if let Err(errors) = validate(&bytes) {
                prop_assert!(!errors.is_empty() && errors.iter().all(|e| !e.is_empty()), "{errors:?}");
            }
        }

        #[test]
        fn valid_bodies_are_accepted(
            name in arbitrary::plain_name(),
            billing in prop::option::of(Just(json!({"type": "parent_billing"}))),
            subscription in prop::option::of(prop::sample::select(SUBSCRIPTION_TYPES.to_vec())),
        ) {
            let mut body = json!({"name": name, "unknown": [1]});
            if let Some(billing) = billing {
                body["billing"] = billing;
            }
            if let Some(kind) = subscription {
                body["subscription"] = json!({"type": kind});
            }
            let expected = OrganizationCreateBody {
                name,
                billing_type: "parent_billing".to_owned(),
                subscription_type: subscription.unwrap_or("pro").to_owned(),
            };
            prop_assert_eq!(validate(body.to_string().as_bytes()), Ok(expected));
        }

        #[test]
        fn each_invalid_value_gets_its_message(
            long in "[a-zé日]{33,80}",
            blank in "[ \t\u{a0}]{1,4}",
            kind in "[a-z_]{0,12}".prop_filter("not a subscription type", |k| !SUBSCRIPTION_TYPES.contains(&k.as_str())),
        ) {
            let chars = long.chars().count();
            prop_assert_eq!(
                validate(json!({"name": long}).to_string().as_bytes()),
                Err(vec![format!("'name' must be at most 32 characters long (got {chars})")])
            );
            prop_assert_eq!(
                validate(json!({"name": blank}).to_string().as_bytes()),
                Err(vec!["'name' must not be blank".to_owned()])
            );
            prop_assert_eq!(
                validate(json!({"name": "x", "subscription": {"type": kind}}).to_string().as_bytes()),
                Err(vec![format!("'subscription.type' must be one of 'trial', 'free', 'pro', not '{kind}'")])
            );
        }
    }
}
