//! When the adapters write: what the application queued goes out when a
//! read has to wait for the peer (one write for the echoes of frames that
//! arrived together), while the replies the connection makes itself (a
//! Pong, the Close echo, RFC 6455 §5.5.2 and §5.5.1) go out as soon as the
//! event that caused them is returned, even with more input buffered.
//!
//! Both adapters are driven over in-memory streams that hand over all
//! their input in one read and record every write call.

use std::io::{self, Read, Write};

use rfc6455::blocking::WebSocket;
use rfc6455::{CloseCode, Config, Connection, Event, Message};

/// Frames as a client sends them (masked), all in one buffer.
fn client_frames(queue: impl FnOnce(&mut Connection)) -> Vec<u8> {
    let mut client = Connection::client(Config::default());
    queue(&mut client);
    client.take_output()
}

/// Decodes what a server wrote, as the client would, into messages.
fn decode_server_output(bytes: &[u8]) -> Vec<Message> {
    let mut client = Connection::client(Config::default());
    client.feed(bytes);
    let mut out = Vec::new();
    while let Ok(Some(m)) = client.next_message() {
        out.push(m);
    }
    out
}

/// A stream whose whole input arrives in the first read; later reads find
/// nothing yet (`WouldBlock`). Every write call is kept apart.
struct Recorder {
    input: Vec<u8>,
    writes: Vec<Vec<u8>>,
}

impl Recorder {
    fn new(input: Vec<u8>) -> Self {
        Recorder {
            input,
            writes: Vec::new(),
        }
    }
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        Ok(n)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.push(buf.to_vec());
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        let n = all.len();
        self.writes.push(all);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn blocking_echoes_of_frames_that_arrived_together_leave_in_one_write() {
    let input = client_frames(|c| {
        for t in ["one", "two", "three"] {
            c.send_text(t).unwrap();
        }
    });
    let mut ws =
        WebSocket::from_connection(Recorder::new(input), Connection::server(Config::default()));
    for _ in 0..3 {
        ws.read_event().unwrap();
        assert!(ws.connection_mut().echo_event().unwrap());
        assert!(ws.get_ref().writes.is_empty(), "an echo was written early");
    }
    // The next read has nothing to decode: it writes what is queued, then
    // finds the stream empty.
    let e = ws.read_event().unwrap_err();
    assert!(e.is_would_block(), "{e:?}");
    let writes = &ws.get_ref().writes;
    assert_eq!(writes.len(), 1, "one write for three echoes");
    assert_eq!(
        decode_server_output(&writes[0]),
        ["one", "two", "three"].map(|t| Message::Text(t.into()))
    );
}

#[test]
fn blocking_pong_goes_out_with_its_ping_even_with_more_buffered() {
    let input = client_frames(|c| {
        c.send_ping(b"p").unwrap();
        c.send_text("after").unwrap();
    });
    let mut ws =
        WebSocket::from_connection(Recorder::new(input), Connection::server(Config::default()));
    assert_eq!(ws.read_event().unwrap(), Event::Ping(b"p"));
    let writes = &ws.get_ref().writes;
    assert_eq!(writes.len(), 1, "the Pong is written with the Ping's event");
    assert_eq!(
        decode_server_output(&writes[0]),
        [Message::Pong(b"p".to_vec())]
    );
    assert_eq!(ws.read_event().unwrap(), Event::Text("after"));
    assert_eq!(ws.get_ref().writes.len(), 1);
}

#[test]
fn blocking_close_echo_goes_out_with_the_close_event() {
    let input = client_frames(|c| {
        c.send_text("last").unwrap();
        c.close(CloseCode::NORMAL, "bye").unwrap();
    });
    let mut ws =
        WebSocket::from_connection(Recorder::new(input), Connection::server(Config::default()));
    ws.read_event().unwrap();
    assert!(ws.connection_mut().echo_event().unwrap());
    assert!(matches!(ws.read_event().unwrap(), Event::Close(_)));
    // The echo queued before and the Close echo, written when the Close
    // was returned.
    let written: Vec<u8> = ws.get_ref().writes.concat();
    let out = decode_server_output(&written);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0], Message::Text("last".into()));
    assert!(matches!(out[1], Message::Close(_)), "{out:?}");
}

