//! Request validation as pydantic v2 reports it in FastAPI (lax mode): one `detail` entry per problem, with
//! pydantic's `type`, `loc`, `msg`, `input` and `ctx`.

use serde_json::{json, Map, Value};

/// The JSON object a body holds; else the one entry FastAPI gives (`missing`, `json_invalid`,
/// `model_attributes_type`).
pub fn object_body(bytes: &[u8]) -> Result<Map<String, Value>, Vec<Value>> {
    if bytes.is_empty() {
        return Err(vec![
            json!({"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}),
        ]);
    }
    let body: Value = serde_json::from_slice(bytes).map_err(|e| vec![json_invalid(bytes, &e)])?;
    match body {
        Value::Object(fields) => Ok(fields),
        other => Err(vec![not_an_object(other)]),
    }
}

/// A string, at `loc`.
pub fn string(value: &Value, loc: Value) -> Result<String, Value> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(
            json!({"type": "string_type", "loc": loc, "msg": "Input should be a valid string", "input": value}),
        ),
    }
}

/// `value` ≥ `ge` and ≤ `le` (pydantic's `greater_than_equal` / `less_than_equal`), at `loc`.
pub fn bounded(value: i64, input: &Value, loc: Value, ge: i64, le: Option<i64>) -> Result<i64, Value> {
    if value < ge {
        return Err(
            json!({"type": "greater_than_equal", "loc": loc, "msg": format!("Input should be greater than or equal to {ge}"), "input": input, "ctx": {"ge": ge}}),
        );
    }
    match le {
        Some(le) if value > le => Err(
            json!({"type": "less_than_equal", "loc": loc, "msg": format!("Input should be less than or equal to {le}"), "input": input, "ctx": {"le": le}}),
        ),
        _ => Ok(value),
    }
}

/// The entry for a body that is JSON but not an object (or not JSON at all by its content type).
pub fn not_an_object(input: Value) -> Value {
    json!({
        "type": "model_attributes_type",
        "loc": ["body"],
        "msg": "Input should be a valid dictionary or object to extract fields from",
        "input": input,
    })
}

/// FastAPI reports undecodable JSON with the character offset of the error.
pub fn json_invalid(bytes: &[u8], err: &serde_json::Error) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let offset: usize = text
        .split_inclusive('\n')
        .take(err.line().saturating_sub(1))
        .map(|line| line.chars().count())
        .sum::<usize>()
        + err.column().saturating_sub(1);
    let reason = err.to_string();
    let reason = reason.split(" at line ").next().unwrap_or(&reason).to_owned();
    json!({
        "type": "json_invalid",
        "loc": ["body", offset],
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": reason},
    })
}

/// An integer as pydantic v2 reads one in lax mode (bools, integral floats and numeric strings too), at
/// `loc`.
pub fn lax_int(value: &Value, loc: Value) -> Result<i64, Value> {
    let err = |kind: &str, msg: &str| json!({"type": kind, "loc": loc, "msg": msg, "input": value});
    let parsed = match value {
        Value::Bool(b) => i64::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => f as i64,
            (None, Some(f)) if f.is_finite() && f.fract() != 0.0 => {
                return Err(err(
                    "int_from_float",
                    "Input should be a valid integer, got a number with a fractional part",
                ))
            }
            _ => {
                return Err(err(
                    "int_parsing_size",
                    "Unable to parse input string as an integer, exceeded maximum size",
                ))
            }
        },
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| {
            err("int_parsing", "Input should be a valid integer, unable to parse string as an integer")
        })?,
        _ => return Err(err("int_type", "Input should be a valid integer")),
    };
    Ok(parsed)
}

/// A boolean as pydantic v2 reads one in lax mode, at `loc`.
pub fn lax_bool(value: &Value, loc: Value) -> Result<bool, Value> {
    let parsing = || json!({"type": "bool_parsing", "loc": loc, "msg": "Input should be a valid boolean, unable to interpret input", "input": value});
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Ok(false),
            Some(1.0) => Ok(true),
            _ => Err(parsing()),
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Ok(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Ok(true),
            _ => Err(parsing()),
        },
        _ => Err(
            json!({"type": "bool_type", "loc": loc, "msg": "Input should be a valid boolean", "input": value}),
        ),
    }
}
