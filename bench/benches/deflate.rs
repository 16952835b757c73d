//! permessage-deflate (RFC 7692): our compressed send and receive paths
//! against calling the same library (flate2 with zlib-rs) directly on the
//! same payloads — the floor. The protocol layer (framing, tail handling,
//! masking, UTF-8, copies) should cost at most 10%: ratio ≥ 0.9.
//!
//! `cargo bench -p rfc6455-bench --bench deflate`; `python3 scripts/bench_ratios.py` prints the
//! ratios. It also prints, once, the bytes on the wire for the chat workload
//! with and without compression.

#[path = "common/clock.rs"]
mod clock;

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use rfc6455::deflate::{DeflateConfig, Negotiated};
use rfc6455::{Config, Connection, Event};

const CHAT_MESSAGES: usize = 2000;
const LEVEL: u32 = 6;

/// Chat-sized JSON and text lines, 100 B to 2 KiB, deterministic.
fn chat_corpus() -> Vec<String> {
    let words = [
        "hello", "world", "meeting", "tomorrow", "the", "build", "is", "green", "again", "thanks",
        "for", "review", "deploy", "at", "noon", "coffee", "latency", "looks", "fine", "on",
        "staging", "ok",
    ];
    let mut x: u32 = 0x1234_5678;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    (0..CHAT_MESSAGES)
        .map(|i| {
            let target = 100 + (next() as usize % 1948);
            let mut text = String::new();
            while text.len() + 120 < target {
                text.push_str(words[next() as usize % words.len()]);
                text.push(' ');
            }
            if i % 2 == 0 {
                format!(
                    "{{\"type\":\"message\",\"user\":\"user{}\",\"room\":\"general\",\"text\":\"{}\",\"ts\":{}}}",
                    next() % 500,
                    text.trim_end(),
                    1_732_630_000_000u64 + i as u64
                )
            } else {
                format!("User{} says: {}", 40000 + next() % 20000, text.trim_end())
            }
        })
        .collect()
}

fn text_mib() -> String {
    let corpus = chat_corpus();
    let mut s = String::with_capacity(1 << 20);
    let mut i = 0;
    while s.len() < 1 << 20 {
        s.push_str(&corpus[i % corpus.len()]);
        s.push('\n');
        i += 1;
    }
    s.truncate(1 << 20);
    s
}

fn takeover() -> Negotiated {
    Negotiated {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    }
}

fn deflate_config() -> DeflateConfig {
    let mut c = DeflateConfig::default();
    c.threshold = 0;
    c.level = LEVEL;
    c
}

fn server() -> Connection {
    let mut config = Config::default();
    config.max_read_size = 128 << 10;
    let mut s = Connection::server(config);
    s.enable_deflate(takeover(), &deflate_config());
    s
}

/// What the client sends for `messages`, compressed, as one byte stream.
fn client_wire(messages: &[String]) -> Vec<u8> {
    let mut c = Connection::client(Config::default());
    c.enable_deflate(takeover(), &deflate_config());
    for m in messages {
        c.send_text(m).unwrap();
    }
    c.take_output()
}

/// The floor for sending: the library compressing each payload with a sync flush.
fn floor_compress(messages: &[String], comp: &mut Compress, out: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for m in messages {
        out.clear();
        out.reserve(m.len() / 2 + 64);
        let mut rest = m.as_bytes();
        loop {
            let before = comp.total_in();
            comp.compress_vec(rest, out, FlushCompress::Sync).unwrap();
            rest = &rest[(comp.total_in() - before) as usize..];
            if rest.is_empty() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity());
        }
        total += out.len();
    }
    total
}

/// The floor for receiving: the library inflating each compressed payload
/// (tail appended) into a reused buffer.
fn floor_inflate(payloads: &[Vec<u8>], decomp: &mut Decompress, out: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for p in payloads {
        out.clear();
        let mut input: &[u8] = p;
        loop {
            out.reserve(16 << 10);
            let before = decomp.total_in();
            let before_out = out.len();
            decomp
                .decompress_vec(input, out, FlushDecompress::Sync)
                .unwrap();
            input = &input[(decomp.total_in() - before) as usize..];
            if input.is_empty() && out.len() - before_out < out.capacity() - before_out {
                break;
            }
        }
        total += out.len();
    }
    total
}

