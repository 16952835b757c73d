#!/usr/bin/env bash
# Fuzzes rfc6455 with cargo-fuzz (libFuzzer), from the repository root:
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# 1. writes seed corpora into fuzz/corpus/<target>/ (git-ignored) from the
#    RFC 6455 §5.7 frame examples and the §1.2 handshake, with the control
#    prefixes each target's input layout expects;
# 2. builds every target (`cargo +nightly fuzz build`);
# 3. runs each target (all of them, or those named) for SECONDS seconds
#    (default 30) with -max_total_time, printing libFuzzer's final stats.
#
# Exits non-zero if any target crashes (the reproducer is left in
# fuzz/artifacts/<target>/), fails to build, or hangs past -timeout.
# Skips (exit 0) with a message when the nightly toolchain is missing;
# installs cargo-fuzz if it is missing.
#
# Environment: FUZZ_JOBS (default 1) runs that many libFuzzer workers per
# target (-fork); FUZZ_ARGS adds libFuzzer options. The connection targets
# also check that a connection stops buffering input once it stopped
# decoding (after a Close or an error); FUZZ_STRICT=0 turns that check off.
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
shift || true
cd "$(dirname "$0")/.."
ROOT="$PWD"

if ! command -v cargo >/dev/null 2>&1 || ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is not installed (rustup toolchain install nightly); skipping." >&2
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo +nightly install cargo-fuzz --locked
fi

ALL_TARGETS=$(cd fuzz && cargo +nightly fuzz list)
if [ "$#" -gt 0 ]; then TARGETS="$*"; else TARGETS="$ALL_TARGETS"; fi

# ---------------------------------------------------------------- seeds ----
# hex "81 05 48" -> raw bytes on stdout
hex() {
    local b
    for b in $1; do printf "\\x$b"; done
}
# repeat N BYTE_HEX -> N copies of the byte
repeat() {
    head -c "$1" /dev/zero | tr '\0' "\\$(printf '%03o' "0x$2")"
}

SEEDS="$(mktemp -d)"
trap 'rm -rf "$SEEDS"' EXIT

# RFC 6455 §5.7, exact bytes.
hex "81 05 48 65 6c 6c 6f" > "$SEEDS/hello"                       # unmasked text "Hello"
hex "81 85 37 fa 21 3d 7f 9f 4d 51 58" > "$SEEDS/hello_masked"     # masked text "Hello"
{ hex "01 03 48 65 6c"; hex "80 02 6c 6f"; } > "$SEEDS/fragmented" # "Hel" + "lo"
hex "89 05 48 65 6c 6c 6f" > "$SEEDS/ping"                        # unmasked ping "Hello"
hex "8a 85 37 fa 21 3d 7f 9f 4d 51 58" > "$SEEDS/pong_masked"      # masked pong "Hello"
{ hex "82 7E 01 00"; repeat 256 41; } > "$SEEDS/binary_256"
{ hex "82 7F 00 00 00 00 00 01 00 00"; repeat 65536 42; } > "$SEEDS/binary_65536"
# Close frames, unmasked (1000 "bye") and masked with the §5.7 key.
hex "88 05 03 e8 62 79 65" > "$SEEDS/close"
hex "88 85 37 fa 21 3d 34 12 43 44 52" > "$SEEDS/close_masked"
# Everything in a row, as one stream per direction.
cat "$SEEDS/hello" "$SEEDS/fragmented" "$SEEDS/ping" "$SEEDS/binary_256" "$SEEDS/close" \
    > "$SEEDS/stream_unmasked"
cat "$SEEDS/hello_masked" "$SEEDS/pong_masked" "$SEEDS/close_masked" > "$SEEDS/stream_masked"

# RFC 6455 §1.2 handshake.
printf 'GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n' \
    > "$SEEDS/request"
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n' \
    > "$SEEDS/response"

FRAMES="hello hello_masked fragmented ping pong_masked binary_256 binary_65536 close close_masked stream_unmasked stream_masked"

# seed TARGET NAME PREFIX_HEX FILE...: writes PREFIX + the files' bytes.
seed() {
    local target="$1" name="$2" prefix="$3"
    shift 3
    mkdir -p "fuzz/corpus/$target"
    { hex "$prefix"; for f in "$@"; do cat "$SEEDS/$f"; done; } > "fuzz/corpus/$target/seed_$name"
}

