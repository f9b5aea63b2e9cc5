//! `connect udp:HOST:PORT`: each line of input a datagram, each datagram heard printed as it came.
//!
//! A driver over the core's [`DatagramSession`], which splits the input into datagrams, tells
//! what each line heard is and decides when the session is over (UDP has no close: every echo
//! owed has come, or `--wait` passed with nothing arriving). This moves the bytes: stdin is read
//! on a task of its own (a terminal nobody types into must not hold the client), and one loop
//! sends, receives and waits.
//!
//! The socket is connected, so it hears only from the server, and an ICMP "port unreachable"
//! comes back as a refused send or receive: nothing listens there, said as a refused TCP
//! connect is. Until the server has answered, a refusal moves on to the next address the name
//! resolves to, and what was sent is sent there again.

use std::io;
use std::net::SocketAddr;

use anyhow::Context;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use echoctl_core::Address;
use echoctl_core::client::SessionEnd;
use echoctl_core::client::datagrams::DatagramSession;
use echoctl_core::client::transcript::Heard;

use super::sleep_until_some;
use crate::net;

/// Datagrams kept to send again to the next address if the first refuses: those sent before
/// the server first answered, up to this many bytes (past it, a refusal is the end).
const KEEP_FOR_NEXT_ADDRESS: usize = 1 << 20;

/// Where the session goes and how its lines are shown.
pub(crate) struct Target<'a> {
    /// As the user wrote it, for messages.
    pub addr: &'a Address,
    /// The socket, connected to the first address the name resolved to.
    pub socket: UdpSocket,
    /// The other addresses, tried in turn when one refuses before any answer.
    pub others: Vec<SocketAddr>,
    /// Each attributed echo is preceded by how long after its shout it arrived.
    pub timestamps: bool,
}

/// Relays `input` to the server a line a datagram, and each datagram heard to `output` as it
/// came, until `session` says the session is over.
pub(crate) async fn relay<I, O>(
    target: Target<'_>,
    input: I,
    mut output: O,
    session: &mut DatagramSession,
) -> anyhow::Result<SessionEnd>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let Target {
        addr,
        socket,
        mut others,
        timestamps,
    } = target;
    others.reverse();
    let mut tried = vec![socket.peer_addr()?];
    let mut input = read_input(input);
    let mut input_open = true;
    let mut answered = false;
    // What was sent before the server answered, to send again to the next address.
    let mut unanswered: Option<Vec<Vec<u8>>> = Some(Vec::new());
    let mut to_send: Vec<Vec<u8>> = Vec::new();
    let mut shown = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if let Some(end) = session.advance(Instant::now()) {
            return Ok(end);
        }
        let wake = session.next_wake();
        let received = tokio::select! {
            chunk = input.recv(), if input_open => {
                let now = Instant::now();
                let mut queue = |d: &[u8]| to_send.push(d.to_vec());
                match chunk {
                    Some(Ok(bytes)) => session.input(now, &bytes, &mut queue)?,
                    Some(Err(e)) => return Err(e).context("cannot read standard input"),
                    None => {
                        session.end_of_input(now, &mut queue)?;
                        input_open = false;
                        tracing::debug!("input closed; waiting for {} echoes", session.owed());
                    }
                }
                None
            }
            received = receive(&socket, &mut buffer) => Some(received),
            () = sleep_until_some(wake) => None,
        };
        let refused = match received {
            Some(Ok(n)) => {
                answered = true;
                unanswered = None;
                shown.clear();
                session.receive(Instant::now(), &buffer[..n], |line, heard| {
                    if timestamps {
                        if let Heard::Echo(Some(echo)) = heard {
                            shown.extend_from_slice(crate::paint::elapsed(echo.after).as_bytes());
                        }
                        shown.extend_from_slice(line);
                    }
                });
                let datagram = if timestamps { &shown[..] } else { &buffer[..n] };
                // A closed output (`| head -1`) is this error too: `main` ends quietly on it.
                write_out(&mut output, datagram)
                    .await
                    .context("cannot write to standard output")?;
                None
            }
            Some(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Some(e),
            Some(Err(e)) => {
                return Err(e).with_context(|| format!("cannot receive from {addr}"));
            }
            None => None,
        };
        let mut refused = refused;
        for datagram in to_send.drain(..) {
            if refused.is_some() {
                break;
            }
            match socket.send(&datagram).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => refused = Some(e),
                Err(e) => return Err(e).with_context(|| send_failed(addr, datagram.len())),
            }
            if let Some(kept) = &mut unanswered {
                kept.push(datagram);
                if kept.iter().map(Vec::len).sum::<usize>() > KEEP_FOR_NEXT_ADDRESS {
                    unanswered = None;
                }
            }
        }
        if refused.is_none() {
            continue;
        }
        // Nothing listens there: the next address, if the server has not answered yet.
        let next = match (&unanswered, others.pop()) {
            (Some(_), Some(next)) if !answered => next,
            _ => anyhow::bail!("{}", net::explain_udp_refused(addr, &tried)),
        };
        tracing::debug!("{} refused; trying {next}", tried[tried.len() - 1]);
        socket.connect(next).await?;
        tried.push(next);
        for datagram in unanswered.iter().flatten() {
            match socket.send(datagram).await {
                Ok(_) => {}
                // Refused again: the next receive says so.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
                Err(e) => return Err(e).with_context(|| send_failed(addr, datagram.len())),
            }
        }
    }
}

/// The next datagram from the server, or the error the socket has to report.
async fn receive(socket: &UdpSocket, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        net::udp_readable(socket).await?;
        match socket.try_recv(buffer) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            received => return received,
        }
    }
}

fn send_failed(addr: &Address, len: usize) -> String {
    format!("cannot send a datagram of {len} bytes to {addr}")
}

async fn write_out(output: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    output.write_all(bytes).await?;
    output.flush().await
}

/// Reads `input` on a task of its own, chunk by chunk; the channel closes at its end.
fn read_input<I>(mut input: I) -> mpsc::Receiver<io::Result<Vec<u8>>>
where
    I: AsyncRead + Unpin + Send + 'static,
{
    let (chunks, receiver) = mpsc::channel(8);
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = input.read(&mut buffer).await;
            let chunk = match read {
                Ok(0) => break,
                Ok(n) => Ok(buffer[..n].to_vec()),
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if chunks.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    receiver
}
