// The one place the page talks to the hub. In a browser (a phone, or any browser on the PC)
// that is the HTTP API and the /api/events WebSocket; the desktop window gets its own
// implementation of `Hub` over Tauri IPC.

import type {
  AccessInfo,
  AclQuestion,
  AclTest,
  BrokerStatus,
  Command,
  CreatedCredential,
  Credential,
  DisplaySettings,
  MqttSetup,
  NamingChange,
  NewCredential,
  Pairing,
  Phone,
  Device,
  HistoryBatch,
  PublishRequest,
  RetainedReport,
  Rule,
  Room,
  SeriesHistory,
  Settings,
  TopicMessage,
  TopicNode,
} from './types';
import type { Event as HubEvent } from './types';

/** An error the hub answered with, or a failure to reach it (`code` "unreachable"). */
export class HubError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

export type LinkState = 'connecting' | 'open' | 'retrying';

export interface Hub {
  devices(): Promise<Room[]>;
  device(id: string): Promise<Device>;
  /** Renames a device or moves it to a room (see `NamingChange` for what null and "" mean). */
  renameDevice(id: string, change: NamingChange): Promise<Device>;
  switchLight(id: string, on: boolean): Promise<Command>;
  commands(id: string, limit?: number): Promise<Command[]>;
  topics(): Promise<TopicNode[]>;
  /** A topic's last messages, oldest first. */
  topicMessages(topic: string): Promise<TopicMessage[]>;
  /** Publishes through the hub's own client; the hub hears it like any other message. */
  publish(m: PublishRequest): Promise<PublishRequest>;
  /** Every retained message the broker holds, the usual traps flagged. */
  retained(): Promise<RetainedReport>;
  /** Clears a topic's retained message (an empty retained message, the MQTT way). */
  clearRetained(topic: string): Promise<void>;
  history(topic: string, field: string, from: number, to: number, points: number): Promise<SeriesHistory>;
  /** Many series at once, in the order asked; `null` for a series never recorded. */
  historyBatch(b: HistoryBatch): Promise<(SeriesHistory | null)[]>;
  /** The household's favourite devices (ids), in the order they were starred. */
  favourites(): Promise<string[]>;
  /** Stars or unstars a device for the household; the favourites as they are now. */
  setFavourite(id: string, on: boolean): Promise<string[]>;
  broker(): Promise<BrokerStatus>;
  preferences(): Promise<DisplaySettings>;
  setPreferences(p: DisplaySettings): Promise<DisplaySettings>;
  accessInfo(): Promise<AccessInfo>;
  setAccessSettings(s: Settings): Promise<Settings>;
  credentials(): Promise<Credential[]>;
  createCredential(c: NewCredential): Promise<CreatedCredential>;
  revokeCredential(id: number): Promise<Credential>;
  deleteCredential(id: number): Promise<void>;
  /** Replaces the rules of a credential, or of anonymous LAN clients (`null`). */
  setRules(credential: number | null, rules: Rule[]): Promise<Rule[]>;
  testAcl(q: AclQuestion): Promise<AclTest>;
  phones(): Promise<Phone[]>;
  startPairing(): Promise<Pairing>;
  revokePhone(id: number): Promise<void>;
  phoneMqtt(name: string): Promise<MqttSetup>;
  /**
   * Saves text the page made (a chart's CSV) as a file named `name`: where it went (a path, or
   * "" for a browser's downloads), or null when the person cancelled.
   */
  saveFile(name: string, text: string): Promise<string | null>;
  /** Live events; `onLink` hears when the stream drops and comes back. Returns a stop function. */
  subscribe(onEvent: (e: HubEvent) => void, onLink?: (s: LinkState, retryInMs?: number) => void): () => void;
}

/**
 * A device id's two path segments: the part before its first `/`, and the rest with its own
 * `/`s encoded, because ids like `z2m/hall/lamp` have any number of levels.
 */
export function deviceSegments(id: string): string {
  const cut = id.indexOf('/');
  const [group, rest] = cut < 0 ? [id, ''] : [id.slice(0, cut), id.slice(cut + 1)];
  return `${encodeURIComponent(group)}/${encodeURIComponent(rest)}`;
}

/** A device id → its API path. */
export function devicePath(id: string): string {
  return `/api/devices/${deviceSegments(id)}`;
}

type Fetch = typeof fetch;
type SocketFactory = (url: string) => WebSocket;

/** The hub over HTTP and a WebSocket, relative to `base` (the page's own origin by default). */
export class HttpHub implements Hub {
  constructor(
    private readonly base: string = window.location.origin,
    private readonly fetchFn: Fetch = (...a) => fetch(...a),
    private readonly socket: SocketFactory = (u) => new WebSocket(u),
  ) {}

