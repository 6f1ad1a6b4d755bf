//! Topic rules: which topics a credential may publish to and subscribe to.
//!
//! A credential's rules are an ordered list; the first rule that applies decides, and a
//! topic no rule applies to is denied. Filters use MQTT's wildcards (`+` one level, `#` the
//! rest) and may name the client's own username as `%u` and client id as `%c`.
//!
//! A PUBLISH applies to a rule when its topic matches the rule's filter. A SUBSCRIBE is more
//! careful, because its filter can cover many topics: an allow rule applies only when every
//! topic the subscription could receive is inside the rule's filter, a deny rule as soon as one
//! topic could be in both. So with `deny home/safe/#` above `allow home/#`, subscribing to
//! `home/#` is refused while `home/kitchen/#` is allowed.

use serde::{Deserialize, Serialize};

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Allow,
    Deny,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Deny => "deny",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        match s {
            "allow" => Some(Permission::Allow),
            "deny" => Some(Permission::Deny),
            _ => None,
        }
    }
}

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Publish,
    Subscribe,
    /// Publish and subscribe.
    Both,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
            Action::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "publish" => Some(Action::Publish),
            "subscribe" => Some(Action::Subscribe),
            "both" => Some(Action::Both),
            _ => None,
        }
    }
}

/// One rule of a credential's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    pub permission: Permission,
    pub action: Action,
    /// An MQTT topic filter; `%u` and `%c` stand for the client's username and client id.
    pub filter: String,
}

impl Rule {
    pub fn new(permission: Permission, action: Action, filter: &str) -> Rule {
        Rule {
            permission,
            action,
            filter: filter.to_string(),
        }
    }

    fn covers(&self, action: Action) -> bool {
        self.action == Action::Both || self.action == action
    }
}

/// What a client asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Publish,
    Subscribe,
}

/// Who is asking, for `%u`/`%c`.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub username: Option<&'a str>,
    pub client_id: &'a str,
}

/// The decision and the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub allowed: bool,
    /// Index of the deciding rule; none when no rule applied (denied by default).
    pub rule: Option<usize>,
}

/// Longest filter a rule may have.
pub const MAX_FILTER_LEN: usize = 1024;

/// Checks a rule's filter: a valid MQTT topic filter once `%u`/`%c` are put in.
pub fn validate_filter(filter: &str) -> Result<(), String> {
    if filter.is_empty() {
        return Err("the filter is empty".into());
    }
    if filter.len() > MAX_FILTER_LEN {
        return Err(format!("the filter is longer than {MAX_FILTER_LEN} bytes"));
    }
    if filter.contains('\0') {
        return Err("the filter contains a NUL character".into());
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err("'#' must be a whole level at the end of the filter".into());
        }
        if level.contains('+') && *level != "+" {
            return Err("'+' must be a whole level".into());
        }
    }
    let mut rest = filter;
    while let Some(i) = rest.find('%') {
        match rest.as_bytes().get(i + 1) {
            Some(b'u') | Some(b'c') => rest = &rest[i + 2..],
            _ => return Err("'%' may only start %u (username) or %c (client id)".into()),
        }
    }
    Ok(())
}

/// Decides `request` on `topic` (a topic name for publish, a filter for subscribe) by `rules`.
pub fn decide(rules: &[Rule], client: Client<'_>, request: Request, topic: &str) -> Decision {
    let action = match request {
        Request::Publish => Action::Publish,
        Request::Subscribe => Action::Subscribe,
    };
    for (i, rule) in rules.iter().enumerate() {
        if !rule.covers(action) {
            continue;
        }
        let Some(filter) = substitute(&rule.filter, client) else {
            continue;
        };
        let applies = match (request, rule.permission) {
            (Request::Publish, _) => matches(&filter, topic),
            (Request::Subscribe, Permission::Allow) => within(topic, &filter),
            (Request::Subscribe, Permission::Deny) => overlaps(topic, &filter),
        };
        if applies {
            return Decision {
                allowed: rule.permission == Permission::Allow,
                rule: Some(i),
            };
        }
    }
    Decision {
        allowed: false,
        rule: None,
    }
}

/// Puts the client's username and id into a filter. A value that is empty or holds `/`, `+`
/// or `#` would widen the rule, so such a rule does not apply to that client at all.
fn substitute(filter: &str, client: Client<'_>) -> Option<String> {
    if !filter.contains('%') {
        return Some(filter.to_string());
    }
    let safe = |v: &str| !v.is_empty() && !v.contains(['/', '+', '#']);
    let mut out = filter.to_string();
    if out.contains("%u") {
        let u = client.username.filter(|u| safe(u))?;
        out = out.replace("%u", u);
    }
    if out.contains("%c") {
        if !safe(client.client_id) {
            return None;
        }
        out = out.replace("%c", client.client_id);
    }
    Some(out)
}

