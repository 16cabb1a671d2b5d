//! `CreateOrganizationInput` validated as Cal.com's NestJS `ValidationPipe({whitelist: true, transform: true})`
//! does: properties the input class does not declare are stripped silently, and every property that breaks
//! a constraint is reported as class-validator reports it (`property`, `value`, `constraints`).
//!
//! class-validator's `@IsOptional()` skips `null` as well as a missing property, so `null` in an optional
//! field means "not given". Types are strict: a number sent as a string is refused.

use calcom_api::validator::{self, object_body, Problem};
use serde_json::{Map, Value};

pub use calcom_api::validator::{Invalid, METADATA_MESSAGE};
pub use calcom_api::BOTH_EXPIRY_OPTIONS;

/// Cal.com stores any slug; orgmint refuses (and cuts derived slugs to) this many bytes, because a slug is
/// part of a DynamoDB sort key, which holds at most 1,024 bytes.
pub const SLUG_MAX_BYTES: usize = 1000;
/// The managed organization's API key is valid this many days unless told otherwise.
pub const DEFAULT_API_KEY_DAYS: f64 = 30.0;
#[derive(Debug, Clone, PartialEq)]
pub struct CreateOrganizationInput {
    pub name: String,
    /// As sent, when sent and not `""`; `None` when it is to be derived from the name.
    pub slug: Option<String>,
    /// `None` when none was sent (the 201 then has no `metadata` key).
    pub metadata: Option<Map<String, Value>>,
    /// Whole days, at least 1.
    pub api_key_days_valid: Option<f64>,
    pub api_key_never_expires: Option<bool>,
}

impl CreateOrganizationInput {
    /// Seconds the new API key is valid, `None` when it never expires: `days × 86400`.
    pub fn api_key_ttl_s(&self) -> Option<i64> {
        if self.api_key_never_expires == Some(true) {
            return None;
        }
        let days = self.api_key_days_valid.unwrap_or(DEFAULT_API_KEY_DAYS);
        // `as` saturates: an absurd number of days is "practically never", not an overflow.
        Some((days * 86_400.0) as i64)
    }
}

fn problem(property: &'static str, value: Option<&Value>, constraints: &[(&'static str, String)]) -> Problem {
    Problem::new(property, value, constraints)
}

/// Parses and validates a request body.
pub fn validate(bytes: &[u8]) -> Result<CreateOrganizationInput, Invalid> {
    let fields = object_body(bytes)?;
    let given = |name: &str| fields.get(name).filter(|v| !v.is_null());
    let mut problems = Vec::new();

    let name = validator::name(fields.get("name")).map_err(|p| problems.push(p)).ok();

    // @IsOptional() @IsString(): stored as given; "" asks for the derived slug, as Cal.com's `||` does.
    let slug = match given("slug") {
        None => None,
        Some(Value::String(slug)) if slug.is_empty() => None,
        Some(Value::String(slug)) if slug.len() > SLUG_MAX_BYTES => {
            let why = format!("slug must be shorter than or equal to {SLUG_MAX_BYTES} bytes");
            problems.push(problem("slug", given("slug"), &[("maxLength", why)]));
            None
        }
        Some(Value::String(slug)) => Some(slug.clone()),
        Some(other) => {
            problems.push(problem("slug", Some(other), &[("isString", "slug must be a string".to_owned())]));
            None
        }
    };

    let metadata =
        given("metadata").and_then(|value| validator::metadata(value).map_err(|p| problems.push(p)).ok());

    // @IsOptional() @IsInt() @Min(1).
    let api_key_days_valid = given("apiKeyDaysValid").and_then(|value| {
        let number = value.as_f64();
        let mut broken = Vec::new();
        if !number.is_some_and(|n| n.fract() == 0.0) {
            broken.push(("isInt", "apiKeyDaysValid must be an integer number".to_owned()));
        }
        if !number.is_some_and(|n| n >= 1.0) {
            broken.push(("min", "apiKeyDaysValid must not be less than 1".to_owned()));
        }
        if broken.is_empty() {
            number
        } else {
            problems.push(problem("apiKeyDaysValid", Some(value), &broken));
            None
        }
    });

    // @IsOptional() @IsBoolean().
    let api_key_never_expires = match given("apiKeyNeverExpires") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            let why = ("isBoolean", "apiKeyNeverExpires must be a boolean value".to_owned());
            problems.push(problem("apiKeyNeverExpires", Some(other), &[why]));
            None
        }
    };

    match name {
        Some(name) if problems.is_empty() => {
            // The service refuses both only when both are truthy (a valid apiKeyDaysValid always is).
            if api_key_days_valid.is_some() && api_key_never_expires == Some(true) {
                return Err(Invalid::BothExpiryOptions);
            }
            Ok(CreateOrganizationInput { name, slug, metadata, api_key_days_valid, api_key_never_expires })
        }
        _ => Err(Invalid::Constraints(problems)),
    }
}

