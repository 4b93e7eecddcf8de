//! Field readers that accept every shape OTS releases have been seen to send.
//!
//! v1 is meant to emit native JSON types, but v2 sends strings, proxies re-encode, and older
//! releases omit or null fields. A field we cannot interpret becomes `None` instead of failing the
//! whole response: losing one optional field is better than losing a receipt whose secret was
//! already created upstream. Whether a `None` is acceptable is decided where DTOs are converted.

use std::fmt;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Number, Value};

pub(super) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(int_from(Scalar::deserialize(d)?))
}

/// Unix seconds: v2 sends `created`/`updated` as floats with a fraction, which is dropped.
pub(super) fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Scalar::deserialize(d)?;
    let fractional = match &value {
        Scalar::Number(n) if n.as_i64().is_none() => n.as_f64(),
        Scalar::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    Ok(match fractional {
        Some(f) if f.is_finite() && f.abs() < 9.0e15 => Some(f.trunc() as i64),
        Some(_) => None,
        None => int_from(value),
    })
}

pub(super) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::String(s) => Some(s),
        Scalar::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

pub(super) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Bool(b) => Some(b),
        Scalar::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        Scalar::Number(n) => n.as_i64().map(|v| v != 0),
        _ => None,
    })
}

/// OTS sends recipients as an array; a lone string is accepted as a one-element list.
pub(super) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => Some(
            items
                .into_iter()
                .filter_map(|item| match item {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
        ),
        Value::String(s) if !s.is_empty() => Some(vec![s]),
        _ => None,
    })
}

fn int_from(value: Scalar) -> Option<i64> {
    match value {
        Scalar::Number(n) => n.as_i64().or_else(|| whole_float(n.as_f64()?)),
        Scalar::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// What the single-value readers look at. Arrays, objects and `null` are skipped as they are
/// read rather than built: reading every field through `serde_json::Value` made the v2 create
/// answer's parse a fifth of a share's work.
enum Scalar {
    Bool(bool),
    Number(Number),
    String(String),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Number::from_f64(v).map_or(Scalar::Other, Scalar::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::String(v))
    }

    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        Scalar::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

/// Some JSON encoders write integers as `3600.0`.
fn whole_float(f: f64) -> Option<i64> {
    let in_range = f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15;
    // The range check makes the cast exact.
    in_range.then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "int")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "boolean")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "strings")]
        list: Option<Vec<String>>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).expect("lenient probe never fails on valid JSON")
    }

    #[test]
    fn integers_arrive_as_numbers_strings_or_whole_floats() {
        assert_eq!(probe(r#"{"n":3600}"#).n, Some(3600));
        assert_eq!(probe(r#"{"n":"3600"}"#).n, Some(3600));
        assert_eq!(probe(r#"{"n":3600.0}"#).n, Some(3600));
        assert_eq!(probe(r#"{"n":-1}"#).n, Some(-1));
        assert_eq!(probe(r#"{"n":null}"#).n, None);
        assert_eq!(probe(r#"{"n":"soon"}"#).n, None);
        assert_eq!(probe(r#"{"n":1.5}"#).n, None);
        assert_eq!(probe(r#"{}"#).n, None);
    }

    #[test]
    fn timestamps_drop_the_fraction() {
        #[derive(Deserialize)]
        struct At {
            #[serde(default, deserialize_with = "timestamp")]
            t: Option<i64>,
        }
        let at = |json: &str| serde_json::from_str::<At>(json).expect("valid").t;
        assert_eq!(at(r#"{"t":1796008303.712197}"#), Some(1_796_008_303));
        assert_eq!(at(r#"{"t":1796008303}"#), Some(1_796_008_303));
        assert_eq!(at(r#"{"t":"1796008303.5"}"#), Some(1_796_008_303));
        assert_eq!(at(r#"{"t":null}"#), None);
    }

    #[test]
    fn odd_shapes_become_none_instead_of_failing() {
        let p = probe(r#"{"b":"false","s":42,"list":"a@b.c"}"#);
        assert_eq!(p.b, Some(false));
        assert_eq!(p.s.as_deref(), Some("42"));
        assert_eq!(p.list, Some(vec!["a@b.c".to_owned()]));
        let p = probe(r#"{"b":{},"s":[],"list":null}"#);
        assert_eq!((p.b, p.s, p.list), (None, None, None));
    }
}
