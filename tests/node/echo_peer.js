// Laravel Echo (laravel-echo 2.x on pusher-js) driven over stdin/stdout with JSON lines, so
// Python tests can run the same scenario through the reference Echo and through reverb.echo
// (tests/support/echo_peer.py drives it).
//
//   node echo_peer.js HOST PORT APP_KEY APP_SECRET
//
// stdin, one command per line (each reply echoes its "id"; "kind" is an Echo method that
// opens a channel: "channel", "private", "encryptedPrivate" or "join"):
//   {"id":1,"cmd":"open","kind":"join","name":"room.1","user_data":{"user_id":"1",...}}
//       -> {"id":1,"ok":true,"channel":"presence-room.1"}      (at once, as Echo returns)
//   {"id":2,"cmd":"call","kind":"join","name":"room.1","method":"listen","args":["Shipped"],
//    "callback":{"tag":"t1","arity":1}}        -> {"id":2,"ok":true}
//       calls channel[method](...args, cb); cb prints {"type":"callback","tag":"t1","args":[...]}
//       with its first `arity` arguments. "callback_ref":"t1" passes that callback again
//       (for stopListening); neither: no callback argument.
//   {"id":3,"cmd":"echo","method":"leave","args":["room.1"]} -> {"id":3,"ok":true,"result":...}
//   {"id":4,"cmd":"format","namespace":"App.Events"|false,"events":["A",...]}
//       -> {"id":4,"ok":true,"formatted":[...]}                 (Echo's own EventFormatter)
//   {"id":5,"cmd":"batch","commands":[{"cmd":"open",...},{"cmd":"call",...}]}
//       -> {"id":5,"ok":true,"results":[...]}    (run back to back, in one turn of the loop)
//   {"id":6,"cmd":"disconnect"} -> {"id":6,"ok":true}, then exit 0
//
// stdout, unsolicited: {"type":"ready","socket_id":"..."} once connected, and callback lines.
'use strict';

const crypto = require('crypto');
const readline = require('readline');
const util = require('util');

for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => process.stderr.write(util.format(...args) + '\n');
}

const Pusher = require('pusher-js');

const [host, port, key, secret] = process.argv.slice(2);
if (!host || !port || !key || !secret) {
  process.stderr.write('usage: node echo_peer.js HOST PORT APP_KEY APP_SECRET\n');
  process.exit(2);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function sign(subject) {
  return crypto.createHmac('sha256', secret).update(subject).digest('hex');
}

// What a Laravel app's /broadcasting/auth would answer, signed with the app secret (a wrong one
// for channels whose name contains "denied", so that the server refuses them).
const userDataByChannel = new Map();

function authorize(socketId, channelName) {
  const subject = `${socketId}:${channelName}`;
  if (channelName.includes('denied')) {
    return { auth: `${key}:${crypto.createHmac('sha256', 'wrong').update(subject).digest('hex')}` };
  }
  if (channelName.startsWith('presence-')) {
    const channelData = JSON.stringify(userDataByChannel.get(channelName) || {});
    return { auth: `${key}:${sign(`${subject}:${channelData}`)}`, channel_data: channelData };
  }
  return { auth: `${key}:${sign(subject)}` };
}

const PREFIXES = { channel: '', private: 'private-', encryptedPrivate: 'private-encrypted-', join: 'presence-' };

async function main() {
  const { default: Echo, EventFormatter } = await import('laravel-echo');
  const pusher = new Pusher(key, {
    wsHost: host,
    wsPort: Number(port),
    forceTLS: false,
    enabledTransports: ['ws'],
    cluster: 'local',
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => callback(null, authorize(socketId, channelName)),
    },
  });
  const echo = new Echo({ broadcaster: 'pusher', client: pusher, withoutInterceptors: true });
  const callbacks = new Map();

  let ready = false;
  pusher.connection.bind('connected', () => {
    if (!ready) {
      ready = true;
      emit({ type: 'ready', socket_id: echo.socketId() });
    }
  });

  const handlers = {
    open(command) {
      if (command.user_data !== undefined) {
        userDataByChannel.set(PREFIXES[command.kind] + command.name, command.user_data);
      }
      return { channel: echo[command.kind](command.name).name };
    },
    call(command) {
      const channel = echo[command.kind](command.name);
      const args = [...(command.args || [])];
      if (command.callback) {
        const { tag, arity } = command.callback;
        const callback = (...received) => {
          emit({ type: 'callback', tag, args: received.slice(0, arity).map((v) => (v === undefined ? null : v)) });
        };
        callbacks.set(tag, callback);
        args.push(callback);
      } else if (command.callback_ref) {
        args.push(callbacks.get(command.callback_ref));
      }
      channel[command.method](...args);
      return {};
    },
    echo(command) {
      const result = echo[command.method](...(command.args || []));
      return { result: result === undefined ? null : result };
    },
    format(command) {
      const formatter = new EventFormatter(command.namespace);
      return { formatted: command.events.map((event) => formatter.format(event)) };
    },
    batch(command) {
      // Several commands at once, with nothing in between (no event can arrive between opening
      // a channel and binding its callbacks, as in a page's script).
      return { results: command.commands.map((each) => handlers[each.cmd](each)) };
    },
    disconnect() {
      echo.disconnect();
      return {};
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
    let reply;
    try {
      const handler = handlers[command.cmd];
      reply = handler ? { ok: true, ...handler(command) } : { ok: false, error: `unknown command ${command.cmd}` };
    } catch (error) {
      process.stderr.write(`${command.cmd} failed: ${error && error.stack ? error.stack : error}\n`);
      reply = { ok: false, error: String(error) };
    }
    emit({ id: command.id, ...reply });
    if (command.cmd === 'disconnect') process.stdout.write('', () => process.exit(0));
  });

  process.stdin.on('end', () => {
    echo.disconnect();
    process.stdout.write('', () => process.exit(0));
  });
}

main().catch((error) => {
  process.stderr.write(`echo peer failed: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
