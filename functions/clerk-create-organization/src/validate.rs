//! The create body, from `application/x-www-form-urlencoded` (what Clerk's clients send) or JSON, checked
//! as Clerk's Frontend API checks it: every problem one entry of the `errors` array.

use orgmint::lambda::BodyKind;
use orgmint::slug;
use serde_json::{json, Value};

/// At most this many characters (Unicode scalar values) in a name or an explicit slug: keys stay far
/// below DynamoDB's limits, and nothing reasonable is refused.
pub const NAME_MAX_CHARS: usize = 256;
pub const SLUG_MAX_CHARS: usize = 256;
/// A slug derived from a name is cut to this many characters.
pub const DERIVED_SLUG_MAX_CHARS: usize = 96;

/// The body once valid. `slug` is `None` when none was sent: it is derived from the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrganization {
    pub name: String,
    pub slug: Option<String>,
}

/// A problem with one parameter: Clerk's error entry without its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub code: &'static str,
    pub param: &'static str,
    pub message: String,
    pub long_message: String,
}

impl ParamError {
    pub fn to_json(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "long_message": self.long_message,
            "meta": {"param_name": self.param},
        })
    }

    fn nil(param: &'static str) -> Self {
        let message = format!("Enter {param}.");
        ParamError { code: "form_param_nil", param, message: message.clone(), long_message: message }
    }

    fn format(param: &'static str, long_message: String) -> Self {
        ParamError { code: "form_param_format_invalid", param, message: "is invalid".into(), long_message }
    }

    fn too_long(param: &'static str, max: usize) -> Self {
        ParamError {
            code: "form_param_max_length_exceeded",
            param,
            message: format!("is too long (maximum is {max} characters)"),
            long_message: format!("{param} must be at most {max} characters long."),
        }
    }

    fn value(param: &'static str, long_message: String) -> Self {
        ParamError { code: "form_param_value_invalid", param, message: "is invalid".into(), long_message }
    }
}

/// Why a body is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Not parseable at all (400 `request_body_invalid`).
    Body,
    /// Parsed, but parameters are wrong (422).
    Params(Vec<ParamError>),
}

/// One parameter as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Param {
    Absent,
    Text(String),
    /// Sent in JSON as something other than a string.
    NotText,
}

pub fn validate(bytes: &[u8], kind: BodyKind) -> Result<CreateOrganization, Invalid> {
    let (name, slug) = match kind {
        BodyKind::Form => {
            let mut name = Param::Absent;
            let mut slug = Param::Absent;
            // Repeated keys: the last one wins.
            for (key, value) in form_urlencoded::parse(bytes) {
                match key.as_ref() {
                    "name" => name = Param::Text(value.into_owned()),
                    "slug" => slug = Param::Text(value.into_owned()),
                    _ => {}
                }
            }
            (name, slug)
        }
        // No body at all: no parameters, as Clerk's form reader sees it.
        BodyKind::Json if bytes.iter().all(u8::is_ascii_whitespace) => (Param::Absent, Param::Absent),
        BodyKind::Json => {
            let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(bytes) else {
                return Err(Invalid::Body);
            };
            let mut take = |key: &str| match fields.remove(key) {
                None | Some(Value::Null) => Param::Absent,
                Some(Value::String(text)) => Param::Text(text),
                Some(_) => Param::NotText,
            };
            (take("name"), take("slug"))
        }
    };
    let mut problems = Vec::new();
    let name = check_name(name).map_err(|p| problems.push(p)).ok();
    let slug = check_slug(slug).map_err(|p| problems.push(p)).ok();
    match (name, slug) {
        (Some(name), Some(slug)) if problems.is_empty() => Ok(CreateOrganization { name, slug }),
        _ => Err(Invalid::Params(problems)),
    }
}

/// A name as sent (an update's), checked as a create's.
pub fn checked_name(name: &str) -> Result<String, ParamError> {
    check_name(Param::Text(name.to_owned()))
}

/// A slug as sent (an update's), checked as a create's; empty is none.
pub fn checked_slug(slug: &str) -> Result<Option<String>, ParamError> {
    check_slug(Param::Text(slug.to_owned()))
}