#[cfg(feature = "tokio")]
mod tokio_adapter {
    use super::*;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use futures_util::FutureExt;
    use rfc6455::tokio::WebSocketStream;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    /// Every write call's bytes, shared with the test.
    type Writes = Arc<Mutex<Vec<Vec<u8>>>>;

    /// The async form of [`Recorder`]: reads after the input are Pending
    /// (forever); writes are kept apart, in a list the test keeps too.
    struct AsyncRecorder {
        input: Vec<u8>,
        writes: Writes,
    }

    impl AsyncRead for AsyncRecorder {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.input.is_empty() {
                return Poll::Pending;
            }
            let n = buf.remaining().min(self.input.len());
            buf.put_slice(&self.input[..n]);
            self.input.drain(..n);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for AsyncRecorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes.lock().unwrap().push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let n = all.len();
            self.writes.lock().unwrap().push(all);
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn server(input: Vec<u8>) -> (WebSocketStream<AsyncRecorder>, Writes) {
        let writes = Arc::new(Mutex::new(Vec::new()));
        let stream = AsyncRecorder {
            input,
            writes: Arc::clone(&writes),
        };
        let ws = WebSocketStream::from_connection(stream, Connection::server(Config::default()));
        (ws, writes)
    }

    #[tokio::test]
    async fn echoes_of_frames_that_arrived_together_leave_in_one_write() {
        let (mut ws, writes) = server(client_frames(|c| {
            for t in ["one", "two", "three"] {
                c.send_text(t).unwrap();
            }
        }));
        for _ in 0..3 {
            ws.read_event().await.unwrap();
            assert!(ws.connection_mut().echo_event().unwrap());
            assert!(
                writes.lock().unwrap().is_empty(),
                "an echo was written early"
            );
        }
        // Nothing more to decode: the read writes what is queued, then waits.
        assert!(ws.read_event().now_or_never().is_none());
        let writes = writes.lock().unwrap();
        assert_eq!(writes.len(), 1, "one write for three echoes");
        assert_eq!(
            decode_server_output(&writes[0]),
            ["one", "two", "three"].map(|t| Message::Text(t.into()))
        );
    }

    #[tokio::test]
    async fn pong_goes_out_with_its_ping_even_with_more_buffered() {
        let (mut ws, writes) = server(client_frames(|c| {
            c.send_ping(b"p").unwrap();
            c.send_text("after").unwrap();
        }));
        assert_eq!(ws.read_event().await.unwrap(), Event::Ping(b"p"));
        {
            let writes = writes.lock().unwrap();
            assert_eq!(writes.len(), 1, "the Pong is written with the Ping's event");
            assert_eq!(
                decode_server_output(&writes[0]),
                [Message::Pong(b"p".to_vec())]
            );
        }
        assert_eq!(ws.read_event().await.unwrap(), Event::Text("after"));
        assert_eq!(writes.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn close_echo_goes_out_with_the_close_event() {
        let (mut ws, writes) = server(client_frames(|c| {
            c.send_text("last").unwrap();
            c.close(CloseCode::NORMAL, "bye").unwrap();
        }));
        ws.read_event().await.unwrap();
        assert!(ws.connection_mut().echo_event().unwrap());
        assert!(matches!(ws.read_event().await.unwrap(), Event::Close(_)));
        let written: Vec<u8> = writes.lock().unwrap().concat();
        let out = decode_server_output(&written);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0], Message::Text("last".into()));
        assert!(matches!(out[1], Message::Close(_)), "{out:?}");
    }
}
