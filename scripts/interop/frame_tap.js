// Counts WebSocket data messages and compressed ones (RSV1 on the first
// frame) by parsing the raw byte stream of one direction, independently of
// ws: `socket.on('data', (d) => tap.feed(d))`. Masked or unmasked frames.
'use strict';

class FrameTap {
  constructor() { this.hdr = Buffer.alloc(0); this.skip = 0; this.messages = 0; this.compressed = 0; this.bad = []; }
  feed(chunk) {
    let off = 0;
    while (off < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        this.skip -= n; off += n; continue;
      }
      const take = Math.min(14 - this.hdr.length, chunk.length - off);
      this.hdr = Buffer.concat([this.hdr, chunk.subarray(off, off + take)]);
      off += take;
      const h = this.hdr;
      if (h.length < 2) continue; // chunk exhausted
      const len7 = h[1] & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
      if (h.length < need) continue; // chunk exhausted
      off -= h.length - need; // bytes past the header are payload
      let len = len7;
      if (len7 === 126) len = h.readUInt16BE(2);
      else if (len7 === 127) len = Number(h.readBigUInt64BE(2));
      const opcode = h[0] & 0x0f;
      const rsv1 = (h[0] & 0x40) !== 0;
      if (opcode === 1 || opcode === 2) { this.messages++; if (rsv1) this.compressed++; }
      else if (rsv1) this.bad.push(`RSV1 on opcode ${opcode}`);
      this.hdr = Buffer.alloc(0);
      this.skip = len;
    }
  }
}

module.exports = { FrameTap };
