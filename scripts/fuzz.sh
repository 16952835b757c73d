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
        ;;
    handshake_request)
        # Prefix: number of chunk-size bytes, chunk sizes.
        seed "$t" "rfc" "00" "request"
        seed "$t" "rfc_bytewise" "01 01" "request"
        seed "$t" "rfc_chunks" "02 07 1d" "request"
        seed "$t" "rfc_then_frame" "00" "request" "hello_masked"
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
