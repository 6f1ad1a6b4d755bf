//! The tracker's decisions as a pure state machine: [`Machine::step`] takes the state and one
//! [`Input`] (a switch, a packet id, a PUBACK, a status, a timer) and returns the
//! [`Effect`]s to carry out (log an entry, announce a light's state, start a timer). Nothing
//! here publishes, sleeps or reads a clock: the caller passes the time in ([`Now`]).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Command, LightStatus, Origin, Outcome, StateSource};
use crate::devices::{LightRoute, LightState};

/// The time of an input: wall-clock milliseconds for the log, and a monotonic instant for
/// latencies.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub ms: i64,
    pub at: Instant,
}

/// What became of publishing a command, tried before the switch is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Handed to the client, which reports its packet id and PUBACK later.
    Sent,
    /// The hub's client is not connected to its broker: nothing was published.
    NotConnected,
    /// The client refused it (its queue is full), with why.
    Refused(String),
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// A command to switch `light` on or off by `route`.
    Switch {
        light: &'a str,
        route: &'a LightRoute,
        on: bool,
        attempt: Attempt,
    },
    /// The client sent the oldest unassigned command with this packet id.
    Sent { pkid: u16 },
    /// The broker acknowledged a packet id with an MQTT 5 reason code (0x80 and above refuse).
    Acked {
        pkid: u16,
        reason: u8,
        reason_name: &'a str,
    },
    /// The connection dropped: packet ids no longer map to commands.
    LinkLost,
    /// A message on a light's status topic; `retained` marks the broker's replay of a stored
    /// status, which is never a reply.
    Status {
        light: &'a str,
        topic: &'a str,
        state: LightState,
        payload: &'a [u8],
        retained: bool,
    },
    /// A command's timer ran out.
    Expired { light: &'a str, id: i64 },
}

/// What the caller carries out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A log entry is new or changed: store it and announce it. A `Switch`'s last `Log` is
    /// the new command.
    Log(Command),
    /// A light's state as it reported it: announce it.
    Light(LightStatus),
    /// Feed `Expired { light, id }` after the command timeout.
    Timer { light: String, id: i64 },
}

struct Pending {
    cmd: Command,
    started: Instant,
    /// States asked for by commands this one superseded that have not replied yet: their
    /// late replies are theirs, not a mismatch of this command.
    superseded: Vec<LightState>,
}

/// Late replies to superseded commands remembered per light.
const MAX_SUPERSEDED: usize = 8;

/// Bytes of a status payload kept in the log and the light's state.
const MAX_PAYLOAD_SHOWN: usize = 512;

/// The tracker's state.
pub struct Machine {
    lights: HashMap<String, LightStatus>,
    last_command: HashMap<String, Command>,
    pending: HashMap<String, Pending>,
    /// Commands handed to the client, in order, awaiting their packet id.
    unassigned: VecDeque<i64>,
    by_pkid: HashMap<u16, i64>,
    next_id: i64,
    /// Only for the words of a timed-out command's detail.
    timeout: Duration,
}

impl Machine {
    /// A machine whose first entry gets id `next_id`.
    pub fn new(next_id: i64, timeout: Duration) -> Machine {
        Machine {
            lights: HashMap::new(),
            last_command: HashMap::new(),
            pending: HashMap::new(),
            unassigned: VecDeque::new(),
            by_pkid: HashMap::new(),
            next_id,
            timeout,
        }
    }

    /// Decides one input.
    pub fn step(&mut self, now: Now, input: Input<'_>) -> Vec<Effect> {
        let mut fx = Vec::new();
        match input {
            Input::Switch {
                light,
                route,
                on,
                attempt,
            } => self.switch(now, light, route, on, attempt, &mut fx),
            Input::Sent { pkid } => {
                if let Some(id) = self.unassigned.pop_front() {
                    self.by_pkid.insert(pkid, id);
                }
            }
            Input::Acked {
                pkid,
                reason,
                reason_name,
            } => {
                if let Some(id) = self.by_pkid.remove(&pkid)
                    && reason >= 0x80
                    && let Some(light) = self
                        .pending
                        .iter()
                        .find(|(_, p)| p.cmd.id == id)
                        .map(|(l, _)| l.clone())
                {
                    let why =
                        format!("the broker refused the command: {reason_name} (0x{reason:02x})");
                    self.settle(&light, Outcome::Failed, Some(why), now, &mut fx);
                }
            }
            Input::LinkLost => {
                self.unassigned.clear();
                self.by_pkid.clear();
            }
            Input::Status {
                light,
                topic,
                state,
                payload,
                retained,
            } => self.status(now, light, topic, state, payload, retained, &mut fx),
            Input::Expired { light, id } => {
                if self.pending.get(light).is_some_and(|p| p.cmd.id == id) {
                    let why = format!("no status reply within {} ms", self.timeout.as_millis());
                    self.settle(light, Outcome::TimedOut, Some(why), now, &mut fx);
                }
            }
        }
        fx
    }

