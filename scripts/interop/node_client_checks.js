#!/usr/bin/env node
// Interop (a): drive an echo server (our `echo_server`) with a Node `ws`
// client. Usage: node node_client_checks.js ws://127.0.0.1:PORT
//
// Prints one line per check: `ok - ...` or `FAIL - ...: detail`, then
// `# done` once every check has run (scripts/interop.sh counts the lines).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

const LABEL = 'node-ws client -> echo_server';
const TIMEOUT_MS = 20000; // per check
const CASES = JSON.parse(fs.readFileSync(path.join(__dirname, 'cases.json'), 'utf8'));

let passed = 0;
let failed = 0;

function report(ok, name, detail) {
  if (ok) {
    passed++;
    console.log(`ok - ${LABEL}: ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${LABEL}: ${name}: ${detail}`);
  }
}

// Split right after the lead byte of every multi-byte UTF-8 sequence, so every
// boundary falls inside a code point.
function splitInsideCodePoints(buf) {
  const frags = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] >= 0xc0) {
      frags.push(buf.subarray(start, i + 1));
      start = i + 1;
    }
  }
  frags.push(buf.subarray(start));
  return frags;
}

// A connection that queues incoming events, so a check can await "the next
// message" / "the next pong" / "the close".
class Conn {
  constructor(url) {
    this.messages = [];
    this.pongs = [];
    this.waiters = [];
    this.closed = null;
    this.error = null;
    // maxPayload 0 = no limit. perMessageDeflate left at its default (offered;
    // the server may decline).
    this.ws = new WebSocket(url, { maxPayload: 0, handshakeTimeout: 10000 });
    this.ws.on('message', (data, isBinary) => { this.messages.push({ data, isBinary }); this.wake(); });
    this.ws.on('pong', (data) => { this.pongs.push(data); this.wake(); });
    this.ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString('utf8') }; this.wake(); });
    this.ws.on('error', (err) => { this.error = err; this.wake(); });
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
      if (this.closed && what !== 'close') {
        throw new Error(`${what}: connection closed (code ${this.closed.code} ${this.closed.reason})`);
      }
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }
  open() {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', (code) => reject(new Error(`closed before open (${code})`)));
    });
  }
  nextMessage() { return this.until(() => this.messages.shift(), 'message'); }
  nextPong() { return this.until(() => this.pongs.shift(), 'pong'); }
  closeEvent() { return this.until(() => (this.closed ? this.closed : undefined), 'close'); }
  send(data, opts) {
    return new Promise((resolve, reject) => this.ws.send(data, opts, (err) => (err ? reject(err) : resolve())));
  }
}

let conn = null;
async function getConn(url) {
  if (!conn || conn.ws.readyState !== WebSocket.OPEN) {
    conn = new Conn(url);
    await conn.open();
  }
  return conn;
}

async function check(name, fn) {
  let detail;
  let timer;
  try {
    detail = await Promise.race([
      fn(),
      new Promise((resolve) => { timer = setTimeout(() => resolve(`timed out after ${TIMEOUT_MS / 1000}s`), TIMEOUT_MS); }),
    ]);
  } catch (err) {
    detail = `${err.name}: ${err.message}`;
  } finally {
    clearTimeout(timer);
  }
  if (detail) {
    if (conn) conn.ws.terminate();
    conn = null;
  }
  report(!detail, name, detail);
}

function describe(isBinary, buf) {
  return `${isBinary ? 'binary' : 'text'} of ${buf.length} bytes`;
}

// Send `frames` ([{data, opts}]) and expect one echoed message.
async function echo(url, frames, expected, expectBinary) {
  const c = await getConn(url);
  for (const f of frames) await c.send(f.data, f.opts);
  const m = await c.nextMessage();
  const got = Buffer.from(m.data);
  if (m.isBinary !== expectBinary) return `expected ${describe(expectBinary, expected)}, got ${describe(m.isBinary, got)}`;
  if (!got.equals(expected)) return `payload differs: expected ${describe(expectBinary, expected)}, got ${describe(m.isBinary, got)}`;
  return undefined;
}

function fragments(bufs, binary) {
  return bufs.map((data, i) => ({ data, opts: { binary, fin: i === bufs.length - 1 } }));
}

