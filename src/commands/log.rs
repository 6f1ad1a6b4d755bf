//! The command log: entries written in order by one task, many per transaction when they
//! come fast, and read back from the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Command, Origin, Outcome};
use crate::devices::LightState;
use crate::store::{CommandRow, Store};

/// Handle to the log writer.
pub(super) struct LogWriter {
    tx: mpsc::UnboundedSender<Command>,
    /// Entries handed to the writer, and entries it has stored.
    queued: AtomicU64,
    written: watch::Receiver<u64>,
    close: watch::Sender<bool>,
}

impl LogWriter {
    /// Starts the writer; its task ends after [`LogWriter::close`], once it has stored every
    /// entry handed to it.
    pub(super) fn start(store: Store) -> (LogWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (written_tx, written) = watch::channel(0);
        let (close, close_rx) = watch::channel(false);
        let task = tokio::spawn(write_log(store, rx, written_tx, close_rx));
        let w = LogWriter {
            tx,
            queued: AtomicU64::new(0),
            written,
            close,
        };
        (w, task)
    }

    pub(super) fn write(&self, c: &Command) {
        if self.tx.send(c.clone()).is_ok() {
            self.queued.fetch_add(1, Ordering::Release);
        }
    }

    /// Waits (at most 5 s) until every entry handed over so far is in the store.
    pub(super) async fn synced(&self) {
        let target = self.queued.load(Ordering::Acquire);
        let mut w = self.written.clone();
        let _ = tokio::time::timeout(Duration::from_secs(5), w.wait_for(|n| *n >= target)).await;
    }

    pub(super) fn close(&self) {
        let _ = self.close.send(true);
    }
}

async fn write_log(
    store: Store,
    mut rx: mpsc::UnboundedReceiver<Command>,
    written: watch::Sender<u64>,
    mut close: watch::Receiver<bool>,
) {
    let mut batch = Vec::new();
    loop {
        let closing = tokio::select! {
            n = rx.recv_many(&mut batch, 512) => n == 0,
            _ = crate::stopped(&mut close) => true,
        };
        if closing {
            while let Ok(c) = rx.try_recv() {
                batch.push(c);
            }
        }
        if !batch.is_empty() {
            let rows: Vec<CommandRow> = batch.iter().map(CommandRow::from).collect();
            if let Err(e) = store.save_commands(&rows).await {
                tracing::error!("cannot store {} command log entries: {e}", batch.len());
            }
            let n = batch.len() as u64;
            written.send_modify(|w| *w += n);
            batch.clear();
        }
        if closing {
            return;
        }
    }
}

impl From<&Command> for CommandRow {
    fn from(c: &Command) -> CommandRow {
        CommandRow {
            id: c.id,
            light: c.light.clone(),
            origin: c.origin.as_str().into(),
            topic: c.topic.clone(),
            convention: c.convention.clone(),
            desired: c.desired.map(|d| d.as_str().into()),
            payload: c.payload.clone(),
            outcome: c.outcome.as_str().into(),
            reply: c.reply.clone(),
            reply_state: c.reply_state.map(|d| d.as_str().into()),
            detail: c.detail.clone(),
            sent_ms: c.sent_ms,
            resolved_ms: c.resolved_ms,
            latency_ms: c.latency_ms,
        }
    }
}

impl From<CommandRow> for Command {
    fn from(r: CommandRow) -> Command {
        Command {
            id: r.id,
            light: r.light,
            origin: if r.origin == "external" {
                Origin::External
            } else {
                Origin::Hub
            },
            topic: r.topic,
            convention: r.convention,
            desired: r.desired.as_deref().and_then(LightState::parse),
            payload: r.payload,
            outcome: Outcome::parse(&r.outcome).unwrap_or(Outcome::Failed),
            reply: r.reply,
            reply_state: r.reply_state.as_deref().and_then(LightState::parse),
            detail: r.detail,
            sent_ms: r.sent_ms,
            resolved_ms: r.resolved_ms,
            latency_ms: r.latency_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_round_trip_through_the_store() {
        let store = Store::open_in_memory().await.unwrap();
        let (log, task) = LogWriter::start(store.clone());
        let mut c = Command {
            id: 4,
            light: "hall/lamp".into(),
            origin: Origin::Hub,
            topic: "home/hall/lamp/set".into(),
            convention: Some("set-topic".into()),
            desired: Some(LightState::On),
            payload: Some("ON".into()),
            outcome: Outcome::Pending,
            reply: None,
            reply_state: None,
            detail: None,
            sent_ms: 10,
            resolved_ms: None,
            latency_ms: None,
        };
        log.write(&c);
        c.outcome = Outcome::Confirmed;
        c.reply = Some("ON".into());
        c.reply_state = Some(LightState::On);
        c.latency_ms = Some(0.5);
        log.write(&c);
        log.synced().await;
        let stored = store.command(4).await.unwrap().map(Command::from);
        assert_eq!(stored, Some(c));
        log.close();
        task.await.unwrap();
    }
}
