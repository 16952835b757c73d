//! The echo server of `async_echo_server`, on compio: one task per
//! connection, the core driven through `rfc6455::driver::Driver`, reads
//! into an owned buffer per connection (fed with `Driver::feed`), writes of
//! the queue's bytes (`take_output`). Same settings as the example (64 MiB
//! limits, deflate with context takeover, threshold 0).

use std::time::{Duration, Instant};

use compio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use compio::net::{TcpListener, TcpStream};
use rfc6455::adapter::ServerConfig;
use rfc6455::driver::{Driver, ReadStep};
use rfc6455::handshake::{Accept, ServerHandshake};
use rfc6455::upgrade::ServerUpgrade;

fn config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.config.max_frame_size = 64 << 20;
    config.config.max_message_size = 64 << 20;
    let mut deflate = rfc6455::deflate::DeflateConfig::default();
    deflate.server_no_context_takeover = false;
    deflate.client_no_context_takeover = false;
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
    config
}

async fn serve(mut stream: TcpStream, config: &ServerConfig) -> Option<()> {
    let _ = stream.set_nodelay(true);
    let epoch = Instant::now();
    let mut hs = ServerHandshake::new(config.limits);
    let mut buf = Vec::with_capacity(16 << 10);
    let (request, leftover) = loop {
        buf.clear();
        let compio::BufResult(n, b) = stream.read(buf).await;
        buf = b;
        let n = n.ok().filter(|&n| n > 0)?;
        if let Some((request, used)) = hs.feed(&buf[..n]).ok()? {
            break (request, buf[used..n].to_vec());
        }
    };
    let (response, conn) = ServerUpgrade::new(request, leftover, config).answer(&Accept::new());
    stream.write_all(response).await.0.ok()?;
    let mut conn = conn.ok()?;
    conn.handle_timeout(Duration::ZERO);
    let mut driver = Driver::with_high_water(config.high_water);
    loop {
        driver.start_read(&conn);
        loop {
            match driver.poll_read(&mut conn, || epoch.elapsed(), false) {
                Err(_) => {
                    let _ = stream.write_all(conn.take_output()).await;
                    return None;
                }
                Ok(ReadStep::Deliver { write_first }) => {
                    if write_first && conn.has_output() {
                        stream.write_all(conn.take_output()).await.0.ok()?;
                    }
                    let _ = conn.echo_event();
                    break;
                }
                Ok(ReadStep::Write) | Ok(ReadStep::WaitWritable) => {
                    if stream.write_all(conn.take_output()).await.0.is_err() {
                        driver.write_failed(&mut conn);
                    }
                }
                Ok(ReadStep::Shutdown) => {
                    let _ = stream.shutdown().await;
                    driver.shutdown_done();
                }
                Ok(ReadStep::Closed) => return Some(()),
                Ok(ReadStep::Read { .. }) => {
                    buf.clear();
                    let compio::BufResult(n, b) = stream.read(buf).await;
                    buf = b;
                    match n {
                        Ok(n) => driver.feed(&mut conn, &buf[..n], epoch.elapsed()),
                        Err(_) => driver.read_failed(&mut conn),
                    }
                }
            }
        }
    }
}

#[compio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9321".into());
    let listener = TcpListener::bind(&addr).await.unwrap();
    eprintln!(
        "compio_echo listening on ws://{}",
        listener.local_addr().unwrap()
    );
    let config: &'static ServerConfig = Box::leak(Box::new(config()));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        compio::runtime::spawn(async move {
            let _ = serve(stream, config).await;
        })
        .detach();
    }
}
