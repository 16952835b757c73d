//! Shared by the fuzz targets: a connection driver for arbitrary received
//! bytes, a checker of the bytes a connection sends, deterministic keys.
#![allow(dead_code)]

use rfc6455::deflate::{DeflateConfig, Negotiated};
use rfc6455::frame::{FrameHeader, OpCode, RSV1};
use rfc6455::mask::apply_mask;
use rfc6455::rand::KeySource;
use rfc6455::{CloseCode, Config, Connection, Error, Message, MessageKind, Role, State};

/// Masking keys from a fixed 4-byte cycle (zero keys included: the fuzzer
/// picks them).
pub struct FixedKeys(pub [u8; 4]);

impl KeySource for FixedKeys {
    fn fill(&mut self, dest: &mut [u8]) {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = self.0[i % 4];
        }
        // Vary the key from frame to frame.
        self.0 = u32::from_le_bytes(self.0)
            .wrapping_mul(0x9E37_79B9)
            .wrapping_add(1)
            .to_le_bytes();
    }
}

/// Limits small enough that exceeding them is cheap.
pub const LIMIT: usize = 64 << 10;

pub fn small_config() -> Config {
    let mut c = Config::default();
    c.max_frame_size = LIMIT;
    c.max_message_size = LIMIT;
    c.read_buffer_size = 512;
    c.max_read_size = 8 << 10;
    c.buffer_retain = 256;
    c
}

/// Parses the byte stream a connection sends and checks it frame by frame:
/// masking by role, no RSV bits, well-formed control frames, valid close
/// codes and reasons, fragment sequencing, UTF-8 text, nothing after Close.
pub struct SentChecker {
    role: Role,
    pending: Vec<u8>,
    close_seen: bool,
    /// The kind of the fragmented message being sent, and its text so far.
    open: Option<MessageKind>,
    text: Vec<u8>,
    /// Close codes (None: empty body) the next Close frames must carry.
    pub expect_close: Option<Option<u16>>,
    pub frames: usize,
    /// permessage-deflate on: RSV1 may mark a message's first frame.
    deflate: bool,
    /// Whether the message being sent is compressed (its text is checked by
    /// the peer, after inflating).
    compressed: bool,
    /// Data frames sent with RSV1.
    pub compressed_frames: usize,
    /// With deflate: a peer connection (same parameters) that must decode
    /// everything sent without error.
    peer: Option<Connection>,
    pub peer_messages: usize,
}

impl SentChecker {
    pub fn new(role: Role) -> Self {
        SentChecker {
            role,
            pending: Vec::new(),
            close_seen: false,
            open: None,
            text: Vec::new(),
            expect_close: None,
            frames: 0,
            deflate: false,
            compressed: false,
            compressed_frames: 0,
            peer: None,
            peer_messages: 0,
        }
    }

    /// A checker for a connection with permessage-deflate on; with `peer`,
    /// everything sent is also fed to that (opposite-role, same-parameter)
    /// connection, which must decode it without error.
    pub fn with_deflate(role: Role, peer: Option<Connection>) -> Self {
        let mut c = SentChecker::new(role);
        c.deflate = true;
        c.peer = peer;
        c
    }

    pub fn close_seen(&self) -> bool {
        self.close_seen
    }