/// Whether a topic name matches a filter (MQTT 4.7): wildcards in the first level do not
/// match topics starting with `$`.
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (None, None) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Whether every topic `inner` matches is also matched by `outer`.
pub fn within(inner: &str, outer: &str) -> bool {
    if dollar_mismatch(inner, outer) {
        return false;
    }
    let mut i = inner.split('/');
    let mut o = outer.split('/');
    loop {
        match (i.next(), o.next()) {
            (_, Some("#")) => return true,
            (None, None) => return true,
            (Some("#"), _) => return false,
            (Some(_), Some("+")) => {}
            (Some("+"), Some(_)) => return false,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Whether some topic is matched by both filters.
pub fn overlaps(a: &str, b: &str) -> bool {
    if dollar_mismatch(a, b) || dollar_mismatch(b, a) {
        return false;
    }
    let mut x = a.split('/');
    let mut y = b.split('/');
    loop {
        match (x.next(), y.next()) {
            (Some("#"), _) | (_, Some("#")) => return true,
            (None, None) => return true,
            (Some("+"), Some(_)) | (Some(_), Some("+")) => {}
            (Some(p), Some(q)) if p == q => {}
            _ => return false,
        }
    }
}

/// A `$` topic (`$SYS/...`) is never reached by a filter with a wildcard first level.
fn dollar_mismatch(literal_side: &str, wildcard_side: &str) -> bool {
    literal_side.starts_with('$') && wildcard_side.starts_with(['+', '#'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Client = Client {
        username: Some("kitchen-light"),
        client_id: "tasmota_1",
    };

    fn rules(list: &[(Permission, Action, &str)]) -> Vec<Rule> {
        list.iter().map(|(p, a, f)| Rule::new(*p, *a, f)).collect()
    }

    #[test]
    fn matching_follows_the_spec() {
        assert!(matches("home/#", "home"));
        assert!(matches("home/#", "home/a/b"));
        assert!(matches("home/+/light", "home/hall/light"));
        assert!(!matches("home/+/light", "home/hall/light/set"));
        assert!(!matches("home/+", "home"));
        assert!(matches("#", "anything/at/all"));
        assert!(!matches("#", "$SYS/brokers"));
        assert!(!matches("+/brokers", "$SYS/brokers"));
        assert!(matches("$SYS/#", "$SYS/brokers"));
        assert!(matches("home//x", "home//x"));
    }

    #[test]
    fn within_and_overlaps() {
        assert!(within("home/kitchen/#", "home/#"));
        assert!(within("home/+/light", "home/#"));
        assert!(within("home/+/light", "home/+/light"));
        assert!(within("home", "home/#"));
        assert!(!within("home/#", "home/+"));
        assert!(!within("#", "home/#"));
        assert!(!within("home/+/light", "home/hall/light"));
        assert!(!within("$SYS/#", "#"));
        assert!(overlaps("home/#", "home/safe/#"));
        assert!(overlaps("home/+/x", "home/a/+"));
        assert!(overlaps("#", "home/safe"));
        assert!(!overlaps("home/a/#", "home/b/#"));
        assert!(!overlaps("home/+", "home/a/b"));
        assert!(overlaps("home/+", "home/a/#"));
        assert!(!overlaps("#", "$SYS/x"));
    }

    #[test]
    fn first_applying_rule_decides_and_default_is_deny() {
        use Action::*;
        use Permission::*;
        let r = rules(&[
            (Deny, Both, "home/safe/#"),
            (Allow, Subscribe, "home/#"),
            (Allow, Publish, "home/+/light/set"),
        ]);
        let d = |req, t| decide(&r, C, req, t);
        assert_eq!(
            d(Request::Subscribe, "home/kitchen/#"),
            Decision {
                allowed: true,
                rule: Some(1)
            }
        );
        assert_eq!(
            d(Request::Subscribe, "home/#"),
            Decision {
                allowed: false,
                rule: Some(0)
            }
        );
        assert_eq!(
            d(Request::Subscribe, "#"),
            Decision {
                allowed: false,
                rule: Some(0)
            }
        );
        assert_eq!(
            d(Request::Subscribe, "garden/#"),
            Decision {
                allowed: false,
                rule: None
            }
        );
        assert_eq!(
            d(Request::Publish, "home/hall/light/set"),
            Decision {
                allowed: true,
                rule: Some(2)
            }
        );
        assert_eq!(
            d(Request::Publish, "home/safe/light/set"),
            Decision {
                allowed: false,
                rule: Some(0)
            }
        );
        assert_eq!(
            d(Request::Publish, "home/hall/light"),
            Decision {
                allowed: false,
                rule: None
            }
        );
    }

    #[test]
    fn username_and_client_id_substitution() {
        use Action::*;
        use Permission::*;
        let r = rules(&[(Allow, Both, "home/%u/#"), (Allow, Publish, "tele/%c/+")]);
        assert!(decide(&r, C, Request::Publish, "home/kitchen-light/state").allowed);
        assert!(!decide(&r, C, Request::Publish, "home/other/state").allowed);
        assert!(decide(&r, C, Request::Publish, "tele/tasmota_1/SENSOR").allowed);
        let sneaky = Client {
            username: Some("#"),
            client_id: "a/+",
        };
        assert!(!decide(&r, sneaky, Request::Publish, "home/x/y").allowed);
        assert!(!decide(&r, sneaky, Request::Publish, "tele/a/b/c").allowed);
        let anonymous = Client {
            username: None,
            client_id: "x",
        };
        assert!(!decide(&r, anonymous, Request::Publish, "home/x/y").allowed);
    }

    #[test]
    fn filters_are_validated() {
        for ok in [
            "home/#",
            "#",
            "home/+/light",
            "home/%u/#",
            "tele/%c/%u",
            "a//b",
        ] {
            assert!(validate_filter(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "home/#/x", "home/a#", "home/a+", "home/%x", "home/%", "a\0b",
        ] {
            assert!(validate_filter(bad).is_err(), "{bad:?}");
        }
    }
}