for t in $TARGETS; do
    mkdir -p "fuzz/corpus/$t"
    case "$t" in
    frame_header)
        for f in $FRAMES; do seed "$t" "$f" "" "$f"; done
        ;;
    server_connection | client_connection)
        # Prefix: flags (low nibble = number of chunk-size bytes), ops byte
        # (low nibble = number of op bytes), chunk sizes, ops. See
        # fuzz/fuzz_targets/common/mod.rs.
        for f in $FRAMES; do
            seed "$t" "$f" "00 00" "$f"                    # all at once
            seed "$t" "${f}_bytewise" "01 00 01" "$f"      # one byte at a time
            seed "$t" "${f}_chunks" "03 00 03 07 81" "$f"  # 3, 7, 256 bytes
        done
        # With sends between chunks (text, ping, close) and EOF at the end.
        seed "$t" "stream_unmasked_sends" "82 03 02 05 01 21 0e" "stream_unmasked"
        seed "$t" "stream_masked_sends" "c2 13 03 05 0b 1c 06" "stream_masked"
        ;;
    utf8_validator)
        # Prefix: number of split bytes, split points.
        printf '\x00Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!' > "fuzz/corpus/$t/seed_latin1"
        printf '\x03\x01\x04\x09\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5' > "fuzz/corpus/$t/seed_kosme"
        printf '\x02\x01\x02\xf4\x90\x80\x80' > "fuzz/corpus/$t/seed_above_max"
        printf '\x01\x01\xed\xa0\x80' > "fuzz/corpus/$t/seed_surrogate"
        printf '\x02\x02\x05\xf0\x9f\xa6\x80\xf4\x8f\xbf\xbf' > "fuzz/corpus/$t/seed_4byte"
        seed "$t" "hello" "00" "hello"
        ;;
    masking)
        # Prefix: 4 key bytes, offset byte, split-count byte, split points.
        seed "$t" "hello" "37 fa 21 3d 00 00" "hello"
        seed "$t" "hello_split" "37 fa 21 3d 01 02 01 02" "hello"
        seed "$t" "binary_256" "37 fa 21 3d 43 03 05 10 21" "binary_256"
        ;;
    round_trip)
        # Structured (arbitrary) input: any bytes decode to some operations.
        for f in hello hello_masked fragmented ping pong_masked close stream_unmasked stream_masked binary_256; do
            seed "$t" "$f" "" "$f"
        done
        # Leading 01: negotiate deflate (then the Deflate fields).
        for f in hello fragmented stream_unmasked binary_256; do
            seed "$t" "deflate_$f" "01 00 01 06 07 00 06" "$f"
        done
        ;;
    deflate_connection)
        # Prefix: deflate byte (bit 0 client, bits 1-2 no_context_takeover
        # server/client, bits 3-4 level, bit 5 threshold, bit 7 plaintext
        # mode), window-bits byte (76: 15 both ways), then the connection
        # prefix as for server_connection. See the target's header.
        # RFC 7692 §7.2.3 frames (server to client, unmasked): "Hello"
        # compressed; twice with context takeover; a stored block;
        # fragmented; with BFINAL; empty messages.
        hex "c1 07 f2 48 cd c9 c9 07 00" > "$SEEDS/dfl_hello"
        hex "c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00" > "$SEEDS/dfl_hello_twice"
        hex "c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00" > "$SEEDS/dfl_stored"
        hex "41 03 f2 48 cd 80 04 c9 c9 07 00" > "$SEEDS/dfl_fragmented"
        hex "c1 08 f3 48 cd c9 c9 07 00 00" > "$SEEDS/dfl_bfinal"
        hex "c1 01 00 c2 01 00" > "$SEEDS/dfl_empty"
        # The same, masked with a zero key, for the server role.
        hex "c1 87 00 00 00 00 f2 48 cd c9 c9 07 00" > "$SEEDS/dflm_hello"
        hex "c1 87 00 00 00 00 f2 48 cd c9 c9 07 00 c1 85 00 00 00 00 f2 00 11 00 00" > "$SEEDS/dflm_hello_twice"
        hex "c1 8b 00 00 00 00 00 05 00 fa ff 48 65 6c 6c 6f 00" > "$SEEDS/dflm_stored"
        hex "41 83 00 00 00 00 f2 48 cd 80 84 00 00 00 00 c9 c9 07 00" > "$SEEDS/dflm_fragmented"
        hex "c1 88 00 00 00 00 f3 48 cd c9 c9 07 00 00" > "$SEEDS/dflm_bfinal"
        hex "c1 81 00 00 00 00 00 c2 81 00 00 00 00 00" > "$SEEDS/dflm_empty"
        for d in hello hello_twice stored fragmented bfinal empty; do
            seed "$t" "client_$d" "01 76 00 00" "dfl_$d"
            seed "$t" "client_${d}_nct_w9" "07 70 01 00 01" "dfl_$d"  # no takeover, bytewise
            seed "$t" "server_$d" "00 76 00 00" "dflm_$d"
            seed "$t" "server_${d}_sends" "00 76 82 03 02 05 01 21 0e" "dflm_$d"
        done
        seed "$t" "server_hello_then_close" "00 76 00 00" "dflm_hello" "close_masked"
        seed "$t" "client_hello_then_plain" "01 76 00 00" "dfl_hello" "hello" "close"
        # Plaintext mode (bit 7): messages split at FF; first byte: bit 0
        # text, bits 1-2 both set: uncompressed, bits 4-7 fragments.
        printf '\x80\x76\x00\x00\x01Hello, Hello, Hello\xff\x00\x01\x02\x03\x01\x02\x03\xff\x31fragmented text, fragmented text\xff\x07Hello\xff\x01' > "fuzz/corpus/$t/seed_plain_server"
        printf '\x81\x76\x00\x00\x01Hello, Hello, Hello\xff\x00\x01\x02\x03\x01\x02\x03\xff\x31fragmented text, fragmented text\xff\x07Hello\xff\x01' > "fuzz/corpus/$t/seed_plain_client"
        printf '\x87\x70\x03\x00\x03\x07\x81\x21\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xff\x41abcabcabcabcabcabcabc' > "fuzz/corpus/$t/seed_plain_nct_chunks"
        printf '\xa0\x73\x82\x03\x02\x05\x01\x21\x0e\x01Hello\xff\x01Hello\xff\x01Hello' > "fuzz/corpus/$t/seed_plain_sends"
        # A decompression bomb (if python3 is there): 256 KiB of zeros,
        # compressed, past the 64 KiB message limit.
        if command -v python3 >/dev/null 2>&1; then
            python3 -c 'import sys, zlib
