// Baseline for receive_throughput.py: pusher-js (Node) counting a burst of events.
//   node pusher_js_receiver.js HOST PORT KEY CHANNEL COUNT
// Prints "ready" once subscribed, then "done <ms from first to last event>".
'use strict';
const path = require('path');
const Pusher = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'pusher-js'));

const [host, port, key, channelName, countText] = process.argv.slice(2);
const count = Number(countText);
const pusher = new Pusher(key, {
  wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'],
  cluster: 'local', disableStats: true,
});
const channel = pusher.subscribe(channelName);
let received = 0;
let first = 0;
channel.bind('pusher:subscription_succeeded', () => process.stdout.write('ready\n'));
channel.bind('tick', () => {
  if (received === 0) first = process.hrtime.bigint();
  received += 1;
  if (received === count) {
    const ms = Number(process.hrtime.bigint() - first) / 1e6;
    process.stdout.write(`done ${ms}\n`);
    pusher.disconnect();
    setImmediate(() => process.exit(0));
  }
});
