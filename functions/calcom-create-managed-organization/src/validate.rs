//! `CreateOrganizationInput` validated as Cal.com's NestJS `ValidationPipe` (class-validator, whitelist,
//! non-whitelisted properties refused) would: every broken constraint is one message, all are reported.
//!
//! class-validator's `@IsOptional()` skips `null` as well as a missing property, so `null` in an optional
//! field means "not given". Types are strict: a number sent as a string is refused.

use serde_json::{Map, Value};

/// The exact message for any metadata that breaks the rules (wire.md).
pub const METADATA_MESSAGE: &str = "metadata must be an object with up to 50 keys, each key name up to 40 \
characters, and values with a maximum length of 500 characters.";
pub const METADATA_MAX_KEYS: usize = 50;
pub const METADATA_MAX_KEY_CHARS: usize = 40;
pub const METADATA_MAX_VALUE_CHARS: usize = 500;
/// An explicit slug longer than this is refused; a derived one is cut to it (slugs are part of a DynamoDB
/// sort key, which holds at most 1,024 bytes).
pub const SLUG_MAX_CHARS: usize = 255;
/// The managed organization's API key is valid this many days unless told otherwise.
pub const DEFAULT_API_KEY_DAYS: f64 = 30.0;

const PROPERTIES: [&str; 5] = ["name", "slug", "metadata", "apiKeyDaysValid", "apiKeyNeverExpires"];

#[derive(Debug, Clone, PartialEq)]
pub struct CreateOrganizationInput {
    pub name: String,
    /// As sent (already kebab-case); `None` when it is to be derived from the name.
    pub slug: Option<String>,
    pub metadata: Map<String, Value>,
    pub api_key_days_valid: Option<f64>,
    pub api_key_never_expires: Option<bool>,
}

impl CreateOrganizationInput {
    /// Seconds the new API key is valid, `None` when it never expires: `days × 86400`, rounded down.
    pub fn api_key_ttl_s(&self) -> Option<i64> {
        if self.api_key_never_expires == Some(true) {
            return None;
        }
        let days = self.api_key_days_valid.unwrap_or(DEFAULT_API_KEY_DAYS);
        // `as` saturates: an absurd number of days is "practically never", not an overflow.
        Some((days * 86_400.0).floor() as i64)
    }
}

/// Parses and validates a request body; `Err` holds the messages of a 400, in property order.
pub fn validate(bytes: &[u8]) -> Result<CreateOrganizationInput, Vec<String>> {
    // Express's JSON parser leaves an empty body as `{}`: the constraints then say what is missing.
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(|e| vec![format!("Invalid JSON body: {e}")])?
    };
    let Value::Object(fields) = body else {
        return Err(vec!["Request body must be a JSON object".to_owned()]);
    };
    let given = |name: &str| fields.get(name).filter(|v| !v.is_null());
    let mut errors = Vec::new();

    let name = match given("name") {
        None => {
            errors.push("name should not be empty".to_owned());
            errors.push("name must be a string".to_owned());
            None
        }
        Some(Value::String(name)) if name.trim().is_empty() => {
            errors.push("name should not be empty".to_owned());
            None
        }
        Some(Value::String(name)) if name.chars().any(char::is_control) => {
            errors.push("name must not contain control characters".to_owned());
            None
        }
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => {
            errors.push("name must be a string".to_owned());
            None
        }
    };

    let slug = match given("slug") {
        None => None,
        Some(Value::String(slug)) if slug.chars().count() > SLUG_MAX_CHARS => {
            errors.push(format!("slug must be shorter than or equal to {SLUG_MAX_CHARS} characters"));
            None
        }
        Some(Value::String(slug)) if orgmint::slug::is_kebab_case(slug) => Some(slug.clone()),
        Some(Value::String(_)) => {
            errors.push(
                "slug must be in kebab-case: lowercase letters and digits in groups separated by single \
                 hyphens (e.g. cal-team)"
                    .to_owned(),
            );
            None
        }
        Some(_) => {
            errors.push("slug must be a string".to_owned());
            None
        }
    };

    let metadata = match given("metadata") {
        None => Map::new(),
        Some(value) => match metadata(value) {
            Some(map) => map,
            None => {
                errors.push(METADATA_MESSAGE.to_owned());
                Map::new()
            }
        },
    };

    let api_key_days_valid = match given("apiKeyDaysValid") {
        None => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(days) if days >= 1.0 => Some(days),
            Some(_) => {
                errors.push("apiKeyDaysValid must not be less than 1".to_owned());
                None
            }
            None => {
                errors.push(
                    "apiKeyDaysValid must be a number conforming to the specified constraints".to_owned(),
                );
                None
            }
        },
        Some(_) => {
            errors
                .push("apiKeyDaysValid must be a number conforming to the specified constraints".to_owned());
            None
        }
    };

    let api_key_never_expires = match given("apiKeyNeverExpires") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push("apiKeyNeverExpires must be a boolean value".to_owned());
            None
        }
    };
    if given("apiKeyDaysValid").is_some() && given("apiKeyNeverExpires").is_some() {
        errors.push("apiKeyDaysValid and apiKeyNeverExpires cannot be used together".to_owned());
    }

    // whitelist + forbidNonWhitelisted: every property the input class does not declare is refused.
    for key in fields.keys().filter(|k| !PROPERTIES.contains(&k.as_str())) {
        errors.push(format!("property {key} should not exist"));
    }

    match name {
        Some(name) if errors.is_empty() => {
            Ok(CreateOrganizationInput { name, slug, metadata, api_key_days_valid, api_key_never_expires })
        }
        _ => Err(errors),
    }
}

