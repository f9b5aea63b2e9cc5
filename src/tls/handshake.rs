//! How a handshake fails, and what each side says about it in words: the server in one log line
//! per connection, `connect` in one error line that says what to pass instead, the bench as a
//! reason it counts failures by.

use std::fmt;
use std::io;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError, Error as TlsError};

use echoctl_core::escape::escape;

use super::verify::FingerprintMismatch;

/// Why a handshake did not finish.
#[derive(Debug)]
pub enum HandshakeError {
    /// The peer's first bytes are not a TLS record: it does not speak TLS. The bytes.
    NotTls(Vec<u8>),
    /// The TLS exchange failed, as rustls says.
    Tls(TlsError),
    /// The peer closed the connection before the handshake was done.
    Closed,
    /// The socket failed.
    Io(io::Error),
    /// It took longer than this.
    TimedOut(Duration),
}

/// The content types a TLS peer's first record can have: a handshake, or an alert.
const HANDSHAKE_RECORD: u8 = 0x16;
const ALERT_RECORD: u8 = 0x15;

impl HandshakeError {
    /// `error` from rustls, or, when the peer's `first` bytes were no TLS record at all, that.
    pub(crate) fn from_tls(error: TlsError, first: &[u8]) -> HandshakeError {
        match first.first() {
            Some(&HANDSHAKE_RECORD | &ALERT_RECORD) | None => HandshakeError::Tls(error),
            Some(_) => HandshakeError::NotTls(first.to_vec()),
        }
    }

    /// Whether the peer does not seem to speak TLS at all (for the client: a plaintext server,
    /// which either sends something that is no TLS, or echoes the client's own hello back).
    pub(crate) fn peer_is_not_tls(&self) -> bool {
        match self {
            HandshakeError::NotTls(_) => true,
            HandshakeError::Tls(TlsError::InappropriateHandshakeMessage { got_type, .. }) => {
                *got_type == rustls::HandshakeType::ClientHello
            }
            _ => false,
        }
    }
}

/// The server's log line for a client's failed handshake (after `{peer}: `).
pub(crate) fn server_words(error: &HandshakeError) -> String {
    match error {
        HandshakeError::NotTls(first) => format!(
            "not TLS: the client sent \"{}\"{} (a plain TCP client on a TLS port?)",
            escape(first),
            if first.len() >= super::stream::FIRST_BYTES_KEPT {
                "..."
            } else {
                ""
            }
        ),
        HandshakeError::Closed => {
            "TLS handshake failed: the client closed the connection before it was done".into()
        }
        HandshakeError::Io(e) => format!("TLS handshake failed: {}", io_words(e)),
        HandshakeError::TimedOut(limit) => format!(
            "TLS handshake not done within {} (--tls-handshake-timeout); closed",
            echoctl_core::duration::format(*limit)
        ),
        HandshakeError::Tls(TlsError::NoCertificatesPresented) => {
            "refused in the TLS handshake: the client presented no certificate (--tls-client-ca \
             requires one)"
                .into()
        }
        HandshakeError::Tls(TlsError::InvalidCertificate(e)) => format!(
            "refused in the TLS handshake: the client's certificate {}",
            certificate_words(e, "--tls-client-ca")
        ),
        HandshakeError::Tls(TlsError::AlertReceived(alert)) => format!(
            "TLS handshake failed: the client refused it ({}){}",
            alert_words(*alert),
            match alert {
                AlertDescription::UnknownCA
                | AlertDescription::BadCertificate
                | AlertDescription::CertificateUnknown => {
                    ": it does not trust this server's certificate; give it the CA \
                     (--tls-save-cert) or the fingerprint"
                }
                _ => "",
            }
        ),
        HandshakeError::Tls(TlsError::NoApplicationProtocol) => {
            "TLS handshake failed: no protocol in common with the client's ALPN (--alpn)".into()
        }
        HandshakeError::Tls(e) => format!("TLS handshake failed: {e}"),
    }
}

/// `connect`'s and the bench's words for a handshake with a server that failed: why, and what
/// to pass instead.
pub(crate) fn client_words(error: &HandshakeError) -> String {
    const NOT_TLS: &str = "the server did not answer TLS (is it started with --tls?)";
    if error.peer_is_not_tls() {
        return NOT_TLS.into();
    }
    match error {
        HandshakeError::TimedOut(limit) => format!(
            "the server did not answer TLS within {} (is it started with --tls?)",
            echoctl_core::duration::format(*limit)
        ),
        HandshakeError::Closed => "the server closed the connection during the TLS handshake \
                                   (is it started with --tls?)"
            .into(),
        HandshakeError::Io(e) => format!("the TLS handshake failed: {}", io_words(e)),
        HandshakeError::Tls(TlsError::InvalidCertificate(CertificateError::Other(other)))
            if other.0.downcast_ref::<FingerprintMismatch>().is_some() =>
        {
            format!("{}", other.0)
        }
        HandshakeError::Tls(TlsError::InvalidCertificate(e)) => format!(
            "the server's certificate {}",
            certificate_words(e, "--tls-ca")
        ),
        HandshakeError::Tls(e) => tls_words(e, "the TLS handshake failed"),
        HandshakeError::NotTls(_) => NOT_TLS.into(),
    }
}

