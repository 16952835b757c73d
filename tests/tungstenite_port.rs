//! Code written for tokio-tungstenite's `Stream`/`Sink` compiles and works
//! against the tokio adapter with only the imports changed: its echo
//! server example, ported line for line (`accept_async` is `accept`), and a
//! client in the same idiom (`send(msg).await`, `next().await`,
//! `StreamExt::split` then `forward`).
#![cfg(feature = "tokio")]

use futures_util::{future, SinkExt, StreamExt, TryStreamExt};
use rfc6455::tokio::{accept, connect};
use rfc6455::Message;
use tokio::net::{TcpListener, TcpStream};

/// tokio-tungstenite's `examples/echo-server.rs`, ported: only the crate
/// paths differ.
async fn accept_connection(stream: TcpStream) {
    let ws_stream = accept(stream)
        .await
        .expect("Error during the websocket handshake occurred");

    let (write, read) = ws_stream.split();
    // We should not forward messages other than text or binary.
    read.try_filter(|msg| future::ready(msg.is_text() || msg.is_binary()))
        .forward(write)
        .await
        .expect("Failed to forward messages")
}

async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(accept_connection(stream));
        }
    });
    format!("ws://{addr}/")
}

#[tokio::test]
async fn the_ported_echo_server_echoes_text_and_binary() {
    let url = echo_server().await;
    let (mut ws, _) = connect(&url).await.unwrap();
    // `send` takes an owned message, as `SinkExt::send` does.
    ws.send(Message::Text("hello".into())).await.unwrap();
    ws.send(Message::Binary(vec![1, 2, 3])).await.unwrap();
    // A Ping is answered by the server's connection itself and not
    // forwarded; the Pong comes back, then the echoes.
    ws.send(Message::Ping(b"p".to_vec())).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(ws.next().await.unwrap().unwrap());
    }
    assert!(got.contains(&Message::Text("hello".into())));
    assert!(got.contains(&Message::Binary(vec![1, 2, 3])));
    assert!(got.contains(&Message::Pong(b"p".to_vec())));
    // Feeding several then flushing once, the futures way.
    for i in 0..3 {
        ws.feed(Message::Text(format!("m{i}"))).await.unwrap();
    }
    ws.flush().await.unwrap();
    for i in 0..3 {
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Text(format!("m{i}"))
        );
    }
    // SinkExt::close sends a Close (1000); the stream then ends.
    SinkExt::close(&mut ws).await.unwrap();
    while let Some(msg) = ws.next().await {
        if msg.unwrap().is_close() {
            break;
        }
    }
}

/// The client side of the same idiom: split, then forward a stream of
/// messages into the writer while reading the echoes.
#[tokio::test]
async fn a_client_can_forward_a_stream_into_its_split_writer() {
    let url = echo_server().await;
    let (ws, _) = connect(&url).await.unwrap();
    let (mut write, mut read) = ws.split();
    let outgoing = futures_util::stream::iter((0..5).map(|i| Ok(Message::Text(format!("{i}")))));
    write.send_all(&mut Box::pin(outgoing)).await.unwrap();
    for i in 0..5 {
        let msg = read.next().await.unwrap().unwrap();
        assert_eq!(msg, Message::Text(format!("{i}")));
    }
}
