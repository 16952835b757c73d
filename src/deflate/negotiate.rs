//! permessage-deflate in the adapters' opening handshakes (RFC 7692 §5,
//! §7.1), shared by [`blocking`](crate::blocking) and `tokio` so that both
//! offer, answer and turn compression on in the same way. It uses only the
//! public API: [`DeflateConfig::client_offer`],
//! [`DeflateConfig::client_accept`], [`DeflateConfig::server_accept`] and
//! [`Connection::enable_deflate`]; the adapters do the I/O.

use std::borrow::Cow;
use std::string::String;
use std::vec::Vec;

use super::{DeflateConfig, Negotiated, ParamError};
use crate::connection::Connection;
use crate::handshake::{
    self, Accept, ClientOptions, HandshakeError, Headers, Response, ResponseParts,
};

/// Client side: the request's options with the permessage-deflate offer
/// added, and what was offered.
#[derive(Debug)]
pub(crate) struct ClientOffer<'a> {
    offered: Option<&'a DeflateConfig>,
    options: Cow<'a, ClientOptions>,
}

impl<'a> ClientOffer<'a> {
    /// Offers `deflate` (RFC 7692 §5.1) unless `options` already carries an
    /// extension offer, which the application then negotiates itself.
    pub(crate) fn new(deflate: Option<&'a DeflateConfig>, options: &'a ClientOptions) -> Self {
        let offered = deflate.filter(|_| options.extensions.is_none());
        let options = match offered {
            Some(d) => Cow::Owned(options.clone().extensions(d.client_offer())),
            None => Cow::Borrowed(options),
        };
        ClientOffer { offered, options }
    }

    /// The options to build the request with.
    pub(crate) fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Checks the server's answer against the offer (RFC 7692 §7.1): an
    /// answer that does not fit it, or no answer when compression is
    /// required, is an error (the client then fails the WebSocket
    /// connection, §5.1). An agreed answer turns compression on in `conn`.
    pub(crate) fn finish<E>(&self, response: &Response, conn: &mut Connection) -> Result<(), E>
    where
        E: From<HandshakeError> + From<ParamError>,
    {
        let Some(d) = self.offered else {
            return Ok(());
        };
        let answer = response.extensions()?;
        if let Some(agreed) = d.client_accept(&answer)? {
            conn.enable_deflate(agreed, d);
        }
        Ok(())
    }
}

/// Server side: the offer a server took, and its answer.
pub(crate) struct ServerAnswer {
    agreed: Negotiated,
    answer: String,
    config: DeflateConfig,
}

/// Server side, compression [`required`](DeflateConfig::required) and no
/// acceptable offer: the request is refused with 400.
pub(crate) struct Required;

impl Required {
    /// The 400 response to send before closing.
    pub(crate) fn response(&self) -> Result<Vec<u8>, HandshakeError> {
        handshake::reject(400, &[], b"permessage-deflate is required\n")
    }

    /// The same 400, as a status and fields (hyper, HTTP/2).
    pub(crate) fn response_parts(&self) -> ResponseParts {
        let mut parts = ResponseParts::new(400);
        parts.body = b"permessage-deflate is required\n".to_vec();
        parts
    }

    /// The error the adapter reports.
    pub(crate) fn error(&self) -> ParamError {
        ParamError::Required
    }
}

impl ServerAnswer {
    /// Picks the first offer in `request` that `deflate` accepts (RFC 7692
    /// §5.1). `Ok(None)`: answer without the extension, because none is
    /// configured, the application set its own extension answer in
    /// `accept`, the offers are malformed (validating the request answers
    /// that with 400), or no offer fits; `Err(Required)` in the last case
    /// when compression is required.
    pub(crate) fn negotiate(
        deflate: Option<&DeflateConfig>,
        request: &Headers,
        accept: &Accept<'_>,
    ) -> Result<Option<ServerAnswer>, Required> {
        let Some(d) = deflate else {
            return Ok(None);
        };
        if accept.extensions_answer().is_some() {
            return Ok(None);
        }
        let Ok(offers) = request.extensions() else {
            return Ok(None);
        };
        match d.server_accept(&offers) {
            Some((agreed, answer)) => Ok(Some(ServerAnswer {
                agreed,
                answer,
                config: d.clone(),
            })),
            None if d.required => Err(Required),
            None => Ok(None),
        }
    }

    /// `accept` with the `Sec-WebSocket-Extensions` answer added.
    pub(crate) fn accept<'b>(&'b self, accept: &Accept<'b>) -> Accept<'b> {
        accept.clone().extensions(&self.answer)
    }

    /// Turns compression on in the new connection, once the answer is sent.
    pub(crate) fn enable(&self, conn: &mut Connection) {
        conn.enable_deflate(self.agreed, &self.config);
    }
}
