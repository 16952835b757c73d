#!/usr/bin/env node
// Interop (b) peer: a Node `ws` echo server on 127.0.0.1, free port. Prints
// `PORT <n>` on stdout once listening; runs until killed.
'use strict';
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 0 });
wss.on('listening', () => console.log(`PORT ${wss.address().port}`));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
