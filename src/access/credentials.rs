//! MQTT credentials and their topic rules: made, revoked, deleted, their rules replaced, and
//! "test a topic".

use std::sync::Arc;

use rand::Rng;

use super::{
    Access, AccessError, AclTest, CreatedCredential, Cred, Credential, NewCredential, Result, Role,
    Subject, now_ms, row_of_rule,
};
use crate::acl::{self, Action, Client, Permission, Request, Rule};
use crate::store::NewCredentialRow;

/// The rules a new credential starts with. A device's `topic` is its topic base
/// (`home/livingroom/light`); without one it is `home/<username>`.
fn default_rules(role: Role, topic: Option<&str>) -> Vec<Rule> {
    use Action::*;
    use Permission::*;
    match role {
        Role::User => vec![Rule::new(Allow, Both, "home/#")],
        Role::Device => {
            let base = topic.unwrap_or("home/%u").trim_end_matches(['/', '#']);
            vec![Rule::new(Allow, Both, &format!("{base}/#"))]
        }
        Role::Phone => vec![
            Rule::new(Allow, Subscribe, "home/#"),
            Rule::new(Allow, Publish, "home/+/light"),
            Rule::new(Allow, Publish, "home/+/+/set"),
        ],
    }
}

/// A password people can type from a screen: 20 characters, about 115 bits.
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Checks a username people choose: 1–64 of letters, digits, `.`, `_`, `-`.
fn validate_username(u: &str) -> Result<()> {
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AccessError::BadUsername)
    }
}

fn validate_rules(rules: &[Rule]) -> Result<()> {
    if rules.len() > 256 {
        return Err(AccessError::BadRule("at most 256 rules".into()));
    }
    for (i, r) in rules.iter().enumerate() {
        acl::validate_filter(&r.filter)
            .map_err(|m| AccessError::BadRule(format!("rule {}: {m}", i + 1)))?;
    }
    Ok(())
}

fn rule_text(r: &Rule) -> String {
    let p = r.permission.as_str();
    let a = match r.action {
        Action::Publish => "publish",
        Action::Subscribe => "subscribe",
        Action::Both => "publish + subscribe",
    };
    format!("{p} {a} {}", r.filter)
}

