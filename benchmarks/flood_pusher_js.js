// pusher-js (Node) receiving a flood from benchmarks/flood_server.py.
//   node flood_pusher_js.js HOST PORT KEY COUNT
// Subscribes to "flood", then to "flood-go-COUNT" (which starts the flood); counts "tick" events
// and checks their sequence numbers. Prints one JSON line:
//   {"received": N, "in_order": true, "seconds": from asking for the flood to the last event}
'use strict';
const path = require('path');
const Pusher = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'pusher-js'));

const [host, port, key, countText] = process.argv.slice(2);
const count = Number(countText);
const pusher = new Pusher(key, {
  wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'],
  cluster: 'local', disableStats: true,
});
const channel = pusher.subscribe('flood');
let received = 0;
let inOrder = true;
let first = 0n;
channel.bind('pusher:subscription_succeeded', () => {
  first = process.hrtime.bigint();
  pusher.subscribe(`flood-go-${count}`);
});
channel.bind('tick', (data) => {
  if (data.seq !== received) inOrder = false;
  received += 1;
  if (received === count) {
    const seconds = Number(process.hrtime.bigint() - first) / 1e9;
    process.stdout.write(JSON.stringify({ received, in_order: inOrder, seconds }) + '\n');
    pusher.disconnect();
    setImmediate(() => process.exit(0));
  }
});
