// Wire types of the hub's API, generated from its OpenAPI document by `npm run types`
// (scripts/types.mjs). Do not edit: change the Rust types and regenerate.

export interface paths {
  '/api/access': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The access overview: settings, CA fingerprint, endpoints, anonymous rules. */
    get: operations['access_info'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/access/anonymous-rules': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * Replaces the rules of anonymous LAN clients; if they changed, those connected are
     *     disconnected before the answer, to reconnect under the new rules.
     */
    put: operations['put_anonymous_rules'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/access/credentials': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Every MQTT credential with its rules and live sessions. */
    get: operations['list_credentials'];
    put?: never;
    /** Makes a credential with its role's default rules. The password is in this answer only. */
    post: operations['create_credential'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/access/credentials/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Deletes a credential and its rules, and disconnects its sessions. */
    delete: operations['delete_credential'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/access/credentials/{id}/revoke': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Revokes a credential: its sessions are disconnected before this answers, and it can no
     *     longer connect.
     */
    post: operations['revoke_credential'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/access/credentials/{id}/rules': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * Replaces a credential's rules (the first that applies decides; what none allows is
     *     denied). If they changed, the credential's live sessions are disconnected before the
     *     answer, so that they reconnect and subscribe under the new rules.
     */
    put: operations['put_rules'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/access/settings': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The access settings. */
    get: operations['get_settings'];
    /**
     * Changes the access settings. Turning anonymous access down disconnects the anonymous
     *     clients it no longer allows.
     */
    put: operations['put_settings'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/access/test': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** "Test a topic": what the rules decide for a publish or subscribe, and which rule decides. */
    post: operations['test_acl'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/broker': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The broker: clients, message rates, listeners. */
    get: operations['broker'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/commands/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One command and its fate. */
    get: operations['get_command'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/devices': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Every device, grouped by room. */
    get: operations['list_devices'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/devices/{group}/{rest}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * One device. A device id is `<group>/<rest>` (`kitchen/lamp`, `tasmota/plug_1`,
     *     `z2m/hall/lamp`); in the path, `<rest>` is percent-encoded, `/` as `%2F`.
     */
    get: operations['get_device'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    /**
     * Renames a device or moves it to a room. A field left out stays; `name: null` restores the
     *     device's own name, `room: null` the room it suggests, `room: ""` means no room. The
     *     choice is stored and outlives restarts and the device's own messages.
     */
    patch: operations['patch_device'];
    trace?: never;
  };
  '/api/devices/{group}/{rest}/commands': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** A light's log: its commands with their outcomes, and external changes, newest first. */
    get: operations['light_commands'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/devices/{group}/{rest}/switch': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Switches a light. Answers at once with the pending (or failed) command; its fate
     *     follows as `command_updated` events on `/api/events`.
     */
    post: operations['switch_light'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/events': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Live events. Each WebSocket text message is one `Event` as JSON, in the order the hub
     *     produced them. A client that falls behind by more than the hub buffers is sent a close
     *     frame (1008) and dropped; a client that stops reading is dropped.
     */
    get: operations['events'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/favourites': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The household's favourite devices (ids), in the order they were starred. */
    get: operations['list_favourites'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/favourites/{group}/{rest}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /** Stars a device for the whole household (every phone and this PC see it); stored. */
    put: operations['star_device'];
    post?: never;
    /** Unstars a device (any id, also one no longer present). */
    delete: operations['unstar_device'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/history': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * History of one series in uPlot's columnar shape, from the coarsest source that gives
     *     enough points.
     */
    get: operations['history'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/history/batch': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Many series' histories in one request, in the order asked (`null` for a series never
     *     recorded): at most 500 series and 1000 buckets each. The Devices page draws every
     *     sparkline from one of these.
     */
    post: operations['history_batch'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/openapi.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** This document. */
    get: operations['openapi'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/pair': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Trades a pairing code (single use, valid for minutes) for a long-lived token, set as an
     *     HttpOnly cookie.
     */
    post: operations['pair'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/phones': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Paired phones, with when each was last seen. */
    get: operations['list_phones'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/phones/mqtt': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** A fresh phone credential and an MQTT app's settings as a QR code. */
    post: operations['phone_mqtt'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/phones/pairing': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** A fresh single-use pairing code, its URL and QR code. */
    post: operations['start_pairing'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/phones/{id}/revoke': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Revokes a paired phone: its token stops working at once. */
    post: operations['revoke_phone'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/preferences': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** How the dashboard shows readings, for the whole household. */
    get: operations['get_preferences'];
    /** Changes how the dashboard shows readings: `temperatureUnit` `°C` or `°F`. */
    put: operations['put_preferences'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/publish': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Publishes a message through the hub's own MQTT client. Answers once it is handed to the
     *     client; the hub hears it like any other message (`topics_changed`).
     */
    post: operations['publish'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/topics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Every topic seen, as a tree of levels with message counts and last payloads. */
    get: operations['topics'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/topics/messages': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * A topic's last messages (at most 20, fewer when many topics are busy), oldest first,
     *     with their times, QoS and retain flags.
     */
    get: operations['topic_messages'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/api/topics/retained': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Every retained message the broker holds, with its age and size, the usual traps flagged
     *     (a retained command, a discovery config of a device not seen for 30 days, a large payload).
     */
    get: operations['retained'];
    put?: never;
    post?: never;
    /** Clears a topic's retained message by publishing an empty retained message (QoS 1). */
    delete: operations['clear_retained'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** @description The access overview: settings, the CA and where the hub can be reached. */
    AccessInfo: {
      /** @description The rules for anonymous LAN clients (used when anonymous access is `on`). */
      anonymousRules: components['schemas']['Rule'][];
      /** @description SHA-256 of the hub's CA certificate, to compare on a phone before trusting it. */
      caFingerprint?: string | null;
      /** @description Names and addresses in the server certificate. */
      certificateNames: string[];
      /** @description Where phones and devices reach the hub: `mqtt`, `mqtts`, `ws`, `wss`, `http`, `https`. */
      endpoints: components['schemas']['Endpoint'][];
      /** @description MQTT access is the external broker's business; phones still pair here. */
      externalBroker: boolean;
      /** @description The DNS-SD instance name. */
      mdnsName: string;
      /** @description Whether mDNS advertising runs right now. */
      mdnsRunning: boolean;
      settings: components['schemas']['Settings'];
    };
    /** @description "Test a topic" as asked. */
    AclQuestion: {
      /** @description For rules with `%c`. */
      clientId?: string | null;
      /**
       * Format: int64
       * @description The credential; none for anonymous LAN clients.
       */
      credential?: number | null;
      request: components['schemas']['Request'];
      /** @description A topic to publish to, or a filter to subscribe to. */
      topic: string;
    };
    /** @description "Test a topic": what the rules decide and why. */
    AclTest: {
      allowed: boolean;
      explanation: string;
      /** @description Index of the deciding rule in the list. */
      rule?: number | null;
      /** @description The deciding rule, or none when nothing applied. */
      ruleText?: string | null;
    };
    /**
     * @description What a rule is about.
     * @enum {string}
     */
    Action: 'publish' | 'subscribe' | 'both';
    /**
     * @description Who may connect without credentials.
     * @enum {string}
     */
    Anonymous: 'off' | 'local' | 'on';
    /** @description An error from the core API: `{"code": "...", "message": "..."}` on the wire. */
    ApiError: {
      /** @description Stable, machine-readable: `not_found`, `bad_range`, `not_a_light`, … */
      code: string;
      message: string;
    };
    /** @description A device's availability, and what says so. */
    Availability: {
      payload?: string | null;
      /**
       * Format: int64
       * @description Since when the state holds (Unix milliseconds).
       */
      sinceMs?: number | null;
      state: components['schemas']['Presence'];
      /**
       * @description The message that said so: its topic and payload. None when the state is inferred
       *     from the device's own reports.
       */
      topic?: string | null;
    };
    /** @description The broker's state. */
    BrokerStatus: {
      /**
       * Format: int64
       * @description Clients connected (embedded broker only; includes the hub's own client).
       */
      clients?: number | null;
      /** @description Clients of the live events (WebSocket streams, the desktop window). */
      eventListeners: number;
      externalBroker?: string | null;
      /** @description Whether the hub's own client is connected and subscribed. */
      hubConnected: boolean;
      listeners: components['schemas']['Listener'][];
      /** Format: int64 */
      messagesDroppedTotal?: number | null;
      /**
       * Format: double
       * @description Publishes received per second, over the last five seconds.
       */
      messagesInPerSec: number;
      /** Format: int64 */
      messagesInTotal: number;
      /**
       * Format: double
       * @description Messages delivered to subscribers per second (embedded broker only).
       */
      messagesOutPerSec?: number | null;
      /** Format: int64 */
      messagesOutTotal?: number | null;
      /** @description `embedded`, or `external` with `externalBroker` set. */
      mode: string;
      pendingCommands: number;
      /**
       * Format: int64
       * @description Readings the recorder could not keep up with.
       */
      readingsDropped: number;
      /** Format: int64 */
      readingsStored: number;
      topics: number;
      /** @description Topics no device convention recognises: in the topic list, not on a device. */
      unclaimedTopics: number;
      /** Format: int64 */
      uptimeSecs: number;
    };
    /** @description One entry of a light's log: a command and its fate, or an external change. */
    Command: {
      convention?: string | null;
      desired?: components['schemas']['LightState'] | null;
      /** @description Why it failed, or which command superseded it. */
      detail?: string | null;
      /** Format: int64 */
      id: number;
      /**
       * Format: double
       * @description From publishing the command to receiving the reply.
       */
      latencyMs?: number | null;
      /** @description The light's device id, `<room>/<thing>`. */
      light: string;
      origin: components['schemas']['Origin'];
      outcome: components['schemas']['Outcome'];
      /** @description The command payload as sent. */
      payload?: string | null;
      /** @description The status payload as received. */
      reply?: string | null;
      replyState?: components['schemas']['LightState'] | null;
      /** Format: int64 */
      resolvedMs?: number | null;
      /**
       * Format: int64
       * @description Unix milliseconds.
       */
      sentMs: number;
      /** @description Where the command went, or where the external status came from. */
      topic: string;
    };
    /** @description A credential just made, with its password: shown this once, never stored in clear. */
    CreatedCredential: {
      credential: components['schemas']['Credential'];
      password: string;
    };
    /** @description A credential as the dashboard shows it (never its hash). */
    Credential: {
      /** Format: int64 */
      createdMs: number;
      /** Format: int64 */
      id: number;
      label: string;
      /** Format: int64 */
      revokedMs?: number | null;
      role: components['schemas']['Role'];
      rules: components['schemas']['Rule'][];
      /** @description MQTT sessions connected with it right now. */
      sessions: number;
      username: string;
    };
    /** @description A device. */
    Device: components['schemas']['DeviceInfo'] & {
      lastCommand?: components['schemas']['Command'] | null;
      light?: components['schemas']['LightStatus'] | null;
    };
    /** @description A device as its topics describe it, whatever its convention. */
    DeviceInfo: {
      availability: components['schemas']['Availability'];
      /**
       * @description How commands are addressed, stored with each command (`same-topic`, `set-topic`,
       *     `tasmota`, `z2m`, `shelly-rpc`, …).
       */
      commandConvention?: string | null;
      /** @description Where commands go, for a light. */
      commandTopic?: string | null;
      /** @description `home`, `tasmota`, `z2m`, `shelly`, `esphome`, `homie` or `ha`. */
      convention: string;
      /** @description Whether the household renamed it or chose its room. */
      customised: boolean;
      /**
       * @description Stable and unique: `<room>/<thing>` for the seed's layout, `<convention>/<device>`
       *     (`tasmota/tasmota_A1B2C3`, `z2m/<friendly name>`) for the others.
       */
      id: string;
      kind: components['schemas']['DeviceKind'];
      /** @description The last payload on the state topic, as text. */
      lastPayload: string;
      /** Format: int64 */
      lastSeenMs: number;
      manufacturer?: string | null;
      model?: string | null;
      /** @description The name the household gave it, else the convention's friendly name. */
      name: string;
      /** @description Latest reading per quantity. */
      readings: components['schemas']['Reading'][];
      /**
       * @description The household's room for it, else the one its topic or discovery suggests; none when
       *     unassigned.
       */
      room?: string | null;
      /** @description Where its light status, else its main reading, arrives. */
      stateTopic: string;
      /**
       * Format: double
       * @description Its temperature, from `readings`, in `temperature_unit`.
       */
      temperature?: number | null;
      temperatureField?: string | null;
      /** @description The series its temperature is recorded under, on its temperature topic. */
      temperatureTopic?: string | null;
      temperatureUnit?: string | null;
    };
    /**
     * @description Kinds of device the hub recognises: a device that switches is a light, one that reports
     *     a temperature and does not switch is a temperature sensor.
     * @enum {string}
     */
    DeviceKind: 'temperature' | 'light' | 'other';
    /** @description How the dashboard shows readings, for the whole household. */
    DisplaySettings: {
      /** @description `°C` or `°F`. */
      temperatureUnit: string;
    };
    /** @description One listener as seen from the LAN. */
    Endpoint: {
      /** @description Reachable from other machines (not bound to loopback). */
      lan: boolean;
      name: string;
      url: string;
    };
    /**
     * @description One live event. On the wire: a JSON object whose `type` names the event, with the
     *     event's fields beside it.
     */
    Event:
      | (components['schemas']['ReadingEvent'] & {
          /** @enum {string} */
          type: 'reading';
        })
      | (components['schemas']['Device'] & {
          /** @enum {string} */
          type: 'device_updated';
        })
      | (components['schemas']['LightStatus'] & {
          /** @enum {string} */
          type: 'light_state';
        })
      | (components['schemas']['Command'] & {
          /** @enum {string} */
          type: 'command_updated';
        })
      | (components['schemas']['BrokerStatus'] & {
          /** @enum {string} */
          type: 'broker_stats';
        })
      | (components['schemas']['RemovedDevice'] & {
          /** @enum {string} */
          type: 'device_removed';
        })
      | (components['schemas']['TopicsChange'] & {
          /** @enum {string} */
          type: 'topics_changed';
        })
      | (components['schemas']['FavouritesChange'] & {
          /** @enum {string} */
          type: 'favourites_changed';
        });
    /**
     * @description The household's favourites after a star or unstar (`favourites_changed`), so every open
     *     dashboard, the phone's and the PC's, pins the same devices.
     */
    FavouritesChange: {
      favourites: string[];
    };
    /**
     * @description A history answer in the columnar shape uPlot takes: `ts` ascending in Unix seconds (the
     *     start of each bucket) and one entry per bucket in `min`, `avg` and `max`; `None` marks a
     *     bucket with no readings between two that have some (a gap the chart should not bridge).
     */
    History: {
      avg: (number | null)[];
      /** Format: int64 */
      bucketSecs: number;
      max: (number | null)[];
      min: (number | null)[];
      resolution: components['schemas']['Resolution'];
      ts: number[];
    };
    /** @description Many series' histories in one request (the Devices page's sparklines). */
    HistoryBatch: {
      /**
       * @description Each series starts at its first reading in the range, so a sensor recording for an
       *     hour fills its buckets with that hour rather than one dot in a day [default: false].
       */
      fit?: boolean;
      /**
       * Format: int64
       * @description Start, Unix seconds, inclusive [default: 24 hours before `to`].
       */
      from?: number | null;
      /** @description At most this many buckets per series (2–1000) [default: 48]. */
      points?: number | null;
      /** @description The series, at most 500. */
      series: components['schemas']['SeriesKey'][];
      /**
       * Format: int64
       * @description End, Unix seconds, exclusive [default: now].
       */
      to?: number | null;
    };
    /**
     * @description A light's state as its status payload says it.
     * @enum {string}
     */
    LightState: 'on' | 'off' | 'unknown';
    /** @description A light's current state. */
    LightStatus: {
      light: string;
      /** @description The status payload as received (cut to 512 bytes). */
      payload: string;
      source: components['schemas']['StateSource'];
      state: components['schemas']['LightState'];
      /**
       * Format: int64
       * @description Unix milliseconds of the status message.
       */
      updatedMs: number;
    };
    /** @description A listener with its address, as shown on the Broker page. */
    Listener: {
      address: string;
      /** @description `mqtt`, `ws`, `http`. */
      name: string;
    };
    /** @description MQTT settings for a phone app, with a fresh phone credential. */
    MqttSetup: {
      /** @description Where the phone downloads the CA certificate for the TLS ports. */
      caUrl?: string | null;
      credential: components['schemas']['Credential'];
      host: string;
      /** @description Shown this once. */
      password: string;
      /** Format: int32 */
      port?: number | null;
      qrSvg: string;
      /** @description What the QR code holds: these settings as JSON. */
      qrText: string;
      /** Format: int32 */
      tlsPort?: number | null;
      username: string;
      /** Format: int32 */
      wsPort?: number | null;
      /** Format: int32 */
      wssPort?: number | null;
    };
    /** @description Whose MQTT app the settings are for. */
    MqttSetupRequest: {
      /** @description The phone's or person's name, e.g. "Ann's phone". */
      name: string;
    };
    /**
     * @description A change to a device's name or room. A field left out stays as it is; `name: null` goes
     *     back to the device's own name, `room: null` to the room its topic or discovery suggests,
     *     and `room: ""` says it is in no room.
     */
    NamingChange: {
      name?: string | null;
      room?: string | null;
    };
    /** @description A new credential, as asked for. */
    NewCredential: {
      label?: string | null;
      /** @description At least 8 characters; the hub makes a strong one when absent. */
      password?: string | null;
      role: components['schemas']['Role'];
      /** @description A device's topic base, e.g. `home/livingroom/light`. */
      topic?: string | null;
      username: string;
    };
    /**
     * @description Where a log entry came from.
     * @enum {string}
     */
    Origin: 'hub' | 'external';
    /**
     * @description The fate of a command.
     * @enum {string}
     */
    Outcome: 'pending' | 'confirmed' | 'mismatch' | 'timed_out' | 'superseded' | 'failed' | 'external';
    /** @description A phone's pairing. */
    PairRequest: {
      /** @description The code from the QR code's URL. */
      code: string;
      /** @description What to call the phone in the hub's list. */
      name?: string | null;
    };
    /** @description A fresh pairing code and where a phone opens it. */
    Pairing: {
      /** Format: int64 */
      expiresMs: number;
      /** @description Whether the dashboard listens beyond this PC; a phone cannot open `url` otherwise. */
      lanReachable: boolean;
      /** @description The same pairing at other addresses of this PC. */
      otherUrls: string[];
      /** @description The QR code of `url`, as an SVG document. */
      qrSvg: string;
      /** @description The URL the QR code holds. */
      url: string;
    };
    /**
     * @description Allow or deny.
     * @enum {string}
     */
    Permission: 'allow' | 'deny';
    /** @description A paired phone. */
    Phone: {
      /** Format: int64 */
      id: number;
      /** Format: int64 */
      lastSeenMs: number;
      name: string;
      /** Format: int64 */
      pairedMs: number;
      /** Format: int64 */
      revokedMs?: number | null;
    };
    /**
     * @description Whether a device is reachable.
     * @enum {string}
     */
    Presence: 'online' | 'offline' | 'unknown' | 'silent';
    /** @description A message to publish through the hub's own client. */
    PublishRequest: {
      /**
       * @description The payload as text (UTF-8), at most 256 KiB; empty with `retain` clears a retained
       *     message.
       */
      payload?: string;
      /**
       * Format: int32
       * @description 0, 1 or 2 [default: 0].
       */
      qos?: number;
      /** @description Ask the broker to keep it as the topic's retained message [default: false]. */
      retain?: boolean;
      /** @description A topic name: no `+` or `#`, not empty, at most 65,535 bytes of UTF-8. */
      topic: string;
    };
    /**
     * @description What a reading measures.
     * @enum {string}
     */
    Quantity: 'temperature' | 'humidity' | 'battery' | 'linkQuality' | 'power';
    /** @description A device's latest reading of one quantity. */
    Reading: {
      field: string;
      quantity: components['schemas']['Quantity'];
      /** @description The series it is recorded under: `/api/history?topic=…&field=…`. */
      topic: string;
      /** Format: int64 */
      tsMs: number;
      /** @description `°C`, `°F`, `%`, `W`; none when the device does not say. */
      unit?: string | null;
      /** Format: double */
      value: number;
    };
    /** @description A numeric reading as it arrives. */
    ReadingEvent: {
      /** @description The JSON field it came from; empty for a plain number. */
      field: string;
      topic: string;
      /**
       * Format: int64
       * @description Unix milliseconds.
       */
      tsMs: number;
      /** Format: double */
      value: number;
    };
    /** @description Device ids that went away (`device_removed`). */
    RemovedDevice: {
      id: string;
    };
    /**
     * @description What a client asks to do.
     * @enum {string}
     */
    Request: 'publish' | 'subscribe';
    /**
     * @description Where a history answer was computed from.
     * @enum {string}
     */
    Resolution: 'raw' | 'minute' | 'hour';
    /** @description A retained message the broker holds. */
    RetainedInfo: {
      payloadBytes: number;
      /** @description The payload's start (lossy UTF-8). */
      preview: string;
      /** Format: int32 */
      qos: number;
      /**
       * Format: int64
       * @description When it was published (Unix milliseconds), as far as the hub knows: the broker's
       *     own time for the embedded broker, else when the hub first heard it.
       */
      sinceMs: number;
      topic: string;
    };
    /** @description Every retained message the broker holds: flagged ones first, then the oldest first. */
    RetainedReport: {
      bytes: number;
      count: number;
      flagged: number;
      messages: components['schemas']['RetainedRow'][];
    };
    /** @description A retained message and what is wrong with it, if anything. */
    RetainedRow: components['schemas']['RetainedInfo'] & {
      /** @description The device a convention recognised the topic as part of. */
      device?: string | null;
      traps: components['schemas']['Trap'][];
    };
    /**
     * @description What a credential is for; decides its default rules.
     * @enum {string}
     */
    Role: 'user' | 'device' | 'phone';
    /** @description A room and its devices, ordered by name. Devices with no room come last, under none. */
    Room: {
      devices: components['schemas']['Device'][];
      room?: string | null;
    };
    /** @description One rule of a credential's list. */
    Rule: {
      action: components['schemas']['Action'];
      /** @description An MQTT topic filter; `%u` and `%c` stand for the client's username and client id. */
      filter: string;
      permission: components['schemas']['Permission'];
    };
    /** @description A history answer with what it is the history of. */
    SeriesHistory: {
      field: string;
      /**
       * Format: int64
       * @description Unix seconds, inclusive.
       */
      from: number;
      history: components['schemas']['History'];
      /**
       * Format: int64
       * @description Unix seconds, exclusive.
       */
      to: number;
      topic: string;
      /** @description The unit the values are in (`°C`, `°F`, `%`, `W`), when the device said. */
      unit?: string | null;
    };
    /** @description One series: a topic and the JSON field ("" for a plain number). */
    SeriesKey: {
      field?: string;
      topic: string;
    };
    /** @description Access settings the user changes from the dashboard. */
    Settings: {
      anonymous: components['schemas']['Anonymous'];
      /** @description Whether the hub advertises itself by mDNS/DNS-SD. */
      mdns: boolean;
    };
    /**
     * @description Where a light's current state came from.
     * @enum {string}
     */
    StateSource: 'reply' | 'external' | 'retained' | 'report';
    /** @description The state to switch a light to. */
    SwitchRequest: {
      /**
       * @description `ON` or `OFF` (any case).
       * @example ON
       */
      state: string;
    };
    /** @description What the registry knows about one topic. */
    TopicInfo: {
      /** @description The device a convention recognised this topic as part of. */
      device?: string | null;
      /**
       * @description The numeric series the last payload carried (`""` for a plain number), each
       *     chartable through `/api/history`.
       */
      fields: string[];
      /** Format: int64 */
      firstSeenMs: number;
      /** @description The last payload, cut to the registry's limit (lossy UTF-8). */
      lastPayload: string;
      /** Format: int64 */
      lastSeenMs: number;
      /** Format: int64 */
      messages: number;
      /** @description Size of the last payload before any cut. */
      payloadBytes: number;
      /** Format: int32 */
      qos: number;
      retained: boolean;
      topic: string;
      truncated: boolean;
    };
    /** @description One message of a topic, as the hub received it. */
    TopicMessage: {
      /**
       * Format: int64
       * @description Unix milliseconds.
       */
      atMs: number;
      /** @description The payload, cut (lossy UTF-8). */
      payload: string;
      /** @description Size of the payload before any cut. */
      payloadBytes: number;
      /** Format: int32 */
      qos: number;
      /** @description Delivered from the broker's store when the hub subscribed, not published then. */
      replay: boolean;
      /** @description The broker kept this message as the topic's retained one. */
      retained: boolean;
    };
    /**
     * @description A node of the topic tree: one level of a topic, with the topic's details when a
     *     message was published at exactly this level.
     */
    TopicNode: {
      children: components['schemas']['TopicNode'][];
      info?: components['schemas']['TopicInfo'] | null;
      /**
       * Format: int64
       * @description Messages on this topic and every topic below it.
       */
      messages: number;
      /** @description This level's name. */
      name: string;
      /** @description The full topic up to this level. */
      path: string;
    };
    /**
     * @description Topics that changed since the last `topics_changed`: their rows as `/api/topics` has
     *     them. With `reload`, too many changed to list: fetch `/api/topics` again.
     */
    TopicsChange: {
      reload: boolean;
      topics: components['schemas']['TopicInfo'][];
    };
    /** @description One flag, with why in words. */
    Trap: {
      kind: components['schemas']['TrapKind'];
      why: string;
    };
    /**
     * @description Why a retained message is flagged.
     * @enum {string}
     */
    TrapKind: 'retained_command' | 'stale_discovery' | 'large';
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type AccessInfo = components['schemas']['AccessInfo'];
export type AclQuestion = components['schemas']['AclQuestion'];
export type AclTest = components['schemas']['AclTest'];
export type Action = components['schemas']['Action'];
export type Anonymous = components['schemas']['Anonymous'];
export type ApiError = components['schemas']['ApiError'];
export type Availability = components['schemas']['Availability'];
export type BrokerStatus = components['schemas']['BrokerStatus'];
export type Command = components['schemas']['Command'];
export type CreatedCredential = components['schemas']['CreatedCredential'];
export type Credential = components['schemas']['Credential'];
export type Device = components['schemas']['Device'];
export type DeviceInfo = components['schemas']['DeviceInfo'];
export type DeviceKind = components['schemas']['DeviceKind'];
export type DisplaySettings = components['schemas']['DisplaySettings'];
export type Endpoint = components['schemas']['Endpoint'];
export type Event = components['schemas']['Event'];
export type FavouritesChange = components['schemas']['FavouritesChange'];
export type History = components['schemas']['History'];
export type HistoryBatch = components['schemas']['HistoryBatch'];
export type LightState = components['schemas']['LightState'];
export type LightStatus = components['schemas']['LightStatus'];
export type Listener = components['schemas']['Listener'];
export type MqttSetup = components['schemas']['MqttSetup'];
export type MqttSetupRequest = components['schemas']['MqttSetupRequest'];
export type NamingChange = components['schemas']['NamingChange'];
export type NewCredential = components['schemas']['NewCredential'];
export type Origin = components['schemas']['Origin'];
export type Outcome = components['schemas']['Outcome'];
export type PairRequest = components['schemas']['PairRequest'];
export type Pairing = components['schemas']['Pairing'];
export type Permission = components['schemas']['Permission'];
export type Phone = components['schemas']['Phone'];
export type Presence = components['schemas']['Presence'];
export type PublishRequest = components['schemas']['PublishRequest'];
export type Quantity = components['schemas']['Quantity'];
export type Reading = components['schemas']['Reading'];
export type ReadingEvent = components['schemas']['ReadingEvent'];
export type RemovedDevice = components['schemas']['RemovedDevice'];
export type Request = components['schemas']['Request'];
export type Resolution = components['schemas']['Resolution'];
export type RetainedInfo = components['schemas']['RetainedInfo'];
export type RetainedReport = components['schemas']['RetainedReport'];
export type RetainedRow = components['schemas']['RetainedRow'];
export type Role = components['schemas']['Role'];
export type Room = components['schemas']['Room'];
export type Rule = components['schemas']['Rule'];
export type SeriesHistory = components['schemas']['SeriesHistory'];
export type SeriesKey = components['schemas']['SeriesKey'];
export type Settings = components['schemas']['Settings'];
export type StateSource = components['schemas']['StateSource'];
export type SwitchRequest = components['schemas']['SwitchRequest'];
export type TopicInfo = components['schemas']['TopicInfo'];
export type TopicMessage = components['schemas']['TopicMessage'];
export type TopicNode = components['schemas']['TopicNode'];
export type TopicsChange = components['schemas']['TopicsChange'];
export type Trap = components['schemas']['Trap'];
export type TrapKind = components['schemas']['TrapKind'];
export type $defs = Record<string, never>;
export interface operations {
  access_info: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AccessInfo'];
        };
      };
      /** @description Not from this PC */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description The hub uses an external broker */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  put_anonymous_rules: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['Rule'][];
      };
    };
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Rule'][];
        };
      };
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  list_credentials: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Credential'][];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  create_credential: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['NewCredential'];
      };
    };
    responses: {
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['CreatedCredential'];
        };
      };
      /** @description Bad username, password or topic */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description The username is taken */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  delete_credential: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: number;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  revoke_credential: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: number;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Credential'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  put_rules: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: number;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['Rule'][];
      };
    };
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Rule'][];
        };
      };
      /** @description A bad filter */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  get_settings: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Settings'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  put_settings: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['Settings'];
      };
    };
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Settings'];
        };
      };
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  test_acl: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['AclQuestion'];
      };
    };
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AclTest'];
        };
      };
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  broker: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['BrokerStatus'];
        };
      };
    };
  };
  get_command: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description The id `switch` returned */
        id: number;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Command'];
        };
      };
      /** @description Not a number */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description No such command */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  list_devices: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Rooms and their devices, sorted by name */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Room'][];
        };
      };
    };
  };
  get_device: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description The id's first level: the room in home/<room>/<name>, else the convention */
        group: string;
        /** @description The rest of the id, percent-encoded */
        rest: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Device'];
        };
      };
      /** @description No such device */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  patch_device: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        group: string;
        rest: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['NamingChange'];
      };
    };
    responses: {
      /** @description The device as it is now */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Device'];
        };
      };
      /** @description Malformed JSON, or a name or room that is empty, longer than 100 characters or has control characters */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description No such device */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  light_commands: {
    parameters: {
      query?: {
        /** @description At most this many entries (1–1000) [default: 50]. */
        limit?: number;
        /** @description Only entries with ids below this one (the next page). */
        before?: number;
      };
      header?: never;
      path: {
        group: string;
        rest: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Command'][];
        };
      };
      /** @description Bad limit, or not a light */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description No such device */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  switch_light: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        group: string;
        rest: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['SwitchRequest'];
      };
    };
    responses: {
      /** @description The command, pending or already failed */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Command'];
        };
      };
      /** @description Malformed JSON, a state other than ON/OFF, or not a light */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description No such device */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description The light's availability says offline */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Body too large */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Body not JSON */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  events: {
    parameters: {
      query?: {
        /** @description Comma-separated event types to receive (`reading,light_state`) [default: all]. */
        types?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Switching to the WebSocket protocol; each message is an Event */
      101: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Event'];
        };
      };
      /** @description Not a WebSocket upgrade, or an unknown event type */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Opened from a page of another origin */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  list_favourites: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': string[];
        };
      };
    };
  };
  star_device: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        group: string;
        rest: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The favourites now */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': string[];
        };
      };
      /** @description Already 500 favourites */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description No such device */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  unstar_device: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        group: string;
        rest: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The favourites now */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': string[];
        };
      };
    };
  };
  history: {
    parameters: {
      query: {
        /** @description The topic, e.g. `home/livingroom/temperature`. */
        topic: string;
        /** @description The JSON field; empty for a plain number [default: empty]. */
        field?: string;
        /** @description Start, Unix seconds, inclusive [default: 24 hours before `to`]. */
        from?: number;
        /** @description End, Unix seconds, exclusive [default: now]. */
        to?: number;
        /** @description At most this many buckets (1–10000) [default: 500]. */
        points?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['SeriesHistory'];
        };
      };
      /** @description Bad range or points */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Nothing recorded for that series */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  history_batch: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['HistoryBatch'];
      };
    };
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': (components['schemas']['SeriesHistory'] | null)[];
        };
      };
      /** @description No series or more than 500, bad range or points, or malformed JSON */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Body over 256 KiB */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Body not JSON */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  openapi: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The OpenAPI 3.1 document of this API */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': unknown;
        };
      };
    };
  };
  pair: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['PairRequest'];
      };
    };
    responses: {
      /** @description Paired; the token is in the cookie */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Phone'];
        };
      };
      /** @description Malformed request */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Unknown, used or expired code */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  list_phones: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Phone'][];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  phone_mqtt: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['MqttSetupRequest'];
      };
    };
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['MqttSetup'];
        };
      };
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  start_pairing: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Pairing'];
        };
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description The HTTP listener is off */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  revoke_phone: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: number;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Revoked */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  get_preferences: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['DisplaySettings'];
        };
      };
    };
  };
  put_preferences: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['DisplaySettings'];
      };
    };
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['DisplaySettings'];
        };
      };
      /** @description Malformed JSON or a unit other than °C/°F */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  publish: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['PublishRequest'];
      };
    };
    responses: {
      /** @description Handed to the hub's client */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['PublishRequest'];
        };
      };
      /** @description A wildcard or empty topic, a topic over 65,535 bytes, a payload over 256 KiB, QoS not 0–2, malformed JSON */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description The hub's client is not connected */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Body too large */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description Body not JSON */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  topics: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TopicNode'][];
        };
      };
    };
  };
  topic_messages: {
    parameters: {
      query: {
        /** @description The topic, e.g. `home/livingroom/light`. */
        topic: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TopicMessage'][];
        };
      };
      /** @description No topic given */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description No such topic seen */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
  retained: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RetainedReport'];
        };
      };
    };
  };
  clear_retained: {
    parameters: {
      query: {
        /** @description The topic, e.g. `home/livingroom/light`. */
        topic: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The empty retained message is on its way */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description No topic, or not a topic name */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
      /** @description The hub's client is not connected */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ApiError'];
        };
      };
    };
  };
}
