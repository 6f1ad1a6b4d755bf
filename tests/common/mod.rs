//! Test support: a real `hearthd` per test on ephemeral ports with a temp data folder, a
//! Debian Mosquitto on a free loopback port, and small helpers. Every wait has a deadline.

#![allow(dead_code)]

pub mod api;
pub mod raw;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every listener flag of `hearthd`.
pub const LISTENERS: [&str; 6] = [
    "--mqtt-listen",
    "--mqtts-listen",
    "--ws-listen",
    "--wss-listen",
    "--http-listen",
    "--https-listen",
];

/// `--<listener> off` for every listener but those in `keep`.
pub fn listeners_off(keep: &[&str]) -> Vec<&'static str> {
    LISTENERS
        .into_iter()
        .filter(|f| !keep.contains(f))
        .flat_map(|f| [f, "off"])
        .collect()
}

/// Awaits `fut`, failing the test if it takes longer than `secs` seconds.
pub async fn within<T>(secs: u64, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {secs} s: {what}"),
    }
}

/// Polls `check` until it returns `Some`, failing after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("not true within {secs} s: {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A `hearthd` child process.
pub struct HubProcess {
    child: Option<Child>,
    pub mqtt: SocketAddr,
    pub ws: Option<SocketAddr>,
    /// The HTTP API (on an ephemeral port unless the test passed `--http-listen`).
    pub http: Option<SocketAddr>,
    /// Every listener hearthd reported, by name (`mqtt`, `mqtts`, `ws`, `wss`, `http`, `https`).
    pub listeners: std::collections::HashMap<String, SocketAddr>,
    /// The process id (for entering its network namespace).
    pub pid: u32,
    pub data_dir: PathBuf,
    args: Vec<String>,
    /// Lines hearthd printed after its listener lines.
    pub stdout: mpsc::Receiver<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl HubProcess {
    /// Starts `hearthd` in a fresh temp data folder with `extra` flags.
    pub fn start(extra: &[&str]) -> HubProcess {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut h = Self::start_in(&dir, extra);
        h._tmp = Some(tmp);
        h
    }

    /// Starts `hearthd` on an existing data folder.
    pub fn start_in(dir: &Path, extra: &[&str]) -> HubProcess {
        Self::start_wrapped(dir, extra, &[])
    }

    /// Starts `hearthd` through `wrapper` (e.g. `unshare --net ...`), which must exec it.
    /// Every listener is on an ephemeral loopback port and mDNS is off unless `extra` says
    /// otherwise.
    pub fn start_wrapped(dir: &Path, extra: &[&str], wrapper: &[&str]) -> HubProcess {
        let mut args: Vec<String> = vec!["--data-dir".into(), dir.display().to_string()];
        for flag in LISTENERS {
            if !extra.contains(&flag) {
                args.extend([flag.into(), "127.0.0.1:0".into()]);
            }
        }
        for (flag, default) in [("--mdns", "off"), ("--log", "warn")] {
            if !extra.contains(&flag) {
                args.extend([flag.into(), default.into()]);
            }
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(env!("CARGO_BIN_EXE_hearthd"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_hearthd")),
        };
        let mut child = cmd
            .args(&args)
            // Not the repository: hearthd serves `ui/dist` from its working folder when it
            // exists, and a test's hub must not depend on whether the dashboard was built.
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn hearthd");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut listeners = std::collections::HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!("hearthd did not report its listeners within 30 s");
                }
            };
            if let Some((name, a)) = line.split_once(" listening on ") {
                listeners.insert(
                    name.to_string(),
                    a.parse::<SocketAddr>().expect("listener address"),
                );
            } else if line.starts_with("data folder ") {
                break;
            }
        }
        HubProcess {
            pid: child.id(),
            child: Some(child),
            mqtt: *listeners
                .get("mqtt")
                .expect("hearthd printed no mqtt listener"),
            ws: listeners.get("ws").copied(),
            http: listeners.get("http").copied(),
            listeners,
            data_dir: dir.to_path_buf(),
            args: extra.iter().map(|s| s.to_string()).collect(),
            stdout: rx,
            _tmp: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.mqtt.port()
    }

    /// Sends `signal` (`"INT"`, `"TERM"`, `"KILL"`) and waits for the exit.
    pub fn stop_with(&mut self, signal: &str) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let sig: nix::sys::signal::Signal = format!("SIG{signal}").parse().expect("signal name");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig)
            .expect("send signal");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("hearthd did not exit within 30 s of SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then start again on the same data folder with the same flags.
    pub fn restart(mut self) -> HubProcess {
        let st = self.stop_with("TERM");
        assert!(st.success(), "hearthd exited with {st}");
        let args: Vec<&str> = self.args.iter().map(|s| s.as_str()).collect();
        let mut next = Self::start_in(&self.data_dir, &args);
        next._tmp = self._tmp.take();
        next
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("hearth.db")
    }

    /// Resident memory of the hub process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.as_ref().expect("running").id())
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Resident memory of a process, in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS")
}

/// A KiB figure of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, …), 0 when the process is gone.
pub fn proc_status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A free loopback port (bound, read and released; the small race is acceptable for
/// programs like Mosquitto that cannot listen on port 0 and report it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Debian Mosquitto bound to 127.0.0.1 only.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    pub fn start() -> Mosquitto {
        Self::start_with("")
    }

    /// Starts Mosquitto with extra configuration lines. Errors go to stderr unless those
    /// lines say where the log goes.
    pub fn start_with(extra_conf: &str) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        let log = if extra_conf.contains("log_dest") {
            ""
        } else {
            "log_dest stderr\nlog_type error\n"
        };
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 {log}{extra_conf}\n"
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mosquitto is installed (apt-get install mosquitto)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Mosquitto {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Mosquitto {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `mosquitto_pub` against a port.
pub fn mosquitto_pub(port: u16, args: &[&str]) {
    let st = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .status()
        .expect("mosquitto_pub is installed");
    assert!(st.success(), "mosquitto_pub {args:?} failed: {st}");
}

/// Publishes each line as one QoS 1 message through `mosquitto_pub -l`.
pub fn mosquitto_pub_lines(port: u16, topic: &str, lines: &[String]) {
    use std::io::Write;
    let mut child = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-t",
            topic,
            "-l",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub is installed");
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let st = child.wait().unwrap();
    assert!(st.success(), "mosquitto_pub -l failed: {st}");
}

/// Runs `mosquitto_sub` with `-W secs` and returns its stdout lines.
pub fn mosquitto_sub(port: u16, secs: u32, args: &[&str]) -> Vec<String> {
    let out = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-W",
            &secs.to_string(),
        ])
        .args(args)
        .output()
        .expect("mosquitto_sub is installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|s| s.to_string())
        .collect()
}

/// Opens the hub's database read-only-ish for assertions (WAL allows a reader beside the
/// hub's writer).
pub async fn open_db(path: &Path) -> sqlx::SqlitePool {
    use std::str::FromStr;
    let opts =
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .busy_timeout(Duration::from_secs(10));
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open hub database")
}

/// Rows stored for (topic, field).
pub async fn count_rows(db: &sqlx::SqlitePool, topic: &str, field: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM readings r JOIN series s ON s.id = r.series_id \
         WHERE s.topic = ? AND s.field = ?",
    )
    .bind(topic)
    .bind(field)
    .fetch_one(db)
    .await
    .unwrap()
}
