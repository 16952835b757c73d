//! Negotiating permessage-deflate parameters (RFC 7692 §5, §7.1).

use alloc::string::String;
use core::fmt::Write as _;

use crate::handshake::Extension;

/// The extension token (RFC 7692 §7).
///
/// ```
/// use rfc6455::deflate::{DeflateConfig, NAME};
/// assert_eq!(NAME, "permessage-deflate");
/// assert!(DeflateConfig::default().client_offer().starts_with(NAME));
/// ```
pub const NAME: &str = "permessage-deflate";

/// What this endpoint wants from permessage-deflate, in either role.
///
/// Window bits 8: zlib-style libraries turn a raw-deflate window of 8 bits
/// into 9 when compressing, so this crate never compresses with an 8-bit
/// window. As a server it answers a request for `server_max_window_bits=8`
/// with 9 where the offer allows it (`client_max_window_bits` has no such
/// problem: inflating always uses a 15-bit window, which decodes any
/// stream); a client that is told to compress with an 8-bit window sends its
/// messages uncompressed, which RFC 7692 always allows.
///
/// The adapters negotiate with it (`deflate` in their configs):
///
/// ```
/// use rfc6455::adapter::{ClientConfig, ServerConfig};
/// use rfc6455::deflate::DeflateConfig;
///
/// let mut compress_hard = DeflateConfig::default();
/// compress_hard.level = 9;
/// compress_hard.threshold = 256; // smaller messages go out as they are
/// compress_hard.server_max_window_bits = 12; // 4 KiB window: less memory
///
/// let mut client = ClientConfig::default();
/// client.deflate = Some(compress_hard.clone()); // offer (off by default)
/// let mut server = ServerConfig::default();
/// server.deflate = Some(compress_hard); // accept offers (on by default)
/// let mut no_compression = ServerConfig::default();
/// no_compression.deflate = None; // decline every offer
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server resets its compression context after every message, so no
    /// compression state is kept between messages in that direction.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after every message.
    pub client_no_context_takeover: bool,
    /// Largest LZ77 window (as a power of two, 9-15) the server compresses
    /// with. Smaller windows use less memory and compress less.
    pub server_max_window_bits: u8,
    /// Largest window the client compresses with (9-15).
    pub client_max_window_bits: u8,
    /// Compression level, 0-9.
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (RSV1 clear).
    pub threshold: usize,
    /// Fail the handshake if the peer does not agree to compression: the
    /// adapters' servers answer a request with no acceptable offer with 400,
    /// their clients fail on an answer without the extension; both report
    /// [`ParamError::Required`].
    pub required: bool,
}

impl Default for DeflateConfig {
    /// No context takeover in either direction: an idle connection keeps no
    /// compression state (the crate's idle-memory budget of 4 KiB holds with
    /// compression on), at some cost in ratio on small repetitive messages.
    /// Level 6, 15-bit windows, messages under 64 bytes sent as they are.
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
            threshold: 64,
            required: false,
        }
    }
}

/// The parameters both ends agreed on.
///
/// ```
/// use rfc6455::deflate::DeflateConfig;
/// use rfc6455::handshake::{Limits, ServerHandshake};
/// let head = b"GET / HTTP/1.1\r\nHost: x\r\n\
///     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n";
/// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
/// let (agreed, _answer) = DeflateConfig::default().server_accept(&request.extensions()?).unwrap();
/// assert_eq!(agreed.client_max_window_bits, 10); // what the client asked for
/// assert_eq!(agreed.server_max_window_bits, 15);
/// assert!(agreed.server_no_context_takeover); // this server's default
/// // Then: `Connection::enable_deflate(agreed, &config)`.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The server resets its context after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its context after every message.
    pub client_no_context_takeover: bool,
    /// The server's compression window (bits).
    pub server_max_window_bits: u8,
    /// The client's compression window (bits).
    pub client_max_window_bits: u8,
}

/// Why a permessage-deflate offer or response is unacceptable (RFC 7692 §7.1).
///
/// ```
/// use rfc6455::deflate::{DeflateConfig, ParamError};
/// use rfc6455::handshake::{Extension, ExtensionParam};
/// // A server answer with a parameter the extension does not define.
/// let answer = [Extension {
///     name: "permessage-deflate",
///     params: vec![ExtensionParam { name: "x_speed", value: None }],
/// }];
/// let err = DeflateConfig::default().client_accept(&answer).unwrap_err();
/// assert_eq!(err, ParamError::Unknown("x_speed".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A parameter this extension does not define.
    #[error("unknown permessage-deflate parameter {0:?}")]
    Unknown(String),
    /// A parameter given twice.
    #[error("duplicate permessage-deflate parameter {0:?}")]
    Duplicate(String),
    /// A value that is not allowed (window bits outside 8-15, a value on a
    /// flag, no value where one is required).
    #[error("invalid value for permessage-deflate parameter {0:?}")]
    InvalidValue(String),
    /// The server's response contains `client_max_window_bits` that the
    /// client did not offer, or a window larger than offered.
    #[error("permessage-deflate response does not fit the offer: {0}")]
    NotOffered(&'static str),
    /// More than one permessage-deflate in a response.
    #[error("permessage-deflate negotiated twice")]
    Twice,
    /// Compression is [`required`](DeflateConfig::required) and the peer
    /// did not agree to it: a client's offer was declined, or a server found
    /// no offer it could accept (RFC 7692 §5 lets either side fail the
    /// handshake then).
    #[error("permessage-deflate is required and the peer did not agree to it")]
    Required,
}

