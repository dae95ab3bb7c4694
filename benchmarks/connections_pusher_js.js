// pusher-js (Node): N clients in one process, each subscribed to its own channel.
//   node connections_pusher_js.js HOST PORT KEY COUNT IDLE_SECONDS
// Prints one JSON line: seconds until all subscribed, RSS per connection, idle CPU %.
'use strict';
const path = require('path');
const Pusher = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'pusher-js'));

const [host, port, key, countText, idleText] = process.argv.slice(2);
const count = Number(countText);
const idle = Number(idleText);
if (global.gc) global.gc();
const rssBefore = process.memoryUsage().rss;
const start = process.hrtime.bigint();
const clients = [];
let subscribed = 0;

function allSubscribed() {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (global.gc) global.gc();
  const rssPerConn = (process.memoryUsage().rss - rssBefore) / count;
  setTimeout(() => {
    const cpu = process.cpuUsage();
    const wall = process.hrtime.bigint();
    setTimeout(() => {
      const used = process.cpuUsage(cpu);
      const elapsed = Number(process.hrtime.bigint() - wall) / 1e9;
      const idlePercent = (100 * (used.user + used.system)) / 1e6 / elapsed;
      process.stdout.write(JSON.stringify({
        kind: 'pusher-js', count, seconds, rss_per_conn: rssPerConn, idle_cpu_percent: idlePercent,
      }) + '\n');
      for (const client of clients) client.disconnect();
      setTimeout(() => process.exit(0), 100);
    }, idle * 1000);
  }, 1000);
}

for (let i = 0; i < count; i += 1) {
  const pusher = new Pusher(key, {
    wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'],
    cluster: 'local', disableStats: true,
  });
  clients.push(pusher);
  pusher.subscribe(`conn-${i}`).bind('pusher:subscription_succeeded', () => {
    subscribed += 1;
    if (subscribed === count) allSubscribed();
  });
}
