//! Hearth's desktop window: the hub runs in this process with the app's data folder, the
//! dashboard (`ui/`) is the window's page, and its commands call the core API
//! (`commands.rs`; the shell's own, saving a file and the login entry, are here). Closing the window keeps the hub recording; the tray's Quit stops it cleanly. Flags
//! are hearthd's (`--demo`, `--mqtt-listen`, `--data-dir`, …) plus `--hidden` and `--quit`.
//! When a Hearth hub already holds the ports (the service), the window shows that hub's own
//! dashboard instead (`startup.rs`); when something else holds them, a dialog says so.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod autostart;
mod commands;
mod startup;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Parser;
use hearth::{ApiError, Args, Config, Hub};
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::webview::DownloadEvent;
use tauri::{AppHandle, Emitter, Manager, State, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_dialog::{DialogExt, MessageDialogKind};

use commands::Result;

/// Saves text the page made (a chart's CSV) where the person picks in the save dialog, where
/// WebKitGTK would save a blob download silently into Downloads (or the working directory)
/// and the page could not say where. Returns the path, or `None` when cancelled.
/// `HEARTH_SAVE_DIR` skips the dialog and saves into that folder: the end-to-end tests set it,
/// because no WebDriver reaches a native dialog.
#[tauri::command]
async fn save_file(app: AppHandle, name: String, text: String) -> Result<Option<String>> {
    let name = file_name(&name);
    let path = match std::env::var_os("HEARTH_SAVE_DIR") {
        Some(dir) => Some(PathBuf::from(dir).join(&name)),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let mut dialog = app.dialog().file().set_file_name(&name);
            if let Some(ext) = Path::new(&name).extension().and_then(|e| e.to_str()) {
                dialog = dialog.add_filter(ext.to_uppercase(), &[ext]);
            }
            if let Ok(dir) = app.path().download_dir() {
                dialog = dialog.set_directory(dir);
            }
            // The callback form: the blocking one would hold a runtime thread the hub uses.
            dialog.save_file(move |p| {
                let _ = tx.send(p.and_then(|p| p.into_path().ok()));
            });
            rx.await.ok().flatten()
        }
    };
    let Some(path) = path else { return Ok(None) };
    tokio::fs::write(&path, text).await.map_err(|e| {
        ApiError::bad_request(
            "save_failed",
            format!("Cannot save {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// The page's suggested name, as a plain file name.
fn file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .chars()
        .map(|c| if c.is_control() { '-' } else { c })
        .collect();
    match clean.trim_start_matches('.') {
        "" => "hearth-export.csv".into(),
        n => n.into(),
    }
}

#[tauri::command]
fn autostart(desktop: State<'_, Desktop>) -> autostart::Autostart {
    desktop.autostart.state()
}

#[tauri::command]
fn set_autostart(desktop: State<'_, Desktop>, enabled: bool) -> Result<autostart::Autostart> {
    let exe = std::env::current_exe().map_err(ApiError::internal)?;
    // Linux names a binary replaced by an upgrade while it runs "… (deleted)": the entry
    // should start the new one at the same path.
    let exe = match exe.to_str().and_then(|e| e.strip_suffix(" (deleted)")) {
        Some(e) => PathBuf::from(e),
        None => exe,
    };
    desktop.autostart.set(enabled, &exe).map_err(|e| {
        ApiError::bad_request(
            "autostart_failed",
            format!("Cannot change {}: {e}", desktop.autostart.entry.display()),
        )
    })
}

/// The running hub, taken out once by Quit; `None` when the window shows another hub.
struct Running(Mutex<Option<Hub>>);

/// What the desktop itself keeps, beside the hub.
struct Desktop {
    autostart: autostart::Paths,
}

#[derive(Parser)]
#[command(
    name = "hearth-desktop",
    version,
    about = "Hearth's desktop window: the hub in this process, its dashboard in a window"
)]
struct DesktopArgs {
    #[command(flatten)]
    hub: Args,
    /// Start in the tray without showing the window (how the login entry starts Hearth).
    #[arg(long)]
    hidden: bool,
    /// Stop the hub of the Hearth window already running, committing its readings, and close
    /// it; returns once its hub has stopped.
    #[arg(long)]
    quit: bool,
}

fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Flushes and stops the hub (if it is this window's), then ends the app.
fn quit(app: &AppHandle) {
    stop_hub(app);
    app.exit(0);
}

fn stop_hub(app: &AppHandle) {
    let hub = app.state::<Running>().0.lock().expect("hub lock").take();
    if let Some(hub) = hub {
        tauri::async_runtime::block_on(hub.shutdown());
    }
}

/// A second launch: `--quit` stops this one; anything else shows the window, except the
/// login entry's `--hidden`.
fn second_launch(app: &AppHandle, argv: &[String]) {
    if argv.iter().any(|a| a == "--quit") {
        // The second launch waits on D-Bus for this call: it returns once the readings are
        // committed, and the app ends just after the reply has left.
        stop_hub(app);
        let app = app.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            app.exit(0);
        });
    } else if !argv.iter().any(|a| a == "--hidden") {
        show_window(app);
    }
}

/// `$XDG_CONFIG_HOME`, else `~/.config`, as Tauri's own config folder resolves it.
fn config_home() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"))
}

