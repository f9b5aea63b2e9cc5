//! TLS, a layer of the transport: `serve --tls`, `connect --tls` and `bench --tls`.
//!
//! A TLS session is a [`Transport`](crate::transport::Transport) over the socket under it
//! ([`TlsStream`]), so the server's sessions, the client's relay and the bench's books run over
//! it as they run over TCP and never learn that the bytes were encrypted. Only a plaintext
//! socket is a connection's transport in plain TCP, so its task keeps its size; a TLS
//! connection's task holds a pointer more, to rustls's state on the heap.
//!
//! [`server`] holds the server's certificate (made at start-up, or the user's) and makes each
//! client's handshake, bounded in time, logged in one line; [`client`] checks a server's
//! certificate (system roots, a CA file, a pinned fingerprint, or not at all); [`cert`] makes,
//! reads and names certificates; [`handshake`] words every way a handshake fails, for each side.
//!
//! rustls runs on ring: one crypto backend, built with a C compiler alone.

use std::sync::Arc;

pub(crate) mod cert;
pub mod client;
pub(crate) mod handshake;
pub mod server;
mod stream;
mod verify;

pub use client::{ClientTls, ClientTlsOptions, Trust};
pub use handshake::HandshakeError;
pub use server::{ServerTls, ServerTlsOptions};
pub use stream::TlsStream;

/// The crypto of every TLS session: ring's. rustls marks it deprecated for lacking
/// post-quantum key exchange, which aws-lc-rs has; aws-lc-rs needs cmake and builds for minutes,
/// and an echo peer for testing clients needs the handshakes clients make today, which ring
/// makes.
///
/// Key exchange prefers X25519, then P-256, then P-384 (ring's default order puts P-384 first):
/// X25519 is the key share that OpenSSL, Go, browsers and rustls clients send first, so no
/// handshake needs a second round trip, and ring's P-384 has no assembly: a handshake on it
/// costs several times one on X25519.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::crypto::ring::{default_provider, kx_group};
    let mut provider = default_provider();
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    Arc::new(provider)
}

/// What a read says when the peer closed the connection without TLS's `close_notify`: its last
/// bytes may have been cut off on the way.
pub(crate) const NO_CLOSE_NOTIFY: &str =
    "closed without TLS close_notify (its last bytes may be missing)";

/// What a handshake agreed, for the logs: `TLS 1.3, TLS13_AES_256_GCM_SHA384, X25519, ALPN "h2",
/// client certificate CN=alice`, the certificate being the `peer`'s.
pub(crate) fn describe<S>(stream: &TlsStream<S>, peer: &str) -> String
where
    S: crate::transport::Transport,
{
    let session = stream.session();
    let version = match session.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "TLS".to_string(),
    };
    let mut parts = vec![version];
    if let Some(suite) = session.negotiated_cipher_suite() {
        parts.push(format!("{:?}", suite.suite()));
    }
    if let Some(group) = session.negotiated_key_exchange_group() {
        parts.push(format!("{:?}", group.name()));
    }
    if let Some(alpn) = session.alpn_protocol() {
        parts.push(format!("ALPN \"{}\"", echoctl_core::escape::escape(alpn)));
    }
    if let Some(certificate) = session.peer_certificates().and_then(|chain| chain.first()) {
        parts.push(format!("{peer} certificate {}", cert::subject(certificate)));
    }
    parts.join(", ")
}