async function main() {
  const url = process.argv[2];

  // --- text messages, single frame
  for (const c of CASES.texts) {
    const buf = Buffer.from(c.text, 'utf8');
    await check(`text ${c.name} (${buf.length} bytes) echoed as text`,
      () => echo(url, [{ data: c.text, opts: { binary: false } }], buf, false));
  }

  // --- text messages as byte fragments split inside code points
  for (const c of CASES.texts) {
    const buf = Buffer.from(c.text, 'utf8');
    if (buf.every((b) => b < 0x80)) continue;
    const frags = splitInsideCodePoints(buf);
    await check(`text ${c.name} in ${frags.length} fragments split inside code points`,
      () => echo(url, fragments(frags, false), buf, false));
  }
  const all = Buffer.from(CASES.texts.map((c) => c.text).join(''), 'utf8');
  const oneByte = [...all].map((b) => Buffer.from([b]));
  await check(`text with all of the above, one byte per fragment (${oneByte.length} fragments)`,
    () => echo(url, fragments(oneByte, false), all, false));

  // --- a ping between the fragments of a text message
  await check('ping between two fragments of a text message: pong and message both come back', async () => {
    const c = await getConn(url);
    const text = Buffer.from('before-ping \u20ac after-ping', 'utf8');
    const cut = text.indexOf(0xe2) + 1; // inside the euro sign
    const payload = Buffer.from('mid-message ping');
    await c.send(text.subarray(0, cut), { binary: false, fin: false });
    c.ws.ping(payload);
    await c.send(text.subarray(cut), { binary: false, fin: true });
    const pong = await c.nextPong();
    if (!Buffer.from(pong).equals(payload)) return `pong payload ${JSON.stringify(pong.toString())}`;
    const m = await c.nextMessage();
    if (m.isBinary || !Buffer.from(m.data).equals(text)) return `echo was ${describe(m.isBinary, Buffer.from(m.data))}, not the text`;
    return undefined;
  });

  // --- binary messages
  for (const size of CASES.binary_sizes) {
    const buf = crypto.randomBytes(size);
    await check(`binary ${size} bytes echoed as binary`,
      () => echo(url, [{ data: buf, opts: { binary: true } }], buf, true));
  }
  const parts = [crypto.randomBytes(1000), Buffer.alloc(0), crypto.randomBytes(70000), crypto.randomBytes(3)];
  await check('binary in 4 fragments (incl. an empty one) echoed as one message',
    () => echo(url, fragments(parts, true), Buffer.concat(parts), true));

  // --- ping / pong
  for (const [name, payload] of [['short', Buffer.from('ping \u0000\u00ff payload', 'latin1')], ['125-byte', crypto.randomBytes(125)], ['empty', Buffer.alloc(0)]]) {
    await check(`ping with ${name} payload answered by pong with the same payload`, async () => {
      const c = await getConn(url);
      c.ws.ping(payload);
      const pong = await c.nextPong();
      if (!Buffer.from(pong).equals(payload)) return `pong payload is ${pong.length} bytes ${Buffer.from(pong).toString('hex')}, expected ${payload.toString('hex')}`;
      return undefined;
    });
  }

  // --- close handshakes (fresh connection each)
  for (const [code, reason] of [[1000, ''], [4000, 'custom reason \u2713']]) {
    const label = `close ${code}` + (reason ? ` with reason ${JSON.stringify(reason)}` : '');
    await check(`${label}: same code and reason echoed`, async () => {
      if (conn) { conn.ws.terminate(); conn = null; }
      const c = new Conn(url);
      await c.open();
      c.ws.close(code, reason);
      const ev = await c.closeEvent();
      if (ev.code !== code) return `echoed close code ${ev.code}, expected ${code}`;
      if (ev.reason !== reason) return `close code ok but echoed reason ${JSON.stringify(ev.reason)}, expected ${JSON.stringify(reason)}`;
      return undefined;
    });
  }

  if (conn) conn.ws.terminate();
  console.log('# done');
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.log(`FAIL - ${LABEL}: checker crashed: ${err.stack}`);
  process.exitCode = 1;
});