/// The parameters of one offer or response, checked for syntax.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// `Some(None)`: present without a value.
    pub server_max_window_bits: Option<Option<u8>>,
    pub client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    pub(crate) fn parse(ext: &Extension<'_>) -> Result<Params, ParamError> {
        let mut p = Params::default();
        let mut seen = [false; 4];
        for param in &ext.params {
            let name = param.name;
            let value = param.value.as_deref();
            let idx = match name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" => 0,
                "client_no_context_takeover" => 1,
                "server_max_window_bits" => 2,
                "client_max_window_bits" => 3,
                _ => return Err(ParamError::Unknown(name.into())),
            };
            if seen[idx] {
                return Err(ParamError::Duplicate(name.into()));
            }
            seen[idx] = true;
            match idx {
                0 | 1 => {
                    if value.is_some() {
                        return Err(ParamError::InvalidValue(name.into()));
                    }
                    if idx == 0 {
                        p.server_no_context_takeover = true;
                    } else {
                        p.client_no_context_takeover = true;
                    }
                }
                _ => {
                    let bits = match value {
                        // RFC 7692 §7.1.2.1: server_max_window_bits always has a value.
                        None if idx == 2 => return Err(ParamError::InvalidValue(name.into())),
                        None => None,
                        Some(v) => Some(
                            parse_bits(v).ok_or_else(|| ParamError::InvalidValue(name.into()))?,
                        ),
                    };
                    if idx == 2 {
                        p.server_max_window_bits = Some(bits);
                    } else {
                        p.client_max_window_bits = Some(bits);
                    }
                }
            }
        }
        Ok(p)
    }
}

/// Window bits: 1*DIGIT in 8..=15, no leading zeros or signs (RFC 7692 §7.1.2).
fn parse_bits(v: &str) -> Option<u8> {
    if v.is_empty() || v.len() > 2 || !v.bytes().all(|b| b.is_ascii_digit()) || v.starts_with('0') {
        return None;
    }
    let n: u8 = v.parse().ok()?;
    (8..=15).contains(&n).then_some(n)
}

fn clamp_bits(b: u8) -> u8 {
    b.clamp(9, 15)
}