const IDENTIFIER: &str = "app.hearth.desktop";

/// The window, showing the embedded page, or the running hub's own dashboard at `attached`.
fn open_window(app: &tauri::App, attached: Option<SocketAddr>, hidden: bool) -> tauri::Result<()> {
    let mut conf = app.config().app.windows[0].clone();
    if let Some(origin) = attached {
        let url = format!("http://{origin}/?window=desktop#/devices");
        conf.url = WebviewUrl::External(url.parse().expect("a valid URL"));
        conf.title = format!("Hearth — the hub already running on this PC ({origin})");
    }
    WebviewWindowBuilder::from_config(app.handle(), &conf)?
        .visible(!hidden)
        // A browser's download, for the page when it is the running hub's: into Downloads, as
        // WebKitGTK would, or into the tests' folder.
        .on_download(|_, event| {
            if let DownloadEvent::Requested { destination, .. } = event
                && let Some(dir) = std::env::var_os("HEARTH_SAVE_DIR")
                && let Some(name) = destination.file_name()
            {
                *destination = PathBuf::from(dir).join(name);
            }
            true
        })
        .build()?;
    Ok(())
}

fn tray(app: &tauri::App, attached: Option<SocketAddr>) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Hearth", true, None::<&str>)?;
    let (quit_label, tooltip) = match attached {
        None => (
            "Quit (stop recording)".to_string(),
            "Hearth: recording".to_string(),
        ),
        Some(origin) => (
            "Quit (close the window; the running hub goes on)".to_string(),
            format!("Hearth: showing the hub at {origin}"),
        ),
    };
    let quit_item = MenuItem::with_id(app, "quit", quit_label, true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit_item])?;
    let mut tray = TrayIconBuilder::with_id("hearth")
        .tooltip(tooltip)
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_window(app),
            "quit" => quit(app),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Runs the hub in this app: its events go to the window, its API to the commands.
