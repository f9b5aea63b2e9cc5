//! How a client checks a server's certificate when not against a CA: pinned to a fingerprint
//! (`--tls-fingerprint`), or not at all (`--insecure`). Either way the handshake's signatures
//! are still checked, so the server holds the key of the certificate it shows.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use echoctl_core::fingerprint::Fingerprint;

/// Which certificate a server may show when the client does not check it against a CA.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// Only the one with this fingerprint, whatever its names and dates: the pin is the trust.
    Pinned(Fingerprint),
    /// Any (`--insecure`).
    Any,
}

/// A [`ServerCertVerifier`] for [`Accepted`].
#[derive(Debug)]
pub(crate) struct Verifier {
    accepted: Accepted,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Verifier {
    pub(crate) fn new(accepted: Accepted, algorithms: WebPkiSupportedAlgorithms) -> Verifier {
        Verifier {
            accepted,
            algorithms,
        }
    }
}

/// A server's certificate whose fingerprint is not the pinned one.
#[derive(Debug)]
pub(crate) struct FingerprintMismatch {
    pub pinned: Fingerprint,
    pub shown: Fingerprint,
}

impl fmt::Display for FingerprintMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's certificate is not the one --tls-fingerprint pins: it is {}, not {} \
             (a server made a new one at start-up? pass the fingerprint its start-up line names)",
            self.shown, self.pinned
        )
    }
}

impl std::error::Error for FingerprintMismatch {}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.accepted {
            Accepted::Any => Ok(ServerCertVerified::assertion()),
            Accepted::Pinned(pinned) => {
                let shown = super::cert::fingerprint(end_entity);
                if shown == pinned {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(Error::InvalidCertificate(CertificateError::Other(
                        OtherError(Arc::new(FingerprintMismatch { pinned, shown })),
                    )))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