    fn switch(
        &mut self,
        now: Now,
        light: &str,
        route: &LightRoute,
        on: bool,
        attempt: Attempt,
        fx: &mut Vec<Effect>,
    ) {
        let id = self.take_id();
        let payload = route.payload(on);
        let mut cmd = Command {
            id,
            light: light.to_string(),
            origin: Origin::Hub,
            topic: route.command_topic.clone(),
            convention: Some(route.convention.to_string()),
            desired: Some(if on { LightState::On } else { LightState::Off }),
            payload: Some(payload.to_string()),
            outcome: Outcome::Pending,
            reply: None,
            reply_state: None,
            detail: None,
            sent_ms: now.ms,
            resolved_ms: None,
            latency_ms: None,
        };
        let mut superseded = Vec::new();
        if let Some(old) = self.pending.remove(light) {
            superseded = old.superseded;
            if let Some(d) = old.cmd.desired {
                superseded.push(d);
            }
            if superseded.len() > MAX_SUPERSEDED {
                superseded.remove(0);
            }
            let mut c = old.cmd;
            c.outcome = Outcome::Superseded;
            c.detail = Some(format!("superseded by command {id}"));
            c.resolved_ms = Some(now.ms);
            self.log(c, fx);
        }
        let refused = match attempt {
            Attempt::Sent => None,
            Attempt::NotConnected => Some("the hub is not connected to its MQTT broker".into()),
            Attempt::Refused(why) => {
                Some(format!("the hub's MQTT client refused the command: {why}"))
            }
        };
        if let Some(why) = refused {
            cmd.outcome = Outcome::Failed;
            cmd.detail = Some(why);
            cmd.resolved_ms = Some(now.ms);
            self.log(cmd, fx);
            return;
        }
        self.unassigned.push_back(id);
        self.pending.insert(
            light.to_string(),
            Pending {
                cmd: cmd.clone(),
                started: now.at,
                superseded,
            },
        );
        self.log(cmd, fx);
        fx.push(Effect::Timer {
            light: light.to_string(),
            id,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn status(
        &mut self,
        now: Now,
        light: &str,
        topic: &str,
        state: LightState,
        payload: &[u8],
        retained: bool,
        fx: &mut Vec<Effect>,
    ) {
        let cut = payload.len().min(MAX_PAYLOAD_SHOWN);
        let text = String::from_utf8_lossy(&payload[..cut]).into_owned();
        let previous = self.lights.get(light).map(|l| l.state);
        // A light's first report is how it introduces itself, not a change.
        let mut source = if retained {
            StateSource::Retained
        } else if previous.is_none_or(|p| p == state) {
            StateSource::Report
        } else {
            StateSource::External
        };
        if !retained && let Some(p) = self.pending.get_mut(light) {
            source = StateSource::Reply;
            let late = (Some(state) != p.cmd.desired)
                .then(|| p.superseded.iter().position(|s| *s == state))
                .flatten();
            if let Some(i) = late {
                // The reply to a command this one superseded: this one still waits.
                p.superseded.remove(i);
            } else if state == LightState::Unknown {
                // A status the hub cannot read does not settle the command; the log keeps it.
                p.cmd.reply = Some(text.clone());
                p.cmd.reply_state = Some(state);
            } else {
                let p = self.pending.remove(light).expect("present");
                let mut c = p.cmd;
                c.outcome = if Some(state) == c.desired {
                    Outcome::Confirmed
                } else {
                    Outcome::Mismatch
                };
                c.reply = Some(text.clone());
                c.reply_state = Some(state);
                c.resolved_ms = Some(now.ms);
                c.latency_ms = Some(now.at.duration_since(p.started).as_secs_f64() * 1000.0);
                self.log(c, fx);
            }
        } else if source == StateSource::External {
            let c = Command {
                id: self.take_id(),
                light: light.to_string(),
                origin: Origin::External,
                topic: topic.to_string(),
                convention: None,
                desired: None,
                payload: None,
                outcome: Outcome::External,
                reply: Some(text.clone()),
                reply_state: Some(state),
                detail: None,
                sent_ms: now.ms,
                resolved_ms: Some(now.ms),
                latency_ms: None,
            };
            self.log(c, fx);
        }
        let status = LightStatus {
            light: light.to_string(),
            state,
            payload: text,
            source,
            updated_ms: now.ms,
        };
        self.lights.insert(light.to_string(), status.clone());
        fx.push(Effect::Light(status));
    }

    /// Ends the pending command of `light` with `outcome`.
    fn settle(
        &mut self,
        light: &str,
        outcome: Outcome,
        detail: Option<String>,
        now: Now,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(p) = self.pending.remove(light) {
            let mut c = p.cmd;
            c.outcome = outcome;
            c.detail = detail;
            c.resolved_ms = Some(now.ms);
            self.log(c, fx);
        }
    }

    fn take_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn log(&mut self, c: Command, fx: &mut Vec<Effect>) {
        if c.origin == Origin::Hub {
            self.last_command.insert(c.light.clone(), c.clone());
        }
        fx.push(Effect::Log(c));
    }

    /// A light's current state, if it has reported one.
    pub fn light(&self, light: &str) -> Option<&LightStatus> {
        self.lights.get(light)
    }

    /// The latest command to a light, as it stands.
    pub fn last_command(&self, light: &str) -> Option<&Command> {
        self.last_command.get(light)
    }

    /// A recent entry still held in memory (pending, or the latest of its light).
    pub fn recent(&self, id: i64) -> Option<&Command> {
        self.pending
            .values()
            .map(|p| &p.cmd)
            .chain(self.last_command.values())
            .find(|c| c.id == id)
    }

    /// Commands waiting for a reply.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIGHT: &str = "hall/lamp";

    /// The inputs of the table, for one light.
    #[derive(Clone, Copy)]
    enum In {
        On,
        Off,
        OnOffline,
        OnRefused,
        Sent(u16),
        Ack(u16, u8),
        Lost,
        Status(&'static str),
        Retained(&'static str),
        Expire(i64),
    }

    fn route() -> LightRoute {
        LightRoute {
            convention: "set-topic",
            command_topic: "home/hall/lamp/set".into(),
            payload_on: "ON".into(),
            payload_off: "OFF".into(),
        }
    }

    /// Effects as short lines, so the table reads like the log it makes.
    fn show(fx: &[Effect]) -> Vec<String> {
        fx.iter()
            .map(|e| match e {
                Effect::Log(c) => {
                    let mut s =
                        format!("log #{} {} {}", c.id, c.origin.as_str(), c.outcome.as_str());
                    if let Some(d) = c.desired {
                        s += &format!(" want={}", d.as_str());
                    }
                    if let Some(r) = &c.reply {
                        s += &format!(" reply={r}");
                    }
                    if let Some(l) = c.latency_ms {
                        s += &format!(" {l}ms");
                    }
                    if let Some(d) = &c.detail {
                        s += &format!(" ({d})");
                    }
                    s
                }
                Effect::Light(l) => {
                    format!("light {} {:?} {}", l.state.as_str(), l.source, l.payload)
                }
                Effect::Timer { light, id } => format!("timer #{id} {light}"),
            })
            .collect()
    }

    /// Runs `steps`, 5 ms apart, and returns the effects of the last one.
    fn run(steps: &[In]) -> (Machine, Vec<String>) {
        let mut m = Machine::new(1, Duration::from_secs(5));
        let start = Instant::now();
        let r = route();
        let mut last = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let now = Now {
                ms: 1000 + 5 * i as i64,
                at: start + Duration::from_millis(5 * i as u64),
            };
            let switch = |on, attempt| Input::Switch {
                light: LIGHT,
                route: &r,
                on,
                attempt,
            };
            let status = |p: &'static str, retained| Input::Status {
                light: LIGHT,
                topic: "home/hall/lamp",
                state: match p {
                    "ON" => LightState::On,
                    "OFF" => LightState::Off,
                    _ => LightState::Unknown,
                },
                payload: p.as_bytes(),
                retained,
            };
            let input = match *s {
                In::On => switch(true, Attempt::Sent),
                In::Off => switch(false, Attempt::Sent),
                In::OnOffline => switch(true, Attempt::NotConnected),
                In::OnRefused => switch(true, Attempt::Refused("queue full".into())),
                In::Sent(pkid) => Input::Sent { pkid },
                In::Ack(pkid, reason) => Input::Acked {
                    pkid,
                    reason,
                    reason_name: "NotAuthorized",
                },
                In::Lost => Input::LinkLost,
                In::Status(p) => status(p, false),
                In::Retained(p) => status(p, true),
                In::Expire(id) => Input::Expired { light: LIGHT, id },
            };
            last = show(&m.step(now, input));
        }
        (m, last)
    }

    /// Every transition: the steps before, the step under test (last), and what it does.
    #[test]
    fn transition_table() {
        use In::*;
        let table: &[(&str, &[In], &[&str])] = &[
            (
                "a switch is pending with a timer",
                &[On],
                &["log #1 hub pending want=on", "timer #1 hall/lamp"],
            ),
            (
                "pending → confirmed by the reply, with its latency",
                &[On, Status("ON")],
                &[
                    "log #1 hub confirmed want=on reply=ON 5ms",
                    "light on Reply ON",
                ],
            ),
            (
                "pending → mismatch when the light says otherwise",
                &[On, Status("OFF")],
                &[
                    "log #1 hub mismatch want=on reply=OFF 5ms",
                    "light off Reply OFF",
                ],
            ),
            (
                "pending → timed_out when the timer runs out",
                &[On, Expire(1)],
                &["log #1 hub timed_out want=on (no status reply within 5000 ms)"],
            ),
            (
                "a timer of a settled command does nothing",
                &[On, Status("ON"), Expire(1)],
                &[],
            ),
            (
                "pending → superseded by a newer command",
                &[On, Off],
                &[
                    "log #1 hub superseded want=on (superseded by command 2)",
                    "log #2 hub pending want=off",
                    "timer #2 hall/lamp",
                ],
            ),
            (
                "the late reply to a superseded command is its own, not a mismatch",
                &[On, Off, Status("ON")],
                &["light on Reply ON"],
            ),
            (
                "after the late reply, the newer command's reply confirms it",
                &[On, Off, Status("ON"), Status("OFF")],
                &[
                    "log #2 hub confirmed want=off reply=OFF 10ms",
                    "light off Reply OFF",
                ],
            ),
            (
                "failed when the hub is not connected",
                &[OnOffline],
                &["log #1 hub failed want=on (the hub is not connected to its MQTT broker)"],
            ),
            (
                "failed when the client refuses the publish",
                &[OnRefused],
                &[
                    "log #1 hub failed want=on (the hub's MQTT client refused the command: queue full)",
                ],
            ),
            (
                "a failed switch still supersedes the pending one",
                &[On, OnOffline],
                &[
                    "log #1 hub superseded want=on (superseded by command 2)",
                    "log #2 hub failed want=on (the hub is not connected to its MQTT broker)",
                ],
            ),
            (
                "a PUBACK ≥ 0x80 fails the pending command",
                &[On, Sent(7), Ack(7, 0x87)],
                &[
                    "log #1 hub failed want=on (the broker refused the command: NotAuthorized (0x87))",
                ],
            ),
            (
                "a successful PUBACK changes nothing",
                &[On, Sent(7), Ack(7, 0x00)],
                &[],
            ),
            (
                "a PUBACK for a packet id lost with the link is ignored",
                &[On, Sent(7), Lost, Ack(7, 0x87)],
                &[],
            ),
            (
                "an unreadable reply is kept but does not settle",
                &[On, Status("dim")],
                &["light unknown Reply dim"],
            ),
            (
                "…and shows in the timeout's entry",
                &[On, Status("dim"), Expire(1)],
                &["log #1 hub timed_out want=on reply=dim (no status reply within 5000 ms)"],
            ),
            (
                "a light's first report is not a change",
                &[Status("OFF")],
                &["light off Report OFF"],
            ),
            (
                "a repeated state is a report",
                &[Status("OFF"), Status("OFF")],
                &["light off Report OFF"],
            ),
            (
                "a change no command explains is external",
                &[Status("OFF"), Status("ON")],
                &["log #1 external external reply=ON", "light on External ON"],
            ),
            (
                "a retained replay is never a reply",
                &[On, Retained("ON")],
                &["light on Retained ON"],
            ),
            (
                "a retained replay is never an external change",
                &[Status("OFF"), Retained("ON")],
                &["light on Retained ON"],
            ),
        ];
        for (name, steps, want) in table {
            let (_, got) = run(steps);
            assert_eq!(got, *want, "{name}");
        }
    }

    #[test]
    fn packet_ids_map_to_commands_in_send_order() {
        use In::*;
        // Two lights would be needed for two pending commands; one light's second command
        // supersedes the first, so the PUBACK of the first finds nothing pending.
        let (m, last) = run(&[On, Off, Sent(1), Sent(2), Ack(1, 0x87)]);
        assert!(last.is_empty());
        assert_eq!(m.pending_count(), 1);
        let (m, last) = run(&[On, Off, Sent(1), Sent(2), Ack(2, 0x87)]);
        assert_eq!(
            last,
            vec![
                "log #2 hub failed want=off (the broker refused the command: NotAuthorized (0x87))"
            ]
        );
        assert_eq!(m.pending_count(), 0);
    }

    #[test]
    fn queries_follow_the_state() {
        use In::*;
        let (m, _) = run(&[On, Status("ON")]);
        assert_eq!(m.light(LIGHT).unwrap().state, LightState::On);
        assert_eq!(m.last_command(LIGHT).unwrap().outcome, Outcome::Confirmed);
        assert_eq!(m.recent(1).unwrap().id, 1);
        assert!(m.recent(2).is_none());
        let (m, _) = run(&[Status("OFF"), Status("ON")]);
        assert!(
            m.last_command(LIGHT).is_none(),
            "an external change is not a command"
        );
    }
}
