//! proptest strategies for hostile input, shared by the property tests of the validators and the handler
//! fuzzing (feature `proptest`; tests only, never in a Lambda).
//!
//! They generate what a hostile or careless client sends: arbitrary bytes, arbitrary JSON, objects over an
//! endpoint's own field names with values of any type, and strings that sit near a validator's edges
//! (blank, control characters, combining marks, long).

use proptest::prelude::*;
use serde_json::{Number, Value};

/// Strings as clients send them: arbitrary Unicode (control characters included), printable ASCII,
/// slug-like text, blanks, combining marks and other scripts, and long runs.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[ -~]{0,40}",
        2 => "[a-z0-9-]{0,24}",
        1 => "[ \t\n\u{a0}\u{3000}]{0,4}",
        1 => "[A-Za-zÀ-ÿ\u{300}-\u{36f}ß日本Ææ -]{0,24}",
        1 => ("[a-z]{1,3}", 0usize..700).prop_map(|(s, n)| s.repeat(n)),
    ]
}

/// Any JSON value: numbers of every range (huge, negative, fractional), strings from [`text`], arrays and
/// objects nested a few levels.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-3i64..1000).prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON numbers are finite", |f| Number::from_f64(f).map(Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A JSON object whose keys are mostly `fields` (an endpoint's own) and whose values are of any type,
/// strings most often: what gets past the parser into a validator's rules.
pub fn object_over(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let key = prop_oneof![4 => prop::sample::select(fields).prop_map(str::to_owned), 1 => text()];
    let value = prop_oneof![2 => text().prop_map(Value::String), 2 => json()];
    prop::collection::vec((key, value), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

/// A valid-looking object: `fields[0]` (the endpoint's required name) holds a plain name, and up to two
/// more of `fields` hold anything: what reaches the create transaction with odd but acceptable values.
pub fn near_valid(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let value = prop_oneof![2 => text().prop_map(Value::String), 2 => json()];
    (plain_name(), prop::collection::vec((prop::sample::select(fields), value), 0..3)).prop_map(
        move |(name, extra)| {
            let mut object = serde_json::Map::new();
            object.insert(fields[0].to_owned(), Value::String(name));
            for (key, value) in extra {
                object.insert(key.to_owned(), value);
            }
            Value::Object(object)
        },
    )
}

/// Request bodies: arbitrary bytes, any JSON document, objects over `fields` (the required name first),
/// valid-looking ones, those cut short, and `application/x-www-form-urlencoded` pairs over `fields`.
pub fn body(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let form_key = prop_oneof![3 => prop::sample::select(fields).prop_map(str::to_owned), 1 => text()];
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..300),
        2 => json().prop_map(|v| v.to_string().into_bytes()),
        3 => object_over(fields).prop_map(|v| v.to_string().into_bytes()),
        4 => near_valid(fields).prop_map(|v| v.to_string().into_bytes()),
        1 => (object_over(fields), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let mut bytes = v.to_string().into_bytes();
            bytes.truncate(cut.index(bytes.len() + 1));
            bytes
        }),
        1 => prop::collection::vec((form_key, text()), 0..4).prop_map(|pairs| {
            form_urlencoded_pairs(&pairs).into_bytes()
        }),
    ]
}

/// `k=v&…`, percent-encoding what a form encoder would.
fn form_urlencoded_pairs(pairs: &[(String, String)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// A name every vendor accepts: 1 to 32 characters, not blank, no control characters, no URL or HTML.
pub fn plain_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9À-ÿ日本 ,'&()_-]{0,31}[A-Za-z0-9À-ÿ日本]"
}
