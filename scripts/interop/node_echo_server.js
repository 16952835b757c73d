#!/usr/bin/env node
// Interop (b)/(d) peer: a Node `ws` echo server on 127.0.0.1, free port.
// Prints `PORT <n>` on stdout once listening; runs until killed.
//   --deflate   accept permessage-deflate (perMessageDeflate, threshold 0:
//               every message compressed)
// Per connection, at its end: `CONN ext=<Sec-WebSocket-Extensions answered
// or ->` messages=<data messages received> compressed=<of them with RSV1>`
// (the client's frames are parsed off the socket by frame_tap.js).
'use strict';
const { WebSocketServer } = require('ws');
const { FrameTap } = require('./frame_tap');

const deflate = process.argv.includes('--deflate');
const wss = new WebSocketServer({
  host: '127.0.0.1', port: 0, maxPayload: 0,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
});
const answered = new WeakMap(); // request -> extensions answered
wss.on('headers', (headers, req) => {
  const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
  answered.set(req, h ? h.replace(/^[^:]*:\s*/, '') : '-');
});
wss.on('listening', () => console.log(`PORT ${wss.address().port}`));
wss.on('connection', (ws, req) => {
  const ext = answered.get(req) || '-';
  const tap = new FrameTap();
  req.socket.on('data', (d) => tap.feed(d));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', () => console.log(`CONN ext=${ext} messages=${tap.messages} compressed=${tap.compressed}`));
  ws.on('error', () => {});
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