fn check_name(name: Param) -> Result<String, ParamError> {
    let name = match name {
        Param::Absent => return Err(ParamError::nil("name")),
        Param::NotText => return Err(ParamError::format("name", "name must be a string.".into())),
        Param::Text(name) => name,
    };
    if name.trim().is_empty() {
        return Err(ParamError::nil("name"));
    }
    if name.chars().any(char::is_control) {
        return Err(ParamError::value("name", "name must not contain control characters.".into()));
    }
    if carries_url_or_html(&name) {
        return Err(ParamError::value("name", "name must not contain URLs or HTML.".into()));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(ParamError::too_long("name", NAME_MAX_CHARS));
    }
    Ok(name)
}

fn check_slug(slug: Param) -> Result<Option<String>, ParamError> {
    let slug = match slug {
        Param::Absent => return Ok(None),
        Param::NotText => return Err(ParamError::format("slug", "slug must be a string.".into())),
        // An empty slug is no slug: it is derived from the name.
        Param::Text(slug) if slug.is_empty() => return Ok(None),
        Param::Text(slug) => slug,
    };
    // Dashes anywhere: Clerk's own `<CreateOrganization/>` sends `acme-inc-` for "Acme Inc.".
    if !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(ParamError::format(
            "slug",
            "slug must contain only lowercase letters, digits and dashes.".to_owned(),
        ));
    }
    if slug.len() > SLUG_MAX_CHARS {
        return Err(ParamError::too_long("slug", SLUG_MAX_CHARS));
    }
    Ok(Some(slug))
}

/// `https?://`, `www.` (either case) or `<` followed by a letter, `/` or `!`.
pub fn carries_url_or_html(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
        return true;
    }
    let bytes = name.as_bytes();
    bytes.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// The slug derived from a name: slugified, cut to [`DERIVED_SLUG_MAX_CHARS`]; `None` when nothing of the
