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
  subscribe(onEvent: (e: T.Event) => void, onLink?: (s: LinkState, retryInMs?: number) => void) {
    // The hub is in the same process: the stream is open as long as the window is.
    const un = listen<T.Event>('hub-event', (e) => onEvent(e.payload));
    un.then(() => onLink?.('open'));
    return () => {
      un.then((f) => f());
    };
  }
}
