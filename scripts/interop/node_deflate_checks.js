#!/usr/bin/env node
// Interop (c): permessage-deflate (RFC 7692) against an echo server (our
// `echo_server`) with a Node `ws` client. Usage:
//   node node_deflate_checks.js ws://127.0.0.1:PORT
//
// 1. `perMessageDeflate: true`: negotiation seen in ws.extensions and the
//    upgrade response header, round trips incl. empty, 1 MiB, 16 MiB and
//    fragmented sends (`ws.send(chunk, {fin: false})`).
// 2. a matrix of object configs ({serverNoContextTakeover,
//    clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits,
//    threshold: 0}): per combination "answer accepted" (ws opens with the
//    extension, parameters match the offer) and "round trips".
//    serverMaxWindowBits 8 must be declined and work uncompressed;
//    clientMaxWindowBits 8 must be answered with a value <= 8 or none (or
//    declined).
// Every echo must come back compressed: the frames on the socket are parsed
// independently of ws (RSV1 on the first frame of each data message).
//
// Prints `ok - ...` / `FAIL - ...: detail` lines, `# ...` notes, then `# done`.
'use strict';

const crypto = require('crypto');
const WebSocket = require('ws');

const LABEL = 'node-ws deflate client -> echo_server';
const TIMEOUT_MS = 20000;
const BIG_TIMEOUT_MS = 60000;
const MIB = 1 << 20;

let failed = 0;
function report(ok, name, detail) {
  if (ok) console.log(`ok - ${LABEL}: ${name}`);
  else { failed++; console.log(`FAIL - ${LABEL}: ${name}: ${detail}`); }
}
const note = (s) => console.log(`# ${s}`);

// --- payloads
function compressibleBytes(size) {
  const unit = Buffer.concat([crypto.randomBytes(1500), ...Array(3).fill(crypto.randomBytes(300)), Buffer.alloc(200)]);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += unit.length) unit.copy(out, i, 0, Math.min(unit.length, size - i));
  return out;
}
function compressibleText(size) { // valid UTF-8 of exactly `size` bytes
  const words = ['alpha ', 'beta ', 'caf\u00e9 ', '\u20ac ', '\u4e2d\u6587 ', '\u{1F600} ', 'deflate ', '0123456789 '];
  const parts = [];
  let n = 0;
  while (n < size) {
    const w = Buffer.from(words[crypto.randomInt(words.length)]);
    if (n + w.length > size) { parts.push(Buffer.alloc(size - n, 0x78)); break; }
    parts.push(w);
    n += w.length;
  }
  return Buffer.concat(parts, size);
}
function splitInsideCodePoints(buf) {
  const frags = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] >= 0xc0) { frags.push(buf.subarray(start, i + 1)); start = i + 1; }
  frags.push(buf.subarray(start));
  return frags;
}

const { FrameTap } = require('./frame_tap');

class Conn {
  constructor(url, pmd) {
    this.messages = []; this.waiters = []; this.closed = null; this.error = null;
    this.tap = new FrameTap();
    this.responseHeader = undefined;
    this.ws = new WebSocket(url, { maxPayload: 0, handshakeTimeout: 10000, perMessageDeflate: pmd });
    this.ws.on('upgrade', (res) => { this.responseHeader = res.headers['sec-websocket-extensions']; });
    this.ws.on('open', () => { if (this.ws._socket) this.ws._socket.on('data', (d) => this.tap.feed(d)); });
    this.ws.on('message', (data, isBinary) => { this.messages.push({ data, isBinary }); this.wake(); });
    this.ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() }; this.wake(); });
    this.ws.on('error', (err) => { this.error = err; this.wake(); });
  }
  wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  async until(pred, what) {
    for (;;) {
      const v = pred();
      if (v !== undefined) return v;
      if (this.error) throw new Error(`${what}: ${this.error.message}`);
      if (this.closed && what !== 'close') throw new Error(`${what}: connection closed (code ${this.closed.code} ${this.closed.reason})`);
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }
  open() {
    return new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', (code) => reject(new Error(`closed before open (${code})`)));
    });
  }
  nextMessage() { return this.until(() => this.messages.shift(), 'message'); }
  send(data, opts) { return new Promise((resolve, reject) => this.ws.send(data, opts, (e) => (e ? reject(e) : resolve()))); }
  // frames: [{data, opts}]; expects one echoed message equal to `expected`
  async echo(frames, expected, expectBinary) {
    for (const f of frames) await this.send(f.data, f.opts);
    const m = await this.nextMessage();
    const got = Buffer.from(m.data);
    const d = (b, buf) => `${b ? 'binary' : 'text'} of ${buf.length} bytes`;
    if (m.isBinary !== expectBinary || !got.equals(expected)) return `expected ${d(expectBinary, expected)}, got ${d(m.isBinary, got)}${m.isBinary === expectBinary ? ' (payload differs)' : ''}`;
    return undefined;
  }
  terminate() { try { this.ws.terminate(); } catch (e) { /* ignore */ } }
}