/// Compressed payloads of `messages`, ending with the sync flush's tail, as
/// a peer's compressor with context takeover produces them.
fn compressed_payloads(messages: &[String]) -> Vec<Vec<u8>> {
    let mut comp = Compress::new_with_window_bits(Compression::new(LEVEL), false, 15);
    messages
        .iter()
        .map(|m| {
            let mut out = Vec::with_capacity(m.len() + 64);
            let mut rest = m.as_bytes();
            loop {
                let before = comp.total_in();
                comp.compress_vec(rest, &mut out, FlushCompress::Sync)
                    .unwrap();
                rest = &rest[(comp.total_in() - before) as usize..];
                if rest.is_empty() && out.len() < out.capacity() {
                    break;
                }
                out.reserve(out.capacity());
            }
            out
        })
        .collect()
}

fn ours_receive(wire: &[u8]) -> usize {
    let mut s = server();
    let mut total = 0;
    for chunk in wire.chunks(128 << 10) {
        let mut at = 0;
        while at < chunk.len() {
            let buf = s.read_buf();
            let n = buf.len().min(chunk.len() - at);
            buf[..n].copy_from_slice(&chunk[at..at + n]);
            s.commit_read(n);
            at += n;
            while let Some(ev) = s.next_event().unwrap() {
                if let Event::Text(t) = ev {
                    total += black_box(t).len();
                }
            }
        }
    }
    total
}

fn group<M: Measurement>(c: &mut Criterion<M>, name: &str, messages: &[String]) {
    let bytes: usize = messages.iter().map(|m| m.len()).sum();
    // Send: our server role (unmasked) vs the library alone.
    let mut g = c.benchmark_group(format!("{name}_send"));
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut conn = server();
    g.bench_function("rfc6455", |b| {
        b.iter(|| {
            for m in messages {
                conn.send_text(black_box(m)).unwrap();
                let n = conn.output().len();
                conn.output().consume(n);
            }
        })
    });
    let mut comp = Compress::new_with_window_bits(Compression::new(LEVEL), false, 15);
    let mut out = Vec::new();
    g.bench_function("floor_library", |b| {
        b.iter(|| black_box(floor_compress(messages, &mut comp, &mut out)))
    });
    g.finish();

    // Receive: masked client frames into a server vs inflating the payloads.
    let wire = client_wire(messages);
    // As compressed, sync-flush tail included (the receiver puts it back).
    let payloads = compressed_payloads(messages);
    let mut g = c.benchmark_group(format!("{name}_receive"));
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("rfc6455", |b| b.iter(|| black_box(ours_receive(&wire))));
    // Like ours (a new connection per iteration: with context takeover the
    // stream cannot be replayed into the same one), fresh state each time.
    g.bench_function("floor_library", |b| {
        b.iter(|| {
            let mut decomp = Decompress::new_with_window_bits(false, 15);
            let mut out = Vec::new();
            black_box(floor_inflate(&payloads, &mut decomp, &mut out))
        })
    });
    g.finish();
}

fn report_wire_savings(messages: &[String]) {
    let mut plain = Connection::server(Config::default());
    let mut squeezed = server();
    let mut nct = Connection::server(Config::default());
    nct.enable_deflate(
        Negotiated {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..takeover()
        },
        &deflate_config(),
    );
    let (mut a, mut b, mut d) = (0, 0, 0);
    for m in messages {
        plain.send_text(m).unwrap();
        squeezed.send_text(m).unwrap();
        nct.send_text(m).unwrap();
        a += plain.take_output().len();
        b += squeezed.take_output().len();
        d += nct.take_output().len();
    }
    eprintln!(
        "chat workload, {} messages: {a} bytes on the wire uncompressed; {b} ({:.1}%) with context takeover; \
         {d} ({:.1}%) without",
        messages.len(),
        100.0 * b as f64 / a as f64,
        100.0 * d as f64 / a as f64
    );
}

fn run<M: Measurement>(c: &mut Criterion<M>) {
    let chat = chat_corpus();
    report_wire_savings(&chat);
    group(c, "deflate_chat", &chat);
    group(c, "deflate_1mib", &[text_mib()]);
}

fn main() {
    let config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    if clock::wall_clock() {
        let mut c = config.configure_from_args();
        run(&mut c);
        c.final_summary();
    } else {
        let mut c = config
            .with_measurement(clock::ThreadCpuTime)
            .configure_from_args();
        run(&mut c);
        c.final_summary();
    }
}