    /// Takes bytes the connection sent, in order.
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if let Some(peer) = self.peer.as_mut() {
            peer.feed(bytes);
            loop {
                match peer.next_message() {
                    Ok(Some(_)) => self.peer_messages += 1,
                    Ok(None) => break,
                    Err(e) => panic!(
                        "the peer failed with {e:?} decoding what was sent (after {} messages)",
                        self.peer_messages
                    ),
                }
            }
            let _ = peer.take_output();
        }
        loop {
            let (h, hl) = match FrameHeader::parse(&self.pending) {
                Ok(Some(x)) => x,
                Ok(None) => return,
                Err(e) => panic!("connection sent an undecodable header: {e:?}"),
            };
            let total = hl + h.payload_len as usize;
            if self.pending.len() < total {
                return;
            }
            let mut payload = self.pending[hl..total].to_vec();
            self.pending.drain(..total);
            self.frame(h, &mut payload);
        }
    }

    fn frame(&mut self, h: FrameHeader, payload: &mut [u8]) {
        self.frames += 1;
        assert!(!self.close_seen, "frame {h:?} sent after a Close frame");
        let data_first = matches!(h.opcode, OpCode::Text | OpCode::Binary);
        if self.deflate && data_first && h.rsv == RSV1 {
            self.compressed_frames += 1;
        } else if self.deflate {
            assert_eq!(h.rsv, 0, "RSV bits {:#b} sent on a {:?} frame", h.rsv, h.opcode);
        } else {
            assert_eq!(h.rsv, 0, "RSV bits sent without an extension");
        }
        match self.role {
            Role::Client => assert!(h.mask.is_some(), "client sent an unmasked frame"),
            Role::Server => assert!(h.mask.is_none(), "server sent a masked frame"),
        }
        if let Some(k) = h.mask {
            apply_mask(payload, k, 0);
        }
        if h.opcode.is_control() {
            assert!(h.fin, "fragmented control frame sent");
            assert!(payload.len() <= 125, "control frame of {} bytes sent", payload.len());
        }
        match h.opcode {
            OpCode::Close => {
                self.close_seen = true;
                assert_ne!(payload.len(), 1, "close frame with a 1-byte body sent");
                let code = if payload.len() >= 2 {
                    let c = u16::from_be_bytes([payload[0], payload[1]]);
                    assert!(
                        CloseCode::new(c).is_valid_on_wire(),
                        "close code {c} sent on the wire"
                    );
                    assert!(
                        core::str::from_utf8(&payload[2..]).is_ok(),
                        "close reason sent is not UTF-8"
                    );
                    Some(c)
                } else {
                    None
                };
                if let Some(expected) = self.expect_close.take() {
                    assert_eq!(code, expected, "close code sent differs from the expected one");
                }
            }
            OpCode::Ping | OpCode::Pong => {}
            OpCode::Text | OpCode::Binary => {
                assert!(self.open.is_none(), "new message sent inside a fragmented one");
                let kind = if h.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.text.clear();
                self.compressed = h.rsv == RSV1;
                if kind == MessageKind::Text && !self.compressed {
                    self.text.extend_from_slice(payload);
                }
                if h.fin {
                    self.finish(kind);
                } else {
                    self.open = Some(kind);
                }
            }
            OpCode::Continuation => {
                let kind = self.open.expect("continuation sent with no message open");
                if kind == MessageKind::Text && !self.compressed {
                    self.text.extend_from_slice(payload);
                }
                if h.fin {
                    self.open = None;
                    self.finish(kind);
                }
            }
        }
    }

    fn finish(&mut self, kind: MessageKind) {
        if kind == MessageKind::Text && !self.compressed {
            assert!(
                core::str::from_utf8(&self.text).is_ok(),
                "text message sent is not UTF-8"
            );
        }
        self.text.clear();
    }

    /// At the end: nothing half-sent is left unexplained.
    pub fn finish_stream(&self, whole_output_written: bool) {
        if whole_output_written {
            assert!(self.pending.is_empty(), "output ends in the middle of a frame");
            assert!(
                self.expect_close.is_none(),
                "a Close frame was due ({:?}) but none was sent",
                self.expect_close
            );
        }
    }
}

/// Byte reader over the fuzz input.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

const CLOSE_CODES: [u16; 16] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
    // Invalid ones: `close` must refuse them.
    1005, 999,
];

const TEXTS: [&str; 4] = ["", "Hello", "κόσμε", "🦀 fuzz"];

/// Moves up to `limit` bytes of output out of the connection into the checker.
fn write_out(conn: &mut Connection, checker: &mut SentChecker, mut limit: usize) {
    while limit > 0 && !conn.output().is_empty() {
        let out = conn.output();
        let f = out.front();
        assert!(!f.is_empty(), "output len() > 0 but front() is empty");
        let n = f.len().min(limit);
        checker.push(&f[..n]);
        out.consume(n);
        limit -= n;
    }
    if conn.output().is_empty() {
        conn.release_output_buffer();
    }
}

