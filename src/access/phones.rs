//! Paired phones: single-use pairing codes traded for long-lived tokens, tokens checked on
//! every request from the LAN, and revocation.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{Access, AccessError, Phone, Result, now_ms, random_hex, random_secret, sha256};
use crate::store::PhoneRevocation;

/// How long a pairing code works.
const PAIRING_TTL: Duration = Duration::from_secs(10 * 60);
/// A phone's last-seen time is written at most this often.
const LAST_SEEN_WRITE: i64 = 60_000;

impl Access {
    /// A fresh single-use pairing code and when it expires (Unix ms).
    pub fn start_pairing(&self) -> (String, i64) {
        // 128 bits: beyond guessing for a code that works once for minutes, and half the QR
        // code's size of a 256-bit one, so phones read it quickly.
        let code = random_hex(16);
        let mut p = self.0.pairings.lock().expect("pairing lock");
        p.retain(|_, exp| *exp > Instant::now());
        p.insert(sha256(code.as_bytes()), Instant::now() + PAIRING_TTL);
        (code, now_ms() + PAIRING_TTL.as_millis() as i64)
    }

    /// Trades a pairing code for a phone token. The code works once.
    pub async fn pair(
        &self,
        code: &str,
        name: &str,
        peer: Option<IpAddr>,
    ) -> Result<(String, Phone)> {
        self.0.throttle.slow_down(peer).await;
        let valid = {
            let mut p = self.0.pairings.lock().expect("pairing lock");
            p.remove(&sha256(code.as_bytes()))
                .is_some_and(|exp| exp > Instant::now())
        };
        if !valid {
            self.0.throttle.record_failure(peer);
            return Err(AccessError::BadPairingCode);
        }
        let name: String = name.trim().chars().take(64).collect();
        let name = if name.is_empty() {
            "Phone".to_string()
        } else {
            name
        };
        let token = random_secret();
        let digest = sha256(token.as_bytes());
        let now = now_ms();
        let id = self.0.store.insert_phone(&name, &digest, now).await?;
        self.write().tokens.insert(digest, (id, now));
        tracing::info!("phone {id} ({name}) paired");
        let phone = Phone {
            id,
            name,
            paired_ms: now,
            last_seen_ms: now,
            revoked_ms: None,
        };
        Ok((token, phone))
    }

    /// The phone a token belongs to, if it is valid; notes that the phone was seen.
    pub async fn phone_for_token(&self, token: &str, peer: Option<IpAddr>) -> Option<i64> {
        let digest = sha256(token.as_bytes());
        let now = now_ms();
        let found = self.write().tokens.get_mut(&digest).map(|(id, written)| {
            let stale = now - *written >= LAST_SEEN_WRITE;
            if stale {
                *written = now;
            }
            (*id, stale)
        });
        match found {
            Some((id, stale)) => {
                if stale && let Err(e) = self.0.store.note_phone_seen(id, now).await {
                    tracing::warn!("cannot note phone {id} as seen: {e}");
                }
                Some(id)
            }
            None => {
                self.0.throttle.slow_down(peer).await;
                self.0.throttle.record_failure(peer);
                None
            }
        }
    }

    /// Whether a phone is still paired (for connections that outlive a request).
    pub fn phone_valid(&self, id: i64) -> bool {
        self.read().tokens.values().any(|(p, _)| *p == id)
    }

    pub async fn phones(&self) -> Result<Vec<Phone>> {
        let seen: HashMap<i64, i64> = self.read().tokens.values().copied().collect();
        let rows = self.0.store.phones().await?;
        Ok(rows
            .into_iter()
            .map(|row| Phone {
                last_seen_ms: seen
                    .get(&row.id)
                    .copied()
                    .unwrap_or(row.last_seen_ms)
                    .max(row.last_seen_ms),
                id: row.id,
                name: row.name,
                paired_ms: row.paired_ms,
                revoked_ms: row.revoked_ms,
            })
            .collect())
    }

    pub async fn revoke_phone(&self, id: i64) -> Result<()> {
        match self.0.store.revoke_phone(id, now_ms()).await? {
            PhoneRevocation::NoSuchPhone => Err(AccessError::NoPhone(id)),
            PhoneRevocation::AlreadyRevoked => Ok(()),
            PhoneRevocation::Revoked => {
                self.write().tokens.retain(|_, (p, _)| *p != id);
                self.revoked();
                tracing::info!("phone {id} revoked");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{access, lan};
    use super::*;

    #[tokio::test]
    async fn pairing_codes_work_once() {
        let (_s, a) = access().await;
        let (code, _) = a.start_pairing();
        let (token, phone) = a.pair(&code, "Pixel", lan()).await.unwrap();
        assert_eq!(a.phone_for_token(&token, lan()).await, Some(phone.id));
        let again = a.pair(&code, "Pixel", lan()).await.unwrap_err();
        assert!(matches!(again, AccessError::BadPairingCode));
        a.revoke_phone(phone.id).await.unwrap();
        assert_eq!(a.phone_for_token(&token, lan()).await, None);

        // A code past its time is refused, and the refusal counts as a failure.
        let (late, expires_ms) = a.start_pairing();
        assert!(expires_ms - now_ms() > (PAIRING_TTL.as_millis() as i64) - 5_000);
        for exp in a.0.pairings.lock().unwrap().values_mut() {
            *exp = Instant::now() - Duration::from_secs(1);
        }
        let e = a.pair(&late, "Late", lan()).await.unwrap_err();
        assert!(matches!(e, AccessError::BadPairingCode));
        assert!(a.phones().await.unwrap()[0].revoked_ms.is_some());
        assert!(matches!(
            a.revoke_phone(99).await,
            Err(AccessError::NoPhone(99))
        ));
    }
}
