//! class-validator as Cal.com's global `ValidationPipe({whitelist: true, transform: true})` runs it: the
//! shape of its errors, and the constraints every Cal.com input shares (`metadata`, a non-empty `name`).
//!
//! class-validator's `@IsOptional()` skips `null` as well as a missing property, so `null` in an optional
//! field means "not given". Types are strict: a number sent as a string is refused.

use serde_json::{json, Map, Value};

/// `@ValidateMetadata()`'s message (`${property} must be …`, property `metadata`).
pub const METADATA_MESSAGE: &str = "metadata must be an object with up to 50 keys, each key name up to 40 \
characters, and values with a maximum length of 500 characters.";
pub const METADATA_MAX_KEYS: usize = 50;
/// Lengths in UTF-16 code units, as JavaScript's `.length` counts them.
pub const METADATA_MAX_KEY_LENGTH: usize = 40;
pub const METADATA_MAX_VALUE_LENGTH: usize = 500;

/// A property that broke constraints, as class-validator's `ValidationError` (without `target`).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub property: &'static str,
    pub value: Value,
    /// (constraint, message), in the order class-validator runs them.
    pub constraints: Vec<(&'static str, String)>,
}

impl Problem {
    pub fn new(
        property: &'static str,
        value: Option<&Value>,
        constraints: &[(&'static str, String)],
    ) -> Self {
        Problem { property, value: value.cloned().unwrap_or(Value::Null), constraints: constraints.to_vec() }
    }

    pub fn to_json(&self) -> Value {
        let constraints: Map<String, Value> =
            self.constraints.iter().map(|(name, message)| ((*name).to_owned(), json!(message))).collect();
        let mut error = json!({"property": self.property, "constraints": constraints, "children": []});
        // JSON has no `undefined`: a missing property has no `value`, as JSON.stringify would print it.
        if !self.value.is_null() {
            error["value"] = self.value.clone();
        }
        error
    }
}

/// Why a body is refused with a 400.
#[derive(Debug, Clone, PartialEq)]
pub enum Invalid {
    /// Not a JSON object: the body parser's or the pipe's message.
    Malformed(String),
    /// Broken constraints (`message` "Bad Request Exception", `details.errors` these).
    Constraints(Vec<Problem>),
    /// Both expiry options truthy: `ApiKeysService`'s own refusal (creates only).
    BothExpiryOptions,
}

/// The body's fields: Express's JSON parser leaves an empty body as `{}` (the constraints then say what is
/// missing); anything but an object is refused before the constraints.
pub fn object_body(bytes: &[u8]) -> Result<Map<String, Value>, Invalid> {
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(|e| Invalid::Malformed(format!("Invalid JSON body: {e}")))?
    };
    match body {
        Value::Object(fields) => Ok(fields),
        _ => Err(Invalid::Malformed("Request body must be a JSON object".to_owned())),
    }
}

/// `@IsString() @Length(1)` on `name` (JavaScript's length: any non-empty string, blanks included).
pub fn name(value: Option<&Value>) -> Result<String, Problem> {
    let is_string = ("isString", "name must be a string".to_owned());
    let is_length = ("isLength", "name must be longer than or equal to 1 characters".to_owned());
    match value {
        Some(Value::String(name)) if !name.is_empty() => Ok(name.clone()),
        Some(Value::String(_)) => Err(Problem::new("name", value, &[is_length])),
        other => Err(Problem::new("name", other, &[is_string, is_length])),
    }
}

/// `@IsObject() @IsOptional() @ValidateMetadata()` on a `metadata` that was given (not `null`): the object
/// within the limits, or the constraints it broke — `isObject` for anything but a plain object (an array
/// too), `ValidateMetadata` for what breaks the limits (at most 50 keys of at most 40 UTF-16 units; values
/// strings of at most 500, numbers or booleans).
pub fn metadata(value: &Value) -> Result<Map<String, Value>, Problem> {
    let is_object = ("isObject", "metadata must be an object".to_owned());
    let within_limits = ("ValidateMetadata", METADATA_MESSAGE.to_owned());
    let length = |s: &str| s.encode_utf16().count();
    let value_fits = |v: &Value| match v {
        Value::String(s) => length(s) <= METADATA_MAX_VALUE_LENGTH,
        Value::Number(_) | Value::Bool(_) => true,
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    };
    match value {
        Value::Object(map) => {
            let fits = map.len() <= METADATA_MAX_KEYS
                && map.iter().all(|(key, v)| length(key) <= METADATA_MAX_KEY_LENGTH && value_fits(v));
            if fits {
                Ok(map.clone())
            } else {
                Err(Problem::new("metadata", Some(value), &[within_limits]))
            }
        }
        // `typeof [] === "object"`: the metadata rule reads an array's indexes as its keys.
        Value::Array(items) => {
            let fits = items.len() <= METADATA_MAX_KEYS && items.iter().all(value_fits);
            let broken = if fits { vec![is_object] } else { vec![is_object, within_limits] };
            Err(Problem::new("metadata", Some(value), &broken))
        }
        _ => Err(Problem::new("metadata", Some(value), &[is_object, within_limits])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(value: Value) -> Vec<&'static str> {
        metadata(&value).unwrap_err().constraints.iter().map(|(c, _)| *c).collect()
    }

    #[test]
    fn metadata_limits_count_utf16_units_and_name_each_broken_rule() {
        let key40 = "k".repeat(40);
        assert!(metadata(&json!({key40: "v".repeat(500), "n": 1, "b": true})).is_ok());
        // 250 emoji are 500 UTF-16 units; 251 are 502.
        assert!(metadata(&json!({"e": "😀".repeat(250)})).is_ok());
        assert_eq!(broken(json!({"e": "😀".repeat(251)})), ["ValidateMetadata"]);
        assert_eq!(broken(json!({"k".repeat(41): 1})), ["ValidateMetadata"]);
        assert_eq!(broken(json!({"nested": {"a": 1}})), ["ValidateMetadata"]);
        let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(broken(Value::Object(many)), ["ValidateMetadata"]);
        assert_eq!(broken(json!("s")), ["isObject", "ValidateMetadata"]);
        assert_eq!(broken(json!(["a", 1])), ["isObject"]);
        assert_eq!(broken(json!([{"a": 1}])), ["isObject", "ValidateMetadata"]);
    }

    #[test]
    fn a_name_is_any_non_empty_string() {
        assert_eq!(name(Some(&json!(" "))).unwrap(), " ");
        let constraints = |v: Option<&Value>| -> Vec<&str> {
            name(v).unwrap_err().constraints.iter().map(|(c, _)| *c).collect()
        };
        assert_eq!(constraints(Some(&json!(""))), ["isLength"]);
        assert_eq!(constraints(Some(&json!(1))), ["isString", "isLength"]);
        assert_eq!(constraints(None), ["isString", "isLength"]);
    }

    #[test]
    fn bodies_that_are_not_objects_are_malformed_and_empty_ones_are_empty_objects() {
        assert_eq!(object_body(b"  ").unwrap(), Map::new());
        assert!(matches!(object_body(b"[1]"), Err(Invalid::Malformed(_))));
        assert!(matches!(object_body(b"{"), Err(Invalid::Malformed(_))));
    }
}