/// Feeds `data` (wire bytes after the control prefix) to a connection of
/// `role`; see the targets for the input layout.
///
/// Layout: byte 0 = flags (low nibble: number of chunk-size bytes; 0x10:
/// auto-pong off; 0x20: allow RSV1; 0x40: write output out partially; 0x80:
/// report EOF at the end). Byte 1: low nibble = number of op bytes, bits
/// 4-5 = masking-key seed, bits 6-7 = limits (64 KiB frames and messages;
/// 1 KiB frames; 125-byte frames and messages; 1 KiB messages). Then the chunk-size bytes (cycled; 0 = all
/// the rest, 1-127 = that many, 128-255 = (b - 127) * 256), then the op bytes
/// (cycled, one after each chunk), then the bytes received.
pub fn run_connection(role: Role, input: &[u8]) {
    run_connection_with(role, input, None)
}

/// The length of the control prefix `run_connection` reads from `input`.
pub fn prefix_len(input: &[u8]) -> usize {
    let flags = input.first().copied().unwrap_or(0);
    let b1 = input.get(1).copied().unwrap_or(0);
    (2 + (flags & 0x0f) as usize + (b1 & 0x0f) as usize).min(input.len())
}

/// A connection of the other role with the same deflate parameters and
/// generous limits: decodes what `role` sends.
pub fn deflate_peer(role: Role, agreed: Negotiated, dc: &DeflateConfig) -> Connection {
    let mut c = Config::default();
    c.max_frame_size = 1 << 20;
    c.max_message_size = 1 << 20;
    let mut peer = match role {
        Role::Server => Connection::client_with_keys(c, FixedKeys([1, 2, 3, 4])),
        Role::Client => Connection::server(c),
    };
    peer.enable_deflate(agreed, dc);
    peer
}

