//! Interop checks of the crate's HTTP/2 WebSocket client (RFC 8441,
//! `rfc6455::hyper::Http2Connection`) against an echo server of another
//! implementation (`scripts/interop.sh`: Node's `http2` module with
//! `enableConnectProtocol`, frames by `ws`'s `Receiver`/`Sender`).
//!
//! Usage: `h2_client_checks http://127.0.0.1:PORT [LABEL]` (or `ws://`).
//!
//! Over one h2c connection: the server's `SETTINGS_ENABLE_CONNECT_PROTOCOL`,
//! then WebSockets as streams of it: texts (ASCII, empty, 2/3/4-byte UTF-8,
//! fragmented inside a code point, 64 KiB), binaries (0, 125, 126, 65535,
//! 65536 bytes, 1 MiB), a ping and its pong, two WebSockets echoing at the
//! same time, permessage-deflate negotiated and used (1 MiB), and closing
//! handshakes (1000 and 4000 with reasons, the server's code seen, the
//! stream ended). One line per check, `ok - LABEL: ...` or `FAIL - LABEL:
//! ...: detail`, then `# done`; exits 1 if a check failed.

use std::future::Future;
use std::time::Duration;

use rfc6455::hyper::{ClientConfig, Http2Connection, Http2Stream};
use rfc6455::tokio::WebSocketStream;
use rfc6455::{CloseCode, Message, MessageKind};
use tokio::net::TcpStream;

type Ws = WebSocketStream<Http2Stream>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

const STEP: Duration = Duration::from_secs(20);

struct Report {
    label: String,
    failed: usize,
}

impl Report {
    fn check(&mut self, name: &str, result: Result<(), BoxError>) {
        match result {
            Ok(()) => println!("ok - {}: {name}", self.label),
            Err(e) => {
                self.failed += 1;
                println!("FAIL - {}: {name}: {e}", self.label);
            }
        }
    }
}

async fn within<T>(f: impl Future<Output = Result<T, BoxError>>) -> Result<T, BoxError> {
    tokio::time::timeout(STEP, f)
        .await
        .map_err(|_| format!("no answer within {}s", STEP.as_secs()))?
}

async fn echo(ws: &mut Ws, msg: Message) -> Result<(), BoxError> {
    within(async {
        ws.send(&msg).await?;
        let back = ws.read().await?;
        if back != msg {
            return Err(format!("echo differs: sent {}, got {}", brief(&msg), brief(&back)).into());
        }
        Ok(())
    })
    .await
}

