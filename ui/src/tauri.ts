// The hub inside the desktop window: the same `Hub` over Tauri IPC. Commands are the shell's
// `#[tauri::command]`s; events arrive as "hub-event".

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { HubError, type Hub, type LinkState } from './adapter';
import type {
  AccessInfo,
  AccessSettings,
  AclQuestion,
  AclTest,
  BrokerStatus,
  Command,
  CreatedCredential,
  Credential,
  Device,
  HubEvent,
  MqttSetup,
  NewCredential,
  Pairing,
  Phone,
  Room,
  Rule,
  SeriesHistory,
  TopicNode,
} from './types';

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
    return call<Room[]>('list_devices');
  }
  device(id: string) {
    return call<Device>('get_device', { id });
  }
  switchLight(id: string, on: boolean) {
    return call<Command>('switch_light', { id, on });
  }
  commands(id: string, limit = 50) {
    return call<Command[]>('light_commands', { id, limit });
  }
  topics() {
    return call<TopicNode[]>('list_topics');
  }
  history(topic: string, field: string, from: number, to: number, points: number) {
    return call<SeriesHistory>('get_history', { topic, field, from: Math.floor(from), to: Math.ceil(to), points });
  }
  broker() {
    return call<BrokerStatus>('broker_status');
  }
  accessInfo() {
    return call<AccessInfo>('access_info');
  }
  setAccessSettings(settings: AccessSettings) {
    return call<AccessSettings>('set_access_settings', { settings });
  }
  credentials() {
    return call<Credential[]>('list_credentials');
  }
  createCredential(credential: NewCredential) {
    return call<CreatedCredential>('create_credential', { credential });
  }
  revokeCredential(id: number) {
    return call<Credential>('revoke_credential', { id });
  }
  deleteCredential(id: number) {
    return call<void>('delete_credential', { id });
  }
  setRules(credential: number | null, rules: Rule[]) {
    return call<Rule[]>('set_rules', { credential, rules });
  }
  testAcl(question: AclQuestion) {
    return call<AclTest>('test_acl', { question });
  }
  phones() {
    return call<Phone[]>('list_phones');
  }
  startPairing() {
    return call<Pairing>('start_pairing');
  }
  revokePhone(id: number) {
    return call<void>('revoke_phone', { id });
  }
  phoneMqtt(name: string) {
    return call<MqttSetup>('phone_mqtt', { name });
  }
  subscribe(onEvent: (e: HubEvent) => void, onLink?: (s: LinkState, retryInMs?: number) => void) {
    // The hub is in the same process: the stream is open as long as the window is.
    const un = listen<HubEvent>('hub-event', (e) => onEvent(e.payload));
    un.then(() => onLink?.('open'));
    return () => {
      un.then((f) => f());
    };
  }
}