const whole = (data, binary) => [{ data, opts: { binary, fin: true } }];
const fragments = (bufs, binary) => bufs.map((data, i) => ({ data, opts: { binary, fin: i === bufs.length - 1 } }));

async function check(name, fn, ms = TIMEOUT_MS) {
  let detail; let timer;
  try {
    detail = await Promise.race([fn(), new Promise((r) => { timer = setTimeout(() => r(`timed out after ${ms / 1000}s`), ms); })]);
  } catch (err) { detail = `${err.name}: ${err.message}`; } finally { clearTimeout(timer); }
  report(!detail, name, detail);
  return !detail;
}

function parseExt(header) { // -> [{name, params}]
  if (!header) return [];
  return header.split(',').map((e) => {
    const [name, ...ps] = e.split(';').map((s) => s.trim());
    const params = {};
    for (const p of ps) { const [k, v] = p.split('=').map((s) => s.trim()); params[k] = v === undefined ? true : v.replace(/^"|"$/g, ''); }
    return { name, params };
  });
}

// --- 1. perMessageDeflate: true
async function defaults(url) {
  let c = null;
  const ok = await check('perMessageDeflate: true: permessage-deflate negotiated (ws.extensions, response header)', async () => {
    c = new Conn(url, true);
    await c.open();
    note(`perMessageDeflate: true answered with Sec-WebSocket-Extensions: ${c.responseHeader}`);
    if (!c.ws.extensions.includes('permessage-deflate')) return `ws.extensions is ${JSON.stringify(c.ws.extensions)}`;
    if (!c.responseHeader || !c.responseHeader.includes('permessage-deflate')) return `response header ${JSON.stringify(c.responseHeader)}`;
    return undefined;
  });
  if (!ok) { if (c) c.terminate(); return; }
  const live = () => { if (c.closed || c.error) throw new Error('connection lost after an earlier failure'); return c; };
  const text64k = compressibleText(64 * 1024);
  const cases = [
    ['empty text', Buffer.alloc(0), false],
    ['empty binary', Buffer.alloc(0), true],
    ['text 2/3/4-byte UTF-8 incl. U+FFFF and U+10FFFF', Buffer.from('caf\u00e9 \u20ac \u4e2d\u6587 \uffff \u{1F600} \u{10FFFF}'), false],
    ['text 64 KiB compressible', text64k, false],
    ['text 64 KiB compressible again (context takeover)', text64k, false],
    ['binary 65536 bytes random', crypto.randomBytes(65536), true],
    ['binary 1 MiB random', crypto.randomBytes(MIB), true],
    ['binary 1 MiB compressible', compressibleBytes(MIB), true],
    ['text 1 MiB compressible', compressibleText(MIB), false],
    ['binary 16 MiB compressible', compressibleBytes(16 * MIB), true, BIG_TIMEOUT_MS],
    ['binary 16 MiB random', crypto.randomBytes(16 * MIB), true, BIG_TIMEOUT_MS],
    ['text 16 MiB compressible', compressibleText(16 * MIB), false, BIG_TIMEOUT_MS],
  ];
  for (const [name, buf, binary, ms] of cases) {
    await check(`perMessageDeflate: true: ${name} echoed`,
      () => live().echo(whole(binary ? buf : buf.toString('utf8'), binary), buf, binary), ms);
  }
  const parts = [crypto.randomBytes(1000), Buffer.alloc(0), compressibleBytes(70000), crypto.randomBytes(3)];
  await check('perMessageDeflate: true: binary in 4 fragments (fin:false; incl. an empty one) echoed as one message',
    () => live().echo(fragments(parts, true), Buffer.concat(parts), true));
  const utf8 = Buffer.from('caf\u00e9 \u00fc\u00f1\u00df \u20ac \u4e2d\u6587 \uffff \u{1F600} \u{10FFFF}');
  const frags = splitInsideCodePoints(utf8);
  await check(`perMessageDeflate: true: text in ${frags.length} fragments split inside code points`,
    () => live().echo(fragments(frags, false), utf8, false));
  const big = compressibleBytes(16 * MIB);
  const bigFrags = [];
  for (let i = 0; i < big.length; i += MIB) bigFrags.push(big.subarray(i, i + MIB));
  await check('perMessageDeflate: true: binary 16 MiB in 16 fragments of 1 MiB echoed',
    () => live().echo(fragments(bigFrags, true), big, true), BIG_TIMEOUT_MS);
  const bigText = compressibleText(MIB);
  const tf = splitInsideCodePoints(bigText);
  const tfrags = [];
  for (let i = 0; i < tf.length; i += 5000) tfrags.push(Buffer.concat(tf.slice(i, i + 5000)));
  await check(`perMessageDeflate: true: 1 MiB text in ${tfrags.length} fragments split inside code points`,
    () => live().echo(fragments(tfrags, false), bigText, false));
  await check('perMessageDeflate: true: every echo arrived compressed (RSV1, frames parsed off the socket)', async () => {
    const t = live().tap;
    note(`perMessageDeflate: true: ${t.compressed} of ${t.messages} echoed messages compressed`);
    if (t.bad.length) return t.bad.join('; ');
    if (t.messages !== cases.length + 4) return `counted ${t.messages} data messages, expected ${cases.length + 4}`;
    if (t.compressed !== t.messages) return `only ${t.compressed} of ${t.messages} echoes had RSV1`;
    return undefined;
  });
  await check('perMessageDeflate: true: close 1000 "bye" echoed', async () => {
    live().ws.close(1000, 'bye');
    const ev = await c.until(() => (c.closed ? c.closed : undefined), 'close');
    return ev.code === 1000 && ev.reason === 'bye' ? undefined : `close echoed as ${ev.code} ${JSON.stringify(ev.reason)}`;
  });
  c.terminate();
}

