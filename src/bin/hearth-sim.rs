//! `hearth-sim`: a simulated home of temperature sensors and lights, against any broker.

/// glibc's malloc spent about a sixth of the hub's CPU under load in lock contention and
/// kept freed memory; mimalloc does neither.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Parser;
use hearth::{BrokerMode, Flavor, SimOptions, parse_broker_url, parse_duration};

/// A simulated home: per room a temperature sensor and a light that obeys commands, in the
/// convention of a real firmware.
#[derive(Debug, Parser)]
#[command(name = "hearth-sim", version, about)]
struct Args {
    /// Broker to connect to.
    #[arg(long, value_name = "URL", default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    /// Device convention the rooms speak: seed, tasmota, z2m, shelly, esphome, homie, ha, or
    /// mixed (room i speaks the i-th of the seven, in that order, round robin).
    #[arg(long, value_name = "NAME", default_value_t = Flavor::Seed)]
    flavor: Flavor,
    /// Rooms to simulate (1–500).
    #[arg(long, value_name = "N", default_value_t = 3)]
    rooms: usize,
    /// Time between readings of one sensor (500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    interval: Duration,
    /// Time a light takes to reply to a command.
    #[arg(long, value_name = "DURATION", default_value = "0ms", value_parser = parse_duration)]
    reply_delay: Duration,
    /// Share of commands obeyed without a reply, 0 to 1.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    drop_replies: f64,
    /// Stop by itself after this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Log level.
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    log: String,
    /// MQTT username, for a broker that wants credentials (with --password).
    #[arg(long, value_name = "NAME", requires = "password")]
    username: Option<String>,
    /// MQTT password (or set HEARTH_SIM_PASSWORD).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "HEARTH_SIM_PASSWORD",
        requires = "username"
    )]
    password: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (host, port) = match parse_broker_url(&args.broker) {
        Ok(BrokerMode::External { host, port }) => (host, port),
        Ok(_) => unreachable!("a URL always names an external broker"),
        Err(e) => return usage(&e.to_string()),
    };
    if !(1..=500).contains(&args.rooms) {
        return usage("--rooms must be between 1 and 500");
    }
    if !(0.0..=1.0).contains(&args.drop_replies) {
        return usage("--drop-replies must be between 0 and 1");
    }
    if args.interval < Duration::from_millis(10) {
        return usage("--interval must be at least 10ms");
    }
    if tracing_subscriber::EnvFilter::try_new(&args.log).is_err() {
        return usage(&format!("log level '{}' is not valid", args.log));
    }
    hearth::init_logging(&args.log);
    let opts = SimOptions {
        host,
        port,
        rooms: args.rooms,
        interval: args.interval,
        reply_delay: args.reply_delay,
        drop_replies: args.drop_replies,
        credentials: args.username.zip(args.password),
        flavor: args.flavor,
        ..SimOptions::default()
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async move {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let sim = tokio::spawn(hearth::simulate(opts, stop_rx));
        let duration = args.duration;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match duration {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
        let _ = stop_tx.send(true);
        if let Ok(Ok(stats)) = tokio::time::timeout(Duration::from_secs(5), sim).await {
            use std::io::Write;
            let _ = writeln!(
                std::io::stdout(),
                "hearth-sim: {} readings, {} commands, {} replies",
                stats.readings.load(Ordering::Relaxed),
                stats.commands.load(Ordering::Relaxed),
                stats.replies.load(Ordering::Relaxed)
            );
        }
    });
    ExitCode::SUCCESS
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("hearth-sim: {msg}");
    ExitCode::from(2)
}
