// pusher-js (Node) for recovery.py: CHANNELS channels, then lines as recovery_client.py says them.
//   node recovery_pusher_js.js HOST PORT KEY SECRET CHANNELS
// Channels: recover-I, private-recover-I, presence-recover-I by I % 3 (recovery.py's names()),
// signed here with the secret. Lines (times in seconds of CLOCK_MONOTONIC, as Python's
// time.perf_counter): "ready"; "lost T" when the connection closes; "retrying T" when pusher-js
// connects again (it waits a fixed 1 s after a closed connection, then retries at once);
// "open T" on a new connection; "all T" when every channel is confirmed on it. "status" on stdin
// answers "count K"; the process exits when stdin closes.
'use strict';
const path = require('path');
const crypto = require('crypto');
const readline = require('readline');
const Pusher = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'pusher-js'));

const [host, port, key, secret, countText] = process.argv.slice(2);
const count = Number(countText);
const kinds = ['recover-', 'private-recover-', 'presence-recover-'];
const names = Array.from({ length: count }, (_, i) => `${kinds[i % 3]}${i}`);
const now = () => (Number(process.hrtime.bigint()) / 1e9).toFixed(9);
const say = (line) => process.stdout.write(`${line}\n`);

const sign = (text) => `${key}:${crypto.createHmac('sha256', secret).update(text).digest('hex')}`;
const pusher = new Pusher(key, {
  wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'],
  cluster: 'local', disableStats: true,
  channelAuthorization: {
    customHandler: ({ socketId, channelName }, callback) => {
      if (channelName.startsWith('presence-')) {
        const channelData = JSON.stringify({ user_id: `u-${channelName}`, user_info: { name: 'bench' } });
        callback(null, { auth: sign(`${socketId}:${channelName}:${channelData}`), channel_data: channelData });
      } else {
        callback(null, { auth: sign(`${socketId}:${channelName}`) });
      }
    },
  },
});

let confirmed = new Set();
let connected = false;
let ready = false;
let complete = false;

function lost() {
  if (!connected) return;
  connected = false;
  complete = false;
  confirmed = new Set();
  say(`lost ${now()}`);
}

// state_change to "connected" is emitted before pusher-js resubscribes (its own 'connected' handler).
pusher.connection.bind('state_change', ({ previous, current }) => {
  if (current === 'connected') {
    confirmed = new Set();
    complete = false;
    connected = true;
    if (ready) say(`open ${now()}`);
  } else if (previous === 'connected' || current === 'connecting') {
    const t = now();
    lost();
    if (current === 'connecting' && ready) say(`retrying ${t}`);
  }
});
pusher.connection.bind('connecting_in', () => lost());  // a closed connection: retry in 1 s

for (const name of names) {
  pusher.subscribe(name).bind('pusher:subscription_succeeded', () => {
    const t = now();
    confirmed.add(name);
    if (complete || confirmed.size < names.length) return;
    complete = true;
    if (ready) {
      say(`all ${t}`);
    } else {
      ready = true;
      say('ready');
    }
  });
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'status') say(`count ${confirmed.size}`);
}).on('close', () => process.exit(0));
