// The hub inside the desktop window: the same `Hub` over Tauri IPC. Commands are the shell's
// `#[tauri::command]`s; events arrive as "hub-event".

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { HubError, type Hub, type LinkState } from './adapter';
import type * as T from './types';

/** Whether this page runs in the desktop window. */
export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/**
 * The hub whose own dashboard the desktop window shows, because that hub (the service,
 * say) already held the ports when the window started: its address, or null. The window
 * opens it as `http://127.0.0.1:<port>/?window=desktop`; the page then talks HTTP to it.
 */
export function attachedHub(): string | null {
  if (typeof window === 'undefined' || !location.protocol.startsWith('http')) return null;
  return new URLSearchParams(location.search).get('window') === 'desktop' ? location.host : null;
}

/** Whether the page is the desktop window's own, talking to the hub in its process over IPC. */
export function ownWindow(): boolean {
  return inTauri() && attachedHub() === null;
}

/** The login entry's state, as the desktop shell says it. */
export interface Autostart {
  enabled: boolean;
  /** Whether the first run's question was answered, either way. */
  asked: boolean;
  /** The entry's file. */
  entry: string;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    if (err && typeof err.code === 'string' && typeof err.message === 'string') {
      throw new HubError(err.code, err.message);
    }
    throw new HubError('internal', String(e));
  }
}

export class TauriHub implements Hub {
  devices() {
    return call<T.Room[]>('list_devices');
  }
  device(id: string) {
    return call<T.Device>('get_device', { id });
  }
  renameDevice(id: string, change: T.NamingChange) {
    return call<T.Device>('rename_device', { id, change });
  }
  switchLight(id: string, on: boolean) {
    return call<T.Command>('switch_light', { id, on });
  }
  commands(id: string, limit = 50) {
    return call<T.Command[]>('light_commands', { id, limit });
  }
  topics() {
    return call<T.TopicNode[]>('list_topics');
  }
  topicMessages(topic: string) {
    return call<T.TopicMessage[]>('topic_messages', { topic });
  }
  publish(message: T.PublishRequest) {
    return call<T.PublishRequest>('publish', { message });
  }
  retained() {
    return call<T.RetainedReport>('retained_report');
  }
  clearRetained(topic: string) {
    return call<void>('clear_retained', { topic });
  }
  history(topic: string, field: string, from: number, to: number, points: number) {
    return call<T.SeriesHistory>('get_history', { topic, field, from: Math.floor(from), to: Math.ceil(to), points });
  }
  historyBatch(batch: T.HistoryBatch) {
    return call<(T.SeriesHistory | null)[]>('history_batch', { batch });
  }
  favourites() {
    return call<string[]>('list_favourites');
  }
  setFavourite(id: string, on: boolean) {
    return call<string[]>('set_favourite', { id, on });
  }
  broker() {
    return call<T.BrokerStatus>('broker_status');
  }
  preferences() {
    return call<T.DisplaySettings>('get_preferences');
  }
  setPreferences(preferences: T.DisplaySettings) {
    return call<T.DisplaySettings>('set_preferences', { preferences });
  }
  accessInfo() {
    return call<T.AccessInfo>('access_info');
  }
  setAccessSettings(settings: T.Settings) {
    return call<T.Settings>('set_access_settings', { settings });
  }
  credentials() {
    return call<T.Credential[]>('list_credentials');
  }
  createCredential(credential: T.NewCredential) {
    return call<T.CreatedCredential>('create_credential', { credential });
  }
  revokeCredential(id: number) {
    return call<T.Credential>('revoke_credential', { id });
  }
  deleteCredential(id: number) {
    return call<void>('delete_credential', { id });
  }
  setRules(credential: number | null, rules: T.Rule[]) {
    return call<T.Rule[]>('set_rules', { credential, rules });
  }
  testAcl(question: T.AclQuestion) {
    return call<T.AclTest>('test_acl', { question });
  }
  phones() {
    return call<T.Phone[]>('list_phones');
  }
  startPairing() {
    return call<T.Pairing>('start_pairing');
  }
  revokePhone(id: number) {
    return call<void>('revoke_phone', { id });
  }
  phoneMqtt(name: string) {
    return call<T.MqttSetup>('phone_mqtt', { name });
  }
  saveFile(name: string, text: string) {
    return call<string | null>('save_file', { name, text });
  }
  /** Desktop only: whether Hearth starts in the tray when the person logs in. */
  autostart() {
    return call<Autostart>('autostart');
  }
  setAutostart(enabled: boolean) {
    return call<Autostart>('set_autostart', { enabled });
  }
  subscribe(onEvent: (e: T.Event) => void, onLink?: (s: LinkState, retryInMs?: number) => void) {
    // The hub is in the same process: the stream is open as long as the window is.
    const un = listen<T.Event>('hub-event', (e) => onEvent(e.payload));
    un.then(() => onLink?.('open'));
    return () => {
      un.then((f) => f());
    };
  }
}