/// Metadata within the limits, or `None`. Lengths count Unicode scalar values.
fn metadata(value: &Value) -> Option<Map<String, Value>> {
    let Value::Object(map) = value else { return None };
    if map.len() > METADATA_MAX_KEYS {
        return None;
    }
    let fits = map.iter().all(|(key, value)| {
        key.chars().count() <= METADATA_MAX_KEY_CHARS
            && match value {
                Value::String(s) => s.chars().count() <= METADATA_MAX_VALUE_CHARS,
                Value::Number(_) | Value::Bool(_) => true,
                Value::Null | Value::Array(_) | Value::Object(_) => false,
            }
    });
    fits.then(|| map.clone())
}

/// The slug of an organization: the one given, else `slugify(name)` cut to [`SLUG_MAX_CHARS`], else
/// `org-<id>` when the name has no `[a-z0-9]` at all.
pub fn effective_slug(input: &CreateOrganizationInput, id: u64) -> String {
    if let Some(slug) = &input.slug {
        return slug.clone();
    }
    let mut slug = orgmint::slug::slugify(&input.name);
    if slug.len() > SLUG_MAX_CHARS {
        slug.truncate(SLUG_MAX_CHARS);
        slug.truncate(slug.trim_end_matches('-').len());
    }
    if slug.is_empty() {
        format!("org-{id}")
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(body: Value) -> Vec<String> {
        validate(body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn defaults() {
        let input = validate(br#"{"name":"CalTeam"}"#).unwrap();
        assert_eq!(input.slug, None);
        assert!(input.metadata.is_empty());
        assert_eq!(input.api_key_ttl_s(), Some(30 * 86_400));
        assert_eq!(effective_slug(&input, 7), "calteam");
        let input = validate(br#"{"name":"x","apiKeyNeverExpires":true}"#).unwrap();
        assert_eq!(input.api_key_ttl_s(), None);
        let input = validate(br#"{"name":"x","apiKeyNeverExpires":false}"#).unwrap();
        assert_eq!(input.api_key_ttl_s(), Some(30 * 86_400));
        let input = validate(br#"{"name":"x","apiKeyDaysValid":1.5}"#).unwrap();
        assert_eq!(input.api_key_ttl_s(), Some(129_600));
        let input = validate(br#"{"name":"x","apiKeyDaysValid":1e300}"#).unwrap();
        assert_eq!(input.api_key_ttl_s(), Some(i64::MAX));
        // class-validator's @IsOptional() lets null through as "not given".
        let input = validate(br#"{"name":"x","slug":null,"metadata":null,"apiKeyDaysValid":null}"#).unwrap();
        assert_eq!((input.slug, input.metadata.len()), (None, 0));
    }

    #[test]
    fn slugs() {
        let input = validate(r#"{"name":"Café Über Team!"}"#.as_bytes()).unwrap();
        assert_eq!(effective_slug(&input, 1), "cafe-uber-team");
        let input = validate(r#"{"name":"日本"}"#.as_bytes()).unwrap();
        assert_eq!(effective_slug(&input, 42), "org-42");
        let input = validate(format!(r#"{{"name":"{}"}}"#, "ab ".repeat(200)).as_bytes()).unwrap();
        let slug = effective_slug(&input, 1);
        assert!(slug.len() <= SLUG_MAX_CHARS && orgmint::slug::is_kebab_case(&slug), "{slug}");
        assert_eq!(validate(br#"{"name":"x","slug":"cal-tel"}"#).unwrap().slug.as_deref(), Some("cal-tel"));
        for bad in ["Cal-Tel", "cal tel", "-cal", "cal--tel", "", "café"] {
            let e = errors(json!({"name": "x", "slug": bad}));
            assert!(e.len() == 1 && e[0].starts_with("slug must be in kebab-case"), "{bad}: {e:?}");
        }
        assert_eq!(errors(json!({"name": "x", "slug": 5})), vec!["slug must be a string"]);
        assert_eq!(errors(json!({"name": "x", "slug": "a".repeat(256)})).len(), 1);
    }

    #[test]
    fn metadata_limits() {
        let ok = |m: Value| validate(json!({"name": "x", "metadata": m}).to_string().as_bytes()).is_ok();
        let fifty: Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(ok(Value::Object(fifty.clone())));
        let mut fifty_one = fifty;
        fifty_one.insert("k50".into(), json!(true));
        assert!(!ok(Value::Object(fifty_one)));
        assert!(ok(json!({"é".repeat(40): "ü".repeat(500), "n": 1.5, "b": false})));
        assert!(!ok(json!({"é".repeat(41): "v"})));
        assert!(!ok(json!({"k": "ü".repeat(501)})));
        for bad in [json!({"k": null}), json!({"k": [1]}), json!({"k": {}}), json!([]), json!("s"), json!(1)]
        {
            assert_eq!(errors(json!({"name": "x", "metadata": bad})), vec![METADATA_MESSAGE], "{bad}");
        }
    }

    #[test]
    fn every_problem_is_reported() {
        assert_eq!(errors(json!({})), vec!["name should not be empty", "name must be a string"]);
        assert_eq!(validate(b"").unwrap_err(), vec!["name should not be empty", "name must be a string"]);
        assert_eq!(errors(json!({"name": 5})), vec!["name must be a string"]);
        assert_eq!(errors(json!({"name": "  "})), vec!["name should not be empty"]);
        assert_eq!(errors(json!({"name": "a\u{0}b"})), vec!["name must not contain control characters"]);
        assert_eq!(
            errors(json!({"name": "x", "apiKeyDaysValid": 0})),
            vec!["apiKeyDaysValid must not be less than 1"]
        );
        assert_eq!(
            errors(json!({"name": "x", "apiKeyDaysValid": "10"})),
            vec!["apiKeyDaysValid must be a number conforming to the specified constraints"]
        );
        assert_eq!(
            errors(json!({"name": "x", "apiKeyNeverExpires": "true"})),
            vec!["apiKeyNeverExpires must be a boolean value"]
        );
        assert_eq!(
            errors(json!({"name": "x", "apiKeyDaysValid": 5, "apiKeyNeverExpires": true})),
            vec!["apiKeyDaysValid and apiKeyNeverExpires cannot be used together"]
        );
        assert_eq!(errors(json!({"name": "x", "foo": 1})), vec!["property foo should not exist"]);
        assert_eq!(
            errors(json!({"name": 1, "slug": "A", "bar": null})),
            vec![
                "name must be a string",
                "slug must be in kebab-case: lowercase letters and digits in groups separated by single hyphens \
                 (e.g. cal-team)",
                "property bar should not exist",
            ]
        );
        assert!(validate(b"[1]").unwrap_err()[0].contains("JSON object"));
        assert!(validate(b"{oops").unwrap_err()[0].starts_with("Invalid JSON body"));
    }
}

/// Properties over hostile input: any bytes or JSON get an answer (never a panic); every valid body is
/// accepted and its slug is kebab-case within the limit; each broken rule gets its message.
#[cfg(test)]
mod properties {
    use super::*;
    use orgmint::arbitrary;
    use orgmint::slug::is_kebab_case;
    use proptest::prelude::*;
    use serde_json::json;

    fn metadata_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            "\\PC{0,500}".prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
        ]
    }

    proptest! {
        #[test]
        fn any_input_gets_an_answer(bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..512), arbitrary::body(&PROPERTIES)]) {
            match validate(&bytes) {
                Ok(input) => {
                    let slug = effective_slug(&input, 1);
                    prop_assert!(is_kebab_case(&slug) && slug.len() <= SLUG_MAX_CHARS, "{slug}");
                }
                Err(errors) => prop_assert!(!errors.is_empty() && errors.iter().all(|e| !e.is_empty())),
            }
        }

        #[test]
        fn valid_bodies_are_accepted(
            name in arbitrary::text().prop_filter("a name", |n| !n.trim().is_empty() && !n.chars().any(char::is_control)),
            slug in prop::option::of("[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}"),
            metadata in prop::collection::btree_map("\\PC{0,40}", metadata_value(), 0..=50),
            expiry in prop_oneof![Just(None), (1f64..1e6).prop_map(|d| Some(json!({"apiKeyDaysValid": d}))), any::<bool>().prop_map(|b| Some(json!({"apiKeyNeverExpires": b})))],
            id in 1u64..(1 << 53),
        ) {
            let mut body = json!({"name": name, "metadata": metadata});
            if let Some(slug) = &slug {
                body["slug"] = json!(slug);
            }
            if let Some(Value::Object(expiry)) = expiry {
                body.as_object_mut().unwrap().extend(expiry);
            }
            let input = validate(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(&input.name, &name);
            prop_assert_eq!(input.metadata.len(), metadata.len());
            let effective = effective_slug(&input, id);
            prop_assert!(is_kebab_case(&effective) && effective.len() <= SLUG_MAX_CHARS, "{effective}");
            if let Some(slug) = slug {
                prop_assert_eq!(effective, slug);
            }
            prop_assert!(input.api_key_ttl_s().is_none_or(|ttl| ttl >= 86_400));
        }

        #[test]
        fn each_broken_rule_gets_its_message(
            slug in "[ -~]{1,20}".prop_filter("not kebab-case", |s| !is_kebab_case(s)),
            key in "[a-zA-Z]{1,10}".prop_filter("not a property", |k| !PROPERTIES.contains(&k.as_str())),
            long_key in "\\PC{41,60}",
            days in -1e6f64..1.0,
        ) {
            let errors = |body: Value| validate(body.to_string().as_bytes()).unwrap_err();
            let slug_errors = errors(json!({"name": "x", "slug": slug}));
            prop_assert!(slug_errors[0].starts_with("slug must be in kebab-case"), "{slug_errors:?}");
            prop_assert_eq!(errors(json!({"name": "x", key.clone(): 1})), vec![format!("property {key} should not exist")]);
            prop_assert_eq!(errors(json!({"name": "x", "metadata": {long_key: 1}})), vec![METADATA_MESSAGE]);
            prop_assert_eq!(errors(json!({"name": "x", "apiKeyDaysValid": days})), vec!["apiKeyDaysValid must not be less than 1"]);
        }
    }
}