/// A client's words for a TLS error once the session is up: the server refusing this client's
/// certificate shows here under TLS 1.3, where the client's part of the handshake is over before
/// the server has checked it.
pub(crate) fn tls_words(error: &TlsError, what: &str) -> String {
    match error {
        TlsError::AlertReceived(
            alert @ (AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure),
        ) => format!(
            "{what}: the server refused this client ({}): it may require a client certificate \
             (--tls-cert and --tls-key)",
            alert_words(*alert)
        ),
        TlsError::AlertReceived(
            alert @ (AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown),
        ) => format!(
            "{what}: the server refused this client's certificate ({})",
            alert_words(*alert)
        ),
        TlsError::AlertReceived(alert) => {
            format!("{what}: the server sent an alert ({})", alert_words(*alert))
        }
        TlsError::NoApplicationProtocol => {
            format!("{what}: no protocol in common with the server's ALPN")
        }
        e => format!("{what}: {e}"),
    }
}

/// What is wrong with a certificate, after "the client's certificate" or "the server's
/// certificate"; `ca_option` is the option that gives the CA to check it against.
fn certificate_words(error: &CertificateError, ca_option: &str) -> String {
    let server = ca_option == "--tls-ca";
    let instead = if server {
        format!(
            ": pass its CA with {ca_option} FILE (echoctl serve --tls-save-cert writes one), pin \
             it with --tls-fingerprint sha256:..., or skip verification with --insecure"
        )
    } else {
        format!(" ({ca_option})")
    };
    match error {
        CertificateError::UnknownIssuer if server => {
            format!("is not signed by a CA this machine trusts (unknown issuer){instead}")
        }
        CertificateError::UnknownIssuer => {
            format!("is not signed by the CA of {ca_option} (unknown issuer)")
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "is not valid for {} (it names {}): connect by one of those names, or pass \
             --tls-server-name NAME with one",
            expected.to_str(),
            presented
                .iter()
                .map(|name| presented_name(name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CertificateError::NotValidForName => "is not valid for the name connected to: connect \
                                              by a name it holds, or pass --tls-server-name NAME"
            .into(),
        CertificateError::ExpiredContext { not_after, .. } => format!(
            "expired on {}{}",
            super::cert::format_time(*not_after),
            if server {
                ": renew it on the server, or skip verification with --insecure"
            } else {
                ""
            }
        ),
        CertificateError::Expired => format!(
            "has expired{}",
            if server {
                ": renew it on the server, or skip verification with --insecure"
            } else {
                ""
            }
        ),
        CertificateError::NotValidYetContext { not_before, .. } => format!(
            "is not valid until {} (is this machine's clock right?)",
            super::cert::format_time(*not_before)
        ),
        CertificateError::NotValidYet => "is not valid yet (is this machine's clock right?)".into(),
        CertificateError::Other(other) => format!("is not valid ({}){instead}", other.0),
        other => format!("is not valid ({other:?}){instead}"),
    }
}

/// A name a certificate presents, as rustls writes it (`DnsName("localhost")`,
/// `IpAddress(127.0.0.1)`), as a user writes it.
fn presented_name(name: &str) -> String {
    if let Some(dns) = name
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
    {
        return dns.to_string();
    }
    if let Some(ip) = name
        .strip_prefix("IpAddress(")
        .and_then(|n| n.strip_suffix(')'))
    {
        return ip
            .parse::<std::net::IpAddr>()
            .map_or_else(|_| ip.to_string(), |ip| ip.to_string());
    }
    name.to_string()
}

/// An alert as words: `unknown CA`, `bad certificate`.
fn alert_words(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::UnknownCA => "alert: unknown CA".into(),
        AlertDescription::BadCertificate => "alert: bad certificate".into(),
        AlertDescription::CertificateUnknown => "alert: certificate unknown".into(),
        AlertDescription::CertificateExpired => "alert: certificate expired".into(),
        AlertDescription::CertificateRequired => "alert: certificate required".into(),
        AlertDescription::HandshakeFailure => "alert: handshake failure".into(),
        AlertDescription::ProtocolVersion => "alert: protocol version".into(),
        AlertDescription::NoApplicationProtocol => "alert: no application protocol".into(),
        other => format!("alert: {other:?}"),
    }
}

/// A socket error during a handshake, as the server's and the client's lines say it.
fn io_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            "the peer reset the connection".into()
        }
        io::ErrorKind::BrokenPipe => "the peer closed the connection".into(),
        _ => crate::net::explain_io_error(e),
    }
}

impl fmt::Display for HandshakeError {
    /// The client's words; the server logs [`server_words`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&client_words(self))
    }
}

impl std::error::Error for HandshakeError {}