/// `run_connection`, optionally with permessage-deflate negotiated: the
/// connection calls `enable_deflate`, everything it sends is decoded by a
/// peer with the same parameters, and the receive and reassembly buffers
/// may hold up to `max_message_size` + 16 KiB of inflated output.
pub fn run_connection_with(role: Role, input: &[u8], deflate: Option<(Negotiated, DeflateConfig)>) {
    let mut r = Bytes::new(input);
    let flags = r.byte();
    let b1 = r.byte();
    let sizes = r.take((flags & 0x0f) as usize).to_vec();
    let ops = r.take((b1 & 0x0f) as usize).to_vec();
    let wire = r.rest();

    let mut config = small_config();
    config.auto_pong = flags & 0x10 == 0;
    match b1 >> 6 {
        0 => {}
        1 => config.max_frame_size = 1024,
        2 => {
            config.max_frame_size = 125;
            config.max_message_size = 125;
        }
        _ => config.max_message_size = 1024,
    }
    let max_frame = config.max_frame_size;
    let max_message = config.max_message_size;
    let mut conn = match role {
        Role::Server => Connection::server(config),
        Role::Client => {
            let k = (b1 >> 4) & 3;
            Connection::client_with_keys(config, FixedKeys([k, k.wrapping_mul(3), 0, k ^ 0x5a]))
        }
    };
    if flags & 0x20 != 0 {
        // With deflate, RSV2 too (RSV1 is deflate's).
        conn.set_allowed_rsv(if deflate.is_some() { 0b010 } else { 0b100 });
    }
    let partial_writes = flags & 0x40 != 0;

    let mut checker = match &deflate {
        Some((agreed, dc)) => {
            conn.enable_deflate(*agreed, dc);
            assert!(conn.deflate_enabled());
            SentChecker::with_deflate(role, Some(deflate_peer(role, *agreed, dc)))
        }
        None => SentChecker::new(role),
    };
    let mut max_chunk = 0usize;
    let mut closed_event = false;
    let mut errored = false;
    let mut eof = false;
    // The kind of the fragmented message we are sending, modelled.
    let mut sending: Option<MessageKind> = None;
    let mut close_called = false;
    // Buffered input when decoding stopped.
    let mut frozen_input: Option<usize> = None;
    let strict_after_close = std::env::var_os("RFC6455_FUZZ_ALLOW_BUFFER_AFTER_CLOSE").is_none();
    // Whether the text fragments sent so far end inside a code point.
    let mut text_partial = false;
    let mut at = 0;
    let mut i = 0;

    loop {
        // ---- receive one chunk ----
        let out_before = conn.output().len();
        let mut chunk = 0;
        if at < wire.len() && !eof {
            let s = if sizes.is_empty() { 0 } else { sizes[i % sizes.len()] };
            let n = match s {
                0 => usize::MAX,
                1..=127 => s as usize,
                _ => (s as usize - 127) * 256,
            };
            let n = n.min(wire.len() - at);
            let bytes = &wire[at..at + n];
            if i % 2 == 0 {
                conn.feed(bytes);
            } else {
                let mut done = 0;
                while done < n {
                    let buf = conn.read_buf();
                    assert!(!buf.is_empty(), "read_buf offered no space");
                    let k = buf.len().min(n - done);
                    buf[..k].copy_from_slice(&bytes[done..done + k]);
                    conn.commit_read(k);
                    done += k;
                }
            }
            at += n;
            chunk = n;
            max_chunk = max_chunk.max(n);
        }

        // ---- drain events ----
        loop {
            let state_before = conn.state();
            // The owned form, so that the connection can be queried meanwhile.
            match conn.next_event().map(|ev| ev.map(|e| e.to_message())) {
                Ok(None) => break,
                Ok(Some(ev)) => {
                    assert!(!closed_event, "event {ev:?} delivered after a Close event");
                    assert!(!errored, "event {ev:?} delivered after an error");
                    match ev {
                        Message::Text(t) => assert!(t.len() <= max_message),
                        Message::Binary(b) => assert!(b.len() <= max_message),
                        Message::Ping(p) | Message::Pong(p) => assert!(p.len() <= 125),
                        Message::Close(cf) => {
                            closed_event = true;
                            assert_eq!(conn.state(), State::Closed, "state after a Close event");
                            let code = cf.as_ref().and_then(|cf| cf.code);
                            if let Some(c) = code {
                                assert!(c.is_valid_on_wire(), "Close event with code {c:?}");
                            }
                            assert_eq!(conn.peer_close_code(), Some(code.unwrap_or(CloseCode::NO_STATUS)));
                            if state_before == State::Open && !checker.close_seen() {
                                // The reply echoes the peer's code (RFC 6455 §5.5.1).
                                checker.expect_close = Some(code.map(u16::from));
                            }
                        }
                        // Variants added later (e.g. streamed fragments).
                        #[allow(unreachable_patterns)]
                        _ => {}
                    }
                }
                Err(e) => {
                    assert!(!closed_event, "error {e:?} after a Close event");
                    assert!(!errored, "second error {e:?}");
                    assert!(!e.is_caller_error(), "caller error {e:?} from next_event");
                    errored = true;
                    assert_eq!(conn.state(), State::Closed, "state after error {e:?}");
                    match e.close_code() {
                        Some(c) => {
                            assert!(c.is_valid_on_wire(), "error {e:?} maps to code {c:?}");
                            if state_before == State::Open {
                                checker.expect_close = Some(Some(c.as_u16()));
                            }
                        }
                        None => assert_eq!(e, Error::AbnormalClosure, "no close code for {e:?}"),
                    }
                    if let Error::FrameTooLarge { size, limit } = e {
                        assert!(size > limit as u64 && limit == max_frame);
                    }
                    if let Error::MessageTooLarge { limit } = e {
                        assert_eq!(limit, max_message, "{e:?}");
                    }
                    if e == Error::InvalidCompressedData {
                        assert!(deflate.is_some(), "{e:?} without deflate");
                        assert_eq!(e.close_code(), Some(CloseCode::new(1007)));
                    }
                }
            }
        }

        // ---- bounds ----
        if deflate.is_some() {
            // Receive buffer (a frame, or a chunk fed whole, with growth
            // slack), reassembly buffer (inflated output: the message limit
            // plus one 16 KiB inflate step), compression scratch.
            let held = conn.buffer_capacity().saturating_sub(conn.output().capacity());
            let rx = 2 * (max_frame + 14 + max_chunk).max(16 << 10);
            let bound = rx + max_message + (16 << 10) + 1 + (64 << 10);
            assert!(
                held <= bound,
                "connection buffers hold {held} bytes (bound {bound}, max_chunk {max_chunk})"
            );
        }
        // While decoding goes on, what stays buffered after draining is at
        // most one incomplete frame.
        if !closed_event && !errored {
            assert!(
                conn.buffered_input() <= max_frame + 14,
                "buffered input {} after draining events",
                conn.buffered_input()
            );
        } else if let Some(frozen) = frozen_input {
            // Once decoding has stopped (Close received or error), bytes fed
            // are never decoded: they must not pile up.
            if strict_after_close {
                assert!(
                    conn.buffered_input() <= frozen,
                    "buffered input grew from {frozen} to {} after decoding stopped \
                     (set RFC6455_FUZZ_ALLOW_BUFFER_AFTER_CLOSE=1 to skip this check)",
                    conn.buffered_input()
                );
            }
        } else {
            // The chunk in which decoding stopped.
            assert!(
                conn.buffered_input() <= max_frame + 14 + chunk,
                "buffered input {} (chunk {chunk})",
                conn.buffered_input()
            );
            frozen_input = Some(conn.buffered_input());
        }
        let grown = conn.output().len().saturating_sub(out_before);
        assert!(
            grown <= 3 * chunk + 140,
            "output grew by {grown} bytes on receiving {chunk} bytes"
        );

        // ---- a send, or EOF ----
        if !ops.is_empty() {
            let op = ops[i % ops.len()];
            let arg = (op >> 3) as usize;
            let can_send = conn.state() == State::Open && !close_called;
            let out_before = conn.output().len();
            let expect_ok;
            let res = match op & 7 {
                0 => {
                    expect_ok = true;
                    Ok(())
                }
                1 => {
                    expect_ok = can_send && sending.is_none();
                    conn.send_text(&TEXTS[arg % 4].repeat(arg))
                }
                2 => {
                    expect_ok = can_send && sending.is_none();
                    conn.send_binary(&vec![op; arg * 37])
                }
                3 => {
                    let kind = if arg & 1 == 0 { MessageKind::Text } else { MessageKind::Binary };
                    let fin = arg & 2 != 0;
                    // Text fragments split "€" (E2 82 AC) across frames.
                    let data: &[u8] = match (kind, text_partial, fin) {
                        (MessageKind::Text, true, _) => b"\x82\xacz",
                        (MessageKind::Text, false, false) => b"ab\xe2",
                        (MessageKind::Text, false, true) => "a€".as_bytes(),
                        (MessageKind::Binary, _, _) => &[1, 2, 3, 4, 5],
                    };
                    let continues = sending.is_some();
                    expect_ok = can_send
                        && sending.map_or(true, |k| k == kind)
                        // The text must be complete UTF-8 at the end.
                        && !(kind == MessageKind::Text && fin && data == b"ab\xe2");
                    let res = conn.send_fragment(kind, data, fin);
                    if res.is_ok() {
                        sending = if fin { None } else { Some(kind) };
                        if kind == MessageKind::Text {
                            text_partial = data.ends_with(b"\xe2");
                        }
                        let _ = continues;
                    }
                    res
                }
                4 => {
                    expect_ok = can_send && arg * 8 <= 125;
                    conn.send_ping(&vec![0xEE; arg * 8])
                }
                5 => {
                    expect_ok = can_send && arg * 5 <= 125;
                    conn.send_pong(&vec![0xDD; arg * 5])
                }
                6 => {
                    let code = CLOSE_CODES[arg % 16];
                    let reason = TEXTS[arg % 4];
                    expect_ok = can_send && CloseCode::new(code).is_valid_on_wire();
                    let res = conn.close(CloseCode::new(code), reason);
                    if res.is_ok() {
                        close_called = true;
                        assert_eq!(conn.state(), State::Closing);
                        if !checker.close_seen() && checker.expect_close.is_none() {
                            checker.expect_close = Some(Some(code));
                        }
                    }
                    res
                }
                _ => {
                    expect_ok = true;
                    if !eof {
                        let before = conn.state();
                        conn.feed_eof();
                        eof = true;
                        if before != State::Closed {
                            assert_eq!(conn.state(), State::Closed, "state after EOF");
                        }
                    }
                    Ok(())
                }
            };
            match res {
                Ok(()) => assert!(expect_ok, "op {op:#x} succeeded unexpectedly"),
                Err(e) => {
                    assert!(!expect_ok, "op {op:#x} failed: {e:?}");
                    assert!(e.is_caller_error(), "send error {e:?} is not a caller error");
                    assert_eq!(conn.output().len(), out_before, "a failed send queued bytes");
                }
            }
        }

        // ---- write output ----
        let limit = if partial_writes {
            let l = conn.output().len();
            l / 2 + (i % 3)
        } else {
            usize::MAX
        };
        write_out(&mut conn, &mut checker, limit);

        if conn.should_close_transport() {
            assert_eq!(conn.state(), State::Closed);
            assert!(conn.output().is_empty());
        }

        i += 1;
        if (at >= wire.len() || eof) && (ops.is_empty() || i >= ops.len().max(1) + 1) {
            break;
        }
        if i > 4096 {
            break;
        }
    }

    if flags & 0x80 != 0 {
        conn.feed_eof();
        if let Err(e) = conn.next_event() {
            assert!(!errored && !closed_event, "{e:?} after close/error");
            assert_eq!(e, Error::AbnormalClosure);
        }
        assert_eq!(conn.state(), State::Closed);
    }
    write_out(&mut conn, &mut checker, usize::MAX);
    checker.finish_stream(true);
}

