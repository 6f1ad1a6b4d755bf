//! `hearthd` and `hearth-sim` as a user runs them: readings reach SQLite, signals stop the
//! hub cleanly (committing what it received), systemd hears when it is ready and stopping,
//! its logs suit a file and the journal, a killed hub leaves an intact database, bad flags and files exit with 2, the
//! simulator's lights obey both conventions, and `--demo` fills a new hub at once.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::raw::{self, Connect, Raw};
use common::{
    HubProcess, count_rows, eventually, listeners_off, mosquitto_pub, mosquitto_pub_lines,
    mosquitto_sub, open_db, within,
};

/// Plain numbers and each numeric JSON field become rows; other payloads do not.
#[tokio::test]
async fn readings_reach_sqlite() {
    let hub = HubProcess::start(&[]);
    let p = hub.port();
    mosquitto_pub(p, &["-t", "home/livingroom/temperature", "-m", "21.5"]);
    mosquitto_pub(
        p,
        &[
            "-t",
            "home/kitchen/climate",
            "-m",
            r#"{"temperature":19.5,"humidity":40}"#,
        ],
    );
    mosquitto_pub(p, &["-t", "home/livingroom/light", "-m", "ON"]);
    mosquitto_pub(p, &["-t", "home/bad/temperature", "-m", "NaN"]);
    mosquitto_pub(p, &["-t", "home/bin/data", "-m", "\u{1}\u{2}"]);
    let db = open_db(&hub.db_path()).await;
    eventually(10, "three rows committed", || {
        let db = db.clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM readings")
                .fetch_one(&db)
                .await
                .unwrap();
            (n >= 3).then_some(())
        }
    })
    .await;
    let rows: Vec<(String, String, f64)> = sqlx::query_as(
        "SELECT s.topic, s.field, r.value FROM readings r JOIN series s ON s.id = r.series_id \
         ORDER BY s.topic, s.field",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("home/kitchen/climate".into(), "humidity".into(), 40.0),
            ("home/kitchen/climate".into(), "temperature".into(), 19.5),
            ("home/livingroom/temperature".into(), "".into(), 21.5),
        ]
    );
    let minute_rollups: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rollup_minute")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(minute_rollups, 3);

    // `hearthd history` answers from the same file while the hub runs.
    let dir = hub.data_dir.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hearthd"))
        .args(["history", "home/kitchen/climate", "--field", "humidity"])
        .args(["--data-dir", dir, "--last", "1h", "--points", "60"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = &v["history"];
    assert_eq!(h["resolution"], "minute");
    assert_eq!(h["ts"].as_array().unwrap().len(), 1);
    assert_eq!(h["avg"][0], 40.0);
    let (code, err) = run(
        env!("CARGO_BIN_EXE_hearthd"),
        &["history", "home/nowhere/temperature", "--data-dir", dir],
    );
    assert_eq!(code, 1);
    assert!(err.contains("home/livingroom/temperature"), "{err}");
    let (code, err) = run(
        env!("CARGO_BIN_EXE_hearthd"),
        &[
            "history",
            "home/livingroom/temperature",
            "--points",
            "1",
            "--data-dir",
            dir,
        ],
    );
    assert_eq!(code, 2, "{err}");
}

/// SIGINT and SIGTERM stop the hub with exit code 0 after committing, and the database
/// passes SQLite's integrity check.
#[tokio::test]
async fn signals_stop_the_hub_cleanly() {
    for sig in ["INT", "TERM"] {
        let mut hub = HubProcess::start(&[]);
        mosquitto_pub(
            hub.port(),
            &["-t", "home/a/temperature", "-m", "1", "-q", "1"],
        );
        let db = open_db(&hub.db_path()).await;
        eventually(10, "row committed", || {
            let db = db.clone();
            async move { (count_rows(&db, "home/a/temperature", "").await == 1).then_some(()) }
        })
        .await;
        db.close().await;
        let st = hub.stop_with(sig);
        assert!(st.success(), "SIG{sig}: exit {st}");
        let lines: Vec<String> = hub.stdout.try_iter().collect();
        assert!(lines.iter().any(|l| l == "hearthd stopped"), "{lines:?}");
        let db = open_db(&hub.db_path()).await;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(check, "ok");
    }
}

/// SIGTERM (what `systemctl stop` sends) commits readings the hub has received but not yet
/// committed: rounds of readings are published until one is caught uncommitted at the moment
/// of the signal (the recorder commits once a second, so nearly always the first).
#[tokio::test]
async fn sigterm_commits_readings_received_but_not_yet_committed() {
    let mut hub = HubProcess::start(&[]);
    let http = hub.http.unwrap();
    let db = open_db(&hub.db_path()).await;
    let lines: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let mut caught = None;
    for round in 0..10 {
        let topic = format!("home/round{round}/temperature");
        mosquitto_pub_lines(hub.port(), &topic, &lines);
        eventually(10, "the hub received the round", || {
            let topic = topic.clone();
            async move { (topic_messages(http, &topic).await == 300).then_some(()) }
        })
        .await;
        let committed = count_rows(&db, &topic, "").await;
        if committed < 300 {
            caught = Some((topic, committed));
            break;
        }
    }
    let (topic, before) = caught.expect("every round was committed before the signal");
    db.close().await;
    let st = hub.stop_with("TERM");
    assert!(st.success(), "exit {st}");
    let db = open_db(&hub.db_path()).await;
    assert_eq!(
        count_rows(&db, &topic, "").await,
        300,
        "{before} of 300 were committed at SIGTERM"
    );
}

/// Messages the hub has received on `topic`, from `/api/topics`.
async fn topic_messages(http: std::net::SocketAddr, topic: &str) -> u64 {
    fn find(node: &serde_json::Value, topic: &str) -> Option<u64> {
        if node["path"] == topic {
            return node["messages"].as_u64();
        }
        node["children"]
            .as_array()?
            .iter()
            .find_map(|c| find(c, topic))
    }
    let (code, tree) = common::api::get(http, "/api/topics").await;
    assert_eq!(code, 200, "{tree}");
    match &tree {
        serde_json::Value::Array(nodes) => nodes.iter().find_map(|n| find(n, topic)),
        node => find(node, topic),
    }
    .unwrap_or(0)
}

/// Under systemd (`Type=notify`) hearthd tells the service manager READY=1 once its
/// listeners are open and it records, with the listeners as its status, and STOPPING=1 when
/// a signal starts the shutdown; the service manager's socket is `NOTIFY_SOCKET`.
#[tokio::test]
async fn service_manager_hears_ready_and_stopping() {
    let tmp = tempfile::tempdir().unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let env = format!("NOTIFY_SOCKET={}", sock_path.display());
    let mut hub = HubProcess::start_wrapped(&data, &[], &["env", &env]);
    let recv = |sock: &std::os::unix::net::UnixDatagram| {
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).expect("a notification within 10 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = recv(&sock);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    let status = format!("STATUS=listening: mqtt {}, ", hub.mqtt);
    assert!(ready.lines().any(|l| l.starts_with(&status)), "{ready}");
    // Ready means recording.
    mosquitto_pub(hub.port(), &["-t", "home/a/temperature", "-m", "1"]);
    let db = open_db(&hub.db_path()).await;
    eventually(10, "row committed", || {
        let db = db.clone();
        async move { (count_rows(&db, "home/a/temperature", "").await == 1).then_some(()) }
    })
    .await;
    db.close().await;
    assert!(hub.stop_with("TERM").success());
    let stopping = recv(&sock);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
}

/// Logs written to a pipe or file carry no colour codes; under the journal (stderr is the
/// stream `JOURNAL_STREAM` names) each line starts with its syslog priority and has no
/// timestamp of its own (the journal keeps one), and a failure to start is an error.
#[test]
fn logs_suit_a_file_and_the_journal() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    for journal in [false, true] {
        let data = tmp.path().join(format!("data-{journal}"));
        let log = tmp.path().join(format!("err-{journal}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let meta = file.metadata().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearthd"));
        cmd.args(["--data-dir", data.to_str().unwrap(), "--mdns", "off"])
            .args(["--log", "info", "--mqtt-listen", "127.0.0.1:0"])
            .args(listeners_off(&["--mqtt-listen"]))
            .stdout(Stdio::piped())
            .stderr(file);
        if journal {
            cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
        } else {
            // The journal's stream, but not this process's stderr.
            cmd.env(
                "JOURNAL_STREAM",
                format!("{}:{}", meta.dev(), meta.ino() + 1),
            );
        }
        let mut child = cmd.spawn().unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        for line in std::io::BufRead::lines(out) {
            if line.unwrap().starts_with("data folder ") {
                break;
            }
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        assert!(child.wait().unwrap().success());
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains('\u{1b}'), "colour codes in {text:?}");
        let line = text
            .lines()
            .find(|l| l.ends_with("hearthd: shutting down"))
            .unwrap_or_else(|| panic!("no shutdown line in {text:?}"));
        if journal {
            assert_eq!(line, "<6> INFO hearthd: shutting down");
        } else {
            // An RFC 3339 time first, no priority.
            assert!(
                line.as_bytes()[..4].iter().all(u8::is_ascii_digit),
                "{line}"
            );
            assert!(line.contains(" INFO hearthd: shutting down"), "{line}");
        }
    }
    // Why the hub did not start is an error to the journal (`journalctl -p err` shows it).
    let log = tmp.path().join("err-start.log");
    let file = std::fs::File::create(&log).unwrap();
    let meta = file.metadata().unwrap();
    // A TOML error takes several lines; the reason is on the last.
    let conf = tmp.path().join("bad.toml");
    std::fs::write(&conf, "log = \"info\"\nbogus = 1\n").unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_hearthd"))
        .args(["--config", conf.to_str().unwrap()])
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(file)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("<3>hearthd: config file "), "{text:?}");
    assert!(text.lines().count() > 2, "{text:?}");
    assert!(text.lines().all(|l| l.starts_with("<3>")), "{text:?}");
    assert!(text.contains("unknown field `bogus`"), "{text:?}");
}

