//! The broker's retained messages, written through so they survive a restart.

use sqlx::Row;

use super::{Result, Store};

/// A change to the stored retained messages.
#[derive(Debug, Clone, PartialEq)]
pub enum RetainOp {
    Put {
        topic: String,
        blob: Vec<u8>,
        at_ms: i64,
    },
    Delete(String),
}

impl Store {
    /// Every stored retained message, as (topic, serialised message).
    pub async fn load_retained(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query("SELECT topic, message FROM retained")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Applies retained-message changes in order, in one transaction.
    pub async fn write_retained(&self, ops: &[RetainOp]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for op in ops {
            match op {
                RetainOp::Put { topic, blob, at_ms } => {
                    sqlx::query(
                        "INSERT INTO retained (topic, message, updated_ms) VALUES (?, ?, ?) \
                         ON CONFLICT (topic) DO UPDATE SET message = excluded.message, \
                         updated_ms = excluded.updated_ms",
                    )
                    .bind(topic)
                    .bind(blob)
                    .bind(at_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                RetainOp::Delete(topic) => {
                    sqlx::query("DELETE FROM retained WHERE topic = ?")
                        .bind(topic)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retained_round_trip() {
        let s = Store::open_in_memory().await.unwrap();
        let put = |t: &str, b: &[u8], at_ms| RetainOp::Put {
            topic: t.into(),
            blob: b.to_vec(),
            at_ms,
        };
        s.write_retained(&[put("a/b", b"one", 1), put("a/b", b"two", 2)])
            .await
            .unwrap();
        s.write_retained(&[put("c", b"three", 3), RetainOp::Delete("c".into())])
            .await
            .unwrap();
        assert_eq!(
            s.load_retained().await.unwrap(),
            vec![("a/b".to_string(), b"two".to_vec())]
        );
    }
}