c = zlib.compressobj(9, zlib.DEFLATED, -15)
p = (c.compress(bytes(256 << 10)) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
sys.stdout.buffer.write(bytes([1, 0x76, 0, 0, 0xc2, 126]) + len(p).to_bytes(2, "big") + p)' \
                > "fuzz/corpus/$t/seed_bomb_client"
        fi
        ;;
    handshake_request)
        # Prefix: number of chunk-size bytes, chunk sizes.
        seed "$t" "rfc" "00" "request"
        seed "$t" "rfc_bytewise" "01 01" "request"
        seed "$t" "rfc_chunks" "02 07 1d" "request"
        seed "$t" "rfc_then_frame" "00" "request" "hello_masked"
        ;;
    handshake_parts)
        # Prefix: form byte (bit 0: HTTP/2); then lines.
        printf '\x00GET\n/chat\nHost:example.com\nUpgrade:websocket\nConnection:Upgrade\nSec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version:13\nSec-WebSocket-Protocol:chat, superchat' > "fuzz/corpus/$t/seed_http1"
        printf '\x01CONNECT\nwebsocket\nhttps\n/chat\nserver.example.com\nsec-websocket-protocol:chat, superchat\nsec-websocket-version:13\norigin:http://www.example.com' > "fuzz/corpus/$t/seed_rfc8441"
        printf '\x01CONNECT\nwebsocket\nhttp\n/\nexample.com:8080\nsec-websocket-version:13\nsec-websocket-extensions:permessage-deflate; client_max_window_bits' > "fuzz/corpus/$t/seed_rfc8441_deflate"
        ;;
    handshake_response)
        seed "$t" "rfc" "00" "response"
        seed "$t" "rfc_bytewise" "01 01" "response"
        seed "$t" "rfc_chunks" "02 07 1d" "response"
        seed "$t" "rfc_then_frame" "00" "response" "hello"
        ;;
    *)
        echo "fuzz.sh: no seeds for target $t" >&2
        ;;
    esac
done

if [ "${FUZZ_STRICT:-1}" != 1 ]; then
    export RFC6455_FUZZ_ALLOW_BUFFER_AFTER_CLOSE=1
fi

# ---------------------------------------------------------------- build ----
(cd fuzz && cargo +nightly fuzz build)

# ------------------------------------------------------------------ run ----
failed=()
for t in $TARGETS; do
    echo "=== $t: ${SECONDS_PER_TARGET}s ===" >&2
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    extra=()
    if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then extra+=("-fork=${FUZZ_JOBS}"); fi
    # shellcheck disable=SC2086
    if ! (cd fuzz && cargo +nightly fuzz run "$t" "$ROOT/fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$ROOT/fuzz/artifacts/$t/" ${extra[@]+"${extra[@]}"} ${FUZZ_ARGS:-}); then
        echo "fuzz.sh: $t FAILED (reproducer in fuzz/artifacts/$t/)" >&2
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: all targets ran ${SECONDS_PER_TARGET}s without a crash" >&2
