//! The light command log: one row per command the hub sent, or per change of a light's state
//! that no command explains.

use super::{Result, Store};

/// One log row as stored. The names of states, origins and outcomes are the command module's
/// business; the store keeps them as text.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommandRow {
    pub id: i64,
    pub light: String,
    pub origin: String,
    pub topic: String,
    pub convention: Option<String>,
    pub desired: Option<String>,
    pub payload: Option<String>,
    pub outcome: String,
    pub reply: Option<String>,
    pub reply_state: Option<String>,
    pub detail: Option<String>,
    pub sent_ms: i64,
    pub resolved_ms: Option<i64>,
    pub latency_ms: Option<f64>,
}

/// The log's columns, in `CommandRow`'s order (a macro, so queries stay static strings).
macro_rules! columns {
    () => {
        "id, light, origin, topic, convention, desired, payload, outcome, reply, reply_state, \
         detail, sent_ms, resolved_ms, latency_ms"
    };
}

impl Store {
    /// Inserts or updates log rows, in one transaction.
    pub async fn save_commands(&self, rows: &[CommandRow]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for c in rows {
            sqlx::query(concat!(
                "INSERT INTO commands (",
                columns!(),
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, \
                 reply = excluded.reply, reply_state = excluded.reply_state, \
                 detail = excluded.detail, resolved_ms = excluded.resolved_ms, \
                 latency_ms = excluded.latency_ms"
            ))
            .bind(c.id)
            .bind(&c.light)
            .bind(&c.origin)
            .bind(&c.topic)
            .bind(&c.convention)
            .bind(&c.desired)
            .bind(&c.payload)
            .bind(&c.outcome)
            .bind(&c.reply)
            .bind(&c.reply_state)
            .bind(&c.detail)
            .bind(c.sent_ms)
            .bind(c.resolved_ms)
            .bind(c.latency_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A light's log, newest first: at most `limit` rows with ids below `before`.
    pub async fn commands_of(
        &self,
        light: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<CommandRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM commands WHERE light = ? AND id < ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(light)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// One log row.
    pub async fn command(&self, id: i64) -> Result<Option<CommandRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM commands WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The highest log id used so far (0 when none).
    pub async fn max_command_id(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM commands")
                .fetch_one(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    /// Commands a previous run left pending can no longer be confirmed: they are closed as
    /// timed out.
    pub async fn close_pending_commands(&self, now_ms: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE commands SET outcome = 'timed_out', resolved_ms = ?, \
             detail = 'the hub stopped before a reply arrived' WHERE outcome = 'pending'",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, light: &str) -> CommandRow {
        CommandRow {
            id,
            light: light.into(),
            origin: "hub".into(),
            topic: format!("home/{light}/set"),
            convention: Some("set-topic".into()),
            desired: Some("on".into()),
            payload: Some("ON".into()),
            outcome: "pending".into(),
            reply: None,
            reply_state: None,
            detail: None,
            sent_ms: id * 10,
            resolved_ms: None,
            latency_ms: None,
        }
    }

    #[tokio::test]
    async fn command_log_insert_update_page_and_close() {
        let s = Store::open_in_memory().await.unwrap();
        assert_eq!(s.max_command_id().await.unwrap(), 0);
        let mut log: Vec<CommandRow> = (1..=5)
            .map(|i| row(i, if i % 2 == 0 { "a/light" } else { "b/light" }))
            .collect();
        s.save_commands(&log).await.unwrap();
        log[0].outcome = "confirmed".into();
        log[0].reply = Some("ON".into());
        log[0].reply_state = Some("on".into());
        log[0].resolved_ms = Some(15);
        log[0].latency_ms = Some(0.75);
        s.save_commands(&log[..1]).await.unwrap();
        assert_eq!(s.command(1).await.unwrap().as_ref(), Some(&log[0]));
        assert_eq!(s.command(99).await.unwrap(), None);
        assert_eq!(s.max_command_id().await.unwrap(), 5);

        let ids = |rows: Vec<CommandRow>| rows.iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.commands_of("b/light", 10, None).await.unwrap()),
            vec![5, 3, 1]
        );
        assert_eq!(
            ids(s.commands_of("b/light", 1, Some(5)).await.unwrap()),
            vec![3]
        );

        // A restart closes what the last run left pending.
        assert_eq!(s.close_pending_commands(100).await.unwrap(), 4);
        let c = s.command(2).await.unwrap().unwrap();
        assert_eq!(c.outcome, "timed_out");
        assert_eq!(c.resolved_ms, Some(100));
        assert_eq!(s.command(1).await.unwrap().unwrap().outcome, "confirmed");
    }
}