fn brief(m: &Message) -> String {
    match m {
        Message::Text(t) if t.len() > 40 => format!("text of {} bytes", t.len()),
        Message::Binary(b) if b.len() > 40 => format!("binary of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

/// Closes with `code`; the server's Close must carry the same code and the
/// stream must end.
async fn close(ws: &mut Ws, code: CloseCode, reason: &str) -> Result<(), BoxError> {
    within(async {
        ws.close(code, reason).await?;
        match ws.connection().peer_close_code() {
            Some(c) if c == code => {}
            other => return Err(format!("server's Close code {other:?}, sent {code:?}").into()),
        }
        match ws.read().await {
            Err(e) if e.is_closed() => Ok(()),
            other => Err(format!("read after the close: {other:?}").into()),
        }
    })
    .await
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: h2_client_checks http://HOST:PORT [LABEL]");
        std::process::exit(2);
    };
    let label = args
        .next()
        .unwrap_or_else(|| "h2 client -> HTTP/2 server".into());
    let authority = url
        .trim_start_matches("http://")
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let mut r = Report { label, failed: 0 };
    run(&mut r, &authority).await;
    println!("# done");
    std::process::exit(i32::from(r.failed > 0));
}

async fn run(r: &mut Report, authority: &str) {
    let conn = within(async {
        let tcp = TcpStream::connect(authority).await?;
        tcp.set_nodelay(true)?;
        Ok(Http2Connection::handshake(tcp).await?)
    })
    .await;
    let conn = match conn {
        Ok(conn) => conn,
        Err(e) => {
            r.check("HTTP/2 connection (h2c, prior knowledge)", Err(e));
            return;
        }
    };
    r.check(
        "the server sends SETTINGS_ENABLE_CONNECT_PROTOCOL = 1",
        if conn.accepts_websockets() {
            Ok(())
        } else {
            Err("not set".into())
        },
    );
    let plain = ClientConfig::default().max_message_size(32 << 20);
    let open = |path: &'static str, config: ClientConfig| {
        let conn = conn.clone();
        let url = format!("ws://{authority}{path}");
        async move { within(async { Ok(conn.websocket(&url, &config).await?) }).await }
    };

    let mut ws = match open("/echo", plain.clone()).await {
        Ok((ws, response)) => {
            let status = response.status();
            r.check(
                "extended CONNECT answered 200",
                if status == 200 {
                    Ok(())
                } else {
                    Err(format!("status {status}").into())
                },
            );
            ws
        }
        Err(e) => {
            r.check("extended CONNECT answered 200", Err(e));
            return;
        }
    };

    let texts: [(&str, String); 5] = [
        ("text ASCII", "hello over HTTP/2".into()),
        ("text empty", String::new()),
        (
            "text 2/3/4-byte UTF-8 (é € U+FFFF U+10FFFF 🎉)",
            "é € \u{FFFF} \u{10FFFF} 🎉".into(),
        ),
        ("text 64 KiB", "0123456789abcdef".repeat(4096)),
        ("text 1 MiB UTF-8", "ж€🎉a".repeat(1 << 18)),
    ];
    for (name, text) in texts {
        let res = echo(&mut ws, Message::Text(text)).await;
        r.check(name, res);
    }
    for n in [0usize, 125, 126, 65535, 65536, 1 << 20] {
        let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        let res = echo(&mut ws, Message::Binary(data)).await;
        r.check(&format!("binary {n} bytes"), res);
    }
    let res = within(async {
        // "aé€🎉" split after each lead byte: every boundary inside a code point.
        let bytes = "aé€🎉".as_bytes();
        let cuts = [0, 2, 4, 8, bytes.len()];
        for (i, w) in cuts.windows(2).enumerate() {
            ws.send_fragment(MessageKind::Text, &bytes[w[0]..w[1]], i == cuts.len() - 2)
                .await?;
        }
        match ws.read().await? {
            Message::Text(t) if t == "aé€🎉" => Ok(()),
            other => Err(format!("got {other:?}").into()),
        }
    })
    .await;
    r.check("text in 4 fragments split inside code points", res);
    let res = within(async {
        ws.send_ping(b"ping over h2").await?;
        match ws.read().await? {
            Message::Pong(p) if p == b"ping over h2" => Ok(()),
            other => Err(format!("got {other:?}").into()),
        }
    })
    .await;
    r.check("ping answered by a pong with its payload", res);

    // A second WebSocket on the same connection, both echoing at once.
    let res = async {
        let (mut other, _) = open("/second", plain.clone()).await?;
        within(async {
            let a = async {
                for i in 0..200 {
                    let m = Message::Text(format!("first {i}"));
                    ws.send(&m).await?;
                    if ws.read().await? != m {
                        return Err::<(), BoxError>("first: echo differs".into());
                    }
                }
                Ok(())
            };
            let b = async {
                for i in 0..200 {
                    let m = Message::Binary(vec![i as u8; 1000 + i]);
                    other.send(&m).await?;
                    if other.read().await? != m {
                        return Err::<(), BoxError>("second: echo differs".into());
                    }
                }
                Ok(())
            };
            tokio::try_join!(a, b)?;
            Ok(())
        })
        .await?;
        close(&mut other, CloseCode::new(4000), "second done").await
    }
    .await;
    r.check(
        "two WebSockets on one connection, 200 echoes each at once; close 4000 echoed",
        res,
    );

    // permessage-deflate, negotiated in the extended CONNECT.
    let mut with_deflate = plain.clone();
    let mut deflate = rfc6455::deflate::DeflateConfig::default();
    deflate.threshold = 0;
    with_deflate.deflate = Some(deflate);
    let res = async {
        let (mut z, response) = open("/deflate", with_deflate).await?;
        let answered = response
            .header("sec-websocket-extensions")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        if !answered.contains("permessage-deflate") || !z.connection().deflate_enabled() {
            return Err(format!("not negotiated (answer: {answered:?})").into());
        }
        echo(&mut z, Message::Text("squeeze me ".repeat(1000))).await?;
        let big: Vec<u8> = (0..1usize << 20).map(|i| (i % 64) as u8).collect();
        echo(&mut z, Message::Binary(big)).await?;
        close(&mut z, CloseCode::NORMAL, "").await?;
        Ok::<_, BoxError>(answered)
    }
    .await;
    match res {
        Ok(answered) => r.check(
            &format!("permessage-deflate negotiated ({answered}) and used: text, 1 MiB binary"),
            Ok(()),
        ),
        Err(e) => r.check("permessage-deflate negotiated and used", Err(e)),
    }

    let res = close(&mut ws, CloseCode::NORMAL, "bye").await;
    r.check(
        "closing handshake 1000: server's Close seen, stream ended",
        res,
    );
    // The connection outlives its WebSockets.
    let res = async {
        let (mut again, _) = open("/again", plain.clone()).await?;
        echo(&mut again, Message::Text("still here".into())).await?;
        close(&mut again, CloseCode::NORMAL, "").await
    }
    .await;
    r.check("a new WebSocket on the same connection afterwards", res);
}
