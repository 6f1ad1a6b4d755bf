//! Who may use the hub: MQTT credentials and their topic rules, paired phones and the access
//! settings. The access module keeps the rules in memory and decides; this is its record.

use super::{Result, Store};

/// A credential as stored. `password_hash` is an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CredentialRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub password_hash: String,
    pub label: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// A credential to insert.
#[derive(Debug, Clone, Copy)]
pub struct NewCredentialRow<'a> {
    pub username: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub label: &'a str,
    pub created_ms: i64,
}

/// One topic rule as stored; `owner` is the credential, `None` for anonymous LAN clients.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RuleRow {
    pub owner: Option<i64>,
    pub permission: String,
    pub action: String,
    pub filter: String,
}

/// A paired phone as stored (without its token's hash).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PhoneRow {
    pub id: i64,
    pub name: String,
    pub paired_ms: i64,
    pub last_seen_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// A phone that is still paired: the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub token_hash: Vec<u8>,
    pub last_seen_ms: i64,
}

/// What revoking a phone found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneRevocation {
    Revoked,
    AlreadyRevoked,
    NoSuchPhone,
}

impl Store {
    /// Every credential, ordered by id.
    pub async fn credentials(&self) -> Result<Vec<CredentialRow>> {
        Ok(sqlx::query_as(
            "SELECT id, username, role, password_hash, label, created_ms, revoked_ms \
             FROM credentials ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every rule, by owner and then in order.
    pub async fn acl_rules(&self) -> Result<Vec<RuleRow>> {
        Ok(sqlx::query_as(
            "SELECT credential_id AS owner, permission, action, filter FROM acl_rules \
             ORDER BY credential_id, position",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Inserts a credential with its rules; `None` when the username is taken.
    pub async fn insert_credential(
        &self,
        c: NewCredentialRow<'_>,
        rules: &[RuleRow],
    ) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = match sqlx::query_scalar(
            "INSERT INTO credentials (username, role, password_hash, label, created_ms) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(c.username)
        .bind(c.role)
        .bind(c.password_hash)
        .bind(c.label)
        .bind(c.created_ms)
        .fetch_one(&mut *tx)
        .await
        {
            Ok(id) => id,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        write_rules(&mut tx, Some(id), rules).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    pub async fn revoke_credential(&self, id: i64, at_ms: i64) -> Result<()> {
        sqlx::query("UPDATE credentials SET revoked_ms = ? WHERE id = ?")
            .bind(at_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes a credential and its rules.
    pub async fn delete_credential(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM acl_rules WHERE credential_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM credentials WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the rules of `owner` (a credential, or `None` for anonymous LAN clients).
    pub async fn replace_rules(&self, owner: Option<i64>, rules: &[RuleRow]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        write_rules(&mut tx, owner, rules).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every setting as (key, value).
    pub async fn settings(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT key, value FROM settings")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Writes settings, in one transaction.
    pub async fn save_settings(&self, pairs: &[(&str, &str)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (k, v) in pairs {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES (?, ?) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The tokens of phones that are still paired.
    pub async fn live_phone_tokens(&self) -> Result<Vec<TokenRow>> {
        Ok(sqlx::query_as(
            "SELECT id, token_hash, last_seen_ms FROM phones WHERE revoked_ms IS NULL",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records a newly paired phone; returns its id.
    pub async fn insert_phone(&self, name: &str, token_hash: &[u8], at_ms: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO phones (name, token_hash, paired_ms, last_seen_ms) \
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(token_hash)
        .bind(at_ms)
        .bind(at_ms)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn note_phone_seen(&self, id: i64, at_ms: i64) -> Result<()> {
        sqlx::query("UPDATE phones SET last_seen_ms = ? WHERE id = ?")
            .bind(at_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every phone ever paired, ordered by id.
    pub async fn phones(&self) -> Result<Vec<PhoneRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, paired_ms, last_seen_ms, revoked_ms FROM phones ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn revoke_phone(&self, id: i64, at_ms: i64) -> Result<PhoneRevocation> {
        let done =
            sqlx::query("UPDATE phones SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL")
                .bind(at_ms)
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() > 0 {
            return Ok(PhoneRevocation::Revoked);
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM phones WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(if exists.is_some() {
            PhoneRevocation::AlreadyRevoked
        } else {
            PhoneRevocation::NoSuchPhone
        })
    }
}

async fn write_rules(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    owner: Option<i64>,
    rules: &[RuleRow],
) -> Result<()> {
    sqlx::query("DELETE FROM acl_rules WHERE credential_id IS ?")
        .bind(owner)
        .execute(&mut **tx)
        .await?;
    for (i, r) in rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO acl_rules (credential_id, position, permission, action, filter) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(owner)
        .bind(i as i64)
        .bind(&r.permission)
        .bind(&r.action)
        .bind(&r.filter)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(owner: Option<i64>, filter: &str) -> RuleRow {
        RuleRow {
            owner,
            permission: "allow".into(),
            action: "both".into(),
            filter: filter.into(),
        }
    }

    #[tokio::test]
    async fn credentials_rules_and_phones_round_trip() {
        let s = Store::open_in_memory().await.unwrap();
        let new = NewCredentialRow {
            username: "kitchen",
            role: "device",
            password_hash: "$argon2id$x",
            label: "",
            created_ms: 5,
        };
        let id = s
            .insert_credential(new, &[rule(None, "home/kitchen/#")])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.insert_credential(new, &[]).await.unwrap(), None);
        // The migration's anonymous rule, then the credential's.
        let rules = s.acl_rules().await.unwrap();
        assert_eq!(
            rules,
            vec![rule(None, "home/#"), rule(Some(id), "home/kitchen/#")]
        );
        s.replace_rules(Some(id), &[rule(None, "a/#"), rule(None, "b/#")])
            .await
            .unwrap();
        let filters: Vec<String> = s
            .acl_rules()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.owner == Some(id))
            .map(|r| r.filter)
            .collect();
        assert_eq!(filters, vec!["a/#", "b/#"]);
        s.revoke_credential(id, 9).await.unwrap();
        assert_eq!(s.credentials().await.unwrap()[0].revoked_ms, Some(9));
        s.delete_credential(id).await.unwrap();
        assert!(s.credentials().await.unwrap().is_empty());
        assert_eq!(s.acl_rules().await.unwrap().len(), 1);

        let p = s.insert_phone("Pixel", &[7; 32], 10).await.unwrap();
        s.note_phone_seen(p, 20).await.unwrap();
        assert_eq!(s.live_phone_tokens().await.unwrap()[0].last_seen_ms, 20);
        assert_eq!(
            s.revoke_phone(p, 30).await.unwrap(),
            PhoneRevocation::Revoked
        );
        assert_eq!(
            s.revoke_phone(p, 31).await.unwrap(),
            PhoneRevocation::AlreadyRevoked
        );
        assert_eq!(
            s.revoke_phone(99, 31).await.unwrap(),
            PhoneRevocation::NoSuchPhone
        );
        assert!(s.live_phone_tokens().await.unwrap().is_empty());
        assert_eq!(s.phones().await.unwrap()[0].revoked_ms, Some(30));

        s.save_settings(&[("anonymous", "on"), ("mdns", "off")])
            .await
            .unwrap();
        s.save_settings(&[("mdns", "on")]).await.unwrap();
        let mut kv = s.settings().await.unwrap();
        kv.sort();
        assert_eq!(
            kv,
            vec![
                ("anonymous".into(), "on".into()),
                ("mdns".into(), "on".into())
            ]
        );
    }
}
