// A pusher-js client driven over stdin/stdout with JSON lines, so Python tests can use the
// reference JavaScript client as a real peer.
//
//   node peer.js HOST PORT APP_KEY APP_SECRET
//
// stdin, one command per line (each reply echoes its "id"):
//   {"id":1,"cmd":"subscribe","channel":"presence-x","user_data":{"user_id":"7","user_info":{}}}
//       -> {"id":1,"ok":true,"members":{...},"me":{...}}  (after pusher:subscription_succeeded)
//       -> {"id":1,"ok":false,"error":...}                  (after pusher:subscription_error)
//   {"id":2,"cmd":"trigger","channel":"...","event":"client-x","data":{...}} -> {"id":2,"ok":bool}
//   {"id":3,"cmd":"members","channel":"..."}                -> {"id":3,"ok":true,"members":{...},"me":{...}}
//   {"id":4,"cmd":"unsubscribe","channel":"..."}            -> {"id":4,"ok":true}
//   {"id":5,"cmd":"disconnect"}                             -> {"id":5,"ok":true}, then exit 0
// stdout, unsolicited:
//   {"type":"ready","socket_id":"..."} once connected
//   {"type":"state","previous":"...","current":"...","socket_id":"..."}
//   {"type":"event","channel":"...","event":"...","data":...,"user_id":...}
'use strict';

const crypto = require('crypto');
const readline = require('readline');
const Pusher = require('pusher-js');

const [host, port, key, secret] = process.argv.slice(2);
if (!host || !port || !key || !secret) {
  process.stderr.write('usage: node peer.js HOST PORT APP_KEY APP_SECRET\n');
  process.exit(2);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function sign(subject) {
  return crypto.createHmac('sha256', secret).update(subject).digest('hex');
}

const userDataByChannel = new Map();

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
      if (channelName.startsWith('presence-')) {
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
  emit({ type: 'state', previous, current, socket_id: pusher.connection.socket_id || null });
  if (current === 'connected' && !announcedReady) {
    announcedReady = true;
    emit({ type: 'ready', socket_id: pusher.connection.socket_id });
  }
});

function membersOf(channel) {
  const members = {};
  if (channel && channel.members) {
    channel.members.each((member) => {
      members[member.id] = member.info === undefined ? null : member.info;
    });
    const me = channel.members.me ? { id: channel.members.me.id, info: channel.members.me.info ?? null } : null;
    return { members, me };
  }
  return { members, me: null };
}

const handlers = {
  subscribe(command, reply) {
    if (command.user_data) userDataByChannel.set(command.channel, command.user_data);
    const channel = pusher.subscribe(command.channel);
    // Global callbacks get no metadata, so note the raw event's user_id while pusher-js
    // dispatches it (synchronously) to them.
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
      emit({
        type: 'event',
        channel: command.channel,
        event,
        data: data === undefined ? null : data,
        user_id: dispatchingUserId,
      });
    });
    channel.bind('pusher:subscription_succeeded', () => reply({ ok: true, ...membersOf(channel) }));
    channel.bind('pusher:subscription_error', (error) => reply({ ok: false, error }));
  },
  trigger(command, reply) {
    const channel = pusher.channel(command.channel);
    reply({ ok: channel ? channel.trigger(command.event, command.data) : false });
  },
  members(command, reply) {
    reply({ ok: true, ...membersOf(pusher.channel(command.channel)) });
  },
  unsubscribe(command, reply) {
    pusher.unsubscribe(command.channel);
    reply({ ok: true });
  },
  disconnect(command, reply) {
    pusher.disconnect();
    reply({ ok: true });
    setImmediate(() => process.exit(0));
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
    reply({ ok: false, error: String(error) });
  }
});

process.stdin.on('end', () => {
  pusher.disconnect();
  process.exit(0);
});
