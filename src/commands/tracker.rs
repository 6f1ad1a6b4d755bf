//! The tracker: runs the [`Machine`] under one lock, carries out its effects (the log, the
//! observer, the timers) and publishes commands through a [`Publisher`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::log::LogWriter;
use super::machine::{Attempt, Effect, Input, Machine, Now};
use super::{Command, CommandError, LightStatus, Observer, Publisher};
use crate::devices::{LightRoute, LightState};
use crate::store::Store;

/// Tracks commands. Cheap to clone.
#[derive(Clone)]
pub struct Tracker {
    inner: Arc<Inner>,
}

struct Inner {
    /// A std mutex: each step is a few map operations with no await inside. Effects are
    /// carried out under it, so a light's events leave in the order they happened.
    machine: Mutex<Machine>,
    publisher: Arc<dyn Publisher>,
    observer: Arc<dyn Observer>,
    log: LogWriter,
    store: Store,
    timeout: Duration,
}

fn now() -> Now {
    Now {
        ms: crate::now_ms(),
        at: Instant::now(),
    }
}

impl Tracker {
    /// A tracker publishing through `publisher` (the hub's own client, subscribed with
    /// `noLocal`). Commands left pending by an earlier run are closed as timed out. Returns
    /// the task that writes the log; it ends after [`Tracker::close`].
    pub async fn start(
        store: Store,
        publisher: Arc<dyn Publisher>,
        observer: Arc<dyn Observer>,
        timeout: Duration,
    ) -> Result<(Tracker, JoinHandle<()>), CommandError> {
        store.close_pending_commands(crate::now_ms()).await?;
        let last = store.max_command_id().await?;
        let (log, task) = LogWriter::start(store.clone());
        let inner = Inner {
            machine: Mutex::new(Machine::new(last + 1, timeout)),
            publisher,
            observer,
            log,
            store,
            timeout,
        };
        Ok((
            Tracker {
                inner: Arc::new(inner),
            },
            task,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        self.inner.machine.lock().expect("tracker lock poisoned")
    }

    /// Decides `input` now and carries out its effects, under the lock.
    fn step(&self, machine: &mut Machine, input: Input<'_>) -> Vec<Effect> {
        self.step_at(machine, now(), input)
    }

    fn step_at(&self, machine: &mut Machine, now: Now, input: Input<'_>) -> Vec<Effect> {
        let fx = machine.step(now, input);
        for e in &fx {
            match e {
                Effect::Log(c) => {
                    self.inner.log.write(c);
                    self.inner.observer.command(c);
                }
                Effect::Light(s) => self.inner.observer.light(s),
                Effect::Timer { light, id } => self.start_timer(light.clone(), *id),
            }
        }
        fx
    }

    fn start_timer(&self, light: String, id: i64) {
        // Weak: a pending timer does not keep a stopped hub's tracker alive.
        let me = Arc::downgrade(&self.inner);
        let timeout = self.inner.timeout;
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(inner) = me.upgrade() {
                let t = Tracker { inner };
                let mut m = t.lock();
                t.step(&mut m, Input::Expired { light: &light, id });
            }
        });
    }

    /// Sends ON or OFF to a light and starts tracking the command.
    pub fn switch(&self, light: &str, route: &LightRoute, on: bool) -> Command {
        let mut m = self.lock();
        let p = &self.inner.publisher;
        // Under the lock, so the order commands are handed to the client is the order of
        // their packet ids.
        let attempt = if !p.connected() {
            Attempt::NotConnected
        } else {
            match p.try_publish(&route.command_topic, route.payload(on)) {
                Ok(()) => Attempt::Sent,
                Err(e) => Attempt::Refused(e),
            }
        };
        let fx = self.step(
            &mut m,
            Input::Switch {
                light,
                route,
                on,
                attempt,
            },
        );
        fx.into_iter()
            .rev()
            .find_map(|e| match e {
                Effect::Log(c) => Some(c),
                _ => None,
            })
            .expect("a switch logs its command")
    }

    /// The client sent a publish with `pkid`.
    pub fn on_sent(&self, pkid: u16) {
        self.step(&mut self.lock(), Input::Sent { pkid });
    }

    /// The broker acknowledged `pkid` with an MQTT 5 reason code; 0x80 and above refuse.
    pub fn on_puback(&self, pkid: u16, reason: u8, reason_name: &str) {
        let input = Input::Acked {
            pkid,
            reason,
            reason_name,
        };
        self.step(&mut self.lock(), input);
    }

    /// The connection to the broker dropped.
    pub fn on_disconnect(&self) {
        self.step(&mut self.lock(), Input::LinkLost);
    }

    /// A message on a light's status topic, saying `state`, received at `now_ms`.
    pub fn on_status(
        &self,
        light: &str,
        topic: &str,
        state: LightState,
        payload: &[u8],
        retained: bool,
        now_ms: i64,
    ) {
        let input = Input::Status {
            light,
            topic,
            state,
            payload,
            retained,
        };
        let now = Now {
            ms: now_ms,
            at: Instant::now(),
        };
        self.step_at(&mut self.lock(), now, input);
    }

    /// Stops the log writer once it has stored every entry so far.
    pub fn close(&self) {
        self.inner.log.close();
    }

    /// A light's current state, if it has reported one.
    pub fn light(&self, light: &str) -> Option<LightStatus> {
        self.lock().light(light).cloned()
    }

    /// The latest command to a light, as it stands.
    pub fn last_command(&self, light: &str) -> Option<Command> {
        self.lock().last_command(light).cloned()
    }

    /// Commands waiting for a reply.
    pub fn pending_count(&self) -> usize {
        self.lock().pending_count()
    }

    /// One log entry: from memory while it is recent, else from the store.
    pub async fn command(&self, id: i64) -> Result<Command, CommandError> {
        if let Some(c) = self.lock().recent(id).cloned() {
            return Ok(c);
        }
        self.inner.log.synced().await;
        self.inner
            .store
            .command(id)
            .await?
            .map(Command::from)
            .ok_or(CommandError::NoCommand(id))
    }

    /// A light's log, newest first: at most `limit` entries with ids below `before`.
    pub async fn log(
        &self,
        light: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<Command>, CommandError> {
        self.inner.log.synced().await;
        let rows = self.inner.store.commands_of(light, limit, before).await?;
        Ok(rows.into_iter().map(Command::from).collect())
    }
}
