//! `EnterpriseOrgCreate` validated as pydantic v2 does in FastAPI's lax (Python) mode: one error entry per
//! problem, with pydantic's `type`, `loc`, `msg`, `input` and `ctx`.

pub use devin_api::pydantic::not_an_object;
use devin_api::pydantic::{lax_bool, lax_int, object_body};
use serde_json::{json, Map, Value};

/// The request body once valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseOrgCreate {
    pub display_name: String,
    pub acu_limit: Option<i64>,
    pub add_creator_as_member: bool,
}

/// Parses and validates a request body; `Err` holds the `detail` entries of a 422.
pub fn validate(bytes: &[u8]) -> Result<EnterpriseOrgCreate, Vec<Value>> {
    let fields = object_body(bytes)?;
    let mut problems = Vec::new();
    let display_name = display_name(&fields).map_err(|p| problems.push(p)).ok();
    let acu_limit = match fields.get("acu_limit") {
        None | Some(Value::Null) => Some(None),
        // No `minimum` in Devin's schema: a negative limit is accepted and echoed.
        Some(v) => lax_int(v, json!(["body", "acu_limit"])).map(Some).map_err(|p| problems.push(p)).ok(),
    };
    let add_creator_as_member = match fields.get("add_creator_as_member") {
        None => Some(true),
        Some(v) => lax_bool(v, json!(["body", "add_creator_as_member"])).map_err(|p| problems.push(p)).ok(),
    };
    match (display_name, acu_limit, add_creator_as_member) {
        (Some(display_name), Some(acu_limit), Some(add_creator_as_member)) if problems.is_empty() => {
            Ok(EnterpriseOrgCreate { display_name, acu_limit, add_creator_as_member })
        }
        _ => Err(problems),
    }
}