/// name survives (the caller picks a random one).
pub fn derived_slug(name: &str) -> Option<String> {
    let mut slug = slug::slugify(name);
    slug.truncate(DERIVED_SLUG_MAX_CHARS);
    let slug = slug.trim_end_matches('-').to_owned();
    (!slug.is_empty()).then_some(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Result<CreateOrganization, Invalid> {
        validate(body.as_bytes(), BodyKind::Form)
    }

    fn json(body: &str) -> Result<CreateOrganization, Invalid> {
        validate(body.as_bytes(), BodyKind::Json)
    }

    fn codes(result: Result<CreateOrganization, Invalid>) -> Vec<(&'static str, &'static str)> {
        match result {
            Err(Invalid::Params(problems)) => problems.iter().map(|p| (p.code, p.param)).collect(),
            other => panic!("not a 422: {other:?}"),
        }
    }

    #[test]
    fn forms_and_json_read_alike() {
        let expected = CreateOrganization { name: "Acme Inc".into(), slug: Some("acme".into()) };
        assert_eq!(form("name=Acme%20Inc&slug=acme").unwrap(), expected);
        assert_eq!(form("name=Acme+Inc&slug=acme&other=1").unwrap(), expected);
        assert_eq!(json(r#"{"name":"Acme Inc","slug":"acme","x":[1]}"#).unwrap(), expected);
        assert_eq!(form("name=A&slug=").unwrap().slug, None);
        assert_eq!(json(r#"{"name":"A","slug":null}"#).unwrap().slug, None);
        assert_eq!(form("name=first&name=last").unwrap().name, "last");
    }

    #[test]
    fn every_problem_has_its_code() {
        assert_eq!(codes(form("")), vec![("form_param_nil", "name")]);
        assert_eq!(codes(json("")), vec![("form_param_nil", "name")]);
        assert_eq!(codes(json("{}")), vec![("form_param_nil", "name")]);
        assert_eq!(codes(form("name=%20%20")), vec![("form_param_nil", "name")]);
        assert_eq!(codes(json(r#"{"name":5}"#)), vec![("form_param_format_invalid", "name")]);
        assert_eq!(codes(json(r#"{"name":"a\u0007b"}"#)), vec![("form_param_value_invalid", "name")]);
        for name in ["https://evil.example", "see HTTP://x", "www.acme.com", "<b>x</b>", "a</", "<!-- x"] {
            assert_eq!(
                codes(json(&format!(r#"{{"name":"{name}"}}"#))),
                vec![("form_param_value_invalid", "name")]
            );
        }
        assert!(json(r#"{"name":"a < b"}"#).is_ok());
        assert!(json(r#"{"name":"1<2"}"#).is_ok());
        for slug in ["-acme", "ac--me", "acme-inc-", "-"] {
            assert_eq!(form(&format!("name=A&slug={slug}")).unwrap().slug.as_deref(), Some(slug));
        }
        let long = "a".repeat(SLUG_MAX_CHARS + 1);
        assert_eq!(
            codes(form(&format!("name=A&slug={long}"))),
            vec![("form_param_max_length_exceeded", "slug")]
        );
        let long = "é".repeat(NAME_MAX_CHARS + 1);
        assert_eq!(codes(form(&format!("name={long}"))), vec![("form_param_max_length_exceeded", "name")]);
        assert!(form(&format!("name={}", "é".repeat(NAME_MAX_CHARS))).is_ok());
        for slug in ["Acme", "ac_me", "ac me", "acmé"] {
            assert_eq!(
                codes(form(&format!("name=A&slug={slug}"))),
                vec![("form_param_format_invalid", "slug")]
            );
        }
        assert_eq!(
            codes(json(r#"{"slug":7}"#)),
            vec![("form_param_nil", "name"), ("form_param_format_invalid", "slug")]
        );
        assert_eq!(
            codes(json(&format!(r#"{{"name":"{}"}}"#, "x".repeat(257)))),
            vec![("form_param_max_length_exceeded", "name")]
        );
    }

    #[test]
    fn unreadable_json_is_a_body_problem() {
        for body in ["{", "[]", "\"name\"", "name=x", "null"] {
            assert_eq!(json(body), Err(Invalid::Body), "{body}");
        }
    }

    #[test]
    fn derived_slugs() {
        assert_eq!(derived_slug("Acme Inc.").as_deref(), Some("acme-inc"));
        assert_eq!(derived_slug("!!!"), None);
        let long = derived_slug(&"ab ".repeat(100)).unwrap();
        assert!(long.len() <= DERIVED_SLUG_MAX_CHARS && slug::is_kebab_case(&long), "{long}");
    }
}

/// Properties over hostile input: any bytes, as a form or as JSON, get an answer (never a panic); every
/// valid body is accepted alike from a form and from JSON; derived slugs are kebab-case within the limit.
#[cfg(test)]
mod properties {
    use super::*;
    use orgmint::arbitrary;
    use proptest::prelude::*;

    const FIELDS: &[&str] = &["name", "slug"];

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            out.append_pair(k, v);
        }
        out.finish().into_bytes()
    }

    proptest! {
        #[test]
        fn any_input_gets_an_answer(bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..512), arbitrary::body(FIELDS)]) {
            for kind in [BodyKind::Form, BodyKind::Json] {
                match validate(&bytes, kind) {
                    Ok(input) => prop_assert!(input.slug.as_deref().is_none_or(|s| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))),
                    Err(Invalid::Params(problems)) => prop_assert!(!problems.is_empty()),
                    Err(Invalid::Body) => prop_assert_eq!(kind, BodyKind::Json),
                }
            }
        }

        #[test]
        fn forms_and_json_are_read_alike(
            name in arbitrary::plain_name(),
            slug in prop::option::of("[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}"),
        ) {
            let expected = CreateOrganization { name: name.clone(), slug: slug.clone() };
            let mut pairs = vec![("name", name.as_str())];
            let mut object = json!({"name": name});
            if let Some(slug) = &slug {
                pairs.push(("slug", slug));
                object["slug"] = json!(slug);
            }
            prop_assert_eq!(validate(&form(&pairs), BodyKind::Form), Ok(expected.clone()));
            prop_assert_eq!(validate(object.to_string().as_bytes(), BodyKind::Json), Ok(expected));
        }

        #[test]
        fn derived_slugs_are_kebab_case_within_the_limit(name in arbitrary::text()) {
            if let Some(slug) = derived_slug(&name) {
                prop_assert!(slug::is_kebab_case(&slug) && slug.len() <= DERIVED_SLUG_MAX_CHARS, "{slug}");
            }
        }

        #[test]
        fn urls_and_html_in_names_are_refused(
            before in arbitrary::plain_name(),
            marker in "[hH][tT][tT][pP][sS]?://|[wW]{3}\\.|<[A-Za-z/!]",
        ) {
            let name = format!("{before}{marker}x");
            let problems = match validate(&form(&[("name", &name)]), BodyKind::Form) {
                Err(Invalid::Params(problems)) => problems,
                other => return Err(TestCaseError::fail(format!("{name:?} → {other:?}"))),
            };
            prop_assert_eq!((problems[0].code, problems[0].param), ("form_param_value_invalid", "name"));
        }
    }
}
