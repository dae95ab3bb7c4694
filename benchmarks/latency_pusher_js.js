// pusher-js (Node) receiver for latency.py.
//   node latency_pusher_js.js HOST PORT KEY SECRET CHANNEL
// Prints "ready" once subscribed, then for each "ping" or "client-ping" event one line
// "lat NANOSECONDS" (monotonic now minus the data's "t", process.hrtime and Python's
// time.monotonic_ns share CLOCK_MONOTONIC on Linux).
'use strict';
const path = require('path');
const crypto = require('crypto');
const Pusher = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'pusher-js'));

const [host, port, key, secret, channelName] = process.argv.slice(2);
const pusher = new Pusher(key, {
  wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'],
  cluster: 'local', disableStats: true,
  channelAuthorization: {
    customHandler: ({ socketId, channelName: name }, callback) => {
      const signature = crypto.createHmac('sha256', secret).update(`${socketId}:${name}`).digest('hex');
      callback(null, { auth: `${key}:${signature}` });
    },
  },
});
const channel = pusher.subscribe(channelName);
channel.bind('pusher:subscription_succeeded', () => process.stdout.write('ready\n'));
const report = (data) => {
  const sent = BigInt(data.t);
  process.stdout.write(`lat ${process.hrtime.bigint() - sent}\n`);
};
channel.bind('ping', report);
channel.bind('client-ping', report);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
