//! From a finished opening handshake to an open [`Connection`], for both
//! adapters ([`blocking`](crate::blocking) and `tokio`): the server's answer
//! to an upgrade request (RFC 6455 §4.2.2) and the client's connection once
//! the server's response is in (§4.1), with permessage-deflate negotiated
//! on the way (RFC 7692 §5). No I/O here: the adapters write the bytes
//! these give them and read the heads these take, each in its own way.

use std::vec::Vec;

use crate::config::Config;
use crate::connection::Connection;
#[cfg(feature = "deflate")]
use crate::deflate::{
    negotiate::{ClientOffer, ServerAnswer},
    DeflateConfig, ParamError,
};
use crate::handshake::{
    Accept, ClientHandshake, ClientOptions, HandshakeError, Request, Response, Uri,
};
use crate::rand::{KeySource, OsRandom};

/// The errors an adapter reports for a handshake that does not open a
/// connection: a bad request or response, and (with the `deflate` feature)
/// a permessage-deflate negotiation that failed.
#[cfg(feature = "deflate")]
pub(crate) trait UpgradeError: From<HandshakeError> + From<ParamError> {}
#[cfg(feature = "deflate")]
impl<E: From<HandshakeError> + From<ParamError>> UpgradeError for E {}

/// The errors an adapter reports for a handshake that does not open a
/// connection: a bad request or response.
#[cfg(not(feature = "deflate"))]
pub(crate) trait UpgradeError: From<HandshakeError> {}
#[cfg(not(feature = "deflate"))]
impl<E: From<HandshakeError>> UpgradeError for E {}

/// A server's upgrade request, read and about to be accepted: what an
/// adapter's `Incoming` holds besides its stream.
pub(crate) struct ServerUpgrade {
    pub(crate) request: Request,
    /// Bytes the client sent right behind its request: the first frames.
    pub(crate) leftover: Vec<u8>,
    pub(crate) config: Config,
    /// permessage-deflate to accept offers with, if any.
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<DeflateConfig>,
}

impl ServerUpgrade {
    /// Answers the request with `accept`: the response to write, then the
    /// connection (compression on if an offer was taken, the leftover bytes
    /// fed), or the error to report once the refusal (400, 426, or 400 when
    /// compression is required and no offer fits) is written. The refusal
    /// may be empty when the request cannot be answered at all.
    pub(crate) fn answer<E: UpgradeError>(
        self,
        accept: &Accept<'_>,
    ) -> (Vec<u8>, Result<Connection, E>) {
        #[cfg(feature = "deflate")]
        let agreed = match ServerAnswer::negotiate(self.deflate.as_ref(), &self.request, accept) {
            Ok(agreed) => agreed,
            Err(required) => {
                let refusal = required.response().unwrap_or_default();
                return (refusal, Err(required.error().into()));
            }
        };
        #[cfg(feature = "deflate")]
        let with_answer;
        #[cfg(feature = "deflate")]
        let accept = match &agreed {
            Some(agreed) => {
                with_answer = agreed.accept(accept);
                &with_answer
            }
            None => accept,
        };
        match self.request.accept(accept) {
            Ok(response) => {
                #[allow(unused_mut)]
                let mut conn = Connection::server(self.config);
                #[cfg(feature = "deflate")]
                if let Some(agreed) = &agreed {
                    agreed.enable(&mut conn);
                }
                conn.feed(&self.leftover);
                (response, Ok(conn))
            }
            Err(e) => (e.response().unwrap_or_default(), Err(e.into())),
        }
    }
}

/// A client's opening handshake: the request to send, with the
/// permessage-deflate offer (if any) added.
pub(crate) struct ClientUpgrade<'a> {
    pub(crate) options: &'a ClientOptions,
    /// permessage-deflate to offer, if any (not when `options` carries an
    /// extension offer of the application's own).
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<&'a DeflateConfig>,
}

/// A client handshake under way: what [`ClientUpgrade::start`] offered,
/// and the key source the connection will mask with.
pub(crate) struct ClientOpening<'a> {
    #[cfg(feature = "deflate")]
    offer: ClientOffer<'a>,
    #[cfg(not(feature = "deflate"))]
    _options: core::marker::PhantomData<&'a ()>,
    keys: OsRandom,
}

impl<'a> ClientUpgrade<'a> {
    /// The handshake for `uri` (its request bytes to write, the response
    /// to feed it), and what [`ClientOpening::open`] needs afterwards.
    pub(crate) fn start(
        self,
        uri: &Uri,
    ) -> Result<(ClientHandshake, ClientOpening<'a>), HandshakeError> {
        let mut keys = OsRandom::new();
        #[cfg(feature = "deflate")]
        let offer = ClientOffer::new(self.deflate, self.options);
        #[cfg(feature = "deflate")]
        let options = offer.options();
        #[cfg(not(feature = "deflate"))]
        let options = self.options;
        let hs = ClientHandshake::new(uri, options, &mut keys as &mut dyn KeySource)?;
        let opening = ClientOpening {
            #[cfg(feature = "deflate")]
            offer,
            #[cfg(not(feature = "deflate"))]
            _options: core::marker::PhantomData,
            keys,
        };
        Ok((hs, opening))
    }
}

impl ClientOpening<'_> {
    /// The connection once the server's `response` is in: its answer to
    /// the deflate offer checked (RFC 7692 §7.1) and compression turned on
    /// if agreed, and `leftover` (bytes the server sent right behind its
    /// response: the first frames) fed.
    pub(crate) fn open<E: UpgradeError>(
        self,
        config: Config,
        #[allow(unused_variables)] response: &Response,
        leftover: &[u8],
    ) -> Result<Connection, E> {
        #[allow(unused_mut)]
        let mut conn = Connection::client_with_keys(config, self.keys);
        #[cfg(feature = "deflate")]
        self.offer.finish::<E>(response, &mut conn)?;
        conn.feed(leftover);
        Ok(conn)
    }
}
