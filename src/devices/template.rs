//! The Home Assistant value templates the hub evaluates: the common one-expression forms
//! `{{ value }}` and `{{ value_json.a.b }}` (also `value_json['a']`), with the filters that do
//! not change which value is meant (`float`, `int`, `round(n)`, `default(x)`, `string`,
//! `lower`, `upper`, `trim`). Anything else (statements, arithmetic, conditions) is refused
//! with a reason: the hub does not run Jinja, and a template it cannot evaluate leaves the
//! entity listed without that value.

/// A template the hub can evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// `{{ value }}`: the payload itself.
    Value,
    /// `{{ value_json.<path> }}`: a field of the JSON payload.
    Json(Vec<String>),
}

const FILTERS: [&str; 10] = [
    "float",
    "int",
    "round",
    "default",
    "string",
    "lower",
    "upper",
    "trim",
    "is_defined",
    "d",
];

impl Template {
    /// Parses a template, or says why the hub cannot evaluate it.
    pub fn parse(src: &str) -> Result<Template, String> {
        let s = src.trim();
        let inner = s
            .strip_prefix("{{")
            .and_then(|r| r.strip_suffix("}}"))
            .filter(|i| !i.contains("{{") && !i.contains("{%"))
            .ok_or_else(|| format!("'{src}' is not a single {{{{ … }}}} expression"))?;
        let mut parts = inner.split('|').map(str::trim);
        let expr = parts.next().unwrap_or_default();
        for f in parts {
            let name = f.split('(').next().unwrap_or_default().trim();
            if !FILTERS.contains(&name) {
                return Err(format!(
                    "filter '{f}' in '{src}' is not one the hub evaluates"
                ));
            }
        }
        if expr == "value" {
            return Ok(Template::Value);
        }
        let rest = expr
            .strip_prefix("value_json")
            .ok_or_else(|| format!("'{expr}' in '{src}' is not value or value_json"))?;
        let mut path = Vec::new();
        let mut r = rest;
        while !r.is_empty() {
            if let Some(after) = r.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(format!("'{expr}' in '{src}' is not a field path"));
                }
                path.push(key.to_string());
                r = &after[end..];
            } else if let Some(after) = r.strip_prefix('[') {
                let end = after
                    .find(']')
                    .ok_or_else(|| format!("'{expr}' in '{src}' has an unclosed ["))?;
                let key = after[..end].trim();
                let unquoted = key
                    .strip_prefix('\'')
                    .and_then(|k| k.strip_suffix('\''))
                    .or_else(|| key.strip_prefix('"').and_then(|k| k.strip_suffix('"')))
                    .ok_or_else(|| {
                        format!("'{expr}' in '{src}': only quoted keys are read, not [{key}]")
                    })?;
                path.push(unquoted.to_string());
                r = &after[end + 1..];
            } else {
                return Err(format!("'{expr}' in '{src}' is not a field path"));
            }
        }
        if path.is_empty() {
            return Err(format!("'{src}' names all of value_json, not one field"));
        }
        Ok(Template::Json(path))
    }

    /// The series the value is recorded under: its JSON path joined by `.`, as the recorder
    /// names nested fields; `""` for the payload itself.
    pub fn field(&self) -> String {
        match self {
            Template::Value => String::new(),
            Template::Json(p) => p.join("."),
        }
    }

    /// The value in `payload`, as text, if the template finds one.
    pub fn apply(&self, payload: &str) -> Option<String> {
        match self {
            Template::Value => Some(payload.trim().to_string()),
            Template::Json(path) => {
                let v: serde_json::Value = serde_json::from_str(payload.trim()).ok()?;
                let mut at = &v;
                for k in path {
                    at = at.get(k)?;
                }
                Some(match at {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => return None,
                    other => other.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_forms() {
        let t = Template::parse("{{ value_json.temperature }}").unwrap();
        assert_eq!(t.field(), "temperature");
        assert_eq!(t.apply(r#"{"temperature":21.5}"#).as_deref(), Some("21.5"));
        let t = Template::parse("{{value_json['AM2301'].Temperature | float | round(1)}}").unwrap();
        assert_eq!(t.field(), "AM2301.Temperature");
        assert_eq!(
            t.apply(r#"{"AM2301":{"Temperature":20}}"#).as_deref(),
            Some("20")
        );
        let t = Template::parse(r#"{{ value_json["state"] }}"#).unwrap();
        assert_eq!(t.apply(r#"{"state":"ON"}"#).as_deref(), Some("ON"));
        assert_eq!(t.apply("not json"), None);
        assert_eq!(Template::parse("{{ value }}").unwrap(), Template::Value);
    }

    #[test]
    fn what_the_hub_refuses() {
        for t in [
            "{{ value_json.t * 1.8 + 32 }}",
            "{% if value == '1' %}ON{% endif %}",
            "{{ value_json.t | as_timestamp }}",
            "{{ value_json[0] }}",
            "{{ value_json }}",
            "{{ states('sensor.x') }}",
            "{{ value_json.a }} and {{ value_json.b }}",
            "plain",
            "{{ value_json['a }}",
        ] {
            assert!(Template::parse(t).is_err(), "{t}");
        }
    }
}
