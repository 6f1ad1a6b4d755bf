//! What a payload says: the numeric values it carries, whether a field names a temperature,
//! and the units readings come in.

use serde::{Serialize, Serializer};

/// A reading's unit. Temperatures keep the unit the device reported in; the dashboard shows
/// them in the household's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Celsius,
    Fahrenheit,
    Percent,
    Watt,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Celsius => "°C",
            Unit::Fahrenheit => "°F",
            Unit::Percent => "%",
            Unit::Watt => "W",
        }
    }

    /// A unit as devices write it: `°C`, `C`, `celsius`, `ºF` (the ordinal sign some
    /// firmware uses), `F`, `%`, `W`. Anything else is not one the hub converts or shows.
    pub fn parse(s: &str) -> Option<Unit> {
        let s = s.trim();
        let bare = s.trim_start_matches(['°', 'º', '˚']).to_ascii_lowercase();
        Some(match bare.as_str() {
            "c" | "celsius" => Unit::Celsius,
            "f" | "fahrenheit" => Unit::Fahrenheit,
            "%" => Unit::Percent,
            "w" => Unit::Watt,
            _ => return None,
        })
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The numeric values in a payload: a plain number gives one value with field `""`; a JSON
/// object gives one value per numeric field, nested objects flattened with `.`
/// (`{"DS18B20":{"Temperature":20.6}}` → `DS18B20.Temperature`). Booleans, strings, arrays and
/// anything that is not valid UTF-8 give nothing.
pub fn numeric_fields(payload: &[u8]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let Ok(text) = std::str::from_utf8(payload) else {
        return out;
    };
    let text = text.trim();
    if text.is_empty() {
        return out;
    }
    if let Some(v) = parse_plain_number(text) {
        out.push((String::new(), v));
        return out;
    }
    if text.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text)
    {
        flatten(&map, "", 0, &mut out);
    }
    out
}

/// A plain decimal number. Refuses `NaN`, `inf` and friends that `f64::from_str` accepts but
/// no sensor means as a reading.
fn parse_plain_number(text: &str) -> Option<f64> {
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Deep JSON is flattened only this far, so a hostile payload cannot make the recorder
/// create unbounded series names.
const MAX_DEPTH: usize = 4;
/// And at most this many fields per message.
const MAX_FIELDS: usize = 64;

fn flatten(
    map: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, f64)>,
) {
    for (k, v) in map {
        if out.len() >= MAX_FIELDS {
            return;
        }
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Number(n) => {
                if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                    out.push((name, f));
                }
            }
            serde_json::Value::Object(inner) if depth + 1 < MAX_DEPTH => {
                flatten(inner, &name, depth + 1, out)
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers() {
        assert_eq!(numeric_fields(b"21.5"), vec![(String::new(), 21.5)]);
        assert_eq!(numeric_fields(b" -3 \n"), vec![(String::new(), -3.0)]);
        assert_eq!(numeric_fields(b"1e3"), vec![(String::new(), 1000.0)]);
    }

    #[test]
    fn json_fields_become_series() {
        let mut f = numeric_fields(br#"{"temperature":21.5,"humidity":40,"state":"ON"}"#);
        f.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            f,
            vec![("humidity".into(), 40.0), ("temperature".into(), 21.5)]
        );
    }

    #[test]
    fn nested_json_is_flattened() {
        let f = numeric_fields(br#"{"Time":"2024","DS18B20":{"Temperature":20.6}}"#);
        assert_eq!(f, vec![("DS18B20.Temperature".into(), 20.6)]);
    }

    #[test]
    fn non_numeric_payloads_give_nothing() {
        for p in [
            &b"ON"[..],
            b"",
            b"NaN",
            b"inf",
            b"-inf",
            b"true",
            b"[1,2]",
            b"{broken",
            b"\xff\xfe",
            b"12abc",
            br#"{"a":"1"}"#,
        ] {
            assert!(numeric_fields(p).is_empty(), "{p:?}");
        }
    }

    #[test]
    fn hostile_json_is_bounded() {
        let deep = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
        assert!(numeric_fields(deep.as_bytes()).is_empty());
        let wide = format!(
            "{{{}}}",
            (0..1000)
                .map(|i| format!("\"f{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(numeric_fields(wide.as_bytes()).len(), MAX_FIELDS);
    }

    #[test]
    fn units_as_devices_write_them() {
        for (s, u) in [
            ("°C", Some(Unit::Celsius)),
            ("C", Some(Unit::Celsius)),
            ("celsius", Some(Unit::Celsius)),
            ("ºF", Some(Unit::Fahrenheit)),
            ("F", Some(Unit::Fahrenheit)),
            (" % ", Some(Unit::Percent)),
            ("W", Some(Unit::Watt)),
            ("K", None),
            ("", None),
        ] {
            assert_eq!(Unit::parse(s), u, "{s}");
        }
        assert_eq!(serde_json::to_string(&Unit::Fahrenheit).unwrap(), "\"°F\"");
    }
}
