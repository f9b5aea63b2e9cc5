//! The TLS options: `serve --tls` and its certificate, and the options of `connect --tls` and
//! `bench --tls` for checking a server's certificate. Each group is flattened into its
//! commands' arguments, under a heading of its own.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory};

use echoctl_core::Address;
use echoctl_core::fingerprint::Fingerprint;

use super::parse::{Timeout, parse_timeout};
use crate::tls::{ClientTlsOptions, ServerTlsOptions, Trust};

const HEADING: &str = "TLS options";

/// `serve`'s TLS options.
#[derive(Debug, Args)]
#[command(next_help_heading = HEADING)]
pub struct ServeTlsArgs {
    /// Serve TLS 1.2 and 1.3 (on a TCP port or a Unix socket). Without --tls-cert, a
    /// certificate is made at start-up: self-signed (ECDSA P-256), valid for localhost,
    /// 127.0.0.1, ::1 and the --listen host, for 7 days; the start-up line names its SHA-256
    /// fingerprint (tls sha256:AB:CD:...), which connect --tls-fingerprint takes.
    #[arg(long)]
    pub tls: bool,

    /// Write the certificate made at start-up (never its key) to PATH as PEM, before the
    /// start-up line, for clients to trust: connect --tls-ca PATH, openssl s_client -CAfile
    /// PATH, curl --cacert PATH.
    #[arg(long, value_name = "PATH", requires = "tls", conflicts_with = "tls_cert", value_hint = clap::ValueHint::FilePath)]
    pub tls_save_cert: Option<PathBuf>,

    /// Serve this PEM certificate chain (the server's own certificate first) instead of one
    /// made at start-up; with --tls-key.
    #[arg(long, value_name = "FILE", requires_all = ["tls", "tls_key"], value_hint = clap::ValueHint::FilePath)]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    #[arg(long, value_name = "FILE", requires_all = ["tls", "tls_cert"], value_hint = clap::ValueHint::FilePath)]
    pub tls_key: Option<PathBuf>,

    /// Mutual TLS: every client must present a certificate signed by a CA in this PEM file;
    /// the log names each client certificate's subject, and a client without one is refused
    /// in the handshake.
    #[arg(long, value_name = "FILE", requires = "tls", value_hint = clap::ValueHint::FilePath)]
    pub tls_client_ca: Option<PathBuf>,

    /// Protocols to offer in ALPN, comma-separated, in order of preference (e.g. h2,http/1.1);
    /// the one agreed is logged. A client that offers others is refused.
    #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "tls")]
    pub alpn: Vec<String>,

    /// Close a connection whose TLS handshake is not done within this time, or never with off.
    /// A connection counts towards --max-connections from its first byte.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub tls_handshake_timeout: Timeout,
}

impl ServeTlsArgs {
    /// The server's TLS, if `--tls` was given.
    pub(crate) fn options(&self) -> Option<ServeTls> {
        self.tls.then(|| ServeTls {
            options: ServerTlsOptions {
                cert: self.tls_cert.clone().zip(self.tls_key.clone()),
                client_ca: self.tls_client_ca.clone(),
                alpn: self.alpn.clone(),
                handshake_timeout: self.tls_handshake_timeout.0,
            },
            save_cert: self.tls_save_cert.clone(),
        })
    }
}

/// What `serve --tls` was asked for, with where to save the certificate it makes.
#[derive(Debug, Clone)]
pub(crate) struct ServeTls {
    pub options: ServerTlsOptions,
    pub save_cert: Option<PathBuf>,
}

/// The TLS options of `connect` and `bench`.
#[derive(Debug, Args)]
#[command(next_help_heading = HEADING)]
pub struct ClientTlsArgs {
    /// Speak TLS to the server, checking its certificate against the system's trusted roots
    /// (or as the options below say).
    #[arg(long)]
    pub tls: bool,

    /// Trust the CAs in this PEM file instead of the system's roots (for echoctl serve --tls:
    /// the file its --tls-save-cert wrote).
    #[arg(long, value_name = "FILE", requires = "tls", conflicts_with_all = ["tls_fingerprint", "insecure"], value_hint = clap::ValueHint::FilePath)]
    pub tls_ca: Option<PathBuf>,

    /// Trust only the certificate with this SHA-256 fingerprint, whatever its names and dates:
    /// the sha256:AB:CD:... echoctl serve --tls prints (openssl x509 -fingerprint -sha256
    /// prints it too).
    #[arg(long, value_name = "SHA256", requires = "tls", conflicts_with = "insecure", value_parser = parse_fingerprint)]
    pub tls_fingerprint: Option<Fingerprint>,

    /// Do not check the server's certificate at all (a warning says so on stderr).
    #[arg(long, requires = "tls")]
    pub insecure: bool,

    /// The name to ask for (SNI) and to check in the server's certificate; by default the host
    /// connected to (localhost for a Unix socket).
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub tls_server_name: Option<String>,

    /// Present this PEM certificate chain to a server that asks for one (mutual TLS); with
    /// --tls-key.
    #[arg(long, value_name = "FILE", requires_all = ["tls", "tls_key"], value_hint = clap::ValueHint::FilePath)]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert, in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    #[arg(long, value_name = "FILE", requires_all = ["tls", "tls_cert"], value_hint = clap::ValueHint::FilePath)]
    pub tls_key: Option<PathBuf>,
}

