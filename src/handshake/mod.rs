//! The opening handshake (RFC 6455 §4), sans-IO.
//!
//! Neither side touches a socket: you feed received bytes in and get bytes to
//! send out.
//!
//! * Server: [`ServerHandshake::feed`] reads a request head incrementally
//!   (linear time however it is split, bounded by [`Limits`]) and returns a
//!   [`Request`] plus the number of input bytes it used. The application
//!   inspects it (`origin()`, `subprotocols()`, `extensions()`, ...) and calls
//!   [`Request::accept`] to get the `101` response (RFC 6455 §4.2.2), or
//!   [`reject`] / [`http_response`] for anything else. Invalid handshakes
//!   produce a [`HandshakeError`] whose [`response`](HandshakeError::response)
//!   is the 400/426/431 answer RFC 6455 §4.2.1 and §4.4 call for.
//! * Client: [`Uri::parse`] (RFC 6455 §3), [`ClientHandshake::new`] builds
//!   the request (RFC 6455 §4.1), and [`ClientHandshake::feed`] validates the
//!   server's response.
//!
//! * HTTP/2 (RFC 8441): [`ConnectRequest`] and [`ClientConnect`], the
//!   extended CONNECT, both roles, taking and giving header fields instead
//!   of bytes (an example on [`ConnectRequest`]); their checks are the
//!   ones above, shared.
//! * Another HTTP server that has parsed the head already:
//!   [`Request::from_parts`] builds the same [`Request`] from its method,
//!   target and fields, and [`Request::accept_parts`] /
//!   [`HandshakeError::response_parts`] answer it as a status and fields
//!   ([`ResponseParts`]).
//!
//! Bytes that follow a head in the same input (frames pipelined behind the
//! handshake) are never consumed: `input[n..]` belongs to the connection.
//!
//! # Example
//!
//! ```
//! use rfc6455::handshake::{Accept, ClientHandshake, ClientOptions, Limits, ServerHandshake, Uri};
//! use rfc6455::rand::KeySource;
//!
//! struct Fixed; // use rand::OsRandom in real code
//! impl KeySource for Fixed {
//!     fn fill(&mut self, dest: &mut [u8]) { dest.fill(7) }
//! }
//!
//! // Client: build the request.
//! let uri = Uri::parse("ws://example.com/chat").unwrap();
//! let opts = ClientOptions::new().subprotocol("chat").origin("http://example.com");
//! let mut client = ClientHandshake::new(&uri, &opts, &mut Fixed).unwrap();
//!
//! // Server: the request arrives, followed by the first frame.
//! let mut wire = client.request_bytes().to_vec();
//! wire.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
//! let mut server = ServerHandshake::new(Limits::default());
//! let (request, used) = server.feed(&wire).unwrap().expect("complete head");
//! assert_eq!(request.path(), "/chat");
//! assert_eq!(request.host(), Some("example.com"));
//! assert_eq!(&wire[used..], &[0x81, 0x80, 1, 2, 3, 4]); // left for the frame parser
//! let reply = match request.accept(&Accept::new().subprotocol("chat")) {
//!     Ok(reply) => reply,
//!     Err(e) => e.response().expect("server-side error"), // send, then close
//! };
//! assert!(reply.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//!
//! // Client: validate the response, fed in two pieces.
//! assert!(client.feed(&reply[..10]).unwrap().is_none());
//! let (response, used) = client.feed(&reply[10..]).unwrap().expect("complete head");
//! assert_eq!(used, reply.len() - 10);
//! assert_eq!(response.subprotocol(), Some("chat"));
//! ```

mod accept;
mod client;
mod error;
mod h2;
mod head;
mod headers;
mod request;
mod response;
mod server;
mod uri;
mod write;

pub use accept::{accept_key, GUID};
pub use client::{ClientHandshake, ClientOptions};
pub use error::{HandshakeError, UriError};
pub use h2::{ClientConnect, ConnectRequest, PseudoHeaders};
pub use head::Limits;
pub use headers::{Extension, ExtensionParam, HeaderField, Headers};
pub use request::{Accept, Request};
pub use response::Response;
pub use server::{http_response, reject, ServerHandshake};
pub use uri::Uri;
pub use write::{reason_phrase, ResponseParts};
