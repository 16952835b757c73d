#!/usr/bin/env node
// Interop (e): drive our hyper server (`hyper_server`, rfc6455::hyper) over
// HTTP/2 (RFC 8441) with Node's own `http2` client: extended CONNECT
// (`:method` CONNECT, `:protocol` websocket) on one h2c session, frames by
// `ws`'s Receiver/Sender over the HTTP/2 stream (ws's handshake code is not
// involved). Usage: node node_h2_client_checks.js http://127.0.0.1:PORT
//
// Checks: the server's SETTINGS_ENABLE_CONNECT_PROTOCOL, 200 to the
// CONNECT, texts (ASCII, empty, UTF-8, fragmented inside code points, 1 MiB),
// binaries (0, 125, 126, 65535, 65536 bytes, 1 MiB), a ping and its pong,
// two WebSockets echoing at once on the session, permessage-deflate
// negotiated and the server's echoes compressed (RSV1, read off the stream
// by frame_tap.js), closing handshakes (1000 and 4000 with reasons echoed,
// the server ending the stream), a bad sec-websocket-version refused (400
// with sec-websocket-version: 13), an unknown :protocol refused (501), a new
// WebSocket after the others closed.
// One line per check, `ok - ...` or `FAIL - ...: detail`, then `# done`.
'use strict';

const http2 = require('http2');
const { Receiver, Sender, PerMessageDeflate, extension } = require('ws');
const { FrameTap } = require('./frame_tap');

const LABEL = 'node http2 client -> hyper_server (HTTP/2)';
const TIMEOUT_MS = 20000; // per check

let failed = 0;
function report(ok, name, detail) {
  if (ok) {
    console.log(`ok - ${LABEL}: ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${LABEL}: ${name}: ${detail}`);
  }
}

function timeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${TIMEOUT_MS / 1000}s`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

// One WebSocket as a stream of `session`: incoming events queued so a check
// can await "the next message" / "the next pong" / "the close" / "the end".
class H2WebSocket {
  static open(session, path, { deflate = false, headers = {} } = {}) {
    const req = {
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':path': path,
      'sec-websocket-version': '13',
      ...headers,
    };
    let pmd;
    if (deflate) {
      pmd = new PerMessageDeflate({ threshold: 0, isServer: false, maxPayload: 0 });
      req['sec-websocket-extensions'] = extension.format({ [PerMessageDeflate.extensionName]: pmd.offer() });
    }
    const stream = session.request(req, { endStream: false });
    return new Promise((resolve, reject) => {
      stream.on('error', reject);
      stream.on('response', (answer) => {
        const status = answer[':status'];
        if (status !== 200) {
          stream.close();
          resolve({ status, headers: answer });
          return;
        }
        const extensions = {};
        const ext = answer['sec-websocket-extensions'];
        if (ext && pmd) {
          pmd.accept(extension.parse(ext)[PerMessageDeflate.extensionName]);
          extensions[PerMessageDeflate.extensionName] = pmd;
        }
        resolve({ status, headers: answer, ws: new H2WebSocket(stream, extensions) });
      });
    });
  }

  constructor(stream, extensions) {
    this.stream = stream;
    this.compress = Object.keys(extensions).length > 0;
    this.messages = [];
    this.pongs = [];
    this.closed = null;
    this.ended = false;
    this.error = null;
    this.waiters = [];
    this.tap = new FrameTap();
    this.sender = new Sender(stream, extensions);
    this.receiver = new Receiver({ isServer: false, extensions, maxPayload: 0 });
    this.receiver.on('message', (data, isBinary) => { this.messages.push({ data, isBinary }); this.wake(); });
    this.receiver.on('ping', (data) => this.sender.pong(data, true));
    this.receiver.on('pong', (data) => { this.pongs.push(data); this.wake(); });
    this.receiver.on('conclude', (code, reason) => { this.closed = { code, reason: reason.toString() }; this.wake(); });
    this.receiver.on('error', (err) => { this.error = err; this.wake(); });
    stream.on('data', (d) => { this.tap.feed(d); this.receiver.write(d); });
    stream.on('end', () => { this.ended = true; this.wake(); });
    stream.on('error', (err) => { this.error = err; this.wake(); });
  }
  wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
  async until(pred, what) {
    for (;;) {
      const v = pred();
      if (v !== undefined) return v;
      if (this.error) throw new Error(`${what}: ${this.error.message}`);
      if ((this.closed || this.ended) && what !== 'close' && what !== 'end') {
        throw new Error(`${what}: closed (${JSON.stringify(this.closed)}, END_STREAM ${this.ended})`);
      }
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }
  send(data, binary, fin = true) {
    this.sender.send(data, { binary, fin, mask: true, compress: this.compress });
  }
  next() {
    return this.until(() => this.messages.shift(), 'message');
  }
  async echo(data, binary) {
    this.send(data, binary);
    const m = await timeout(this.next(), 'echo');
    const want = Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (m.isBinary !== binary) throw new Error(`type: sent binary=${binary}, got binary=${m.isBinary}`);
    if (!want.equals(m.data)) throw new Error(`payload differs (${want.length} bytes sent, ${m.data.length} back)`);
  }
  async close(code, reason) {
    this.sender.close(code, reason, true);
    const c = await timeout(this.until(() => this.closed || undefined, 'close'), 'close');
    if (c.code !== code || c.reason !== reason) {
      throw new Error(`server's Close ${c.code} "${c.reason}", sent ${code} "${reason}"`);
    }
    // The server ends the stream after the closing handshake (RFC 6455
    // §7.1.1: it closes the transport first); then we end ours.
    await timeout(this.until(() => (this.ended ? true : undefined), 'end'), 'END_STREAM');
    this.stream.end();
  }
}

