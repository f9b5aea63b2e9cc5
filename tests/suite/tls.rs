//! TLS end to end: the server in process with rustls's own blocking client (an implementation
//! other than echoctl's), and the built binary with `connect --tls`, `bench --tls`, `openssl
//! s_client` and Python's `ssl` module as clients. Every mode's transcript is the one it has over
//! TCP; the certificates, the keys and the CAs are made by each test (rcgen, and openssl for
//! the PKCS#1 and SEC1 key forms).
//!
//! Timing: in process, delays of 200 ms with margins of half a delay, as over TCP; the stalled
//! handshake is timed on tokio's paused clock in process, and with a short timeout end to end.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStderr};
use tokio::time::timeout;

use crate::common::{PATIENCE, address_in, connect, echoctl, echoes_of, run, stop_serve};
use crate::plain::TempDir;
use echoctl::server::{self, Mode, ServerConfig, ServerStats};
use echoctl::timer::Timer;
use echoctl::tls::{ServerTls, ServerTlsOptions};

const DELAY: Duration = Duration::from_millis(200);
const BOOK_SHOUTS: [&str; 3] = ["Hello?", "Is there anybody there?", "Yooo-hooo!"];

/// A CA, and certificates it signed, written as PEM files in a temp dir.
struct Pki {
    dir: TempDir,
    ca: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir = TempDir::new(tag);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{tag} test CA"));
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.0.join("ca.pem"), cert.pem()).unwrap();
        Pki {
            dir,
            ca: Issuer::new(params, key),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.0.join(name)
    }

    fn ca_path(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// A certificate for `names` with the common name `cn`, signed by the CA, written as
    /// `NAME.pem` and its key as `NAME.key` (PKCS#8); `expired` makes one whose days are over.
    fn issue(&self, name: &str, cn: &str, names: &[&str], expired: bool) -> (PathBuf, PathBuf) {
        self.issue_for_years(name, cn, names, expired.then_some((2020, 2021)))
    }

    /// As [`Pki::issue`]; with `years`, valid from the first of January of the one to that of
    /// the other.
    fn issue_for_years(
        &self,
        name: &str,
        cn: &str,
        names: &[&str],
        years: Option<(i32, i32)>,
    ) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        if let Some((from, to)) = years {
            params.not_before = rcgen::date_time_ymd(from, 1, 1);
            params.not_after = rcgen::date_time_ymd(to, 1, 1);
        }
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let (cert_path, key_path) = (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

/// The server in process, over TLS with a certificate made at start-up, on a loopback port;
/// the roots that trust it.
struct TlsServer {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    running: server::Running,
    roots: RootCertStore,
    _dir: TempDir,
}

impl TlsServer {
    async fn start(config: ServerConfig, options: ServerTlsOptions) -> TlsServer {
        let dir = TempDir::new("tls-server");
        let tls = ServerTls::new(&options, &"127.0.0.1:0".parse().unwrap()).unwrap();
        let saved = dir.0.join("server.pem");
        let mut roots = RootCertStore::empty();
        if options.cert.is_none() {
            tls.save_certificate(&saved).unwrap();
            roots
                .add(CertificateDer::from_pem_file(&saved).unwrap())
                .unwrap();
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running =
            server::spawn_with_tls(listener, config, Some(Arc::new(tls)), Timer::start()).unwrap();
        TlsServer {
            addr: running.addr,
            stats: running.stats.clone(),
            running,
            roots,
            _dir: dir,
        }
    }

    async fn with(mode: Mode) -> TlsServer {
        let config = ServerConfig {
            mode,
            delay: DELAY,
            ..ServerConfig::default()
        };
        TlsServer::start(config, ServerTlsOptions::default()).await
    }

    async fn stop(self) {
        timeout(PATIENCE, self.running.stop())
            .await
            .expect("server stops in time")
            .expect("no panic");
    }
}

/// rustls's blocking client: a TLS session over a std socket, reads bounded by `PATIENCE`.
type Client = StreamOwned<ClientConnection, std::net::TcpStream>;

fn client_config(roots: RootCertStore, identity: Option<(&Path, &Path)>) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder().with_root_certificates(roots);
    Arc::new(match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(key).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    })
}

fn connect_blocking(addr: SocketAddr, config: Arc<ClientConfig>) -> Client {
    let socket = std::net::TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let session = ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
    StreamOwned::new(session, socket)
}

/// Sends TLS's half-close: `close_notify`, the socket left open.
fn close_notify(client: &mut Client) {
    client.conn.send_close_notify();
    client.flush().unwrap();
}

/// Reads to the end of the session: `Ok` when it ended with the server's `close_notify`.
fn read_to_close(client: &mut Client) -> std::io::Result<Vec<u8>> {
    let mut heard = Vec::new();
    client.read_to_end(&mut heard).map(|_| heard)
}

/// Runs `f` on a thread of its own (rustls's client blocks), failing the test if it panics.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    timeout(PATIENCE * 2, tokio::task::spawn_blocking(f))
        .await
        .expect("the client finishes in time")
        .expect("the client does not panic")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_book_sessions_and_the_plain_echo_are_byte_exact_over_tls() {
    let sequential = TlsServer::with(Mode::Sequential).await;
    let config = client_config(sequential.roots.clone(), None);
    let addr = sequential.addr;
    let heard = blocking(move || {
        let mut client = connect_blocking(addr, config);
        client
            .write_all(b"Hello?\nIs there anybody there?\nYooo-hooo!\n")
            .unwrap();
        close_notify(&mut client);
        read_to_close(&mut client).expect("the server ends with close_notify")
    })
    .await;
    assert_eq!(String::from_utf8(heard).unwrap(), echoes_of(&BOOK_SHOUTS));
    sequential.stop().await;

    let concurrent = TlsServer::with(Mode::Concurrent).await;
    let config = client_config(concurrent.roots.clone(), None);
    let addr = concurrent.addr;
    let heard = blocking(move || {
        let mut client = connect_blocking(addr, config);
        client.write_all(b"Is there anybody there?\n").unwrap();
        let mut first = [0u8; 52];
        client.read_exact(&mut first).unwrap();
        assert_eq!(
            &first[..],
            b"\t IS THERE ANYBODY THERE?\n\t Is there anybody there?\n",
        );
        // Half a delay before the first shout's last echo is due, as over TCP.
        std::thread::sleep(DELAY / 2);
        client.write_all(b"Yooo-hooo!\n").unwrap();
        close_notify(&mut client);
        read_to_close(&mut client).expect("the server ends with close_notify")
    })
    .await;
    assert_eq!(
        String::from_utf8(heard).unwrap(),
        "\t YOOO-HOOO!\n\t is there anybody there?\n\t Yooo-hooo!\n\t yooo-hooo!\n"
    );
    concurrent.stop().await;

    let plain = TlsServer::with(Mode::Plain).await;
    let config = client_config(plain.roots.clone(), None);
    let addr = plain.addr;
    // Every byte value, and more than one TLS record's worth.
    let sent: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let expected = sent.clone();
    let heard = blocking(move || {
        let mut client = connect_blocking(addr, config);
        client.write_all(&sent).unwrap();
        close_notify(&mut client);
        read_to_close(&mut client).expect("the server ends with close_notify")
    })
    .await;
    assert!(heard == expected, "the plain echo over TLS is byte-exact");
    assert_eq!(plain.stats.bytes_echoed.load(Relaxed), 40_000);
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_and_the_shutdown_notice_reach_a_tls_client_then_close_notify() {
    let server = TlsServer::start(
        ServerConfig {
            delay: DELAY,
            max_connections: 2,
            idle_timeout: Some(Duration::from_millis(300)),
            ..ServerConfig::default()
        },
        ServerTlsOptions::default(),
    )
    .await;
    let config = client_config(server.roots.clone(), None);
    let addr = server.addr;
    // Idle: the notice after the echoes owed, then close_notify.
    let idle = blocking({
        let config = config.clone();
        move || {
            let mut client = connect_blocking(addr, config);
            client.write_all(b"Hello?\n").unwrap();
            read_to_close(&mut client).expect("the server ends with close_notify")
        }
    })
    .await;
    assert_eq!(
        String::from_utf8(idle).unwrap(),
        format!(
            "{}echoctl: no complete line for 300ms; closing the connection\n",
            echoes_of(&["Hello?"])
        )
    );
    // Full: the one line, told over TLS.
    let (held, told) = blocking(move || {
        let holders: Vec<Client> = (0..2)
            .map(|_| {
                let mut holder = connect_blocking(addr, config.clone());
                holder.write_all(b"Hold\n").unwrap();
                let mut first = [0u8; 7];
                holder.read_exact(&mut first).unwrap();
                holder
            })
            .collect();
        let mut refused = connect_blocking(addr, config);
        let told = read_to_close(&mut refused).expect("told, then close_notify");
        (holders, told)
    })
    .await;
    assert_eq!(
        String::from_utf8(told).unwrap(),
        "echoctl: server is full (2 connections); try again later\n"
    );
    assert_eq!(server.stats.connections_refused.load(Relaxed), 1);
    drop(held);
    server.stop().await;

    // Shutting down: the echoes owed, the notice, close_notify.
    let server = TlsServer::with(Mode::Sequential).await;
    let config = client_config(server.roots.clone(), None);
    let addr = server.addr;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let client = tokio::task::spawn_blocking(move || {
        let mut client = connect_blocking(addr, config);
        client.write_all(b"Hello?\n").unwrap();
        let mut first = [0u8; 9];
        client.read_exact(&mut first).unwrap();
        ready_tx.send(()).unwrap();
        let rest = read_to_close(&mut client).expect("the server ends with close_notify");
        [&first[..], &rest].concat()
    });
    timeout(PATIENCE, ready_rx).await.unwrap().unwrap();
    server.stop().await;
    let heard = timeout(PATIENCE, client).await.unwrap().unwrap();
    assert_eq!(
        String::from_utf8(heard).unwrap(),
        format!(
            "{}echoctl: the server is shutting down; closing the connection\n",
            echoes_of(&["Hello?"])
        )
    );
}

/// A client that opens a connection and never says a word holds its place under
/// `--max-connections` until the handshake timeout closes it, to the (virtual) second.
#[tokio::test(start_paused = true)]
async fn a_stalled_handshake_holds_a_place_until_its_timeout_closes_it() {
    let server = TlsServer::start(
        ServerConfig {
            max_connections: 1,
            ..ServerConfig::default()
        },
        ServerTlsOptions {
            handshake_timeout: Some(Duration::from_secs(10)),
            ..ServerTlsOptions::default()
        },
    )
    .await;
    let started = tokio::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    while server.stats.connections_accepted.load(Relaxed) < 1 {
        tokio::task::yield_now().await;
    }
    // The place is taken by the handshake: a second client is turned away.
    let _second = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    while server.stats.connections_refused.load(Relaxed) < 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    let mut buf = [0u8; 16];
    // Virtual time: the read ends at the timeout, or the test fails well after it.
    let read = timeout(Duration::from_secs(60), silent.read(&mut buf))
        .await
        .expect("closed by the handshake timeout");
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "closed without a TLS byte: {read:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "closed after {waited:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_takes_a_client_of_its_ca_and_refuses_the_others_in_the_handshake() {
    let pki = Pki::new("mtls");
    let others = Pki::new("mtls-other");
    let (alice_cert, alice_key) = pki.issue("alice", "alice", &["alice.example"], false);
    let (mallory_cert, mallory_key) = others.issue("mallory", "mallory", &["m.example"], false);
    let server = TlsServer::start(
        ServerConfig {
            delay: DELAY,
            ..ServerConfig::default()
        },
        ServerTlsOptions {
            client_ca: Some(pki.ca_path()),
            ..ServerTlsOptions::default()
        },
    )
    .await;
    let addr = server.addr;
    let roots = server.roots.clone();
    let outcomes = blocking(move || {
        let session = |identity: Option<(&Path, &Path)>| {
            let mut client = connect_blocking(addr, client_config(roots.clone(), identity));
            client.write_all(b"Hello?\n")?;
            close_notify(&mut client);
            read_to_close(&mut client)
        };
        [
            session(Some((&alice_cert, &alice_key))),
            session(None),
            session(Some((&mallory_cert, &mallory_key))),
        ]
    })
    .await;
    let [alice, anonymous, mallory] = outcomes;
    assert_eq!(
        String::from_utf8(alice.unwrap()).unwrap(),
        echoes_of(&["Hello?"])
    );
    for (who, refused) in [("no certificate", anonymous), ("another CA's", mallory)] {
        let error = refused.expect_err(who);
        assert!(
            error.to_string().contains("alert"),
            "{who}: refused with an alert: {error}"
        );
    }
    assert_eq!(server.stats.connections_open.load(Relaxed), 0);
    server.stop().await;
}

/// `echoctl serve ARGS` on a free loopback port: the child, its start-up line, and its stderr.
async fn spawn_serve(args: &[&str]) -> (Child, String, BufReader<ChildStderr>) {
    crate::common::spawn_serve(
        echoctl()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args),
    )
    .await
}

/// The fingerprint in a start-up line: `sha256:...`.
fn fingerprint_of(startup: &str) -> String {
    let at = startup
        .find("tls sha256:")
        .expect("the start-up line names it")
        + 4;
    startup[at..].split([')', ',']).next().unwrap().to_string()
}

/// Reads the server's log until a line contains `what`, and returns it.
async fn log_line(stderr: &mut BufReader<ChildStderr>, what: &str) -> String {
    timeout(PATIENCE, async {
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).await.unwrap() == 0 {
                panic!("the server's log ended without {what:?}");
            }
            if line.contains(what) {
                return line;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no log line with {what:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_names_its_certificate_and_connect_trusts_it_by_file_or_fingerprint() {
    let dir = TempDir::new("tls-serve");
    let saved = dir.0.join("ca.pem");
    let saved_arg = saved.to_str().unwrap();
    let (server, startup, mut log) =
        spawn_serve(&["--tls", "--tls-save-cert", saved_arg, "--delay", "100ms"]).await;
    assert!(
        startup.starts_with("listening on 127.0.0.1:")
            && startup.contains(" (mode concurrent, delay 100ms, tls sha256:"),
        "{startup}"
    );
    // Written before the start-up line; the certificate, never the key; the fingerprint
    // openssl computes.
    let pem = std::fs::read_to_string(&saved).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----") && !pem.contains("KEY"));
    let fingerprint = fingerprint_of(&startup);
    let openssl = std::process::Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            saved_arg,
        ])
        .output()
        .unwrap_or_else(|e| panic!("openssl runs (apt-get install openssl): {e}"));
    let theirs = String::from_utf8(openssl.stdout).unwrap();
    assert_eq!(
        theirs.trim().to_ascii_lowercase(),
        format!("sha256 fingerprint={}", &fingerprint["sha256:".len()..]).to_ascii_lowercase()
    );
    let addr = address_in(&startup);
    let shouts = b"Hello?\nIs there anybody there?\n";
    let expected = [
        "\t HELLO?\n\t IS THERE ANYBODY THERE?\n",
        "\t Hello?\n\t Is there anybody there?\n",
        "\t hello?\n\t is there anybody there?\n",
    ]
    .concat();
    for trust in [["--tls-ca", saved_arg], ["--tls-fingerprint", &fingerprint]] {
        let done = connect(&["--tls", trust[0], trust[1], &addr], shouts).await;
        assert_eq!(done.code, Some(0), "{trust:?}: {}", done.stderr);
        assert_eq!(done.stdout_text(), expected, "{trust:?}");
        assert_eq!(done.stderr, "", "{trust:?}");
    }
    let line = log_line(&mut log, "TLS handshake done").await;
    assert!(line.contains(": TLS 1.3, TLS13_"), "{line}");
    assert!(line.contains(", X25519"), "{line}");
    // The fingerprint is the only trust: names do not matter, a wrong pin does.
    let done = connect(
        &[
            "--tls",
            "--tls-fingerprint",
            &fingerprint,
            "--tls-server-name",
            "elsewhere.example",
            &addr,
        ],
        b"Hi\n",
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let wrong = format!("sha256:{}", ["00"; 32].join(":"));
    let done = connect(&["--tls", "--tls-fingerprint", &wrong, &addr], b"Hi\n").await;
    assert_eq!(done.code, Some(1));
    assert_eq!(
        done.stderr,
        format!(
            "echoctl: error: the server's certificate is not the one --tls-fingerprint pins: it \
             is {fingerprint}, not {wrong} (a server made a new one at start-up? pass the \
             fingerprint its start-up line names)\n"
        )
    );
    assert!(done.stdout.is_empty());
    // Not trusted by this machine; a name it does not hold.
    let done = connect(&["--tls", &addr], b"Hi\n").await;
    assert_eq!(done.code, Some(1));
    assert!(
        done.stderr.starts_with(
            "echoctl: error: the server's certificate is not signed by a CA this machine trusts \
             (unknown issuer): pass its CA with --tls-ca FILE"
        ) && done.stderr.lines().count() == 1,
        "{}",
        done.stderr
    );
    let done = connect(
        &[
            "--tls",
            "--tls-ca",
            saved_arg,
            "--tls-server-name",
            "echo.example",
            &addr,
        ],
        b"Hi\n",
    )
    .await;
    assert_eq!(done.code, Some(1));
    assert_eq!(
        done.stderr,
        "echoctl: error: the server's certificate is not valid for echo.example (it names \
         localhost, 127.0.0.1, ::1): connect by one of those names, or pass --tls-server-name \
         NAME with one\n"
    );
    let refused = log_line(&mut log, "the client refused it").await;
    assert!(refused.contains("(alert: "), "{refused}");
    // --insecure: one warning line, and the echoes.
    let done = connect(&["--tls", "--insecure", &addr], b"Hi\n").await;
    assert_eq!(done.code, Some(0));
    assert_eq!(done.stdout_text(), echoes_of(&["Hi"]));
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    assert!(
        done.stderr.starts_with("warning: --insecure: "),
        "{}",
        done.stderr
    );
    stop_serve(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_mode_and_a_unix_socket_over_tls_give_the_tcp_transcripts() {
    let dir = TempDir::new("tls-modes");
    let socket = format!("unix:{}", dir.0.join("echo.sock").display());
    let input = b"Hello?\nIs there anybody there?\nYooo-hooo!\n";
    for (listen, mode) in [
        ("127.0.0.1:0", "sequential"),
        (socket.as_str(), "sequential"),
        ("127.0.0.1:0", "plain"),
        (socket.as_str(), "plain"),
    ] {
        let mut args = vec!["--tls", "--mode", mode, "--listen", listen];
        if mode != "plain" {
            args.extend(["--delay", "100ms"]);
        }
        let (child, startup, mut stderr) =
            crate::common::spawn_serve(echoctl().arg("serve").args(&args)).await;
        let addr = address_in(&startup);
        let fingerprint = fingerprint_of(&startup);
        let done = connect(&["--tls", "--tls-fingerprint", &fingerprint, &addr], input).await;
        assert_eq!(done.code, Some(0), "{mode} on {listen}: {}", done.stderr);
        let expected = if mode == "plain" {
            String::from_utf8(input.to_vec()).unwrap()
        } else {
            echoes_of(&BOOK_SHOUTS)
        };
        assert_eq!(done.stdout_text(), expected, "{mode} on {listen}");
        let closed = log_line(&mut stderr, "closed").await;
        assert!(closed.ends_with(": client finished\n"), "{closed}");
        stop_serve(child).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plaintext_peer_is_named_on_either_side() {
    // A plain TCP client on a TLS port: told in plain text, one log line.
    let (tls_server, startup, mut log) = spawn_serve(&["--tls"]).await;
    let addr = address_in(&startup);
    let done = connect(&[&addr], b"Hello?\n").await;
    assert_eq!(done.code, Some(3), "the notice's status");
    assert_eq!(
        done.stdout_text(),
        "echoctl: this server speaks TLS; connect with TLS (echoctl connect --tls)\n"
    );
    let line = log_line(&mut log, "not TLS").await;
    assert!(
        line.ends_with(
            ": not TLS: the client sent \"Hello?\\n\" (a plain TCP client on a TLS port?)\n"
        ),
        "{line}"
    );
    stop_serve(tls_server).await;
    // A TLS client on a plaintext port: the plain echo sends its hello back, the reverb server
    // echoes it or waits for a line; either way, one line and exit 1.
    for args in [&["--mode", "plain"][..], &["--delay", "100ms"]] {
        let (plaintext, startup, _log) = spawn_serve(args).await;
        let addr = address_in(&startup);
        let done = connect(
            &["--tls", "--insecure", "--connect-timeout", "2s", &addr],
            b"Hi\n",
        )
        .await;
        assert_eq!(done.code, Some(1), "{args:?}");
        let error = done.stderr.lines().nth(1).unwrap_or_default();
        assert!(
            error.starts_with("echoctl: error: the server did not answer TLS")
                && error.ends_with("(is it started with --tls?)"),
            "{args:?}: {}",
            done.stderr
        );
        assert!(done.stdout.is_empty());
        stop_serve(plaintext).await;
    }
}

/// The roots that trust what `serve --tls-save-cert PATH` wrote.
fn roots_from(path: &Path) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(path).unwrap())
        .unwrap();
    roots
}

#[tokio::test(flavor = "multi_thread")]
async fn half_close_is_close_notify_and_a_close_without_it_is_one_log_line() {
    let dir = TempDir::new("tls-half-close");
    let saved = dir.0.join("ca.pem");
    let (server, startup, mut log) = spawn_serve(&[
        "--tls",
        "--tls-save-cert",
        saved.to_str().unwrap(),
        "--delay",
        "100ms",
    ])
    .await;
    let addr: SocketAddr = address_in(&startup).parse().unwrap();
    let config = client_config(roots_from(&saved), None);
    let heard = blocking({
        let config = config.clone();
        move || {
            let mut client = connect_blocking(addr, config);
            client.write_all(b"Hello?\n").unwrap();
            close_notify(&mut client);
            // The echoes owed still come, then the server's close_notify.
            read_to_close(&mut client).expect("close_notify ends the session")
        }
    })
    .await;
    assert_eq!(String::from_utf8(heard).unwrap(), echoes_of(&["Hello?"]));
    let closed = log_line(&mut log, "connection closed").await;
    assert!(
        closed.ends_with(" 1 shout, 3 echo lines sent: client finished\n"),
        "{closed}"
    );
    // A TCP close without close_notify: the client went away, said once.
    blocking(move || {
        let mut client = connect_blocking(addr, config);
        client.write_all(b"Hello?\n").unwrap();
        let mut first = [0u8; 9];
        client.read_exact(&mut first).unwrap();
        client.sock.shutdown(std::net::Shutdown::Write).unwrap();
    })
    .await;
    let gone = log_line(&mut log, ": client ").await;
    assert!(
        gone.contains(
            ": client went away (it closed the connection without TLS close_notify) after "
        ),
        "{gone}"
    );
    stop_serve(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_end_to_end_names_the_client_and_refuses_the_others_in_one_line() {
    let pki = Pki::new("mtls-e2e");
    let others = Pki::new("mtls-e2e-other");
    let (server_cert, server_key) =
        pki.issue("server", "echo server", &["localhost", "127.0.0.1"], false);
    let (alice_cert, alice_key) = pki.issue("alice", "alice", &["alice.example"], false);
    let (mallory_cert, mallory_key) = others.issue("mallory", "mallory", &["m.example"], false);
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (server, startup, mut log) = spawn_serve(&[
        "--tls",
        "--tls-cert",
        &path(&server_cert),
        "--tls-key",
        &path(&server_key),
        "--tls-client-ca",
        &path(&pki.ca_path()),
        "--delay",
        "100ms",
    ])
    .await;
    let addr = address_in(&startup);
    let ca = path(&pki.ca_path());
    let done = connect(
        &[
            "--tls",
            "--tls-ca",
            &ca,
            "--tls-cert",
            &path(&alice_cert),
            "--tls-key",
            &path(&alice_key),
            &addr,
        ],
        b"Hello?\n",
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout_text(), echoes_of(&["Hello?"]));
    let line = log_line(&mut log, "TLS handshake done").await;
    assert!(
        line.trim_end().ends_with(", client certificate CN=alice"),
        "{line}"
    );
    // Without a certificate, and with another CA's: refused in the handshake, one line each
    // on both sides.
    for identity in [None, Some((&mallory_cert, &mallory_key))] {
        let mut args = vec!["--tls".to_string(), "--tls-ca".into(), ca.clone()];
        if let Some((cert, key)) = identity {
            args.extend([
                "--tls-cert".into(),
                path(cert),
                "--tls-key".into(),
                path(key),
            ]);
        }
        args.push(addr.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let done = connect(&args, b"Hello?\n").await;
        assert_eq!(done.code, Some(1), "{identity:?}: {}", done.stderr);
        assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
        assert!(
            done.stderr.contains("the server refused this client"),
            "{}",
            done.stderr
        );
        let refused = log_line(&mut log, "refused in the TLS handshake").await;
        let why = if identity.is_none() {
            "the client presented no certificate (--tls-client-ca requires one)"
        } else {
            "the client's certificate is not signed by the CA of --tls-client-ca (unknown issuer)"
        };
        assert!(refused.trim_end().ends_with(why), "{refused}");
    }
    stop_serve(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_or_key_that_cannot_serve_is_one_line_and_exit_1_before_listening() {
    let pki = Pki::new("bad-files");
    let (cert, key) = pki.issue("server", "server", &["localhost"], false);
    let (other_cert, other_key) = pki.issue("other", "other", &["localhost"], false);
    let (expired, expired_key) = pki.issue("expired", "expired", &["localhost"], true);
    let _ = other_cert;
    let missing = pki.path("missing.pem");
    let p = |path: &PathBuf| path.to_str().unwrap().to_string();
    let cases = [
        (
            p(&missing),
            p(&key),
            format!(
                "cannot read the certificate file {}: No such file or directory (os error 2)",
                p(&missing)
            ),
        ),
        (
            p(&cert),
            p(&missing),
            format!(
                "cannot read the key file {}: No such file or directory (os error 2)",
                p(&missing)
            ),
        ),
        (
            p(&key),
            p(&key),
            format!(
                "{} holds no certificate: expected PEM, a -----BEGIN CERTIFICATE----- block",
                p(&key)
            ),
        ),
        (
            p(&cert),
            p(&cert),
            format!("{} holds no private key: expected PEM", p(&cert)),
        ),
        (
            p(&cert),
            p(&other_key),
            format!(
                "the key in {} does not match the certificate in {}: pass the key the certificate was made for",
                p(&other_key),
                p(&cert)
            ),
        ),
        (
            p(&expired),
            p(&expired_key),
            format!(
                "the certificate in {} expired on 2021-01-01T00:00:00Z: renew it",
                p(&expired)
            ),
        ),
    ];
    for (cert, key, message) in cases {
        let done = run(echoctl().args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ]))
        .await;
        assert_eq!(done.code, Some(1), "{message}: {}", done.stderr);
        assert_eq!(done.stderr.lines().count(), 1, "one line: {}", done.stderr);
        assert!(
            done.stderr
                .starts_with(&format!("echoctl: error: {message}")),
            "{message}\nis not the start of\n{}",
            done.stderr
        );
        assert!(!done.stderr.contains("listening"), "never listened");
    }
}

/// `openssl ARGS`, its output; a missing openssl fails the test, saying how to install it.
fn openssl(args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl runs (on Debian or Ubuntu: apt-get install openssl): {e}")
        });
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn pkcs1_and_sec1_keys_are_taken() {
    let pki = Pki::new("tls-key-forms");
    let file = |name: &str| pki.path(name).to_str().unwrap().to_string();
    // An RSA key as PKCS#1 and an EC key as SEC1 (openssl's "traditional" forms), each with a
    // certificate the test CA signs for its public key.
    openssl(&["genrsa", "-traditional", "-out", &file("rsa.key"), "2048"]);
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &file("ec.key"),
    ]);
    for (key, begins) in [
        ("rsa.key", "-----BEGIN RSA PRIVATE KEY-----"),
        ("ec.key", "-----BEGIN EC PRIVATE KEY-----"),
    ] {
        assert!(
            std::fs::read_to_string(file(key))
                .unwrap()
                .starts_with(begins)
        );
        let pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", &file(key)]).stdout;
        let key_pair = KeyPair::from_pem(std::str::from_utf8(&pkcs8).unwrap()).unwrap();
        let params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        let cert = file(&format!("{key}.pem"));
        std::fs::write(&cert, params.signed_by(&key_pair, &pki.ca).unwrap().pem()).unwrap();
        let (server, startup, _log) = spawn_serve(&[
            "--tls",
            "--tls-cert",
            &cert,
            "--tls-key",
            &file(key),
            "--mode",
            "plain",
        ])
        .await;
        let addr = address_in(&startup);
        let ca = file("ca.pem");
        let done = connect(&["--tls", "--tls-ca", &ca, &addr], b"x\0y").await;
        assert_eq!(done.code, Some(0), "{key}: {}", done.stderr);
        assert_eq!(done.stdout, b"x\0y", "{key}");
        stop_serve(server).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_handshake_is_closed_at_its_timeout_in_one_log_line() {
    let (server, startup, mut log) =
        spawn_serve(&["--tls", "--tls-handshake-timeout", "300ms"]).await;
    let addr = address_in(&startup);
    let started = std::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = timeout(PATIENCE, silent.read(&mut buf)).await.unwrap();
    assert!(matches!(read, Ok(0)) || read.is_err(), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let line = log_line(&mut log, "TLS handshake").await;
    assert!(
        line.trim_end()
            .ends_with(": TLS handshake not done within 300ms (--tls-handshake-timeout); closed"),
        "{line}"
    );
    stop_serve(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openssl_s_client_and_python_ssl_are_clients_like_any_other() {
    let dir = TempDir::new("tls-real-clients");
    let saved = dir.0.join("ca.pem");
    let saved = saved.to_str().unwrap();
    let (server, startup, mut log) = spawn_serve(&[
        "--tls",
        "--tls-save-cert",
        saved,
        "--delay",
        "100ms",
        "--idle-timeout",
        "500ms",
        "--alpn",
        "echo,http/1.1",
    ])
    .await;
    let addr = address_in(&startup);
    // s_client -quiet keeps reading after its input ends: the server's idle notice and
    // close_notify end the session, and s_client with it.
    let mut s_client = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-CAfile",
            saved,
            "-alpn",
            "http/1.1",
            "-connect",
            &addr,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("openssl runs (on Debian or Ubuntu: apt-get install openssl): {e}")
        });
    s_client
        .stdin
        .take()
        .unwrap()
        .write_all(b"Hello?\n")
        .unwrap();
    let output = blocking(move || s_client.wait_with_output().unwrap()).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!(
            "{}echoctl: no complete line for 500ms; closing the connection\n",
            echoes_of(&["Hello?"])
        )
    );
    let line = log_line(&mut log, "TLS handshake done").await;
    assert!(line.contains(", ALPN \"http/1.1\""), "{line}");
    // The key exchange openssl (as most clients) offers first: no second round trip, and the
    // cheap one.
    assert!(line.contains(", X25519, "), "{line}");
    // Python's ssl: verifies the name against the saved certificate, reads its echoes, then
    // closes with close_notify (unwrap), which the server answers.
    let script = r#"
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
context.set_alpn_protocols(["echo"])
host, port = sys.argv[1].rsplit(":", 1)
with socket.create_connection((host, int(port))) as raw:
    tls = context.wrap_socket(raw, server_hostname="localhost")
    tls.sendall(b"Hello?\nYooo-hooo!\n")
    heard = b""
    while heard.count(b"\n") < 6:
        heard += tls.recv(4096)
    sys.stdout.write(heard.decode() + tls.version() + " " + tls.selected_alpn_protocol() + "\n")
    tls.unwrap()
"#;
    let python = std::process::Command::new("python3")
        .args(["-c", script, &addr, saved])
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 runs (on Debian or Ubuntu: apt-get install python3): {e}")
        });
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let expected = [
        "\t HELLO?\n\t YOOO-HOOO!\n\t Hello?\n\t Yooo-hooo!\n\t hello?\n\t yooo-hooo!\n",
        "TLSv1.3 echo\n",
    ]
    .concat();
    assert_eq!(String::from_utf8(python.stdout).unwrap(), expected);
    let closed = log_line(&mut log, "connection closed").await;
    assert!(
        closed.contains("idle for 500ms"),
        "s_client's session: {closed}"
    );
    let closed = log_line(&mut log, "connection closed").await;
    assert!(
        closed.trim_end().ends_with(": client finished"),
        "Python's: {closed}"
    );
    // A client that offers only protocols the server does not: refused, in one line.
    let refused = std::process::Command::new("openssl")
        .args([
            "s_client", "-quiet", "-CAfile", saved, "-alpn", "gopher", "-connect", &addr,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let line = log_line(&mut log, "TLS handshake failed").await;
    assert!(
        line.trim_end().ends_with(
            ": TLS handshake failed: no protocol in common with the client's ALPN (--alpn)"
        ),
        "{line}"
    );
    stop_serve(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bench_over_tls_times_the_handshakes_and_counts_their_failures_apart() {
    let dir = TempDir::new("tls-bench");
    let saved = dir.0.join("ca.pem");
    let saved = saved.to_str().unwrap();
    let (server, startup, _log) =
        spawn_serve(&["--tls", "--tls-save-cert", saved, "--delay", "100ms"]).await;
    let addr = address_in(&startup);
    let bench = |extra: &[&str]| {
        let mut command = echoctl();
        command
            .args([
                "bench",
                "-c",
                "5",
                "-n",
                "3",
                "-i",
                "100ms",
                "-d",
                "100ms",
                "--ramp-up",
                "100ms",
                "--json",
            ])
            .args(extra)
            .arg(&addr);
        command
    };
    let done = run(&mut bench(&["--tls", "--tls-ca", saved])).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["echo_lines"]["received"], 45);
    assert_eq!(report["handshake_time"]["count"], 5);
    assert!(report["handshake_time"]["max_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(report["connections"]["handshake_failed"], 0);
    // Not trusted: every connection made, every handshake failed, with why.
    let done = run(&mut bench(&["--tls"])).await;
    assert_eq!(done.code, Some(1));
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["connections"]["failed"], 5);
    assert_eq!(report["connections"]["handshake_failed"], 5);
    assert_eq!(report["connect_time"]["count"], 0);
    let error = report["errors"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "handshake: the server's certificate is not signed by a CA this machine trusts"
        ),
        "{error}"
    );
    assert_eq!(report["errors"][0]["count"], 5);
    stop_serve(server).await;
}

/// A reader slower than the writer: the server's socket stops taking records, so TLS holds
/// the rest of a record it sealed; every byte still arrives, in order, and the session ends.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_reader_gets_every_byte_of_records_held_back() {
    let dir = TempDir::new("tls-slow-reader");
    let (server, startup, mut log) = spawn_serve(&["--tls", "--mode", "plain"]).await;
    let addr = address_in(&startup);
    let fingerprint = fingerprint_of(&startup);
    let input = dir.0.join("in");
    let output = dir.0.join("out");
    // More than the loopback's socket buffers hold, so the server's writes block for a while.
    let payload: Vec<u8> = (0..24_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&input, &payload).unwrap();
    let script = format!(
        "{} connect --tls --tls-fingerprint {fingerprint} {addr} < {} | (sleep 1; cat) > {}",
        env!("CARGO_BIN_EXE_echoctl"),
        input.display(),
        output.display()
    );
    let done = timeout(
        PATIENCE * 3,
        tokio::process::Command::new("bash")
            .args(["-c", &script])
            .output(),
    )
    .await
    .expect("the slow reader gets everything in time")
    .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        std::fs::read(&output).unwrap() == payload,
        "every byte back, in order"
    );
    let closed = log_line(&mut log, "connection closed").await;
    assert!(
        closed.contains(" 24000000 bytes echoed: client finished"),
        "{closed}"
    );
    stop_serve(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_cut_the_plaintext_and_a_reset_sends_no_close_notify() {
    let dir = TempDir::new("tls-fault");
    let saved = dir.0.join("ca.pem");
    let dump = dir.0.join("dump.txt");
    let (server, startup, mut log) = spawn_serve(&[
        "--tls",
        "--tls-save-cert",
        saved.to_str().unwrap(),
        "--delay",
        "100ms",
        "--fault",
        "reset-after=2lines",
        "--hex-dump",
        dump.to_str().unwrap(),
    ])
    .await;
    let addr: SocketAddr = address_in(&startup).parse().unwrap();
    let config = client_config(roots_from(&saved), None);
    let (heard, ended) = blocking(move || {
        let mut client = connect_blocking(addr, config);
        client.write_all(b"Hello?\n").unwrap();
        let mut heard = Vec::new();
        let ended = client.read_to_end(&mut heard);
        (heard, ended)
    })
    .await;
    // The fault counts echo lines of the plaintext, not records or bytes on the wire.
    let owed = echoes_of(&["Hello?"]);
    let two_lines: String = owed.split_inclusive('\n').take(2).collect();
    assert_eq!(String::from_utf8(heard).unwrap(), two_lines);
    let error = ended.expect_err("a reset is not the end of a session");
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::ConnectionReset,
        "a reset, with no close_notify before it: {error}"
    );
    log_line(&mut log, "reset after 2 echo lines (fault)").await;
    // The hex dump shows what the session read and wrote, not the TLS records.
    let dumped = std::fs::read_to_string(&dump).unwrap();
    assert!(dumped.contains("|Hello?.|"), "{dumped}");
    assert!(dumped.contains("HELLO?.|"), "{dumped}");
    stop_serve(server).await;
}

/// The sizes in a hex dump's chunk headers (`> 0.0032s to 127.0.0.1:4433: 7 bytes`), by
/// direction: sent (`>`) and received (`<`).
fn dumped_sizes(dump: &str) -> (Vec<u64>, Vec<u64>) {
    let (mut sent, mut received) = (Vec::new(), Vec::new());
    for line in dump.lines() {
        let into = match line.chars().next() {
            Some('>') => &mut sent,
            Some('<') => &mut received,
            _ => continue,
        };
        let size = line
            .strip_suffix(" bytes")
            .and_then(|rest| rest.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a chunk header ends with its size: {line}"));
        into.push(size);
    }
    (sent, received)
}

/// `serve --tls --trace` traces what the session read, took and wrote: the plaintext's shouts,
/// echo lines and bytes, not TLS's records (a record of 7 bytes of plaintext is 29 on the wire,
/// and the handshake's are hundreds).
#[tokio::test(flavor = "multi_thread")]
async fn serve_and_connect_traces_over_tls_hold_the_plaintext_not_the_records() {
    let dir = TempDir::new("tls-trace");
    let reverb_trace = dir.0.join("reverb.json");
    let (server, startup, _log) = spawn_serve(&[
        "--tls",
        "--delay",
        "100ms",
        "--trace",
        reverb_trace.to_str().unwrap(),
    ])
    .await;
    let (addr, fingerprint) = (address_in(&startup), fingerprint_of(&startup));
    let client_trace = dir.0.join("connect.json");
    let done = connect(
        &[
            "--tls",
            "--tls-fingerprint",
            &fingerprint,
            "--trace",
            client_trace.to_str().unwrap(),
            &addr,
        ],
        b"Hello?\nYooo-hooo!\n",
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    stop_serve(server).await;
    // The client's side: its shouts and the echoes it heard, as plaintext lines.
    let heard = crate::trace::check(&crate::trace::read(&client_trace));
    let shouts = &heard.shouts[&1];
    assert_eq!(
        shouts.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Hello?", "Yooo-hooo!"]
    );
    for shout in shouts {
        let lines: Vec<&str> = shout.echoes.iter().map(|(_, l, _)| l.as_str()).collect();
        let name = &shout.name;
        assert_eq!(lines, [&name.to_uppercase(), name, &name.to_lowercase()]);
    }
    let trace = crate::trace::check(&crate::trace::read(&reverb_trace));
    assert_eq!(trace.processes.len(), 1, "{:?}", trace.processes);
    let shouts = trace
        .shouts
        .values()
        .next()
        .expect("the connection's shouts");
    let names: Vec<&str> = shouts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Hello?", "Yooo-hooo!"]);
    for shout in shouts {
        assert_eq!(
            crate::trace::voices(shout),
            ["loud", "as sent", "quiet"],
            "{shout:?}"
        );
        let lines: Vec<&str> = shout.echoes.iter().map(|(_, l, _)| l.as_str()).collect();
        let name = &shout.name;
        assert_eq!(lines, [&name.to_uppercase(), name, &name.to_lowercase()]);
    }
    let closed: Vec<&serde_json::Value> = trace
        .events
        .iter()
        .filter(|e| e["name"] == "connection closed")
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["args"]["reason"], "client finished");

    // The plain echo's trace counts bytes: the plaintext's, in each direction.
    let plain_trace = dir.0.join("plain.json");
    let (server, startup, _log) = spawn_serve(&[
        "--tls",
        "--mode",
        "plain",
        "--trace",
        plain_trace.to_str().unwrap(),
    ])
    .await;
    let (addr, fingerprint) = (address_in(&startup), fingerprint_of(&startup));
    let done = connect(
        &["--tls", "--tls-fingerprint", &fingerprint, &addr],
        b"Hello?\n",
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, b"Hello?\n");
    stop_serve(server).await;
    let trace = crate::trace::check(&crate::trace::read(&plain_trace));
    let bytes = |name: &str| -> Vec<u64> {
        trace
            .events
            .iter()
            .filter(|e| e["cat"] == "bytes" && e["name"] == name)
            .map(|e| e["args"]["bytes"].as_u64().expect("a count of bytes"))
            .collect()
    };
    assert_eq!(bytes("read"), [7], "the shout's 7 bytes, read once");
    assert_eq!(bytes("written"), [7], "and written back once");
}

/// `connect --tls --hex-dump` dumps what the session sent and received: the plaintext, not
/// TLS's records.
#[tokio::test(flavor = "multi_thread")]
async fn connects_hex_dump_over_tls_shows_the_plaintext() {
    let dir = TempDir::new("tls-connect-dump");
    let dump = dir.0.join("dump.txt");
    let (server, startup, _log) = spawn_serve(&["--tls", "--delay", "100ms"]).await;
    let (addr, fingerprint) = (address_in(&startup), fingerprint_of(&startup));
    let done = connect(
        &[
            "--tls",
            "--tls-fingerprint",
            &fingerprint,
            "--hex-dump",
            dump.to_str().unwrap(),
            &addr,
        ],
        b"Hello?\n",
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let echoes = echoes_of(&["Hello?"]);
    assert_eq!(done.stdout_text(), echoes);
    stop_serve(server).await;
    let dumped = std::fs::read_to_string(&dump).unwrap();
    let (sent, received) = dumped_sizes(&dumped);
    assert_eq!(sent, [7], "the shout, in one chunk: {dumped}");
    assert_eq!(
        received.iter().sum::<u64>(),
        echoes.len() as u64,
        "the echo lines' bytes and no more: {dumped}"
    );
    assert!(dumped.contains("|Hello?.|"), "{dumped}");
    assert!(dumped.contains("HELLO?."), "{dumped}");
}

/// The files the other test leaves: a certificate not valid yet, a `--tls-client-ca` that
/// cannot be read or holds no certificate, and connect's own (`--tls-ca`, `--tls-cert` with
/// `--tls-key`): one line each saying which file and what is wrong, exit 1, before the server
/// listens or the client connects.
#[tokio::test(flavor = "multi_thread")]
async fn other_files_that_cannot_serve_either_side_are_one_line_and_exit_1() {
    let pki = Pki::new("more-bad-files");
    let (cert, key) = pki.issue("server", "server", &["localhost"], false);
    let (_, other_key) = pki.issue("other", "other", &["localhost"], false);
    let (expired, expired_key) = pki.issue("expired", "expired", &["localhost"], true);
    let (future, future_key) =
        pki.issue_for_years("future", "future", &["localhost"], Some((2040, 2041)));
    let missing = pki.path("missing.pem");
    let p = |path: &PathBuf| path.to_str().unwrap().to_string();
    let ca = p(&pki.ca_path());
    // Where the client would connect: nothing may reach it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let serve = |args: &[&str]| -> Vec<String> {
        ["serve", "--listen", "127.0.0.1:0", "--tls"]
            .iter()
            .chain(args)
            .map(|a| a.to_string())
            .collect()
    };
    let connect = |args: &[&str]| -> Vec<String> {
        ["connect", "--tls"]
            .iter()
            .chain(args)
            .chain([&addr.as_str()])
            .map(|a| a.to_string())
            .collect()
    };
    let no_such_file = "No such file or directory (os error 2)";
    let cases = [
        (
            serve(&["--tls-cert", &p(&future), "--tls-key", &p(&future_key)]),
            format!(
                "the certificate in {} is not valid until 2040-01-01T00:00:00Z (is this \
                 machine's clock right?)",
                p(&future)
            ),
        ),
        (
            serve(&["--tls-client-ca", &p(&missing)]),
            format!(
                "cannot read the certificate file {}: {no_such_file}",
                p(&missing)
            ),
        ),
        (
            serve(&["--tls-client-ca", &p(&key)]),
            format!(
                "{} holds no certificate: expected PEM, a -----BEGIN CERTIFICATE----- block",
                p(&key)
            ),
        ),
        (
            connect(&["--tls-ca", &p(&missing)]),
            format!(
                "cannot read the certificate file {}: {no_such_file}",
                p(&missing)
            ),
        ),
        (
            connect(&[
                "--tls-ca",
                &ca,
                "--tls-cert",
                &p(&cert),
                "--tls-key",
                &p(&other_key),
            ]),
            format!(
                "the key in {} does not match the certificate in {}: pass the key the \
                 certificate was made for",
                p(&other_key),
                p(&cert)
            ),
        ),
        (
            connect(&[
                "--tls-ca",
                &ca,
                "--tls-cert",
                &p(&expired),
                "--tls-key",
                &p(&expired_key),
            ]),
            // A client has no certificate made at start-up to fall back on.
            format!(
                "the certificate in {} expired on 2021-01-01T00:00:00Z: renew it",
                p(&expired)
            ),
        ),
    ];
    for (args, message) in cases {
        let done = timeout(PATIENCE, run(echoctl().args(&args)))
            .await
            .unwrap_or_else(|_| panic!("{args:?} did not exit: it went on with the file?"));
        assert_eq!(done.code, Some(1), "{args:?}: {}", done.stderr);
        assert_eq!(
            done.stderr,
            format!("echoctl: error: {message}\n"),
            "{args:?}"
        );
    }
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "no client connected"
    );
}

/// A TLS echo server nobody here wrote the TLS of: Python's ssl module (OpenSSL) in front of a
/// plain echo, each connection in a thread, answering the client's close_notify with its own.
const PYTHON_TLS_ECHO: &str = r#"
import socket, ssl, sys, threading
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
def echo(raw):
    # A TCP end without close_notify is an error here, not the end of input.
    with context.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False) as tls:
        while True:
            data = tls.recv(65536)
            if not data:
                break
            tls.sendall(data)
        tls.unwrap().close()
while True:
    raw, _ = listener.accept()
    threading.Thread(target=echo, args=(raw,), daemon=True).start()
"#;

/// `connect --tls` and `bench --tls` against another TLS echo server: byte-exact, verified
/// against its CA, every echo checked, the end of input its close_notify.
#[tokio::test(flavor = "multi_thread")]
async fn connect_and_bench_speak_tls_to_pythons_ssl_echo_server() {
    let pki = Pki::new("python-echo");
    let (cert, key) = pki.issue("server", "python echo", &["localhost"], false);
    let mut python = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(PYTHON_TLS_ECHO)
        .arg(&cert)
        .arg(&key)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 runs (on Debian or Ubuntu: apt-get install python3): {e}")
        });
    let mut port = String::new();
    timeout(
        PATIENCE,
        BufReader::new(python.stdout.take().unwrap()).read_line(&mut port),
    )
    .await
    .expect("python3 prints its port")
    .unwrap();
    let port: u16 = port.trim().parse().unwrap_or_else(|_| {
        panic!("python3 printed its port, not {port:?} (Python 3.8 or later?)")
    });
    let addr = format!("localhost:{port}");
    let ca = pki.ca_path();
    let ca = ca.to_str().unwrap();

    let input = b"Hello?\nno newline at the end";
    let done = connect(&["--tls", "--tls-ca", ca, &addr], input).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, input, "the plain echo, byte for byte");

    let done = run(echoctl().args([
        "bench",
        "--tls",
        "--tls-ca",
        ca,
        "--expect",
        "plain",
        "-c",
        "4",
        "-n",
        "5",
        "-i",
        "20ms",
        "--ramp-up",
        "50ms",
        "--json",
        &addr,
    ]))
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["echo_lines"]["expected"], 20);
    assert_eq!(report["echo_lines"]["received"], 20);
    assert_eq!(report["handshake_time"]["count"], 4);
    assert_eq!(report["connections"]["handshake_failed"], 0);
}
