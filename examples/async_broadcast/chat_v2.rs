//! A `chat.v2` client's task (see `chat_log` for the protocol): its
//! `hello` or `resume`, then its messages, each logged once per client id
//! and acknowledged with its log id, while the room's lines (with their
//! ids) and its own replies go out.

use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use rfc6455::connection::encode_shared;
use rfc6455::tokio::WebSocketStream;
use rfc6455::{CloseCode, Event, Message, MessageKind};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::chat::{ended, next_event};
use crate::chat_log::{self, v2, Origin, Request};
use crate::room::JoinAgain;
use crate::rooms::Chan;

/// How long a client has to say `hello` or `resume`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Lines of backlog a resumed client is sent at most.
const MAX_BACKLOG: usize = 100_000;

/// Serves a `chat.v2` client (named `User<port>` unless it resumes a
/// session) until its connection ends.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    chan: Arc<Chan>,
    port: u16,
) {
    let first = tokio::time::timeout(HELLO_TIMEOUT, socket.read()).await;
    let request = match first {
        Ok(Ok(Message::Text(t))) => t.parse::<Request>(),
        _ => return,
    };
    let fresh = || (chat_log::new_token(), format!("User{port}"), None);
    let (token, name, after) = match request {
        Ok(Request::Resume { token, after }) => {
            let (log, t) = (Arc::clone(&chan.log), token.clone());
            match tokio::task::spawn_blocking(move || log.session(&t)).await {
                Ok(Ok(Some(name))) => (token, name, Some(after)),
                Ok(Ok(None)) => fresh(),
                _ => {
                    let _ = socket
                        .connection_mut()
                        .close(CloseCode::TRY_AGAIN_LATER, "log unreachable");
                    let _ = socket.flush().await;
                    return;
                }
            }
        }
        Ok(Request::Hello) => fresh(),
        Ok(Request::Msg { .. }) | Err(_) => {
            let _ = socket
                .connection_mut()
                .close(CloseCode::PROTOCOL_ERROR, "hello first");
            let _ = socket.flush().await;
            return;
        }
    };
    keep_session(&chan, &token, &name).await;
    let room = &chan.clients.v2;
    let waited = Instant::now();
    let (cursor, mut head) = loop {
        let backlog = match after {
            Some(after) => {
                let log = Arc::clone(&chan.log);
                match tokio::task::spawn_blocking(move || log.range(after, MAX_BACKLOG)).await {
                    Ok(Ok(b)) => b,
                    _ => return,
                }
            }
            None => Vec::new(),
        };
        let give_up = waited.elapsed() > Duration::from_secs(2);
        match room.join_v2(&name, &token, after.map(|a| (a, &backlog[..])), give_up) {
            Ok(joined) => break joined,
            Err(JoinAgain::Behind) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(JoinAgain::Backlog) => {}
        }
    };
    chan.log.presence.add(&name);
    head.push(chan.log.presence.line());
    eprintln!(
        "{name} connected (chat.v2{}, {} online)",
        if after.is_some() { ", resumed" } else { "" },
        chan.len()
    );
    if after.is_none() {
        let _ = chan
            .log
            .append(format!("{name} just connected."), None, None);
    }
    let why = run(socket, &chan, &name, &token, cursor, head).await;
    room.leave_quietly();
    chan.log.presence.remove(&name);
    keep_session(&chan, &token, &name).await;
    if why == "closed" {
        let _ = chan.log.append(format!("{name} left."), None, None);
    }
    eprintln!("{name} disconnected: {why} ({} online)", chan.len());
}

/// Keeps the session for the resume window from now.
async fn keep_session(chan: &Arc<Chan>, token: &str, name: &str) {
    let (log, t, n) = (Arc::clone(&chan.log), token.to_string(), name.to_string());
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || log.keep_session(&t, &n)).await {
        eprintln!("async_broadcast: {name}: session not saved: {e}");
    }
}

/// The client's loop: `head` first, then the room's lines from `cursor`,
/// with its replies in between; returns why it ended.
async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    chan: &Chan,
    name: &str,
    token: &str,
    mut cursor: u64,
    head: Vec<String>,
) -> String {
    let room = &chan.clients.v2;
    let (tx, mut replies) = mpsc::unbounded_channel::<String>();
    for line in head {
        let _ = socket
            .connection_mut()
            .send_shared(&encode_shared(MessageKind::Text, line.as_bytes()));
    }
    let mut missed: Option<u64> = None;
    loop {
        // The replies (acks, busy) go out ahead of the room's lines.
        let next = next_event(socket, room, &mut cursor, &mut missed, |cx, conn| {
            while let Poll::Ready(Some(reply)) = replies.poll_recv(cx) {
                let _ = conn.send_shared(&encode_shared(MessageKind::Text, reply.as_bytes()));
            }
        })
        .await;
        match next {
            Ok(()) => {
                if let Some(Event::Text(t)) = socket.connection().event() {
                    match t.parse::<Request>() {
                        Ok(Request::Msg { cid, text }) => {
                            let tx2 = tx.clone();
                            let done: chat_log::Done = Box::new(move |r| {
                                let _ = tx2.send(match r {
                                    Ok(id) => v2::ack(cid, id),
                                    Err(_) => v2::busy(cid),
                                });
                            });
                            let origin = Origin {
                                token: token.to_string(),
                                cid,
                            };
                            let line = format!("{name} says: {text}");
                            if chan.log.append(line, Some(origin), Some(done)).is_err() {
                                let _ = tx.send(v2::busy(cid));
                            }
                        }
                        _ => {
                            let _ = tx.send(v2::notice("not understood"));
                        }
                    }
                }
            }
            Err(e) => return ended(socket, name, missed, e).await,
        }
    }
}