fn adopt(app: &tauri::App, hub: Hub, cfg: &Config) {
    for l in hub.listeners() {
        println!("{} listening on {}", l.name, l.addr);
    }
    println!("data folder {}", cfg.data_dir.display());
    let api = hub.api().clone();
    let mut events = api.subscribe();
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match events.recv().await {
                Ok(e) => {
                    let _ = handle.emit("hub-event", &*e);
                }
                // The window missed some: it carries on with the next ones.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    app.manage(api);
    *app.state::<Running>().0.lock().expect("hub lock") = Some(hub);
}

/// Says why Hearth cannot start, on stderr and in a dialog, and ends when it is closed.
fn refuse(app: &tauri::App, message: String) {
    eprintln!("hearth: {message}");
    let handle = app.handle().clone();
    app.dialog()
        .message(message)
        .title("Hearth cannot start")
        .kind(MessageDialogKind::Error)
        .show(move |_| handle.exit(2));
}

fn main() {
    let mut args = DesktopArgs::parse();
    // The desktop's own config file, when there is one: how a person changes its ports for
    // good without editing the launcher.
    let config_file = config_home().join(IDENTIFIER).join("hearth.toml");
    if args.hub.config.is_none() && config_file.is_file() {
        args.hub.config = Some(config_file.clone());
    }
    // A bad value (a flag's, or the config file's) is said in the dialog too, once the app
    // can show one: a desktop launcher has no terminal.
    let cfg = Config::from_args(args.hub.clone());
    if let Ok(c) = &cfg {
        hearth::init_logging(&c.log);
    }
    let desktop = Desktop {
        autostart: autostart::Paths::new(&config_home(), &config_home().join(IDENTIFIER)),
    };

    tauri::Builder::default()
        // First: a second launch hands its arguments over and ends before anything starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            second_launch(app, &argv)
        }))
        .plugin(tauri_plugin_dialog::init())
        .manage(Running(Mutex::new(None)))
        .manage(desktop)
        .setup(move |app| {
            if args.quit {
                eprintln!("hearth: no Hearth window is running on this desktop");
                std::process::exit(1);
            }
            let mut cfg = match cfg {
                Ok(c) => c,
                Err(e) => {
                    refuse(app, e.to_string());
                    return Ok(());
                }
            };
            if args.hub.data_dir.is_none() {
                cfg.data_dir = app.path().app_data_dir()?;
            }
            let shown = args.hub.config.as_deref().unwrap_or(&config_file);
            match startup::plan(&cfg) {
                startup::Plan::Start => {
                    match tauri::async_runtime::block_on(Hub::start(cfg.clone())) {
                        Ok(hub) => {
                            adopt(app, hub, &cfg);
                            open_window(app, None, args.hidden)?;
                            tray(app, None)?;
                        }
                        Err(e) => refuse(app, e.to_string()),
                    }
                }
                startup::Plan::Attach { origin } => {
                    println!("showing the Hearth hub already running at http://{origin}/");
                    open_window(app, Some(origin), args.hidden)?;
                    tray(app, Some(origin))?;
                }
                startup::Plan::Blocked(taken) => {
                    refuse(app, startup::blocked_message(&taken, shown))
                }
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window hides it: the hub keeps recording until Quit.
            if let WindowEvent::CloseRequested { api, .. } = event {
                let _ = window.hide();
                api.prevent_close();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_devices,
            commands::get_device,
            commands::rename_device,
            commands::get_preferences,
            commands::set_preferences,
            commands::switch_light,
            commands::light_commands,
            commands::get_command,
            commands::list_topics,
            commands::topic_messages,
            commands::publish,
            commands::retained_report,
            commands::clear_retained,
            commands::get_history,
            commands::history_batch,
            commands::list_favourites,
            commands::set_favourite,
            commands::broker_status,
            commands::access_info,
            commands::set_access_settings,
            commands::list_credentials,
            commands::create_credential,
            commands::revoke_credential,
            commands::delete_credential,
            commands::set_rules,
            commands::test_acl,
            commands::list_phones,
            commands::start_pairing,
            commands::revoke_phone,
            commands::phone_mqtt,
            save_file,
            autostart,
            set_autostart
        ])
        .run(tauri::generate_context!())
        .expect("the desktop app failed to start");
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn a_suggested_name_stays_a_file_name() {
        assert_eq!(file_name("kitchen-climate.csv"), "kitchen-climate.csv");
        assert_eq!(file_name("../../.bashrc"), "bashrc");
        assert_eq!(file_name("a\\b/c\nd.csv"), "c-d.csv");
        assert_eq!(file_name(".."), "hearth-export.csv");
    }
}
