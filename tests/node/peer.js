// A pusher-js client driven over stdin/stdout with JSON lines, so Python tests can use the
// reference JavaScript client as a real peer (tests/support/peer.py drives it).
//
//   node peer.js HOST PORT APP_KEY APP_SECRET
//   PEER_HOST=... PEER_PORT=... PEER_APP_KEY=... PEER_APP_SECRET=... node peer.js
//
// stdin, one command per line (each reply echoes its "id"):
//   {"id":1,"cmd":"subscribe","channel":"presence-x","user_data":{"user_id":"7","user_info":{}}}
//       -> {"id":1,"ok":true,"members":{...},"me":{"id":...,"info":...}}  (on subscription_succeeded)
//       -> {"id":1,"ok":false,"error":...}                                 (on subscription_error)
//   {"id":2,"cmd":"trigger","channel":"...","event":"client-x","data":{...}} -> {"id":2,"ok":bool}
//   {"id":3,"cmd":"members","channel":"..."}   -> {"id":3,"ok":true,"members":{...},"me":{...}}
//   {"id":4,"cmd":"unsubscribe","channel":"..."} -> {"id":4,"ok":true}
//   {"id":5,"cmd":"disconnect"}                -> {"id":5,"ok":true}, then exit 0
//   {"id":6,"cmd":"subscribe","channel":"private-encrypted-x","shared_secrets":["<base64>",...]}
//       a private-encrypted- channel: its authorizations hand out these keys in turn (the last
//       one repeats), so a test can give pusher-js a wrong key first; events arrive decrypted
//   {"id":7,"cmd":"authorizations","channel":"..."} -> {"id":7,"ok":true,"count":N}
// "members" maps user_id -> user_info ({} and null on non-presence channels).
// pusher-js's Node build includes tweetnacl, so private-encrypted- channels work as they are.
//
// stdout, unsolicited:
//   {"type":"ready","socket_id":"..."}                       once, when first connected
//   {"type":"state","previous":"...","current":"...","socket_id":"..."|null}
//   {"type":"event","channel":"...","event":"...","data":...,"user_id":"..."|null}
//       every event on a subscribed channel, pusher:* ones included (member_added/removed
//       carry the member {"id","info"}; subscription_succeeded carries {"members","me"})
//   {"type":"error","error":...}                             connection errors (also on stderr)
'use strict';

const crypto = require('crypto');
const readline = require('readline');
const util = require('util');

// stdout carries JSON lines only: anything a library logs goes to stderr.
for (const name of ['log', 'info', 'debug']) {
  console[name] = (...args) => process.stderr.write(util.format(...args) + '\n');
}

const Pusher = require('pusher-js');