async function check(name, fn) {
  try {
    await fn();
    report(true, name);
  } catch (e) {
    report(false, name, e.message);
  }
}

async function main() {
  const url = process.argv[2];
  if (!url) {
    console.error('usage: node node_h2_client_checks.js http://127.0.0.1:PORT');
    process.exit(2);
  }
  const session = http2.connect(url.replace(/^ws:/, 'http:'));
  session.on('error', (e) => console.log(`# session error: ${e.message}`));
  let settings;
  try {
    settings = await timeout(new Promise((resolve) => session.once('remoteSettings', resolve)), 'SETTINGS');
  } catch (e) {
    report(false, 'HTTP/2 session (h2c)', e.message);
    console.log('# done');
    return;
  }
  report(settings.enableConnectProtocol === true, 'the server sends SETTINGS_ENABLE_CONNECT_PROTOCOL = 1',
    `settings: ${JSON.stringify(settings)}`);

  let ws;
  await check('extended CONNECT (:protocol websocket) answered 200', async () => {
    const r = await timeout(H2WebSocket.open(session, '/echo'), 'CONNECT');
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    ws = r.ws;
  });
  if (!ws) {
    session.close();
    console.log('# done');
    return;
  }

  const texts = [
    ['text ASCII', 'hello over HTTP/2'],
    ['text empty', ''],
    ['text 2/3/4-byte UTF-8 (é € U+FFFF U+10FFFF 🎉)', 'é € \uFFFF \u{10FFFF} 🎉'],
    ['text 1 MiB UTF-8', 'ж€🎉a'.repeat(1 << 18)],
  ];
  for (const [name, text] of texts) await check(name, () => ws.echo(text, false));
  for (const n of [0, 125, 126, 65535, 65536, 1 << 20]) {
    const data = Buffer.alloc(n);
    for (let i = 0; i < n; i++) data[i] = (i * 7) % 251;
    await check(`binary ${n} bytes`, () => ws.echo(data, true));
  }
  await check('text in 4 fragments split inside code points', async () => {
    const bytes = Buffer.from('aé€🎉');
    const cuts = [0, 2, 4, 8, bytes.length];
    for (let i = 0; i + 1 < cuts.length; i++) ws.send(bytes.subarray(cuts[i], cuts[i + 1]), false, i + 2 === cuts.length);
    const m = await timeout(ws.next(), 'echo');
    if (m.isBinary || m.data.toString() !== 'aé€🎉') throw new Error(`got ${m.data.toString()}`);
  });
  await check('ping answered by a pong with its payload', async () => {
    ws.sender.ping(Buffer.from('ping over h2'), true);
    const p = await timeout(ws.until(() => ws.pongs.shift(), 'pong'), 'pong');
    if (p.toString() !== 'ping over h2') throw new Error(`pong payload ${p.toString()}`);
  });
  await check('two WebSockets on one session, 200 echoes each at once; close 4000 echoed', async () => {
    const r = await timeout(H2WebSocket.open(session, '/second'), 'CONNECT');
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    const other = r.ws;
    await Promise.all([
      (async () => { for (let i = 0; i < 200; i++) await ws.echo(`first ${i}`, false); })(),
      (async () => { for (let i = 0; i < 200; i++) await other.echo(Buffer.alloc(1000 + i, i & 0xff), true); })(),
    ]);
    await other.close(4000, 'second done');
  });
  await check('permessage-deflate negotiated, round trips, server echoes compressed (RSV1)', async () => {
    const r = await timeout(H2WebSocket.open(session, '/deflate', { deflate: true }), 'CONNECT');
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    const ext = r.headers['sec-websocket-extensions'] || '';
    if (!ext.includes('permessage-deflate')) throw new Error(`answer: ${JSON.stringify(ext)}`);
    const z = r.ws;
    await z.echo('squeeze me '.repeat(1000), false);
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i % 64;
    await z.echo(big, true);
    if (z.tap.messages !== 2 || z.tap.compressed !== 2) {
      throw new Error(`server's data messages: ${z.tap.messages}, compressed: ${z.tap.compressed}`);
    }
    await z.close(1000, '');
  });
  await check('closing handshake 1000 "bye": Close echoed, server ends the stream', () => ws.close(1000, 'bye'));
  await check('bad sec-websocket-version refused 400 with sec-websocket-version: 13', async () => {
    const r = await timeout(H2WebSocket.open(session, '/', { headers: { 'sec-websocket-version': '8' } }), 'CONNECT');
    if (r.status !== 400 || r.headers['sec-websocket-version'] !== '13') {
      throw new Error(`status ${r.status}, sec-websocket-version ${r.headers['sec-websocket-version']}`);
    }
  });
  await check('a CONNECT with an unknown :protocol refused 501', async () => {
    const r = await timeout(H2WebSocket.open(session, '/', { headers: { ':protocol': 'mqtt' } }), 'CONNECT');
    if (r.status !== 501) throw new Error(`status ${r.status}`);
  });
  await check('a new WebSocket on the same session afterwards', async () => {
    const r = await timeout(H2WebSocket.open(session, '/again'), 'CONNECT');
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    await r.ws.echo('still here', false);
    await r.ws.close(1000, '');
  });
  session.close();
  console.log('# done');
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log(`FAIL - ${LABEL}: unexpected error: ${e.stack}`);
  process.exit(1);
});