fn display_name(fields: &Map<String, Value>) -> Result<String, Value> {
    let loc = json!(["body", "display_name"]);
    let value = match fields.get("display_name") {
        None => {
            return Err(json!({"type": "missing", "loc": loc, "msg": "Field required", "input": fields}));
        }
        Some(v) => v,
    };
    let Value::String(name) = value else {
        return Err(
            json!({"type": "string_type", "loc": loc, "msg": "Input should be a valid string", "input": value}),
        );
    };
    // Devin's published schema sets no `minLength` and no pattern: "", blanks and control characters are
    // names, as Devin accepts them.
    Ok(name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(body: &str) -> Vec<(String, Value)> {
        validate(body.as_bytes())
            .unwrap_err()
            .into_iter()
            .map(|p| (p["type"].as_str().unwrap().to_owned(), p["loc"].clone()))
            .collect()
    }

    #[test]
    fn accepts_lax_values_as_pydantic_does() {
        let ok =
            validate(br#"{"display_name":"Acme","acu_limit":"10","add_creator_as_member":"false"}"#).unwrap();
        assert_eq!(
            ok,
            EnterpriseOrgCreate {
                display_name: "Acme".into(),
                acu_limit: Some(10),
                add_creator_as_member: false
            }
        );
        let ok = validate(br#"{"display_name":"Acme","acu_limit":5.0,"extra":1}"#).unwrap();
        assert_eq!(ok.acu_limit, Some(5));
        assert!(ok.add_creator_as_member);
        assert_eq!(validate(br#"{"display_name":"A","acu_limit":null}"#).unwrap().acu_limit, None);
    }

    #[test]
    fn one_entry_per_problem() {
        let problems = types(r#"{"acu_limit":"x","add_creator_as_member":"maybe"}"#);
        assert_eq!(
            problems,
            vec![
                ("missing".to_owned(), json!(["body", "display_name"])),
                ("int_parsing".to_owned(), json!(["body", "acu_limit"])),
                ("bool_parsing".to_owned(), json!(["body", "add_creator_as_member"])),
            ]
        );
    }

    #[test]
    fn each_type_as_pydantic_names_it() {
        assert_eq!(types(r#"{"display_name":5}"#)[0].0, "string_type");
        assert_eq!(types(r#"{"display_name":"a","acu_limit":"ten"}"#)[0].0, "int_parsing");
        assert_eq!(types(r#"{"display_name":"a","acu_limit":1.5}"#)[0].0, "int_from_float");
        assert_eq!(types(r#"{"display_name":"a","acu_limit":[1]}"#)[0].0, "int_type");
        assert_eq!(types(r#"{"display_name":"a","add_creator_as_member":null}"#)[0].0, "bool_type");
        assert_eq!(types("[1,2]"), vec![("model_attributes_type".to_owned(), json!(["body"]))]);
        assert_eq!(types(""), vec![("missing".to_owned(), json!(["body"]))]);
    }

    #[test]
    fn a_fraction_is_never_rounded_into_an_integer() {
        // Found by the property tests: parsed one ULP off, this was accepted as 921952050325520.
        assert_eq!(types(r#"{"display_name":"a","acu_limit":921952050325519.9}"#)[0].0, "int_from_float");
    }

    #[test]
    fn json_errors_carry_the_offset() {
        let problems = validate(b"{\"display_name\": }").unwrap_err();
        assert_eq!(problems[0]["type"], "json_invalid");
        assert_eq!(problems[0]["loc"], json!(["body", 17]));
        let problems = validate(b"{\n  \"a\": 1,\n  oops}").unwrap_err();
        assert_eq!(problems[0]["loc"], json!(["body", 14]));
    }

    #[test]
    fn missing_echoes_the_whole_body() {
        let problems = validate(br#"{"acu_limit":3}"#).unwrap_err();
        assert_eq!(problems[0]["input"], json!({"acu_limit": 3}));
    }
}

/// Properties over hostile input: any bytes or JSON get an answer (never a panic) in pydantic's shape;
/// every valid body is accepted, strictly or laxly typed; each kind of invalid value gets its type.
#[cfg(test)]
mod properties {
    use super::*;
    use orgmint::arbitrary;
    use proptest::prelude::*;

    const FIELDS: &[&str] = &["display_name", "acu_limit", "add_creator_as_member"];
    const TYPES: &[&str] = &[
        "missing",
        "string_type",
        "int_parsing",
        "int_parsing_size",
        "int_from_float",
        "int_type",
        "bool_parsing",
        "bool_type",
        "json_invalid",
        "model_attributes_type",
    ];

    fn pydantic_shaped(problems: &[Value]) -> Result<(), TestCaseError> {
        prop_assert!(!problems.is_empty());
        for p in problems {
            prop_assert!(TYPES.contains(&p["type"].as_str().unwrap_or_default()), "{p}");
            prop_assert!(p["msg"].is_string(), "{p}");
            prop_assert_eq!(&p["loc"][0], "body", "{}", p);
        }
        Ok(())
    }

    fn first_type(body: &Value) -> String {
        validate(body.to_string().as_bytes()).unwrap_err()[0]["type"].as_str().unwrap().to_owned()
    }

    proptest! {
        #[test]
        fn any_bytes_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Err(problems) = validate(&bytes) {
                pydantic_shaped(&problems)?;
            }
        }

        #[test]
        fn any_json_gets_an_answer(bytes in arbitrary::body(FIELDS)) {
            if let Err(problems) = validate(&bytes) {
                pydantic_shaped(&problems)?;
            }
        }

        #[test]
        fn valid_bodies_are_accepted_strict_or_lax(
            name in arbitrary::plain_name(),
            acu in prop::option::of(0i64..=i64::MAX),
            member in prop::option::of(any::<bool>()),
            lax in any::<bool>(),
        ) {
            let mut body = json!({"display_name": name});
            if let Some(acu) = acu {
                body["acu_limit"] = if lax { json!(format!(" {acu} ")) } else { json!(acu) };
            }
            if let Some(member) = member {
                body["add_creator_as_member"] = if lax { json!(if member { "Yes" } else { "off" }) } else { json!(member) };
            }
            let expected = EnterpriseOrgCreate {
                display_name: name,
                acu_limit: acu,
                add_creator_as_member: member.unwrap_or(true),
            };
            prop_assert_eq!(validate(body.to_string().as_bytes()), Ok(expected));
        }

        /// Devin's schema sets no `minLength` and no `minimum`: blanks, control characters and negative
        /// limits are accepted as given.
        #[test]
        fn what_the_official_schema_accepts_is_accepted(
            blank in "[ \t\n\u{a0}]{0,4}",
            name in arbitrary::plain_name(),
            control in "[\u{0}-\u{1f}\u{7f}-\u{9f}]",
            negative in i64::MIN..0,
        ) {
            prop_assert_eq!(validate(json!({"display_name": blank}).to_string().as_bytes()).map(|i| i.display_name), Ok(blank));
            let odd = format!("{name}{control}");
            prop_assert_eq!(validate(json!({"display_name": odd}).to_string().as_bytes()).map(|i| i.display_name), Ok(odd));
            let limit = validate(json!({"display_name": "x", "acu_limit": negative}).to_string().as_bytes());
            prop_assert_eq!(limit.map(|i| i.acu_limit), Ok(Some(negative)));
        }

        #[test]
        fn each_invalid_value_gets_its_type(
            fraction in -1e15f64..1e15,
            not_a_string in arbitrary::json().prop_filter("not a string", |v| !v.is_string()),
        ) {
            prop_assert_eq!(first_type(&json!({"display_name": not_a_string})), "string_type");
            if fraction.fract() != 0.0 {
                prop_assert_eq!(first_type(&json!({"display_name": "x", "acu_limit": fraction})), "int_from_float");
            }
        }
    }
}