/// The model of an incremental HTTP head reader: where the head must end in
/// the concatenation of everything fed, given the size limit.
pub struct HeadModel {
    pub stream: Vec<u8>,
    pub max: usize,
    /// A request head (a response head otherwise): what its start line may
    /// begin with.
    pub request: bool,
}

pub enum HeadExpect {
    /// Everything fed so far is buffered.
    NeedMore,
    /// The head ends `used` bytes into the last chunk.
    Complete { used: usize },
    /// The head cannot end within the limit.
    TooLarge,
    /// The head is not complete and what arrived cannot begin an HTTP/1.x
    /// start line.
    NotHttp,
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `bytes` can be the beginning of a head: empty lines, then (for a
/// request) a method of token characters and a space, a target without
/// control bytes and a space, then `HTTP/1.`, or a prefix of all that.
/// Written apart from the reader's byte-at-a-time check, on purpose.
pub fn may_begin_head(bytes: &[u8], request: bool) -> bool {
    let blank = bytes.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
    let mut rest = &bytes[blank..];
    if request {
        let method = rest.iter().take_while(|&&b| is_tchar(b)).count();
        rest = &rest[method..];
        match rest.split_first() {
            None => return true,
            Some((b' ', after)) => rest = after,
            Some(_) => return false,
        }
        let target = rest.iter().take_while(|&&b| b > b' ' && b != 0x7f).count();
        rest = &rest[target..];
        match rest.split_first() {
            None => return true,
            Some((b' ', after)) => rest = after,
            Some(_) => return false,
        }
    }
    let n = rest.len().min(7);
    rest[..n] == b"HTTP/1."[..n]
}

impl HeadModel {
    /// Records `chunk` and says what the reader must do with it.
    pub fn feed(&mut self, chunk: &[u8]) -> HeadExpect {
        let before = self.stream.len();
        self.stream.extend_from_slice(chunk);
        let end = self
            .stream
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| p + 4);
        match end {
            Some(e) if e <= self.max => {
                assert!(e > before, "model: head ended in an earlier chunk");
                HeadExpect::Complete { used: e - before }
            }
            _ if !may_begin_head(&self.stream[..self.stream.len().min(self.max)], self.request) => {
                HeadExpect::NotHttp
            }
            _ if self.stream.len() >= self.max => HeadExpect::TooLarge,
            _ => HeadExpect::NeedMore,
        }
    }
}

/// Splits `data` into chunks: `sizes` cycled (0 = all the rest).
pub fn chunks<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let s = if sizes.is_empty() { 0 } else { sizes[i % sizes.len()] };
        let n = if s == 0 { data.len() - at } else { (s as usize).min(data.len() - at) };
        out.push(&data[at..at + n]);
        at += n;
        i += 1;
    }
    out
}
