// The flags both end-to-end runs start a hub with: its data in `dataDir`, MQTT, MQTT over TLS
// and the dashboard on free loopback ports, the other listeners and mDNS off, warnings only.

export function hubArgs(dataDir) {
  return [
    '--data-dir',
    dataDir,
    '--mqtt-listen',
    '127.0.0.1:0',
    '--mqtts-listen',
    '127.0.0.1:0',
    '--http-listen',
    '127.0.0.1:0',
    '--ws-listen',
    'off',
    '--wss-listen',
    'off',
    '--https-listen',
    'off',
    '--mdns',
    'off',
    '--log',
    'warn',
  ];
}