impl ClientTlsArgs {
    /// The client's TLS, if `--tls` was given.
    pub(crate) fn options(&self) -> Option<ClientTlsOptions> {
        let trust = match (&self.tls_ca, self.tls_fingerprint, self.insecure) {
            (Some(path), _, _) => Trust::CaFile(path.clone()),
            (None, Some(fingerprint), _) => Trust::Pinned(fingerprint),
            (None, None, true) => Trust::Anything,
            (None, None, false) => Trust::System,
        };
        self.tls.then(|| ClientTlsOptions {
            trust,
            server_name: self.tls_server_name.clone(),
            identity: self.tls_cert.clone().zip(self.tls_key.clone()),
        })
    }
}

/// Refuses `--tls` with a `udp:` address, as a usage error of `command`: TLS runs over a
/// stream, and its datagram form, DTLS, is not supported.
pub(crate) fn refuse_over_udp(command: &str, addr: &Address, tls: bool) -> Result<(), clap::Error> {
    if !(tls && addr.is_udp()) {
        return Ok(());
    }
    let message = "--tls needs a stream, TCP or a Unix-domain socket: over UDP it would be DTLS, \
                   which echoctl does not speak; leave out --tls, or use HOST:PORT";
    let mut cli = super::Cli::command();
    cli.build();
    Err(match cli.find_subcommand_mut(command) {
        Some(sub) => sub.error(ErrorKind::ArgumentConflict, message),
        None => cli.error(ErrorKind::ArgumentConflict, message),
    })
}

fn parse_fingerprint(text: &str) -> Result<Fingerprint, String> {
    text.parse()
        .map_err(|e: echoctl_core::fingerprint::FingerprintError| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{Cli, Command};
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(args).map(|cli| cli.command)
    }

    #[test]
    fn tls_over_udp_is_a_usage_error_of_every_command() {
        let Ok(Command::Serve(serve)) =
            parse(&["echoctl", "serve", "--tls", "--listen", "udp:127.0.0.1:0"])
        else {
            panic!("serve parses");
        };
        let refused = serve.server_config().unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ArgumentConflict);
        assert!(refused.to_string().contains("DTLS"), "{refused}");
        let Ok(Command::Bench(bench)) = parse(&["echoctl", "bench", "--tls", "udp:127.0.0.1:7"])
        else {
            panic!("bench parses");
        };
        let refused = bench.config().unwrap_err();
        assert!(refused.to_string().contains("DTLS"), "{refused}");
        let Ok(Command::Connect(connect)) =
            parse(&["echoctl", "connect", "--tls", "udp:127.0.0.1:7"])
        else {
            panic!("connect parses");
        };
        let refused = refuse_over_udp("connect", &connect.addr, connect.tls.tls).unwrap_err();
        assert!(refused.to_string().contains("DTLS"), "{refused}");
        // Over a stream, or over UDP without TLS, nothing is refused.
        assert!(refuse_over_udp("connect", &"udp:127.0.0.1:7".parse().unwrap(), false).is_ok());
        assert!(refuse_over_udp("connect", &"127.0.0.1:7".parse().unwrap(), true).is_ok());
    }

    #[test]
    fn tls_options_need_tls() {
        for args in [
            &["echoctl", "serve", "--tls-save-cert", "ca.pem"][..],
            &["echoctl", "serve", "--alpn", "h2"],
            &["echoctl", "connect", "--insecure"],
            &["echoctl", "bench", "--tls-ca", "ca.pem"],
        ] {
            let error = parse(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
            assert!(error.to_string().contains("--tls"), "{error}");
        }
        let Ok(Command::Serve(serve)) = parse(&["echoctl", "serve"]) else {
            panic!("serve parses");
        };
        assert!(serve.tls.options().is_none());
    }

    #[test]
    fn serve_tls_options_become_the_servers() {
        let Ok(Command::Serve(serve)) = parse(&[
            "echoctl",
            "serve",
            "--tls",
            "--alpn",
            "h2,http/1.1",
            "--tls-handshake-timeout",
            "off",
            "--tls-save-cert",
            "ca.pem",
        ]) else {
            panic!("serve parses");
        };
        let tls = serve.tls.options().unwrap();
        assert_eq!(tls.options.alpn, ["h2", "http/1.1"]);
        assert_eq!(tls.options.handshake_timeout, None);
        assert_eq!(tls.save_cert, Some(PathBuf::from("ca.pem")));
        let Ok(Command::Serve(serve)) = parse(&["echoctl", "serve", "--tls"]) else {
            panic!("serve parses");
        };
        assert_eq!(
            serve.tls.options().unwrap().options.handshake_timeout,
            Some(crate::tls::server::DEFAULT_HANDSHAKE_TIMEOUT)
        );
        let error =
            parse(&["echoctl", "serve", "--tls", "--tls-handshake-timeout", "0"]).unwrap_err();
        assert!(
            error.to_string().contains("for no timeout, write off"),
            "{error}"
        );
        let error = parse(&["echoctl", "serve", "--tls", "--tls-cert", "c.pem"]).unwrap_err();
        assert!(error.to_string().contains("--tls-key"), "{error}");
    }

    #[test]
    fn a_client_trusts_one_way_at_a_time() {
        let pin = format!("sha256:{}", ["AB"; 32].join(":"));
        let Ok(Command::Connect(connect)) =
            parse(&["echoctl", "connect", "--tls", "--tls-fingerprint", &pin])
        else {
            panic!("connect parses");
        };
        assert_eq!(
            connect.tls.options().unwrap().trust,
            Trust::Pinned(pin.parse().unwrap())
        );
        let error =
            parse(&["echoctl", "connect", "--tls", "--insecure", "--tls-ca", "a"]).unwrap_err();
        assert!(error.to_string().contains("cannot be used with"), "{error}");
        let error = parse(&[
            "echoctl",
            "connect",
            "--tls",
            "--tls-fingerprint",
            "sha256:AB",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("64 hex digits"), "{error}");
    }
}
