//! `connect --tls` and `bench --tls`: how the server's certificate is checked (the system's
//! trusted roots, a CA file, a pinned fingerprint, or not at all), the client's own certificate,
//! and the handshake.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use rustls::{ClientConnection, RootCertStore};
use rustls_pki_types::ServerName;

use echoctl_core::Address;
use echoctl_core::fingerprint::Fingerprint;

use super::TlsStream;
use super::cert;
use super::handshake::HandshakeError;
use super::verify::{Accepted, Verifier};
use crate::transport::Transport;

/// How the server's certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// Against the system's trusted roots.
    #[default]
    System,
    /// Against the CAs in this PEM file (`--tls-ca`).
    CaFile(PathBuf),
    /// It must have this fingerprint (`--tls-fingerprint`).
    Pinned(Fingerprint),
    /// Not at all (`--insecure`).
    Anything,
}

/// What `connect --tls` and `bench --tls` were asked for.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsOptions {
    pub trust: Trust,
    /// The name sent in SNI and checked in the certificate (`--tls-server-name`); by default
    /// the host connected to.
    pub server_name: Option<String>,
    /// The client's certificate chain and key (PEM), for a server that asks for one.
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// The client's TLS, ready for connections: shared by every handshake.
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
}

/// The name a client checks when the address names none (a Unix socket): the one a certificate
/// made by `serve --tls` always holds.
const DEFAULT_NAME: &str = "localhost";

impl ClientTls {
    /// Reads the files named and the system's roots as `options` ask, for connections to
    /// `addr`; says what is wrong when it cannot.
    pub fn new(options: &ClientTlsOptions, addr: &Address) -> anyhow::Result<ClientTls> {
        let provider = super::provider();
        let algorithms = provider.signature_verification_algorithms;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("cannot set up TLS")?;
        let builder = match &options.trust {
            Trust::System => builder.with_root_certificates(system_roots()?),
            Trust::CaFile(path) => builder.with_root_certificates(super::server::roots_from(path)?),
            Trust::Pinned(fingerprint) => {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(Verifier::new(
                        Accepted::Pinned(*fingerprint),
                        algorithms,
                    )))
            }
            Trust::Anything => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier::new(
                    Accepted::Any,
                    algorithms,
                ))),
        };
        let config = match &options.identity {
            Some((cert_path, key_path)) => {
                let chain = cert::read_certificates(cert_path)?;
                let key = cert::read_key(key_path)?;
                cert::check_dates(&chain, cert_path, None)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| cert::identity_error(e, cert_path, key_path))?
            }
            None => builder.with_no_client_auth(),
        };
        let name = match (&options.server_name, addr) {
            (Some(name), _) => name.clone(),
            (None, Address::Tcp(host_port) | Address::Udp(host_port)) => host_port.host.clone(),
            (None, Address::Unix(_)) => DEFAULT_NAME.to_string(),
        };
        let server_name = ServerName::try_from(name.clone()).map_err(|_| {
            anyhow!("{name:?} is not a name a certificate can hold; pass --tls-server-name NAME")
        })?;
        Ok(ClientTls {
            config: Arc::new(config),
            server_name,
        })
    }

    /// Makes the handshake with the server on `stream`, within `limit`.
    pub(crate) async fn connect<S: Transport>(
        &self,
        stream: S,
        limit: Option<Duration>,
    ) -> Result<TlsStream<S>, HandshakeError> {
        let session = ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(HandshakeError::Tls)?;
        let mut stream = TlsStream::new(stream, session);
        super::server::with_timeout(limit, stream.handshake()).await?;
        Ok(stream)
    }
}

/// The roots this machine trusts, from its own store.
fn system_roots() -> anyhow::Result<Arc<RootCertStore>> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map_or_else(String::new, |e| format!(" ({e})"));
        bail!(
            "found no trusted root certificates on this machine{why}: install the ca-certificates \
             package, or pass --tls-ca FILE with the server's CA"
        );
    }
    Ok(Arc::new(roots))
}

/// The one line `--insecure` prints on stderr, whatever the log level.
pub fn warn_insecure() {
    let _ = writeln!(
        std::io::stderr(),
        "warning: --insecure: the server's certificate is not checked, so the session is \
         encrypted but the server may not be the one you meant"
    );
}