const argv = process.argv.slice(2);
const host = argv[0] || process.env.PEER_HOST;
const port = argv[1] || process.env.PEER_PORT;
const key = argv[2] || process.env.PEER_APP_KEY;
const secret = argv[3] || process.env.PEER_APP_SECRET;
if (!host || !port || !key || !secret) {
  process.stderr.write('usage: node peer.js HOST PORT APP_KEY APP_SECRET (or PEER_* env vars)\n');
  process.exit(2);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function sign(subject) {
  return crypto.createHmac('sha256', secret).update(subject).digest('hex');
}

// pusher-js cannot sign by itself: the handler signs like a Laravel app's /broadcasting/auth.
// Presence channels use the user_data given by the latest subscribe command for that channel.
const userDataByChannel = new Map();
// private-encrypted- channels: the shared secrets still to hand out, and authorizations so far.
const sharedSecretsByChannel = new Map();
const authorizationsByChannel = new Map();

function nextSharedSecret(channelName) {
  const secrets = sharedSecretsByChannel.get(channelName) || [];
  return secrets.length > 1 ? secrets.shift() : secrets[0];
}

const pusher = new Pusher(key, {
  wsHost: host,
  wsPort: Number(port),
  forceTLS: false,
  enabledTransports: ['ws'],
  cluster: 'local',
  disableStats: true,
  channelAuthorization: {
    customHandler: ({ socketId, channelName }, callback) => {
      const subject = `${socketId}:${channelName}`;
      authorizationsByChannel.set(channelName, (authorizationsByChannel.get(channelName) || 0) + 1);
      if (channelName.startsWith('private-encrypted-')) {
        const auth = { auth: `${key}:${sign(subject)}` };
        const sharedSecret = nextSharedSecret(channelName);
        if (sharedSecret !== undefined) auth.shared_secret = sharedSecret;
        callback(null, auth);
      } else if (channelName.startsWith('presence-')) {
        const channelData = JSON.stringify(userDataByChannel.get(channelName) || {});
        callback(null, { auth: `${key}:${sign(`${subject}:${channelData}`)}`, channel_data: channelData });
      } else {
        callback(null, { auth: `${key}:${sign(subject)}` });
      }
    },
  },
});

let announcedReady = false;
pusher.connection.bind('state_change', ({ previous, current }) => {
  const socketId = pusher.connection.socket_id || null;
  emit({ type: 'state', previous, current, socket_id: socketId });
  if (current === 'connected' && !announcedReady) {
    announcedReady = true;
    emit({ type: 'ready', socket_id: socketId });
  }
});
// A JSON-safe copy of an error (WebSocket error events hold circular references).
function plain(value) {
  try {
    return JSON.parse(JSON.stringify(value, (k, v) => (v instanceof Error ? String(v) : v)) ?? 'null');
  } catch (error) {
    return String(value && value.type ? `${value.type}: ${value.error || value.message}` : value);
  }
}
pusher.connection.bind('error', (error) => {
  const details = plain(error);
  process.stderr.write(`pusher-js connection error: ${JSON.stringify(details)}\n`);
  emit({ type: 'error', error: details });
});

function membersOf(channel) {
  const members = {};
  if (!channel || !channel.members) return { members, me: null };
  channel.members.each((member) => {
    members[member.id] = member.info === undefined ? null : member.info;
  });
  const me = channel.members.me;
  return { members, me: me ? { id: me.id, info: me.info === undefined ? null : me.info } : null };
}

// Channel objects already reporting their events (a channel unsubscribed and subscribed again
// is a new object).
const instrumented = new WeakSet();

function instrument(channel) {
  if (instrumented.has(channel)) return;
  instrumented.add(channel);
  // pusher-js gives global callbacks no metadata, so note the raw event's user_id while it
  // dispatches the event (synchronously) to them.
  let dispatchingUserId = null;
  const handleEvent = channel.handleEvent.bind(channel);
  channel.handleEvent = (event) => {
    dispatchingUserId = event.user_id === undefined ? null : event.user_id;
    try {
      handleEvent(event);
    } finally {
      dispatchingUserId = null;
    }
  };
  channel.bind_global((event, data) => {
    if (event === 'pusher:subscription_succeeded' && channel.members) data = membersOf(channel);
    emit({
      type: 'event',
      channel: channel.name,
      event,
      data: data === undefined ? null : data,
      user_id: dispatchingUserId,
    });
  });
}

const handlers = {
  subscribe(command, reply) {
    if (command.user_data !== undefined) userDataByChannel.set(command.channel, command.user_data);
    if (command.shared_secrets !== undefined) {
      sharedSecretsByChannel.set(command.channel, [...command.shared_secrets]);
    }
    const existing = pusher.channel(command.channel);
    if (existing && existing.subscribed) {
      reply({ ok: true, ...membersOf(existing) });
      return;
    }
    const channel = pusher.subscribe(command.channel);
    instrument(channel);
    const done = (payload) => {
      channel.unbind('pusher:subscription_succeeded', succeeded);
      channel.unbind('pusher:subscription_error', failed);
      reply(payload);
    };
    const succeeded = () => done({ ok: true, ...membersOf(channel) });
    const failed = (error) => done({ ok: false, error: error === undefined ? null : error });
    channel.bind('pusher:subscription_succeeded', succeeded);
    channel.bind('pusher:subscription_error', failed);
  },
  trigger(command, reply) {
    const channel = pusher.channel(command.channel);
    if (!channel) {
      reply({ ok: false, error: `not subscribed to ${command.channel}` });
      return;
    }
    reply({ ok: channel.trigger(command.event, command.data) === true });
  },
  members(command, reply) {
    const channel = pusher.channel(command.channel);
    if (!channel) {
      reply({ ok: false, error: `not subscribed to ${command.channel}` });
      return;
    }
    reply({ ok: true, ...membersOf(channel) });
  },
  authorizations(command, reply) {
    reply({ ok: true, count: authorizationsByChannel.get(command.channel) || 0 });
  },
  unsubscribe(command, reply) {
    pusher.unsubscribe(command.channel);
    reply({ ok: true });
  },
  disconnect(command, reply) {
    pusher.disconnect();
    reply({ ok: true });
    // Exit once stdout is flushed (it is a pipe, so writes may be asynchronous).
    process.stdout.write('', () => process.exit(0));
  },
};

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    process.stderr.write(`bad command line: ${line}\n`);
    return;
  }
  let replied = false;
  const reply = (payload) => {
    if (replied) return;
    replied = true;
    emit({ id: command.id, ...payload });
  };
  const handler = handlers[command.cmd];
  if (!handler) {
    reply({ ok: false, error: `unknown command ${command.cmd}` });
    return;
  }
  try {
    handler(command, reply);
  } catch (error) {
    process.stderr.write(`${command.cmd} failed: ${error && error.stack ? error.stack : error}\n`);
    reply({ ok: false, error: String(error) });
  }
});

// The driving process went away: leave cleanly rather than linger.
process.stdin.on('end', () => {
  pusher.disconnect();
  process.stdout.write('', () => process.exit(0));
});
