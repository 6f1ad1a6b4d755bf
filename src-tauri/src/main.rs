//! Hearth's desktop window: the hub runs in this process with the app's data folder, the
//! dashboard (`ui/`) is the window's page, and each command below is a call into the core
//! API. Closing the window keeps the hub recording; the tray's Quit stops it cleanly. Flags
//! are hearthd's (`--demo`, `--mqtt-listen`, `--data-dir`, …).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::Mutex;

use clap::Parser;
use hearth::{
    AccessInfo, AclQuestion, AclTest, Api, ApiError, Args, BrokerStatus, Command, Config,
    CreatedCredential, Credential, Device, DisplaySettings, HistoryBatch, Hub, MqttSetup,
    NamingChange, NewCredential, Pairing, Phone, Room, Rule, SeriesHistory, Settings, TopicNode,
};
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, State, WindowEvent};

type Result<T> = std::result::Result<T, ApiError>;

#[tauri::command]
fn list_devices(api: State<'_, Api>) -> Vec<Room> {
    api.devices()
}

#[tauri::command]
fn get_device(api: State<'_, Api>, id: String) -> Result<Device> {
    api.device(&id)
}

#[tauri::command]
async fn rename_device(api: State<'_, Api>, id: String, change: NamingChange) -> Result<Device> {
    api.device(&id)?;
    api.change_naming(&id, change).await
}

#[tauri::command]
async fn get_preferences(api: State<'_, Api>) -> Result<DisplaySettings> {
    api.display_settings().await
}

#[tauri::command]
async fn set_preferences(
    api: State<'_, Api>,
    preferences: DisplaySettings,
) -> Result<DisplaySettings> {
    api.set_display_settings(preferences).await
}

// Async so it runs on the runtime: the tracker starts the command's timer there.
#[tauri::command]
async fn switch_light(api: State<'_, Api>, id: String, on: bool) -> Result<Command> {
    api.switch_light(&id, on)
}

#[tauri::command]
async fn light_commands(api: State<'_, Api>, id: String, limit: u32) -> Result<Vec<Command>> {
    api.commands(&id, limit, None).await
}

#[tauri::command]
async fn get_command(api: State<'_, Api>, id: i64) -> Result<Command> {
    api.command(id).await
}

#[tauri::command]
fn list_topics(api: State<'_, Api>) -> Vec<TopicNode> {
    api.topic_tree()
}

#[tauri::command]
async fn get_history(
    api: State<'_, Api>,
    topic: String,
    field: String,
    from: i64,
    to: i64,
    points: usize,
) -> Result<SeriesHistory> {
    api.history(&topic, &field, from, to, points).await
}

#[tauri::command]
async fn history_batch(
    api: State<'_, Api>,
    batch: HistoryBatch,
) -> Result<Vec<Option<SeriesHistory>>> {
    api.history_batch(batch).await
}

#[tauri::command]
async fn list_favourites(api: State<'_, Api>) -> Result<Vec<String>> {
    api.favourites().await
}

#[tauri::command]
async fn set_favourite(api: State<'_, Api>, id: String, on: bool) -> Result<Vec<String>> {
    api.set_favourite(&id, on).await
}

#[tauri::command]
fn broker_status(api: State<'_, Api>) -> BrokerStatus {
    api.broker_status()
}

// Access and phones: the window is on the hub's own PC, so it manages them without signing in.

#[tauri::command]
fn access_info(api: State<'_, Api>) -> Result<AccessInfo> {
    api.access_info()
}

#[tauri::command]
async fn set_access_settings(api: State<'_, Api>, settings: Settings) -> Result<Settings> {
    api.set_access_settings(settings).await
}

#[tauri::command]
async fn list_credentials(api: State<'_, Api>) -> Result<Vec<Credential>> {
    api.credentials().await
}

#[tauri::command]
async fn create_credential(
    api: State<'_, Api>,
    credential: NewCredential,
) -> Result<CreatedCredential> {
    api.create_credential(credential).await
}

#[tauri::command]
async fn revoke_credential(api: State<'_, Api>, id: i64) -> Result<Credential> {
    api.revoke_credential(id).await
}

#[tauri::command]
async fn delete_credential(api: State<'_, Api>, id: i64) -> Result<()> {
    api.delete_credential(id).await
}

#[tauri::command]
async fn set_rules(
    api: State<'_, Api>,
    credential: Option<i64>,
    rules: Vec<Rule>,
) -> Result<Vec<Rule>> {
    api.set_rules(credential, rules).await
}

#[tauri::command]
fn test_acl(api: State<'_, Api>, question: AclQuestion) -> Result<AclTest> {
    api.test_acl(&question)
}

#[tauri::command]
async fn list_phones(api: State<'_, Api>) -> Result<Vec<Phone>> {
    api.phones().await
}

#[tauri::command]
fn start_pairing(api: State<'_, Api>) -> Result<Pairing> {
    api.start_pairing()
}

#[tauri::command]
async fn revoke_phone(api: State<'_, Api>, id: i64) -> Result<()> {
    api.revoke_phone(id).await
}

#[tauri::command]
async fn phone_mqtt(api: State<'_, Api>, name: String) -> Result<MqttSetup> {
    api.phone_mqtt_setup(&name).await
}

/// The running hub, taken out once by Quit.
struct Running(Mutex<Option<Hub>>);

fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Flushes and stops the hub, then ends the app.
fn quit(app: &AppHandle) {
    let hub = app.state::<Running>().0.lock().expect("hub lock").take();
    if let Some(hub) = hub {
        tauri::async_runtime::block_on(hub.shutdown());
    }
    app.exit(0);
}

fn main() {
    let args = Args::parse();
    let mut cfg = match Config::from_args(args.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hearth: {e}");
            std::process::exit(2);
        }
    };
    hearth::init_logging(&cfg.log);

    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_window(app)
        }))
        .setup(move |app| {
            if args.data_dir.is_none() {
                cfg.data_dir = app.path().app_data_dir()?;
            }
            // The window shows the page itself; the HTTP listener stays for phones.
            let hub = tauri::async_runtime::block_on(Hub::start(cfg.clone()))?;
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
            app.manage(Running(Mutex::new(Some(hub))));

            let open = MenuItem::with_id(app, "open", "Open Hearth", true, None::<&str>)?;
            let quit_item =
                MenuItem::with_id(app, "quit", "Quit (stop recording)", true, None::<&str>)?;
            let menu = Menu::with_items(app, &[&open, &quit_item])?;
            let mut tray = TrayIconBuilder::with_id("hearth")
                .tooltip("Hearth: recording")
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
        })
        .on_window_event(|window, event| {
            // Closing the window hides it: the hub keeps recording until Quit.
            if let WindowEvent::CloseRequested { api, .. } = event {
                let _ = window.hide();
                api.prevent_close();
            }
        })
        .invoke_handler(tauri::generate_handler![
            list_devices,
            get_device,
            rename_device,
            get_preferences,
            set_preferences,
            switch_light,
            light_commands,
            get_command,
            list_topics,
            get_history,
            history_batch,
            list_favourites,
            set_favourite,
            broker_status,
            access_info,
            set_access_settings,
            list_credentials,
            create_credential,
            revoke_credential,
            delete_credential,
            set_rules,
            test_acl,
            list_phones,
            start_pairing,
            revoke_phone,
            phone_mqtt
        ])
        .run(tauri::generate_context!())
        .expect("the desktop app failed to start");
}
