//! One chat client's task: reads its messages into the room, and moves
//! the room's lines into its connection. Shared by `async_broadcast` (over
//! TCP) and `axum_chat` (over hyper's upgraded HTTP/1.1 connections and
//! HTTP/2 streams).

use std::future::{poll_fn, Future};
use std::task::{Context, Poll};
use std::time::Duration;

use rfc6455::tokio::{Error, WebSocketStream};
use rfc6455::{CloseCode, Connection, Event};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::room::{Room, Taken};

/// Lines moved from the room's log into the connection at a time (the
/// connection's queue of references stays short; the rest waits in the log).
const BATCH: usize = 64;

/// Drives one client until its connection ends; returns why.
pub async fn chat<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    room: &Room,
    name: &str,
    mut cursor: u64,
) -> String {
    // Set when the client has fallen out of the log.
    let mut missed: Option<u64> = None;
    loop {
        match next_event(socket, room, &mut cursor, &mut missed, |_, _| {}).await {
            Ok(()) => {
                if let Some(Event::Text(t)) = socket.connection().event() {
                    room.broadcast(&format!("{name} says: {t}"));
                }
            }
            Err(e) => return ended(socket, name, missed, e).await,
        }
    }
}

/// Waits for the client's next event ([`WebSocketStream::poll_prepare`]:
/// `Ok` when `socket.connection().event()` has it), moving the room's
/// lines into the connection meanwhile, as far as its high-water mark
/// allows. `queue` runs first on every poll, to queue frames of the
/// caller's own (`chat.v2` replies). Fails with
/// [`Error::ConnectionClosed`] and sets `missed` when the client's next
/// line has left the log.
pub async fn next_event<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    room: &Room,
    cursor: &mut u64,
    missed: &mut Option<u64>,
    mut queue: impl FnMut(&mut Context<'_>, &mut Connection),
) -> Result<(), Error> {
    let mut appended = std::pin::pin!(room.appended());
    poll_fn(|cx| loop {
        // Registered before looking at the log, so no line is missed.
        appended.as_mut().enable();
        queue(cx, socket.connection_mut());
        // Take lines only while the connection's output is below its
        // high-water mark: a client that cannot keep up falls behind in
        // the log instead of growing a queue, and is dropped once too far.
        let high = socket.high_water();
        let mut more = false;
        if socket.connection_mut().output().len() <= high {
            let conn = socket.connection_mut();
            match room.take(cursor, BATCH, |frame| {
                let _ = conn.send_shared(frame);
            }) {
                Taken::Lines(left) => more = left,
                Taken::Lagged(n) => {
                    *missed = Some(n);
                    return Poll::Ready(Err(Error::ConnectionClosed));
                }
            }
        }
        // Reading writes what is queued (vectored), drives keepalive,
        // and answers pings and closes.
        if let Poll::Ready(r) = socket.poll_prepare(cx) {
            return Poll::Ready(r);
        }
        // Writing may have made room for more lines; without room, the
        // socket's readiness wakes this task, and so does every new line
        // (to notice when this client has fallen out of the log).
        let full = socket.connection_mut().output().len() > high;
        if full {
            if let Some(n) = room.missed(*cursor) {
                *missed = Some(n);
                return Poll::Ready(Err(Error::ConnectionClosed));
            }
        } else if more {
            continue;
        }
        match appended.as_mut().poll(cx) {
            Poll::Ready(()) => appended.set(room.appended()),
            Poll::Pending => return Poll::Pending,
        }
    })
    .await
}

/// Why a client's connection ended (the [`next_event`] failure `e`); a
/// client that fell out of the log is told so (1008 "too slow!") first.
pub async fn ended<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    name: &str,
    missed: Option<u64>,
    e: Error,
) -> String {
    match (e, missed) {
        (Error::ConnectionClosed, Some(n)) => {
            eprintln!("{name} is too slow ({n} lines missed): disconnecting");
            // Its socket is full: the Close frame gets a second to get
            // through behind the queued lines, then the socket is dropped.
            let _ = socket
                .connection_mut()
                .close(CloseCode::POLICY_VIOLATION, "too slow!");
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.flush()).await;
            "too slow".into()
        }
        (Error::ConnectionClosed, None) => "closed".into(),
        (e, _) => format!("{e}"),
    }
}
