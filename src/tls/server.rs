//! `serve --tls`: the server's certificate (made at start-up, or the user's), client
//! certificates for mutual TLS, ALPN, and each connection's handshake, bounded in time and
//! logged in one line.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConnection};
use tokio::time::Instant;

use echoctl_core::Address;
use echoctl_core::fingerprint::Fingerprint;

use super::TlsStream;
use super::cert::{self, Identity};
use super::handshake::{HandshakeError, server_words};
use crate::server::{Peer, Shutdown, close};
use crate::transport::Transport;

/// How long a handshake may take by default (`--tls-handshake-timeout`).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What `serve --tls` was asked for.
#[derive(Debug, Clone)]
pub struct ServerTlsOptions {
    /// The user's certificate chain and key (PEM); `None`: one made at start-up.
    pub cert: Option<(PathBuf, PathBuf)>,
    /// Clients must present a certificate signed by a CA in this file (PEM).
    pub client_ca: Option<PathBuf>,
    /// Protocols offered in ALPN, in order of preference.
    pub alpn: Vec<String>,
    /// How long a handshake may take; `None`: as long as the client likes.
    pub handshake_timeout: Option<Duration>,
}

impl Default for ServerTlsOptions {
    fn default() -> Self {
        ServerTlsOptions {
            cert: None,
            client_ca: None,
            alpn: Vec::new(),
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
        }
    }
}

/// The server's TLS, ready for connections: shared by every handshake.
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    handshake_timeout: Option<Duration>,
    fingerprint: Fingerprint,
    /// The certificate made at start-up, as PEM, for `--tls-save-cert`.
    generated_pem: Option<String>,
}

impl ServerTls {
    /// Reads and checks the user's files, or makes a certificate for `listen`'s host and the
    /// local names; an error says what is wrong, so the server can refuse to start.
    pub fn new(options: &ServerTlsOptions, listen: &Address) -> anyhow::Result<ServerTls> {
        let (identity, generated_pem) = match &options.cert {
            Some((cert_path, key_path)) => {
                let chain = cert::read_certificates(cert_path)?;
                let key = cert::read_key(key_path)?;
                cert::check_dates(
                    &chain,
                    cert_path,
                    Some("leave out --tls-cert and --tls-key for one made at start-up"),
                )?;
                (Identity { chain, key }, None)
            }
            None => {
                let (identity, pem) = cert::generate(&generated_names(listen))?;
                (identity, Some(pem))
            }
        };
        let fingerprint = cert::fingerprint(&identity.chain[0]);
        let provider = super::provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("cannot set up TLS")?;
        let builder = match &options.client_ca {
            Some(path) => {
                let roots = roots_from(path)?;
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| {
                        anyhow!("cannot use {} as --tls-client-ca: {e}", path.display())
                    })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(identity.chain, identity.key)
            .map_err(|e| key_error(e, options.cert.as_ref()))?;
        config.alpn_protocols = options.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Ok(ServerTls {
            config: Arc::new(config),
            handshake_timeout: options.handshake_timeout,
            fingerprint,
            generated_pem,
        })
    }

    /// The fingerprint of the server's certificate, for the start-up line.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Writes the certificate made at start-up to `path` as PEM (never its key).
    pub fn save_certificate(&self, path: &Path) -> anyhow::Result<()> {
        let pem = self.generated_pem.as_deref().ok_or_else(|| {
            anyhow!("--tls-save-cert writes the certificate made at start-up; with --tls-cert there is none")
        })?;
        std::fs::File::create(path)
            .and_then(|mut file| file.write_all(pem.as_bytes()))
            .with_context(|| format!("cannot write the certificate to {}", path.display()))
    }

    /// A server's TLS session over `stream`, its handshake still to be made.
    pub(crate) fn session_over<S: Transport>(
        &self,
        stream: S,
    ) -> Result<TlsStream<S>, rustls::Error> {
        Ok(TlsStream::new(
            stream,
            ServerConnection::new(self.config.clone())?,
        ))
    }

    /// Makes the handshake with a client on `stream`, within the handshake timeout, and logs
    /// how it went in one line; `None` when it failed, or when the server began to shut down
    /// meanwhile.
    pub(crate) async fn accept<S: Transport>(
        &self,
        stream: S,
        peer: Peer,
        shutdown: &Shutdown,
    ) -> Option<TlsStream<S>> {
        let mut stream = match self.session_over(stream) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("{peer}: cannot start a TLS session: {e}");
                return None;
            }
        };
        let started = Instant::now();
        let made = tokio::select! {
            made = with_timeout(self.handshake_timeout, stream.handshake()) => made,
            _ = shutdown.drain.cancelled() => {
                tracing::info!("{peer}: TLS handshake cut short: the server is shutting down");
                return None;
            }
        };
        match made {
            Ok(()) => {
                tracing::info!(
                    "{peer}: TLS handshake done in {}: {}",
                    echoctl_core::duration::format(round_to_millis(started.elapsed())),
                    super::describe(&stream, "client")
                );
                Some(stream)
            }
            Err(e) => {
                tracing::info!("{peer}: {}", server_words(&e));
                match e {
                    HandshakeError::NotTls(_) => {
                        close::tell_not_tls(stream.into_socket(), &shutdown.abort).await;
                    }
                    // Nothing to wait for from a client that said nothing.
                    HandshakeError::TimedOut(_) => {}
                    // The alert that says why is on its way: what the client still sends is
                    // read and dropped a while, so that closing does not reset the connection
                    // and destroy the alert before the client reads it.
                    _ => close::after_failed_handshake(stream.into_socket(), &shutdown.abort).await,
                }
                None
            }
        }
    }

    /// Makes the handshake with a client that will only be told the server is full, within
    /// `limit`; `None` if it cannot be made in that time.
    pub(crate) async fn accept_to_refuse<S: Transport>(
        &self,
        stream: S,
        limit: Duration,
    ) -> Option<TlsStream<S>> {
        let mut stream = self.session_over(stream).ok()?;
        with_timeout(Some(limit), stream.handshake())
            .await
            .ok()
            .map(|()| stream)
    }
}