impl Access {
    /// Every credential, with `sessions` left at 0 for the caller to fill in.
    pub async fn credentials(&self) -> Result<Vec<Credential>> {
        let rows = self.0.store.credentials().await?;
        let st = self.read();
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let rules = st
                    .by_name
                    .get(&row.username)
                    .map(|c| c.rules.as_ref().clone())
                    .unwrap_or_default();
                Some(Credential {
                    id: row.id,
                    role: Role::parse(&row.role)?,
                    username: row.username,
                    label: row.label,
                    created_ms: row.created_ms,
                    revoked_ms: row.revoked_ms,
                    rules,
                    sessions: 0,
                })
            })
            .collect())
    }

    pub async fn credential(&self, id: i64) -> Result<Credential> {
        self.credentials()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(AccessError::NoCredential(id))
    }

    pub async fn create_credential(&self, n: NewCredential) -> Result<CreatedCredential> {
        validate_username(&n.username)?;
        let password = match n.password {
            Some(p) if p.chars().count() < 8 || p.len() > 256 => {
                return Err(AccessError::BadPassword);
            }
            Some(p) => p,
            None => random_password(),
        };
        if let Some(t) = &n.topic
            && (n.role != Role::Device
                || acl::validate_filter(t).is_err()
                || t.contains(['+', '#']))
        {
            return Err(AccessError::BadTopic(
                "a topic base is for devices, and is a topic without wildcards, e.g. home/livingroom/light",
            ));
        }
        let label = n.label.unwrap_or_default();
        if label.len() > 200 {
            return Err(AccessError::BadLabel);
        }
        let taken = || AccessError::UsernameTaken(n.username.clone());
        if self.read().by_name.contains_key(&n.username) {
            return Err(taken());
        }
        let hash = self.hash(password.clone()).await?;
        let rules = default_rules(n.role, n.topic.as_deref());
        let created = now_ms();
        let rows: Vec<_> = rules.iter().map(|r| row_of_rule(None, r)).collect();
        let row = NewCredentialRow {
            username: &n.username,
            role: n.role.as_str(),
            password_hash: &hash,
            label: &label,
            created_ms: created,
        };
        let id = self
            .0
            .store
            .insert_credential(row, &rows)
            .await?
            .ok_or_else(taken)?;
        self.write().by_name.insert(
            n.username.clone(),
            Arc::new(Cred {
                id,
                hash,
                revoked: false,
                rules: Arc::new(rules.clone()),
            }),
        );
        tracing::info!("credential {} ({}) created", n.username, n.role.as_str());
        Ok(CreatedCredential {
            credential: Credential {
                id,
                username: n.username,
                role: n.role,
                label,
                created_ms: created,
                revoked_ms: None,
                rules,
                sessions: 0,
            },
            password,
        })
    }

    /// The username of credential `id`.
    pub fn username(&self, id: i64) -> Option<String> {
        self.name_of(id).map(|(u, _)| u)
    }

    fn name_of(&self, id: i64) -> Option<(String, Arc<Cred>)> {
        self.read()
            .by_name
            .iter()
            .find(|(_, c)| c.id == id)
            .map(|(u, c)| (u.clone(), c.clone()))
    }

    /// The credential `id`, or the error that says there is none.
    fn find(&self, id: i64) -> Result<(String, Arc<Cred>)> {
        self.name_of(id).ok_or(AccessError::NoCredential(id))
    }

    /// Replaces the in-memory copy of credential `id` with a changed one.
    fn update_cred(&self, id: i64, change: impl FnOnce(&mut Cred)) {
        if let Some(c) = self.write().by_name.values_mut().find(|c| c.id == id) {
            change(Arc::make_mut(c));
        }
    }

    /// Revokes a credential; returns its username so the caller can disconnect its sessions.
    pub async fn revoke_credential(&self, id: i64) -> Result<String> {
        let (user, cred) = self.find(id)?;
        if !cred.revoked {
            self.0.store.revoke_credential(id, now_ms()).await?;
            self.update_cred(id, |c| c.revoked = true);
            self.revoked();
            tracing::info!("credential {user} revoked");
        }
        Ok(user)
    }

    /// Deletes a credential and its rules; returns its username (its sessions must go too).
    pub async fn delete_credential(&self, id: i64) -> Result<String> {
        let (user, _) = self.find(id)?;
        self.0.store.delete_credential(id).await?;
        self.write().by_name.remove(&user);
        self.revoked();
        tracing::info!("credential {user} deleted");
        Ok(user)
    }

    pub fn rules(&self, subject: Subject) -> Result<Vec<Rule>> {
        match subject {
            Subject::Anonymous => Ok(self.read().anonymous.as_ref().clone()),
            Subject::Credential(id) => Ok(self.find(id)?.1.rules.as_ref().clone()),
        }
    }

    /// Replaces a rule list. Takes effect for the next SUBSCRIBE or PUBLISH; subscriptions
    /// already made stay until the client resubscribes or reconnects.
    pub async fn set_rules(&self, subject: Subject, rules: Vec<Rule>) -> Result<Vec<Rule>> {
        validate_rules(&rules)?;
        let owner = match subject {
            Subject::Anonymous => None,
            Subject::Credential(id) => {
                self.find(id)?;
                Some(id)
            }
        };
        let rows: Vec<_> = rules.iter().map(|r| row_of_rule(owner, r)).collect();
        self.0.store.replace_rules(owner, &rows).await?;
        match subject {
            Subject::Anonymous => self.write().anonymous = Arc::new(rules.clone()),
            Subject::Credential(id) => self.update_cred(id, |c| c.rules = Arc::new(rules.clone())),
        }
        Ok(rules)
    }

    /// What a subject's rules decide for one request, and which rule decides.
    pub fn test(
        &self,
        subject: Subject,
        request: Request,
        topic: &str,
        client_id: Option<&str>,
    ) -> Result<AclTest> {
        let valid = match request {
            Request::Publish => !topic.is_empty() && !topic.contains(['+', '#']),
            Request::Subscribe => acl::validate_filter(topic).is_ok() && !topic.contains('%'),
        };
        if !valid || topic.len() > 65535 {
            return Err(AccessError::BadTopic(match request {
                Request::Publish => "publish to a topic without wildcards",
                Request::Subscribe => "subscribe to a valid topic filter",
            }));
        }
        let rules = self.rules(subject)?;
        let username = match subject {
            Subject::Anonymous => None,
            Subject::Credential(id) => self.username(id),
        };
        let d = acl::decide(
            &rules,
            Client {
                username: username.as_deref(),
                client_id: client_id.unwrap_or(""),
            },
            request,
            topic,
        );
        let verb = match request {
            Request::Publish => "publish to",
            Request::Subscribe => "subscribe to",
        };
        let explanation = match d.rule {
            Some(i) => format!(
                "{} to {verb} {topic}: rule {} ({}) is the first that applies",
                if d.allowed { "Allowed" } else { "Denied" },
                i + 1,
                rule_text(&rules[i])
            ),
            None => format!(
                "Denied to {verb} {topic}: no rule applies, and what no rule allows is denied"
            ),
        };
        Ok(AclTest {
            allowed: d.allowed,
            rule: d.rule,
            rule_text: d.rule.map(|i| rule_text(&rules[i])),
            explanation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::access;
    use super::*;

    #[tokio::test]
    async fn acl_test_names_the_deciding_rule() {
        let (_s, a) = access().await;
        let c = a
            .create_credential(NewCredential {
                username: "ann-phone".into(),
                role: Role::Phone,
                password: Some("correct horse".into()),
                topic: None,
                label: None,
            })
            .await
            .unwrap();
        let s = Subject::Credential(c.credential.id);
        let t = a
            .test(s, Request::Publish, "home/hall/light", None)
            .unwrap();
        assert!(t.allowed);
        assert_eq!(t.rule, Some(1));
        let t = a
            .test(s, Request::Publish, "home/hall/temperature", None)
            .unwrap();
        assert!(!t.allowed);
        assert_eq!(t.rule, None);
        assert!(t.explanation.contains("no rule applies"));
        assert!(a.test(s, Request::Publish, "home/#", None).is_err());
        let bad = a
            .set_rules(
                s,
                vec![Rule::new(Permission::Allow, Action::Both, "home/#/x")],
            )
            .await
            .unwrap_err();
        assert!(matches!(bad, AccessError::BadRule(_)), "{bad}");
    }

    #[tokio::test]
    async fn bad_credentials_are_refused_with_reasons() {
        let (_s, a) = access().await;
        let new = |username: &str, password: Option<&str>, topic: Option<&str>| NewCredential {
            username: username.into(),
            role: Role::User,
            password: password.map(Into::into),
            topic: topic.map(Into::into),
            label: None,
        };
        let e = |r: Result<CreatedCredential>| r.unwrap_err().to_string();
        assert!(e(a.create_credential(new("a b", None, None)).await).contains("username"));
        assert!(e(a.create_credential(new("ann", Some("short"), None)).await).contains("8 to 256"));
        assert!(
            e(a.create_credential(new("ann", None, Some("home/x"))).await).contains("topic base")
        );
        a.create_credential(new("ann", None, None)).await.unwrap();
        assert!(matches!(
            a.create_credential(new("ann", None, None)).await,
            Err(AccessError::UsernameTaken(_))
        ));
        assert!(matches!(
            a.revoke_credential(99).await,
            Err(AccessError::NoCredential(99))
        ));
    }
}
