//! Datagrams read and sent a batch per system call: on Linux `recvmmsg` and `sendmmsg`, elsewhere
//! one call a datagram behind the same interface.
//!
//! A UDP echo makes two system calls a datagram (one to read it, one to send its answer), and at
//! a high rate those calls are most of what the server costs. Reading up to [`BATCH`] datagrams in
//! one call, and sending everything one wake-up has to say in one call, pays each call's fixed
//! cost once a batch instead of once a datagram. Each datagram is read into a slot of
//! [`BUFFER`] bytes, larger than any UDP payload (65,527 bytes at most), and the system says
//! when one was cut (`MSG_TRUNC`): it is then refused, never echoed cut.

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Datagrams read in one call, at most.
pub(super) const BATCH: usize = 32;

/// Each datagram's slot: more than any UDP payload.
pub(super) const BUFFER: usize = 64 * 1024;

/// One datagram read: where it came from and how long it is (its bytes are in
/// [`Reader::datagram`]); `truncated` when it did not fit its slot.
#[derive(Debug, Clone, Copy)]
pub(super) struct Read {
    pub(super) from: SocketAddr,
    pub(super) len: usize,
    pub(super) truncated: bool,
}

/// The slots datagrams are read into. Their pages are touched only as far as datagrams fill
/// them, so small datagrams cost a page a slot.
pub(super) struct Reader {
    slots: Vec<u8>,
    read: Vec<Read>,
}

impl Reader {
    pub(super) fn new() -> Reader {
        Reader {
            slots: vec![0; BATCH * BUFFER],
            read: Vec::with_capacity(BATCH),
        }
    }

    /// The bytes of the `index`th datagram of the last [`Reader::read_batch`].
    pub(super) fn datagram(&self, index: usize) -> &[u8] {
        let start = index * BUFFER;
        &self.slots[start..start + self.read[index].len.min(BUFFER)]
    }

    /// What the last [`Reader::read_batch`] read.
    pub(super) fn read(&self) -> &[Read] {
        &self.read
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    use socket2::{SockAddr, SockAddrStorage};
    use tokio::io::Interest;
    use tokio::net::UdpSocket;

    use super::{BATCH, BUFFER, Read, Reader};

    /// A message header for one datagram of `len` bytes at `base`, its address at `name`.
    fn header(
        iov: &mut libc::iovec,
        name: *mut libc::c_void,
        name_len: libc::socklen_t,
    ) -> libc::mmsghdr {
        // SAFETY: an all-zero msghdr is a valid empty one (null pointers, zero lengths).
        let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
        header.msg_hdr.msg_name = name;
        header.msg_hdr.msg_namelen = name_len;
        header.msg_hdr.msg_iov = iov;
        header.msg_hdr.msg_iovlen = 1;
        header
    }

    /// Reads the datagrams waiting, up to [`BATCH`], in one `recvmmsg`; `WouldBlock` when there
    /// are none.
    pub(super) fn read_batch(socket: &UdpSocket, reader: &mut Reader) -> io::Result<usize> {
        reader.read.clear();
        let mut names: Vec<SockAddrStorage> =
            (0..BATCH).map(|_| SockAddrStorage::zeroed()).collect();
        let mut iovecs: Vec<libc::iovec> = reader
            .slots
            .chunks_exact_mut(BUFFER)
            .map(|slot| libc::iovec {
                iov_base: slot.as_mut_ptr().cast(),
                iov_len: slot.len(),
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .zip(&mut names)
            .map(|(iov, name)| {
                let len = name.size_of();
                header(iov, (name as *mut SockAddrStorage).cast(), len)
            })
            .collect();
        let count = socket.try_io(Interest::READABLE, || {
            // SAFETY: every header points to a live iovec over its own slot of `reader.slots`
            // and to its own address storage, all of the sizes given, and all outlive the call.
            let n = unsafe {
                libc::recvmmsg(
                    socket.as_raw_fd(),
                    headers.as_mut_ptr(),
                    BATCH as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })?;
        for (header, name) in headers.iter().zip(names).take(count) {
            // SAFETY: the system wrote an address of `msg_namelen` bytes into the storage.
            let from = unsafe { SockAddr::new(name, header.msg_hdr.msg_namelen) };
            let Some(from) = from.as_socket() else {
                continue;
            };
            reader.read.push(Read {
                from,
                len: header.msg_len as usize,
                truncated: header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            });
        }
        Ok(reader.read.len())
    }

    /// Sends `datagrams` in one `sendmmsg`, as many as the socket takes now: how many went, or
    /// the error of the first (`WouldBlock` when the socket's buffer is full).
    pub(super) fn send_batch(
        socket: &UdpSocket,
        datagrams: &[(SocketAddr, &[u8])],
    ) -> io::Result<usize> {
        let names: Vec<SockAddr> = datagrams
            .iter()
            .map(|&(to, _)| SockAddr::from(to))
            .collect();
        let mut iovecs: Vec<libc::iovec> = datagrams
            .iter()
            .map(|(_, bytes)| libc::iovec {
                // The system only reads through it.
                iov_base: bytes.as_ptr().cast_mut().cast(),
                iov_len: bytes.len(),
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .zip(&names)
            .map(|(iov, name)| header(iov, name.as_ptr().cast_mut().cast(), name.len()))
            .collect();
        let count = libc::c_uint::try_from(headers.len()).unwrap_or(libc::c_uint::MAX);
        socket.try_io(Interest::WRITABLE, || {
            // SAFETY: every header points to a live iovec over a datagram and to its
            // destination's address, of the sizes given; the system only reads them.
            let n = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    headers.as_mut_ptr(),
                    count,
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }
}

/// Reads the datagrams waiting, up to [`BATCH`]: how many (see [`Reader::read`]), or
/// `WouldBlock` when there are none.
pub(super) fn read_batch(socket: &UdpSocket, reader: &mut Reader) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    return linux::read_batch(socket, reader);
    #[cfg(not(target_os = "linux"))]
    {
        reader.read.clear();
        for index in 0..BATCH {
            let slot = &mut reader.slots[index * BUFFER..(index + 1) * BUFFER];
            match socket.try_recv_from(slot) {
                // A datagram that fills its slot may have been cut.
                Ok((len, from)) => reader.read.push(Read {
                    from,
                    len,
                    truncated: len == BUFFER,
                }),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && index > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(reader.read.len())
    }
}

/// Sends `datagrams`, as many as the socket takes now: how many went, or the error of the first
/// (`WouldBlock` when the socket's buffer is full).
pub(super) fn send_batch(
    socket: &UdpSocket,
    datagrams: &[(SocketAddr, &[u8])],
) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    return linux::send_batch(socket, datagrams);
    #[cfg(not(target_os = "linux"))]
    {
        for (sent, &(to, bytes)) in datagrams.iter().enumerate() {
            if let Err(e) = socket.try_send_to(bytes, to) {
                return if sent > 0 { Ok(sent) } else { Err(e) };
            }
        }
        Ok(datagrams.len())
    }
}