/// `handshake`, failing once `limit` has passed.
pub(crate) async fn with_timeout(
    limit: Option<Duration>,
    handshake: impl Future<Output = Result<(), HandshakeError>>,
) -> Result<(), HandshakeError> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, handshake)
            .await
            .unwrap_or(Err(HandshakeError::TimedOut(limit))),
        None => handshake.await,
    }
}

fn round_to_millis(elapsed: Duration) -> Duration {
    Duration::from_millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// The names a certificate made at start-up holds: the local ones, and the host the server
/// listens on when it is a name or an address a client can connect to.
fn generated_names(listen: &Address) -> Vec<String> {
    let mut names: Vec<String> = cert::LOCAL_NAMES.iter().map(|n| n.to_string()).collect();
    if let Address::Tcp(host_port) = listen {
        let host = host_port.host.as_str();
        let wildcard = host
            .parse::<IpAddr>()
            .is_ok_and(|addr| addr.is_unspecified());
        // A zone (`fe80::1%2`) names an interface, not the host.
        if !host.is_empty() && !wildcard && !host.contains('%') && !names.iter().any(|n| n == host)
        {
            names.push(host.to_string());
        }
    }
    names
}

/// The CAs in the PEM file at `path`, as roots to check certificates against.
pub(crate) fn roots_from(path: &Path) -> anyhow::Result<Arc<RootCertStore>> {
    let mut roots = RootCertStore::empty();
    for cert in cert::read_certificates(path)? {
        roots.add(cert).map_err(|e| {
            anyhow!(
                "{} holds a CA certificate that cannot be used: {e}",
                path.display()
            )
        })?;
    }
    Ok(Arc::new(roots))
}

/// rustls's refusal of a certificate and key, in words that name the files.
fn key_error(e: rustls::Error, files: Option<&(PathBuf, PathBuf)>) -> anyhow::Error {
    let Some((cert_path, key_path)) = files else {
        return anyhow!("cannot use the certificate made at start-up: {e}");
    };
    cert::identity_error(e, cert_path, key_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_certificate_names_the_listening_host_when_a_client_can_use_it() {
        let names = |listen: &str| generated_names(&listen.parse().unwrap());
        assert_eq!(names("localhost:0"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(
            names("echo.example:8443"),
            ["localhost", "127.0.0.1", "::1", "echo.example"]
        );
        assert_eq!(
            names("192.168.1.5:8443"),
            ["localhost", "127.0.0.1", "::1", "192.168.1.5"]
        );
        assert_eq!(names("0.0.0.0:8443").len(), 3);
        assert_eq!(names("[::]:8443").len(), 3);
        assert_eq!(names("[::1]:8443").len(), 3);
        assert_eq!(names("unix:/tmp/echo.sock").len(), 3);
    }
}