// --- 2. matrix
function matrix() {
  const combos = [];
  for (const snct of [false, true]) {
    for (const cnct of [false, true]) {
      for (const [s, cl] of [[undefined, true], [9, 9], [15, 15], [12, false]]) combos.push([snct, cnct, s, cl]);
    }
  }
  for (const [s, cl] of [[undefined, false], [undefined, 9], [undefined, 15], [9, false], [9, true], [9, 15],
    [12, true], [12, 9], [15, false], [15, true], [15, 9]]) combos.push([false, false, s, cl]);
  combos.push([true, true, 9, true]);
  // client_max_window_bits=8 (ws can offer it, websockets cannot): the answer
  // must carry a value <= 8 or none, or the offer be declined (RFC 7692 7.1.2.2)
  combos.push([false, false, undefined, 8], [true, true, 12, 8]);
  return combos;
}
function comboName([snct, cnct, s, cl]) {
  return `{serverNoContextTakeover:${snct}, clientNoContextTakeover:${cnct}, serverMaxWindowBits:${s}, clientMaxWindowBits:${cl}, threshold:0}`;
}
function answerProblems(header, [snct, cnct, s, cl]) {
  const pmd = parseExt(header).filter((e) => e.name === 'permessage-deflate');
  if (pmd.length !== 1) return [`expected one permessage-deflate in ${JSON.stringify(header)}`];
  const p = pmd[0].params;
  const probs = [];
  if (snct !== ('server_no_context_takeover' in p)) probs.push(`server_no_context_takeover ${snct ? 'missing' : 'added though not asked for'}`);
  if (!cnct && 'client_no_context_takeover' in p) probs.push('client_no_context_takeover added though not asked for');
  const gs = p.server_max_window_bits;
  if (s !== undefined && gs !== String(s)) probs.push(`server_max_window_bits=${gs}, expected ${s} (as offered)`);
  if (s === undefined && gs !== undefined) probs.push(`server_max_window_bits=${gs} though not offered`);
  const gc = p.client_max_window_bits;
  if (cl === false && gc !== undefined) probs.push(`client_max_window_bits=${gc} though not offered`);
  if (typeof cl === 'number' && gc !== undefined && Number(gc) > cl) probs.push(`client_max_window_bits=${gc} > offered ${cl}`);
  return probs;
}