  private async call<T>(path: string, init?: RequestInit): Promise<T> {
    let r: Response;
    try {
      r = await this.fetchFn(this.base + path, init);
    } catch {
      throw new HubError('unreachable', 'The hub cannot be reached.');
    }
    const body = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) {
      const code = body && typeof body.code === 'string' ? body.code : 'http_' + r.status;
      const message = body && typeof body.message === 'string' ? body.message : r.statusText;
      throw new HubError(code, message, r.status);
    }
    return body as T;
  }

  devices() {
    return this.call<Room[]>('/api/devices');
  }
  device(id: string) {
    return this.call<Device>(devicePath(id));
  }
  renameDevice(id: string, change: NamingChange) {
    return this.send<Device>('PATCH', devicePath(id), change);
  }
  switchLight(id: string, on: boolean) {
    return this.call<Command>(devicePath(id) + '/switch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: on ? 'ON' : 'OFF' }),
    });
  }
  commands(id: string, limit = 50) {
    return this.call<Command[]>(`${devicePath(id)}/commands?limit=${limit}`);
  }
  topics() {
    return this.call<TopicNode[]>('/api/topics');
  }
  topicMessages(topic: string) {
    return this.call<TopicMessage[]>('/api/topics/messages?' + new URLSearchParams({ topic }).toString());
  }
  publish(m: PublishRequest) {
    return this.send<PublishRequest>('POST', '/api/publish', m);
  }
  retained() {
    return this.call<RetainedReport>('/api/topics/retained');
  }
  clearRetained(topic: string) {
    return this.send<void>('DELETE', '/api/topics/retained?' + new URLSearchParams({ topic }).toString());
  }
  history(topic: string, field: string, from: number, to: number, points: number) {
    const q = new URLSearchParams({
      topic,
      field,
      from: String(Math.floor(from)),
      to: String(Math.ceil(to)),
      points: String(points),
    });
    return this.call<SeriesHistory>('/api/history?' + q.toString());
  }
  historyBatch(b: HistoryBatch) {
    return this.send<(SeriesHistory | null)[]>('POST', '/api/history/batch', b);
  }
  favourites() {
    return this.call<string[]>('/api/favourites');
  }
  setFavourite(id: string, on: boolean) {
    return this.send<string[]>(on ? 'PUT' : 'DELETE', `/api/favourites/${deviceSegments(id)}`);
  }
  broker() {
    return this.call<BrokerStatus>('/api/broker');
  }
  preferences() {
    return this.call<DisplaySettings>('/api/preferences');
  }
  setPreferences(p: DisplaySettings) {
    return this.send<DisplaySettings>('PUT', '/api/preferences', p);
  }

  private send<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.call<T>(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  accessInfo() {
    return this.call<AccessInfo>('/api/access');
  }
  setAccessSettings(s: Settings) {
    return this.send<Settings>('PUT', '/api/access/settings', s);
  }
  credentials() {
    return this.call<Credential[]>('/api/access/credentials');
  }
  createCredential(c: NewCredential) {
    return this.send<CreatedCredential>('POST', '/api/access/credentials', c);
  }
  revokeCredential(id: number) {
    return this.send<Credential>('POST', `/api/access/credentials/${id}/revoke`);
  }
  deleteCredential(id: number) {
    return this.send<void>('DELETE', `/api/access/credentials/${id}`);
  }
  setRules(credential: number | null, rules: Rule[]) {
    const path = credential === null ? '/api/access/anonymous-rules' : `/api/access/credentials/${credential}/rules`;
    return this.send<Rule[]>('PUT', path, rules);
  }
  testAcl(q: AclQuestion) {
    return this.send<AclTest>('POST', '/api/access/test', q);
  }
  phones() {
    return this.call<Phone[]>('/api/phones');
  }
  startPairing() {
    return this.send<Pairing>('POST', '/api/phones/pairing');
  }
  revokePhone(id: number) {
    return this.send<void>('POST', `/api/phones/${id}/revoke`);
  }
  phoneMqtt(name: string) {
    return this.send<MqttSetup>('POST', '/api/phones/mqtt', { name });
  }
  saveFile(name: string, text: string) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: name.endsWith('.csv') ? 'text/csv' : 'text/plain' }));
    a.download = name;
    a.click();
    URL.revokeObjectURL(a.href);
    return Promise.resolve('');
  }
  /** Trades a pairing code for this browser's token (set as a cookie by the hub). */
  pair(code: string, name: string) {
    return this.send<Phone>('POST', '/api/pair', { code, name });
  }

  subscribe(onEvent: (e: HubEvent) => void, onLink?: (s: LinkState, retryInMs?: number) => void) {
    const url = this.base.replace(/^http/, 'ws') + '/api/events';
    let stopped = false;
    let ws: WebSocket | null = null;
    let delay = 500;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const open = () => {
      onLink?.('connecting');
      ws = this.socket(url);
      ws.onopen = () => {
        delay = 500;
        onLink?.('open');
      };
      ws.onmessage = (m) => {
        try {
          onEvent(JSON.parse(String(m.data)) as HubEvent);
        } catch {
          // A message that is not an event is not ours to show.
        }
      };
      ws.onclose = () => {
        if (stopped) return;
        onLink?.('retrying', delay);
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 10_000);
      };
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws?.close();
    };
  }
}
