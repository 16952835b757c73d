#!/usr/bin/env node
// Interop (e) peer: a WebSocket echo server over HTTP/2 (RFC 8441) written
// with Node's own `http2` module (h2c, `settings: { enableConnectProtocol:
// true }`), frames by `ws`'s Receiver/Sender over the HTTP/2 stream (no ws
// handshake code involved). 127.0.0.1, free port; prints `PORT <n>` once
// listening; runs until killed.
//
// Extended CONNECTs (`:method` CONNECT, `:protocol` websocket,
// `sec-websocket-version: 13`) are answered 200, with permessage-deflate
// when offered (ws's PerMessageDeflate, threshold 0: every echo
// compressed); anything else 400. Echoes texts and binaries with their
// type, answers pings, echoes the Close's code and reason, then ends the
// stream (END_STREAM). One line per WebSocket stream when it is over:
//   STREAM session=<n> path=<:path> ext=<answer or -> messages=<n> pings=<n> close=<code or ->
'use strict';
const http2 = require('http2');
const { Receiver, Sender, PerMessageDeflate, extension } = require('ws');

let sessions = 0;
const server = http2.createServer({ settings: { enableConnectProtocol: true } });
server.on('session', (session) => {
  session.id = ++sessions;
  session.on('error', () => {});
});

server.on('stream', (stream, headers) => {
  const sid = stream.session.id;
  stream.on('error', () => {});
  if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
    stream.respond({ ':status': 400 }, { endStream: true });
    return;
  }
  if (headers['sec-websocket-version'] !== '13') {
    stream.respond({ ':status': 400, 'sec-websocket-version': '13' }, { endStream: true });
    return;
  }
  const answer = { ':status': 200 };
  const extensions = {};
  let ext = '-';
  if (headers['sec-websocket-extensions']) {
    try {
      const offers = extension.parse(headers['sec-websocket-extensions'])[PerMessageDeflate.extensionName];
      if (offers) {
        const pmd = new PerMessageDeflate({ threshold: 0, isServer: true, maxPayload: 0 });
        const params = pmd.accept(offers);
        extensions[PerMessageDeflate.extensionName] = pmd;
        ext = extension.format({ [PerMessageDeflate.extensionName]: params });
        answer['sec-websocket-extensions'] = ext;
      }
    } catch (e) {
      stream.respond({ ':status': 400 }, { endStream: true });
      return;
    }
  }
  if (headers['sec-websocket-protocol']) {
    answer['sec-websocket-protocol'] = headers['sec-websocket-protocol'].split(',')[0].trim();
  }
  stream.respond(answer);

  const compress = ext !== '-';
  const sender = new Sender(stream, extensions);
  const receiver = new Receiver({ isServer: true, extensions, maxPayload: 0 });
  let messages = 0;
  let pings = 0;
  let closeCode = '-';
  let closing = false;
  const closeWith = (code, reason) => {
    if (closing) return;
    closing = true;
    sender.close(code, reason, false, () => stream.end());
  };
  receiver.on('message', (data, isBinary) => {
    messages++;
    if (!closing) sender.send(data, { binary: isBinary, fin: true, mask: false, compress });
  });
  receiver.on('ping', (data) => {
    pings++;
    if (!closing) sender.pong(data, false);
  });
  receiver.on('pong', () => {});
  receiver.on('conclude', (code, reason) => {
    closeCode = code;
    closeWith(code === 1005 ? undefined : code, code === 1005 ? undefined : reason);
  });
  receiver.on('error', (err) => {
    const status = Object.getOwnPropertySymbols(err)
      .filter((s) => s.toString() === 'Symbol(status-code)')
      .map((s) => err[s])[0];
    closeCode = `error:${err.code || err.message}`;
    closeWith(status || 1002, '');
  });
  stream.pipe(receiver);
  stream.on('close', () => {
    for (const pmd of Object.values(extensions)) pmd.cleanup();
    console.log(
      `STREAM session=${sid} path=${headers[':path']} ext=${ext} ` +
        `messages=${messages} pings=${pings} close=${closeCode}`,
    );
  });
});

server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
