//! The SQLite store: the one database file of the hub. Every SQL statement of the hub is in
//! this module, one file per table group: readings and their rollups (`readings`), retained
//! messages (`retained`), the light command log (`commands`), credentials, rules, phones
//! and settings (`access`), and the household's device names and series units (`devices`). It imports nothing else of the hub: the parts above it hand it
//! rows and get rows back.
//!
//! Queries are plain `sqlx::query` (not the compile-checked macros): see ARCHITECTURE.md.

mod access;
mod commands;
mod devices;
mod history;
mod readings;
mod retained;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use access::{NewCredentialRow, PhoneRevocation, RuleRow};
pub use commands::CommandRow;
pub use devices::NamingRow;
pub use readings::{History, Reading, Resolution, retention_cutoff_ms};
pub use retained::RetainOp;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("bad history request: {0}")]
    BadRange(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Handle to the hub's SQLite database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) the database at `path` in WAL mode and applies migrations.
    ///
    /// `synchronous=FULL`: in WAL mode each commit is then on disk when it returns. The
    /// recorder commits at most about once a second, so the cost is small, and a power cut
    /// loses at most the rows not yet committed.
    pub async fn open(path: &Path) -> Result<Store> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(false)
            .pragma("cache_size", "-4000");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// An in-memory store for unit tests.
    pub async fn open_in_memory() -> Result<Store> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// The pool, for unit tests that look at what was written.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool after checkpointing the WAL into the main file.
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!("WAL checkpoint at close failed: {e}");
        }
        self.pool.close().await;
    }
}