/// The Debian package's config file (`/etc/hearth/hearthd.toml`) is one this hearthd
/// accepts: a hub starts from it (with the data folder, the dashboard and the listeners
/// moved to this test's), and a key renamed in `flags.rs` fails here, not on a home server.
#[test]
fn packaged_config_file_starts_a_hub() {
    let tmp = tempfile::tempdir().unwrap();
    let ui = tmp.path().join("ui");
    std::fs::create_dir(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<title>Hearth</title>").unwrap();
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/hearthd.toml");
    let text = std::fs::read_to_string(conf).unwrap();
    assert!(text.contains("data-dir = \"/var/lib/hearth\""), "{text}");
    assert!(text.contains("ui-dir = \"/usr/share/hearth/ui\""), "{text}");
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut hub =
        HubProcess::start_in(&data, &["--config", conf, "--ui-dir", ui.to_str().unwrap()]);
    assert!(data.join("hearth.db").exists());
    assert!(hub.stop_with("TERM").success());
}

/// The systemd unit passes `systemd-analyze verify` and keeps its hardening
/// (`systemd-analyze security` exposure at most 2.0, "OK"), where systemd's tools exist.
#[test]
fn systemd_unit_verifies_and_stays_hardened() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: the unit is not checked");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/hearth.service"
    ))
    .unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/hearthd "), "{unit}");
    // verify checks that the program exists: this build's stands in for /usr/bin/hearthd.
    let path = tmp.path().join("hearth.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/hearthd", env!("CARGO_BIN_EXE_hearthd")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("OK"), "{text}");
}

