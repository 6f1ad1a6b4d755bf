//! The window's commands over the core API, one to three lines each: what the page's `TauriHub`
//! (`ui/src/tauri.ts`) calls where a browser's `HttpHub` calls `/api/…`. Errors cross IPC as
//! `ApiError`'s `{code, message}`.

use hearth::{
    AccessInfo, AclQuestion, AclTest, Api, ApiError, BrokerStatus, Command, CreatedCredential,
    Credential, Device, DisplaySettings, HistoryBatch, MqttSetup, NamingChange, NewCredential,
    Pairing, Phone, PublishRequest, RetainedReport, Room, Rule, SeriesHistory, Settings,
    TopicMessage, TopicNode,
};
use tauri::State;

pub(crate) type Result<T> = std::result::Result<T, ApiError>;

#[tauri::command]
pub(crate) fn list_devices(api: State<'_, Api>) -> Vec<Room> {
    api.devices()
}

#[tauri::command]
pub(crate) fn get_device(api: State<'_, Api>, id: String) -> Result<Device> {
    api.device(&id)
}

#[tauri::command]
pub(crate) async fn rename_device(
    api: State<'_, Api>,
    id: String,
    change: NamingChange,
) -> Result<Device> {
    api.device(&id)?;
    api.change_naming(&id, change).await
}

#[tauri::command]
pub(crate) async fn get_preferences(api: State<'_, Api>) -> Result<DisplaySettings> {
    api.display_settings().await
}

#[tauri::command]
pub(crate) async fn set_preferences(
    api: State<'_, Api>,
    preferences: DisplaySettings,
) -> Result<DisplaySettings> {
    api.set_display_settings(preferences).await
}

// Async so it runs on the runtime: the tracker starts the command's timer there.
#[tauri::command]
pub(crate) async fn switch_light(api: State<'_, Api>, id: String, on: bool) -> Result<Command> {
    api.switch_light(&id, on)
}

#[tauri::command]
pub(crate) async fn light_commands(
    api: State<'_, Api>,
    id: String,
    limit: u32,
) -> Result<Vec<Command>> {
    api.commands(&id, limit, None).await
}

#[tauri::command]
pub(crate) async fn get_command(api: State<'_, Api>, id: i64) -> Result<Command> {
    api.command(id).await
}

#[tauri::command]
pub(crate) fn list_topics(api: State<'_, Api>) -> Vec<TopicNode> {
    api.topic_tree()
}

#[tauri::command]
pub(crate) fn topic_messages(api: State<'_, Api>, topic: String) -> Result<Vec<TopicMessage>> {
    api.topic_messages(&topic)
}

#[tauri::command]
pub(crate) fn publish(api: State<'_, Api>, message: PublishRequest) -> Result<PublishRequest> {
    api.publish(&message).map(|()| message)
}

#[tauri::command]
pub(crate) fn retained_report(api: State<'_, Api>) -> RetainedReport {
    api.retained_report()
}

#[tauri::command]
pub(crate) fn clear_retained(api: State<'_, Api>, topic: String) -> Result<()> {
    api.clear_retained(&topic)
}

#[tauri::command]
pub(crate) async fn get_history(
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
pub(crate) async fn history_batch(
    api: State<'_, Api>,
    batch: HistoryBatch,
) -> Result<Vec<Option<SeriesHistory>>> {
    api.history_batch(batch).await
}

#[tauri::command]
pub(crate) async fn list_favourites(api: State<'_, Api>) -> Result<Vec<String>> {
    api.favourites().await
}

#[tauri::command]
pub(crate) async fn set_favourite(
    api: State<'_, Api>,
    id: String,
    on: bool,
) -> Result<Vec<String>> {
    api.set_favourite(&id, on).await
}

#[tauri::command]
pub(crate) fn broker_status(api: State<'_, Api>) -> BrokerStatus {
    api.broker_status()
}

// Access and phones: the window is on the hub's own PC, so it manages them without signing in.

#[tauri::command]
pub(crate) fn access_info(api: State<'_, Api>) -> Result<AccessInfo> {
    api.access_info()
}

#[tauri::command]
pub(crate) async fn set_access_settings(
    api: State<'_, Api>,
    settings: Settings,
) -> Result<Settings> {
    api.set_access_settings(settings).await
}

#[tauri::command]
pub(crate) async fn list_credentials(api: State<'_, Api>) -> Result<Vec<Credential>> {
    api.credentials().await
}

#[tauri::command]
pub(crate) async fn create_credential(
    api: State<'_, Api>,
    credential: NewCredential,
) -> Result<CreatedCredential> {
    api.create_credential(credential).await
}

#[tauri::command]
pub(crate) async fn revoke_credential(api: State<'_, Api>, id: i64) -> Result<Credential> {
    api.revoke_credential(id).await
}

#[tauri::command]
pub(crate) async fn delete_credential(api: State<'_, Api>, id: i64) -> Result<()> {
    api.delete_credential(id).await
}

#[tauri::command]
pub(crate) async fn set_rules(
    api: State<'_, Api>,
    credential: Option<i64>,
    rules: Vec<Rule>,
) -> Result<Vec<Rule>> {
    api.set_rules(credential, rules).await
}

#[tauri::command]
pub(crate) fn test_acl(api: State<'_, Api>, question: AclQuestion) -> Result<AclTest> {
    api.test_acl(&question)
}

#[tauri::command]
pub(crate) async fn list_phones(api: State<'_, Api>) -> Result<Vec<Phone>> {
    api.phones().await
}

#[tauri::command]
pub(crate) fn start_pairing(api: State<'_, Api>) -> Result<Pairing> {
    api.start_pairing()
}

#[tauri::command]
pub(crate) async fn revoke_phone(api: State<'_, Api>, id: i64) -> Result<()> {
    api.revoke_phone(id).await
}

#[tauri::command]
pub(crate) async fn phone_mqtt(api: State<'_, Api>, name: String) -> Result<MqttSetup> {
    api.phone_mqtt_setup(&name).await
}