async function comboChecks(url, combo) {
  const [snct, cnct, s, cl] = combo;
  const name = comboName(combo);
  const pmd = { serverNoContextTakeover: snct, clientNoContextTakeover: cnct, clientMaxWindowBits: cl, threshold: 0 };
  if (s !== undefined) pmd.serverMaxWindowBits = s;
  const c = new Conn(url, pmd);
  const mayDecline = cl === 8;
  let opened = false;
  let negotiated = false;
  await check(`${name}: answer accepted, parameters as offered${mayDecline ? ' (or offer declined)' : ''}`, async () => {
    try {
      await c.open();
    } catch (err) {
      return `ws refused the handshake: ${err.message} (answer ${JSON.stringify(c.responseHeader)})`;
    }
    opened = true;
    negotiated = c.ws.extensions.includes('permessage-deflate');
    if (!negotiated && mayDecline && c.responseHeader === undefined) return undefined;
    if (!negotiated) return `ws.extensions ${JSON.stringify(c.ws.extensions)} (answer ${JSON.stringify(c.responseHeader)})`;
    const probs = answerProblems(c.responseHeader, combo);
    return probs.length ? `answer ${JSON.stringify(c.responseHeader)}: ${probs.join('; ')}` : undefined;
  });
  if (!opened) { report(false, `${name}: round trips`, 'no connection (see above)'); c.terminate(); return; }
  await check(`${name}: round trips (64 KiB repeated/random, split UTF-8), echoes compressed`, async () => {
    const rep = compressibleBytes(64 * 1024);
    const text = Buffer.from('caf\u00e9 \u20ac \u{1F600} '.repeat(40));
    const msgs = [[Buffer.from('small text \u00e9'), false], [rep, true], [rep, true], [crypto.randomBytes(65536), true],
      [text, false], [text, false], [compressibleText(65536), false], [Buffer.alloc(0), true]];
    for (const [buf, bin] of msgs) {
      const d = await c.echo(whole(bin ? buf : buf.toString(), bin), buf, bin);
      if (d) return d;
    }
    const d = await c.echo(fragments(splitInsideCodePoints(text), false), text, false);
    if (d) return `fragmented: ${d}`;
    const t = c.tap;
    if (t.bad.length) return t.bad.join('; ');
    const want = negotiated ? 9 : 0;
    if (t.messages !== 9 || t.compressed !== want) return `${t.compressed} of ${t.messages} echoes compressed, expected ${want} of 9`;
    return undefined;
  });
  c.terminate();
}

async function declinedChecks(url, snct, cl) {
  const pmd = { serverNoContextTakeover: snct, serverMaxWindowBits: 8, clientMaxWindowBits: cl, threshold: 0 };
  await check(`${comboName([snct, false, 8, cl])}: declined (no extension), uncompressed round trips work`, async () => {
    const c = new Conn(url, pmd);
    try {
      await c.open();
      if (c.responseHeader !== undefined) return `expected the offer declined, got ${JSON.stringify(c.responseHeader)}`;
      if (c.ws.extensions !== '') return `ws.extensions ${JSON.stringify(c.ws.extensions)}`;
      for (const [buf, bin] of [[Buffer.from('uncompressed \u20ac'), false], [crypto.randomBytes(65536), true], [compressibleBytes(65536), true]]) {
        const d = await c.echo(whole(bin ? buf : buf.toString(), bin), buf, bin);
        if (d) return d;
      }
      if (c.tap.compressed !== 0) return `${c.tap.compressed} echoes had RSV1 without the extension`;
      return undefined;
    } finally { c.terminate(); }
  });
}

async function main() {
  const url = process.argv[2];
  await defaults(url);
  for (const combo of matrix()) await comboChecks(url, combo);
  await declinedChecks(url, false, true);
  await declinedChecks(url, true, 9);
  console.log('# done');
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.log(`FAIL - ${LABEL}: checker crashed: ${err.stack}`);
  process.exitCode = 1;
});
