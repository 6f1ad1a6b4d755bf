// Wire types of the hub's API (see /api/openapi.json).

export type LightState = 'on' | 'off' | 'unknown';
export type Outcome =
  | 'pending'
  | 'confirmed'
  | 'mismatch'
  | 'timed_out'
  | 'superseded'
  | 'failed'
  | 'external';

export interface Command {
  id: number;
  light: string;
  origin: 'hub' | 'external';
  topic: string;
  convention: string | null;
  desired: LightState | null;
  payload: string | null;
  outcome: Outcome;
  reply: string | null;
  replyState: LightState | null;
  detail: string | null;
  sentMs: number;
  resolvedMs: number | null;
  latencyMs: number | null;
}

export interface LightStatus {
  light: string;
  state: LightState;
  payload: string;
  source: 'reply' | 'external' | 'retained' | 'report';
  updatedMs: number;
}

export interface Device {
  id: string;
  room: string;
  name: string;
  kind: 'temperature' | 'light' | 'other';
  stateTopic: string;
  commandTopic: string | null;
  convention: string | null;
  lastSeenMs: number;
  lastPayload: string;
  temperature: number | null;
  /** The history series of the temperature: its JSON field, '' for a plain number. */
  temperatureField: string | null;
  light: LightStatus | null;
  lastCommand: Command | null;
}

export interface Room {
  room: string;
  devices: Device[];
}

export interface TopicInfo {
  topic: string;
  firstSeenMs: number;
  lastSeenMs: number;
  messages: number;
  qos: number;
  retained: boolean;
  lastPayload: string;
  payloadBytes: number;
  truncated: boolean;
}

export interface TopicNode {
  name: string;
  path: string;
  messages: number;
  info: TopicInfo | null;
  children: TopicNode[];
}

export interface History {
  bucketSecs: number;
  resolution: 'raw' | 'minute' | 'hour';
  ts: number[];
  min: (number | null)[];
  avg: (number | null)[];
  max: (number | null)[];
}

export interface SeriesHistory {
  topic: string;
  field: string;
  from: number;
  to: number;
  history: History;
}

export interface Listener {
  name: string;
  address: string;
}

export interface BrokerStatus {
  mode: 'embedded' | 'external';
  externalBroker: string | null;
  hubConnected: boolean;
  clients: number | null;
  messagesInPerSec: number;
  messagesOutPerSec: number | null;
  messagesInTotal: number;
  messagesOutTotal: number | null;
  messagesDroppedTotal: number | null;
  listeners: Listener[];
  topics: number;
  pendingCommands: number;
  eventListeners: number;
  readingsStored: number;
  readingsDropped: number;
  uptimeSecs: number;
}

export interface ReadingEvent {
  type: 'reading';
  topic: string;
  field: string;
  tsMs: number;
  value: number;
}

export type HubEvent =
  | ReadingEvent
  | ({ type: 'device_updated' } & Device)
  | ({ type: 'light_state' } & LightStatus)
  | ({ type: 'command_updated' } & Command)
  | ({ type: 'broker_stats' } & BrokerStatus);

export interface ApiErrorBody {
  code: string;
  message: string;
}

// ---------------------------------------------------------------- Access and phones

export type Permission = 'allow' | 'deny';
export type RuleAction = 'publish' | 'subscribe' | 'both';
export type Role = 'user' | 'device' | 'phone';
export type Anonymous = 'off' | 'local' | 'on';

export interface Rule {
  permission: Permission;
  action: RuleAction;
  filter: string;
}

export interface Credential {
  id: number;
  username: string;
  role: Role;
  label: string;
  createdMs: number;
  revokedMs: number | null;
  rules: Rule[];
  sessions: number;
}

export interface NewCredential {
  username: string;
  role: Role;
  password?: string;
  topic?: string;
  label?: string;
}

export interface CreatedCredential {
  credential: Credential;
  password: string;
}

export interface AccessSettings {
  anonymous: Anonymous;
  mdns: boolean;
}

export interface Endpoint {
  name: string;
  url: string;
  lan: boolean;
}

export interface AccessInfo {
  settings: AccessSettings;
  mdnsRunning: boolean;
  mdnsName: string;
  caFingerprint: string | null;
  certificateNames: string[];
  endpoints: Endpoint[];
  anonymousRules: Rule[];
  externalBroker: boolean;
}

export interface AclQuestion {
  credential: number | null;
  request: 'publish' | 'subscribe';
  topic: string;
  clientId?: string;
}

export interface AclTest {
  allowed: boolean;
  rule: number | null;
  ruleText: string | null;
  explanation: string;
}

export interface Phone {
  id: number;
  name: string;
  pairedMs: number;
  lastSeenMs: number;
  revokedMs: number | null;
}

export interface Pairing {
  url: string;
  otherUrls: string[];
  expiresMs: number;
  qrSvg: string;
  lanReachable: boolean;
}

export interface MqttSetup {
  credential: Credential;
  host: string;
  port: number | null;
  tlsPort: number | null;
  wsPort: number | null;
  wssPort: number | null;
  username: string;
  password: string;
  caUrl: string | null;
  qrText: string;
  qrSvg: string;
}