impl DeflateConfig {
    /// The offer a client sends in `Sec-WebSocket-Extensions`.
    ///
    /// ```
    /// use rfc6455::deflate::DeflateConfig;
    /// let mut c = DeflateConfig::default();
    /// c.server_no_context_takeover = false;
    /// c.client_no_context_takeover = false;
    /// assert_eq!(c.client_offer(), "permessage-deflate; client_max_window_bits");
    /// ```
    pub fn client_offer(&self) -> String {
        let mut s = String::from(NAME);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            let _ = write!(
                s,
                "; server_max_window_bits={}",
                clamp_bits(self.server_max_window_bits)
            );
        }
        // Always say we can work with a window the server chooses.
        if self.client_max_window_bits < 15 {
            let _ = write!(
                s,
                "; client_max_window_bits={}",
                clamp_bits(self.client_max_window_bits)
            );
        } else {
            s.push_str("; client_max_window_bits");
        }
        s
    }

    /// Server side: picks the first offer in `offers` (from
    /// [`Request::extensions`](crate::handshake::Request::extensions)) that
    /// this configuration can accept, and returns the agreed parameters with
    /// the `Sec-WebSocket-Extensions` value to answer with. `None` declines
    /// (answer with no extension).
    ///
    /// ```
    /// use rfc6455::deflate::DeflateConfig;
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// let req = b"GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Extensions: \
    ///     permessage-deflate; client_max_window_bits, permessage-deflate\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(req).unwrap().unwrap();
    /// let (agreed, answer) = DeflateConfig::default()
    ///     .server_accept(&request.extensions().unwrap())
    ///     .unwrap();
    /// assert!(agreed.server_no_context_takeover);
    /// assert_eq!(answer, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    /// ```
    pub fn server_accept(&self, offers: &[Extension<'_>]) -> Option<(Negotiated, String)> {
        offers
            .iter()
            .filter(|e| e.name.eq_ignore_ascii_case(NAME))
            .find_map(|e| self.accept_one(&Params::parse(e).ok()?))
    }

    fn accept_one(&self, p: &Params) -> Option<(Negotiated, String)> {
        let server_no_context_takeover =
            p.server_no_context_takeover || self.server_no_context_takeover;
        let client_no_context_takeover =
            p.client_no_context_takeover || self.client_no_context_takeover;
        // Our compressor's window: at most what the client allows. We cannot
        // compress with an 8-bit window (see the type's docs): decline that.
        let mut server_bits = clamp_bits(self.server_max_window_bits);
        if let Some(Some(limit)) = p.server_max_window_bits {
            if limit < 9 {
                return None;
            }
            server_bits = server_bits.min(limit);
        }
        // The client's window: we may restrict it only if it offered the
        // parameter; we inflate with a full window anyway.
        let client_bits = match p.client_max_window_bits {
            // Never more than offered (§7.1.2.2); 8 is fine here: it limits
            // the client's compressor, and we inflate with a full window.
            Some(Some(v)) => v.min(self.client_max_window_bits.clamp(8, 15)),
            Some(None) => clamp_bits(self.client_max_window_bits),
            None => 15,
        };
        let mut answer = String::from(NAME);
        if server_no_context_takeover {
            answer.push_str("; server_no_context_takeover");
        }
        if client_no_context_takeover {
            answer.push_str("; client_no_context_takeover");
        }
        if server_bits < 15 || p.server_max_window_bits.is_some_and(|v| v.is_some()) {
            let _ = write!(answer, "; server_max_window_bits={server_bits}");
        }
        if client_bits < 15 || matches!(p.client_max_window_bits, Some(Some(_))) {
            let _ = write!(answer, "; client_max_window_bits={client_bits}");
        }
        Some((
            Negotiated {
                server_no_context_takeover,
                client_no_context_takeover,
                server_max_window_bits: server_bits,
                client_max_window_bits: client_bits,
            },
            answer,
        ))
    }

    /// Client side: checks the server's answer (from
    /// [`Response::extensions`](crate::handshake::Response::extensions))
    /// against the offer this configuration made. `Ok(None)`: the server
    /// declined ([`ParamError::Required`] instead if
    /// [`required`](Self::required)).
    ///
    /// ```
    /// use rfc6455::deflate::{DeflateConfig, ParamError};
    /// use rfc6455::handshake::{Extension, ExtensionParam};
    ///
    /// let offer = DeflateConfig::default(); // offered with `offer.client_offer()`
    /// let flag = |name| ExtensionParam { name, value: None };
    /// let answer = [Extension {
    ///     name: "permessage-deflate",
    ///     params: vec![flag("server_no_context_takeover"), flag("client_no_context_takeover")],
    /// }];
    /// let agreed = offer.client_accept(&answer)?.expect("the server agreed");
    /// assert!(agreed.client_no_context_takeover);
    ///
    /// assert_eq!(offer.client_accept(&[])?, None); // declined: no compression
    /// let mut required = offer.clone();
    /// required.required = true;
    /// assert_eq!(required.client_accept(&[]), Err(ParamError::Required));
    /// # Ok::<(), ParamError>(())
    /// ```
    pub fn client_accept(
        &self,
        answer: &[Extension<'_>],
    ) -> Result<Option<Negotiated>, ParamError> {
        let mut found = None;
        for e in answer.iter().filter(|e| e.name.eq_ignore_ascii_case(NAME)) {
            if found.is_some() {
                return Err(ParamError::Twice);
            }
            found = Some(Params::parse(e)?);
        }
        let Some(p) = found else {
            return if self.required {
                Err(ParamError::Required)
            } else {
                Ok(None)
            };
        };
        let offered_server_bits = clamp_bits(self.server_max_window_bits);
        let server_bits = match p.server_max_window_bits {
            None => 15,
            Some(None) => return Err(ParamError::InvalidValue("server_max_window_bits".into())),
            Some(Some(v)) => v,
        };
        if self.server_max_window_bits < 15 && server_bits > offered_server_bits {
            return Err(ParamError::NotOffered(
                "server_max_window_bits larger than offered",
            ));
        }
        let client_bits = match p.client_max_window_bits {
            None => clamp_bits(self.client_max_window_bits),
            Some(None) => return Err(ParamError::InvalidValue("client_max_window_bits".into())),
            // The offer always includes client_max_window_bits, with or
            // without a value; a value larger than offered is an error.
            Some(Some(v))
                if self.client_max_window_bits < 15
                    && v > clamp_bits(self.client_max_window_bits) =>
            {
                return Err(ParamError::NotOffered(
                    "client_max_window_bits larger than offered",
                ));
            }
            Some(Some(v)) => v,
        };
        if self.server_no_context_takeover && !p.server_no_context_takeover {
            // We asked the server not to keep context; it may not refuse
            // silently (RFC 7692 §7.1.1.1): the answer must carry it.
            return Err(ParamError::NotOffered(
                "server_no_context_takeover was requested",
            ));
        }
        Ok(Some(Negotiated {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        }))
    }
}
