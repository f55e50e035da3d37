//! Reading a JSON request body into a typed struct, with the error the API answers for each
//! way it can be wrong: malformed JSON or not an object (`invalid_json`), a field of the
//! wrong type or form (`invalid_field`, or `amount_invalid` for an amount, the field's path
//! named through `serde_path_to_error`). The body is also kept as JSON: the idempotency
//! key's request hash is taken of it.

use crate::error::ApiError;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

pub(crate) fn bad(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, code, message).field(field)
}

pub(crate) fn unprocessable(
    code: &'static str,
    field: &str,
    message: impl Into<String>,
) -> ApiError {
    ApiError::new(422, code, message).field(field)
}

/// How our own field types refuse a value, so the API answers with the code and words they
/// chose: `walletpay:<code>:<why>` (serde's own type errors are `invalid_field`).
const OURS: &str = "walletpay:";

fn refuse<E: de::Error>(code: &str, why: impl fmt::Display) -> E {
    E::custom(format!("{OURS}{code}:{why}"))
}

/// A string field: not empty, no control characters, at most `MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        walletpay_domain::fields::plain_text(&s, MAX)
            .map_err(|why| refuse::<D::Error>("invalid_field", why))?;
        Ok(Text(s))
    }
}

/// An amount of a payment: an integer of the currency's minor unit (its range is checked
/// against the wallet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub i64);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64().map(Amount).ok_or_else(|| {
                refuse::<D::Error>(
                    "amount_invalid",
                    "must be a whole number of the currency's minor unit (IDR 150,000 is 15000000)",
                )
            }),
            _ => Err(refuse::<D::Error>(
                "amount_invalid",
                "must be an integer in minor units, not a string",
            )),
        }
    }
}

/// An amount of a refund: a positive integer of the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveAmount(pub i64);

impl<'de> Deserialize<'de> for PositiveAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64().filter(|a| *a > 0).map(PositiveAmount),
            _ => None,
        }
        .ok_or_else(|| {
            refuse::<D::Error>(
                "amount_invalid",
                "must be a positive integer in minor units",
            )
        })
    }
}

/// A nested object of a body. Serde's derived structs also read an array of their fields in
/// order (`"customer": ["c-1"]` as a customer id); a JSON body never means that, so this
/// reads `T` from an object only, and a field inside it keeps its path
/// (`customer.phone`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(MapOnly(d)).map(Object)
    }
}

/// Hands a struct's visitor to the map reader alone.
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(v)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The error for a field refused while reading: ours with the code and words we chose,
/// serde's by what the field had to be.
fn field_error(path: &str, detail: &str) -> ApiError {
    if let Some((code, why)) = detail
        .strip_prefix(OURS)
        .and_then(|rest| rest.split_once(':'))
    {
        let code = match code {
            "amount_invalid" => "amount_invalid",
            _ => "invalid_field",
        };
        return bad(code, path, format!("`{path}` {why}."));
    }
    // Serde's type errors end in what the field had to be: "..., expected a string".
    let expected = detail.rsplit_once("expected ").map_or("", |(_, e)| e);
    let message = if expected.starts_with("struct") || expected.starts_with("a map") {
        format!("`{path}` must be an object.")
    } else if expected.contains("str") {
        format!("`{path}` must be a string.")
    } else if expected.starts_with("a boolean") {
        format!("`{path}` must be true or false.")
    } else if expected.starts_with("a sequence") {
        format!("`{path}` must be a list.")
    } else {
        format!("`{path}` has the wrong type.")
    };
    bad("invalid_field", path, message)
}

/// Reads `body` as JSON into `T`.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Value), ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            400,
            "invalid_json",
            "The body must be a JSON object.",
        ));
    }
    match serde_path_to_error::deserialize::<_, T>(&value) {
        Ok(t) => Ok((t, value)),
        Err(e) => Err(field_error(&e.path().to_string(), &e.inner().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        name: Option<Text<5>>,
        amount: Option<Amount>,
        nested: Option<Object<Nested>>,
    }

    #[derive(Debug, Deserialize)]
    struct Nested {
        inner: Option<Text<5>>,
    }

    fn fails(body: &str) -> (u16, &'static str, Option<String>, String) {
        let e = decode::<Body>(body.as_bytes()).unwrap_err();
        (e.status, e.code, e.field, e.message)
    }

    #[test]
    fn every_way_a_body_can_be_wrong_has_its_code_and_path() {
        assert_eq!(fails("{").1, "invalid_json");
        assert_eq!(fails("[]").1, "invalid_json");
        assert_eq!(fails("null").1, "invalid_json");
        let (_, code, field, message) = fails(r#"{"name": "toolong"}"#);
        assert_eq!((code, field.as_deref()), ("invalid_field", Some("name")));
        assert_eq!(message, "`name` is longer than 5 characters.");
        assert_eq!(fails(r#"{"name": 5}"#).3, "`name` must be a string.");
        assert_eq!(fails(r#"{"name": ""}"#).3, "`name` must not be empty.");
        let (_, code, field, _) = fails(r#"{"nested": {"inner": 3}}"#);
        assert_eq!(
            (code, field.as_deref()),
            ("invalid_field", Some("nested.inner"))
        );
        assert_eq!(fails(r#"{"nested": "x"}"#).3, "`nested` must be an object.");
        // Never a struct read from an array of its fields.
        let (_, code, field, message) = fails(r#"{"nested": ["abc"]}"#);
        assert_eq!((code, field.as_deref()), ("invalid_field", Some("nested")));
        assert_eq!(message, "`nested` must be an object.");
        let (ok, _) = decode::<Body>(br#"{"nested": {"inner": "abc"}}"#).unwrap();
        assert_eq!(ok.nested.unwrap().0.inner.unwrap().as_str(), "abc");
        for amount in ["1.5", "\"100\"", "true", "18446744073709551615"] {
            let (status, code, field, _) = fails(&format!(r#"{{"amount": {amount}}}"#));
            assert_eq!(
                (status, code, field.as_deref()),
                (400, "amount_invalid", Some("amount")),
                "{amount}"
            );
        }
        let (ok, _) = decode::<Body>(br#"{"amount": -5, "name": null, "extra": 1}"#).unwrap();
        assert_eq!(ok.amount, Some(Amount(-5)));
        assert!(ok.name.is_none());
    }
}