/// A hub killed mid-write (power cut) leaves a database SQLite calls intact, keeping what was
/// committed, and starts again on it.
#[tokio::test]
async fn killed_hub_leaves_an_intact_database() {
    let mut hub = HubProcess::start(&[]);
    let url = format!("mqtt://127.0.0.1:{}", hub.port());
    let mut sim = Command::new(env!("CARGO_BIN_EXE_hearth-sim"))
        .args([
            "--broker",
            &url,
            "--rooms",
            "20",
            "--interval",
            "20ms",
            "--duration",
            "60s",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let db = open_db(&hub.db_path()).await;
    let before = eventually(20, "thousands of rows committed", || {
        let db = db.clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM readings")
                .fetch_one(&db)
                .await
                .unwrap();
            (n > 2000).then_some(n)
        }
    })
    .await;
    db.close().await;
    hub.stop_with("KILL");
    let _ = sim.kill();
    let _ = sim.wait();
    let db = open_db(&hub.db_path()).await;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM readings")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(after >= before, "committed rows lost: {before} → {after}");
    db.close().await;
    let mut again = HubProcess::start_in(&hub.data_dir.clone(), &[]);
    assert!(again.stop_with("TERM").success());
}

fn run(bin: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Bad flags and config files: a clear message on stderr and exit code 2.
#[test]
fn bad_flags_and_files_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(&bad_toml, "mqtt-listen = 1883\n").unwrap();
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "colour = \"blue\"\n").unwrap();
    let hearthd = env!("CARGO_BIN_EXE_hearthd");
    for (args, needle) in [
        (vec!["--no-such-flag"], "unexpected argument"),
        (
            vec!["--data-dir", d, "--mqtt-listen", "localhost"],
            "mqtt-listen 'localhost'",
        ),
        (
            vec!["--data-dir", d, "--ws-listen", "1.2.3.4:99999"],
            "ws-listen",
        ),
        (
            vec!["--data-dir", d, "--broker", "ftp://x"],
            "unsupported scheme",
        ),
        (vec!["--data-dir", d, "--log", "chatty=[["], "log level"),
        (
            vec!["--data-dir", d, "--retention-days", "0"],
            "retention-days",
        ),
        (
            vec!["--data-dir", d, "--retention-days", "-3"],
            "unexpected argument",
        ),
        (
            vec!["--data-dir", d, "--max-packet-bytes", "12"],
            "max-packet-bytes",
        ),
        (
            vec!["--config", "/nonexistent.toml"],
            "cannot read config file",
        ),
        (
            vec!["--data-dir", d, "--http-listen", "everywhere"],
            "http-listen 'everywhere'",
        ),
        (
            vec!["--data-dir", d, "--command-timeout", "soon"],
            "not a duration",
        ),
        (
            vec!["--data-dir", d, "--command-timeout", "1ms"],
            "command-timeout must be between",
        ),
        (vec!["--data-dir", d, "--ui-dir", d], "has no index.html"),
        (
            vec!["--data-dir", d, "--anonymous", "maybe"],
            "not off, local or on",
        ),
        (vec!["--data-dir", d, "--mdns", "loud"], "not on or off"),
        (
            vec!["--data-dir", d, "--public-host", "a b"],
            "public-host 'a b'",
        ),
        (
            vec![
                "--data-dir",
                d,
                "--mqtts-listen",
                "127.0.0.1:5001",
                "--wss-listen",
                "127.0.0.1:5001",
            ],
            "both use port 5001",
        ),
        (vec!["--config", bad_toml.to_str().unwrap()], "invalid type"),
        (
            vec!["--config", unknown.to_str().unwrap()],
            "unknown field `colour`",
        ),
    ] {
        let (code, err) = run(hearthd, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let sim = env!("CARGO_BIN_EXE_hearth-sim");
    for (args, needle) in [
        (vec!["--rooms", "0"], "--rooms"),
        (vec!["--drop-replies", "2"], "--drop-replies"),
        (vec!["--interval", "fast"], "not a duration"),
        (vec!["--broker", "mqtt:///"], "broker"),
    ] {
        let (code, err) = run(sim, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// A port already in use is a start-up failure (exit 1), not a crash.
#[tokio::test]
async fn busy_port_fails_cleanly() {
    let hub = HubProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mqtt = hub.mqtt.to_string();
    let (code, err) = run_listening(data, &["--mqtt-listen", &mqtt]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    // The HTTP port too.
    let http = hub.http.unwrap().to_string();
    let (code, err) = run_listening(
        data,
        &["--mqtt-listen", "127.0.0.1:0", "--http-listen", &http],
    );
    assert_eq!(code, 1, "{err}");
}

/// `hearthd` in `data` with only the listeners `listen` names (flag, address, …) on.
fn run_listening(data: &str, listen: &[&str]) -> (i32, String) {
    let keep: Vec<&str> = listen.iter().step_by(2).copied().collect();
    let mut args = vec!["--data-dir", data, "--mdns", "off"];
    args.extend(listeners_off(&keep));
    args.extend(listen);
    run(env!("CARGO_BIN_EXE_hearthd"), &args)
}

/// Subscribes a raw client to `filter` and returns it.
async fn watch(hub: &HubProcess, id: &str, filter: &str) -> Raw {
    let (mut r, _) = Raw::handshake(hub.mqtt, &Connect::v5(id)).await;
    r.send(&raw::subscribe(true, 1, filter, 0)).await;
    r.recv_kind(raw::SUBACK).await;
    r
}

/// Next PUBLISH as (topic, payload), skipping retained replays.
async fn next_live(r: &mut Raw) -> (String, String) {
    loop {
        let p = r.recv_kind(raw::PUBLISH).await;
        if p.retain() {
            continue;
        }
        let (t, _, payload) = p.publish(true);
        return (t, String::from_utf8(payload).unwrap());
    }
}

/// The simulator's sensors publish, its lights obey both conventions and reply once (no
/// loop on their own status), `--drop-replies 1` silences replies, and `--duration` ends it.
#[tokio::test]
async fn simulator_lights_and_sensors() {
    let hub = HubProcess::start(&[]);
    let url = format!("mqtt://127.0.0.1:{}", hub.port());
    let sim = Command::new(env!("CARGO_BIN_EXE_hearth-sim"))
        .args([
            "--broker",
            &url,
            "--rooms",
            "2",
            "--interval",
            "100ms",
            "--reply-delay",
            "50ms",
        ])
        .args(["--duration", "20s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    within(30, "simulator", async {
        let mut temps = watch(&hub, "w-temp", "home/+/temperature").await;
        let (t, v) = next_live(&mut temps).await;
        assert_eq!(t, "home/livingroom/temperature");
        assert!(v.parse::<f64>().is_ok(), "{v}");
        let mut climate = watch(&hub, "w-climate", "home/kitchen/climate").await;
        let (_, v) = next_live(&mut climate).await;
        let j: serde_json::Value = serde_json::from_str(&v).unwrap();
        assert!(
            j["temperature"].is_number() && j["humidity"].is_number(),
            "{v}"
        );

        // Same-topic convention: the command and then the light's status on one topic.
        let mut lr = watch(&hub, "w-lr", "home/livingroom/light").await;
        mosquitto_pub(
            hub.port(),
            &["-t", "home/livingroom/light", "-m", "ON", "-q", "1"],
        );
        assert_eq!(next_live(&mut lr).await.1, "ON");
        assert_eq!(next_live(&mut lr).await.1, "ON");
        // And nothing more: the light does not answer its own status.
        assert!(lr.recv_within(Duration::from_millis(700)).await.is_err());

        // …/set convention, JSON command, status on the base topic.
        let mut k = watch(&hub, "w-k", "home/kitchen/light").await;
        mosquitto_pub(
            hub.port(),
            &[
                "-t",
                "home/kitchen/light/set",
                "-m",
                r#"{"state":"ON"}"#,
                "-q",
                "1",
            ],
        );
        assert_eq!(next_live(&mut k).await.1, "ON");
        mosquitto_pub(
            hub.port(),
            &["-t", "home/kitchen/light/set", "-m", "off", "-q", "1"],
        );
        assert_eq!(next_live(&mut k).await.1, "OFF");
    })
    .await;
    let out = within(30, "sim exits by itself", async {
        tokio::task::spawn_blocking(move || sim.wait_with_output().unwrap())
            .await
            .unwrap()
    })
    .await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("commands"));

    // --drop-replies 1: the light obeys but never answers.
    let mut lr = within(10, "watch", watch(&hub, "w-quiet", "home/livingroom/light")).await;
    let mut quiet = Command::new(env!("CARGO_BIN_EXE_hearth-sim"))
        .args([
            "--broker",
            &url,
            "--rooms",
            "1",
            "--drop-replies",
            "1",
            "--duration",
            "20s",
        ])
        .args(["--log", "error"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    within(30, "dropped replies", async {
        // The light's boot status means its command subscription exists.
        assert_eq!(next_live(&mut lr).await.1, "OFF");
        mosquitto_pub(
            hub.port(),
            &["-t", "home/livingroom/light", "-m", "ON", "-q", "1"],
        );
        assert_eq!(next_live(&mut lr).await.1, "ON");
        assert!(
            lr.recv_within(Duration::from_secs(1)).await.is_err(),
            "a reply was sent"
        );
    })
    .await;
    let _ = quiet.kill();
    let _ = quiet.wait();
}

/// `hearthd --demo`: a new hub shows simulated readings and light statuses at once, and
/// records them; its mixed home has a light of every convention, and each switches.
#[tokio::test]
async fn demo_mode_shows_devices_at_once() {
    let hub = HubProcess::start(&["--demo"]);
    let lines = mosquitto_sub(hub.port(), 5, &["-t", "home/#", "-v", "-C", "8"]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("home/livingroom/light ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("home/livingroom/temperature ")),
        "{lines:?}"
    );
    let db = open_db(&hub.db_path()).await;
    eventually(15, "demo readings recorded", || {
        let db = db.clone();
        async move { (count_rows(&db, "home/livingroom/temperature", "").await > 0).then_some(()) }
    })
    .await;
    // The demo is a mixed home: a light of every convention, online, each switching and
    // confirmed by its own status reply.
    let http = hub.http.unwrap();
    let conventions = ["home", "tasmota", "z2m", "shelly", "esphome", "homie", "ha"];
    let lights = eventually(20, "a light of every convention", || async {
        let (_, rooms) = common::api::get(http, "/api/devices").await;
        let lights: Vec<serde_json::Value> = conventions
            .iter()
            .filter_map(|c| {
                rooms
                    .as_array()?
                    .iter()
                    .flat_map(|r| r["devices"].as_array().unwrap().iter())
                    .find(|d| {
                        d["convention"] == *c
                            && d["kind"] == "light"
                            && d["availability"]["state"] == "online"
                    })
                    .cloned()
            })
            .collect();
        (lights.len() == conventions.len()).then_some(lights)
    })
    .await;
    for d in lights {
        let id = d["id"].as_str().unwrap();
        let (group, rest) = id.split_once('/').unwrap();
        let path = format!("/api/devices/{group}/{}/switch", rest.replace('/', "%2F"));
        let (st, cmd) = common::api::post(http, &path, &serde_json::json!({"state": "ON"})).await;
        assert_eq!(st, 202, "{id}: {cmd}");
        let cid = cmd["id"].as_i64().unwrap();
        let done = eventually(10, &format!("{id} confirmed"), || async {
            let (_, c) = common::api::get(http, &format!("/api/commands/{cid}")).await;
            (c["outcome"] != "pending").then_some(c)
        })
        .await;
        assert_eq!(
            done["outcome"], "confirmed",
            "{id} ({}): {done}",
            d["convention"]
        );
    }
}

/// Raw readings older than the retention are purged when the hub starts (and hourly);
/// their rollups stay, so long-range history still answers.
#[tokio::test]
async fn retention_purges_old_raw_readings_and_keeps_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("hearth.db");
    let now = hearth::now_ms();
    {
        let store = hearth::Store::open(&db_path).await.unwrap();
        let id = store.series_id("home/old/temperature", "").await.unwrap();
        let rows: Vec<hearth::Reading> = [3 * 86_400_000, 2 * 86_400_000, 3_600_000]
            .iter()
            .map(|age| hearth::Reading {
                series_id: id,
                ts_ms: now - age,
                value: 20.0,
            })
            .collect();
        store.insert_readings(&rows).await.unwrap();
        store.close().await;
    }
    let hub = HubProcess::start_in(dir.path(), &["--retention-days", "1"]);
    let db = open_db(&db_path).await;
    eventually(15, "old readings purged", || {
        let db = db.clone();
        async move { (count_rows(&db, "home/old/temperature", "").await == 1).then_some(()) }
    })
    .await;
    let hours: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rollup_hour")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(hours, 3, "rollups must outlive raw readings");
    drop(hub);
}