/// The slug of an organization: the one given, else Cal.com's `slugify(name)` (cut to
/// [`SLUG_MAX_BYTES`]), else `org-<id>` when that comes out empty.
pub fn effective_slug(input: &CreateOrganizationInput, id: u64) -> String {
    if let Some(slug) = &input.slug {
        return slug.clone();
    }
    let mut slug = crate::slugify::slugify(&input.name);
    if slug.len() > SLUG_MAX_BYTES {
        let cut = (0..=SLUG_MAX_BYTES).rev().find(|i| slug.is_char_boundary(*i)).unwrap_or(0);
        slug.truncate(cut);
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

    fn problems(body: Value) -> Vec<(&'static str, Vec<&'static str>)> {
        match validate(body.to_string().as_bytes()) {
            Err(Invalid::Constraints(problems)) => problems
                .iter()
                .map(|p| (p.property, p.constraints.iter().map(|(c, _)| *c).collect()))
                .collect(),
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_what_cal_com_accepts() {
        let input = validate(br#"{"name":"CalTeam","unknown":1,"extra":{"x":[]}}"#).unwrap();
        assert_eq!(
            (input.slug.as_deref(), input.metadata.as_ref()),
            (None, None),
            "unknown properties are stripped"
        );
        assert_eq!(input.api_key_ttl_s(), Some(30 * 86_400));
        assert_eq!(effective_slug(&input, 7), "calteam");
        assert_eq!(validate(br#"{"name":"x","apiKeyNeverExpires":true}"#).unwrap().api_key_ttl_s(), None);
        let input = validate(br#"{"name":"x","apiKeyDaysValid":5,"apiKeyNeverExpires":false}"#).unwrap();
        assert_eq!(input.api_key_ttl_s(), Some(5 * 86_400));
        let input = validate(br#"{"name":"x","apiKeyDaysValid":1e300}"#).unwrap();
        assert_eq!(input.api_key_ttl_s(), Some(i64::MAX));
        // class-validator's @IsOptional() lets null through as "not given".
        let input = validate(br#"{"name":"x","slug":null,"metadata":null,"apiKeyDaysValid":null}"#).unwrap();
        assert_eq!((input.slug, input.metadata), (None, None));
        // Blanks and control characters are names; any string is a slug; "" derives it.
        for name in ["  ", "a\\u0000b", "\\t"] {
            assert!(validate(format!(r#"{{"name":"{name}"}}"#).as_bytes()).is_ok(), "{name}");
        }
        for slug in ["Cal Tel", "café", "-x-", "UPPER"] {
            assert_eq!(
                validate(json!({"name": "x", "slug": slug}).to_string().as_bytes()).unwrap().slug.as_deref(),
                Some(slug)
            );
        }
        let input = validate(br#"{"name":"Acme Inc. 2024","slug":""}"#).unwrap();
        assert_eq!(effective_slug(&input, 1), "acme-inc.-2024");
        assert_eq!(effective_slug(&validate(r#"{"name":"!!!"}"#.as_bytes()).unwrap(), 42), "org-42");
    }

    #[test]
    fn both_truthy_expiry_options_are_the_services_refusal() {
        assert_eq!(
            validate(br#"{"name":"x","apiKeyDaysValid":5,"apiKeyNeverExpires":true}"#),
            Err(Invalid::BothExpiryOptions)
        );
    }

    #[test]
    fn metadata_limits_count_utf16_units() {
        let ok = |m: Value| validate(json!({"name": "x", "metadata": m}).to_string().as_bytes()).is_ok();
        let fifty: Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(ok(Value::Object(fifty.clone())));
        let mut fifty_one = fifty;
        fifty_one.insert("k50".into(), json!(true));
        assert!(!ok(Value::Object(fifty_one)));
        assert!(ok(json!({"é".repeat(40): "ü".repeat(500), "n": 1.5, "b": false})));
        assert!(!ok(json!({"é".repeat(41): "v"})));
        // An emoji is two UTF-16 units: 250 fit, 251 do not.
        assert!(ok(json!({"k": "😀".repeat(250)})));
        assert!(!ok(json!({"k": "😀".repeat(251)})));
        for bad in [json!({"k": null}), json!({"k": [1]}), json!({"k": {}})] {
            assert_eq!(
                problems(json!({"name": "x", "metadata": bad})),
                vec![("metadata", vec!["ValidateMetadata"])]
            );
        }
        // @IsObject() refuses anything but a plain object; @ValidateMetadata() reads an array's items too.
        assert_eq!(problems(json!({"name": "x", "metadata": []})), vec![("metadata", vec!["isObject"])]);
        for bad in [json!("s"), json!(1)] {
            assert_eq!(
                problems(json!({"name": "x", "metadata": bad})),
                vec![("metadata", vec!["isObject", "ValidateMetadata"])]
            );
        }
    }

    #[test]
    fn every_broken_constraint_is_reported_as_class_validator_does() {
        assert_eq!(problems(json!({})), vec![("name", vec!["isString", "isLength"])]);
        assert!(matches!(validate(b""), Err(Invalid::Constraints(_))));
        assert_eq!(problems(json!({"name": 5})), vec![("name", vec!["isString", "isLength"])]);
        assert_eq!(problems(json!({"name": ""})), vec![("name", vec!["isLength"])]);
        assert_eq!(
            problems(json!({"name": "x", "apiKeyDaysValid": 0})),
            vec![("apiKeyDaysValid", vec!["min"])]
        );
        assert_eq!(
            problems(json!({"name": "x", "apiKeyDaysValid": 1.5})),
            vec![("apiKeyDaysValid", vec!["isInt"])]
        );
        assert_eq!(
            problems(json!({"name": "x", "apiKeyDaysValid": 0.5})),
            vec![("apiKeyDaysValid", vec!["isInt", "min"])]
        );
        assert_eq!(
            problems(json!({"name": "x", "apiKeyDaysValid": "10"})),
            vec![("apiKeyDaysValid", vec!["isInt", "min"])]
        );
        assert_eq!(
            problems(json!({"name": "x", "apiKeyNeverExpires": "true"})),
            vec![("apiKeyNeverExpires", vec!["isBoolean"])]
        );
        assert_eq!(problems(json!({"name": "x", "slug": 5})), vec![("slug", vec!["isString"])]);
        assert_eq!(
            problems(json!({"name": "x", "slug": "a".repeat(1001)})),
            vec![("slug", vec!["maxLength"])]
        );
        let Err(Invalid::Constraints(all)) = validate(br#"{"name":1,"slug":2}"#) else { panic!() };
        assert_eq!(
            all.iter().map(Problem::to_json).collect::<Vec<_>>(),
            vec![
                json!({"property": "name", "value": 1, "children": [], "constraints": {
                    "isString": "name must be a string", "isLength": "name must be longer than or equal to 1 characters"}}),
                json!({"property": "slug", "value": 2, "children": [], "constraints": {"isString": "slug must be a string"}}),
            ]
        );
        assert!(matches!(validate(b"[1]"), Err(Invalid::Malformed(m)) if m.contains("JSON object")));
        assert!(
            matches!(validate(b"{oops"), Err(Invalid::Malformed(m)) if m.starts_with("Invalid JSON body"))
        );
    }
}

/// Properties over hostile input: any bytes or JSON get an answer (never a panic); every valid body is
/// accepted and its slug fits the key; each broken rule gets its constraint.
#[cfg(test)]
mod properties {
    use super::*;
    use orgmint::arbitrary;
    use proptest::prelude::*;
    use serde_json::json;

    const PROPERTIES: [&str; 5] = ["name", "slug", "metadata", "apiKeyDaysValid", "apiKeyNeverExpires"];

    fn metadata_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            "\\PC{0,250}".prop_map(Value::from),
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
                    prop_assert!(!slug.is_empty() && slug.len() <= SLUG_MAX_BYTES, "{slug}");
                }
                Err(Invalid::Constraints(problems)) => prop_assert!(!problems.is_empty() && problems.iter().all(|p| !p.constraints.is_empty())),
                Err(_) => {}
            }
        }

        #[test]
        fn valid_bodies_are_accepted(
            name in arbitrary::text().prop_filter("a name", |n| !n.is_empty()),
            slug in prop::option::of("\\PC{1,40}"),
            metadata in prop::collection::btree_map("[a-z]{0,20}", metadata_value(), 0..=50),
            days in 1u32..100_000,
            never in any::<bool>(),
            id in 1u64..(1 << 31),
        ) {
            let mut body = json!({"name": name, "metadata": metadata, "ignored": true});
            if let Some(slug) = &slug {
                body["slug"] = json!(slug);
            }
            body[if never { "apiKeyNeverExpires" } else { "apiKeyDaysValid" }] = if never { json!(true) } else { json!(days) };
            let input = validate(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(&input.name, &name);
            prop_assert_eq!(input.metadata.as_ref().map(Map::len), Some(metadata.len()));
            let effective = effective_slug(&input, id);
            prop_assert!(!effective.is_empty() && effective.len() <= SLUG_MAX_BYTES, "{effective}");
            if let Some(slug) = slug {
                prop_assert_eq!(effective, slug);
            }
            prop_assert_eq!(input.api_key_ttl_s(), (!never).then_some(i64::from(days) * 86_400));
        }

        #[test]
        fn each_broken_rule_gets_its_constraint(long_key in "[a-z]{41,60}", days in -1e6f64..1.0) {
            let constraints = |body: Value| match validate(body.to_string().as_bytes()) {
                Err(Invalid::Constraints(p)) => p[0].constraints.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
                other => panic!("{other:?}"),
            };
            prop_assert_eq!(constraints(json!({"name": "x", "metadata": {long_key: 1}})), vec!["ValidateMetadata"]);
            let days_constraints = constraints(json!({"name": "x", "apiKeyDaysValid": days}));
            prop_assert!(days_constraints.contains(&"min"), "{:?}", days_constraints);
        }
    }
}
