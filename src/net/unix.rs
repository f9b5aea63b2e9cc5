//! Unix-domain sockets: `unix:PATH` for `serve --listen` and `connect`.
//!
//! A socket file outlives the server that made it when that server is killed, so binding looks
//! first: a leftover socket nobody listens on is replaced, a live one (another server) is an
//! error that says so, and a file that is not a socket is never removed. The file is removed
//! when the listener is dropped (a graceful stop closes it first thing), but only if it is still
//! the one this server made.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::anyhow;
use echoctl_core::Address;
use tokio::net::{UnixListener, UnixStream};
use tokio::time::timeout;

/// How long binding waits to learn whether an existing socket file has a server behind it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Bytes a socket address holds for its path, the terminating NUL included (`sun_path`).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SUN_PATH: usize = 108;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SUN_PATH: usize = 104;

/// A listening Unix-domain socket that removes its file when dropped.
#[derive(Debug)]
pub struct UnixListening {
    listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file this listener made: only that file is removed.
    identity: Option<(u64, u64)>,
    clients: AtomicU64,
}

impl UnixListening {
    /// Binds `path`, replacing a leftover socket file that nobody listens on.
    pub async fn bind(path: &Path) -> anyhow::Result<UnixListening> {
        let shown = Address::Unix(path.to_path_buf());
        check_path(path).map_err(|why| anyhow!("cannot listen on {shown}: {why}"))?;
        let path_buf = path.to_path_buf();
        if let Ok(meta) = std::fs::symlink_metadata(&path_buf) {
            if let Some(kind) = other_than_socket(meta.file_type()) {
                anyhow::bail!(
                    "cannot listen on {shown}: {} is not a socket but {kind}; it was left alone \
                     (remove it yourself, or pick another path)",
                    path.display()
                );
            }
            match timeout(PROBE_TIMEOUT, UnixStream::connect(&path_buf)).await {
                Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    // A leftover: its server is gone.
                    std::fs::remove_file(&path_buf).map_err(|e| {
                        anyhow!("cannot listen on {shown}: cannot remove the leftover socket: {e}")
                    })?;
                }
                Ok(Err(e)) => return Err(explain(&shown, path, e)),
                Ok(Ok(_)) | Err(_) => anyhow::bail!(
                    "cannot listen on {shown}: another server is listening there (stop it, or \
                     pick another path)"
                ),
            }
        }
        let listener = UnixListener::bind(&path_buf).map_err(|e| explain(&shown, path, e))?;
        let identity = std::fs::symlink_metadata(&path_buf)
            .ok()
            .map(|meta| (meta.dev(), meta.ino()));
        Ok(UnixListening {
            listener,
            path: path_buf,
            identity,
            clients: AtomicU64::new(0),
        })
    }

    pub(crate) fn listener(&self) -> &UnixListener {
        &self.listener
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Numbers the clients in the order they came, for the logs.
    pub(crate) fn next_client_number(&self) -> u64 {
        self.clients.fetch_add(1, Relaxed) + 1
    }
}

impl Drop for UnixListening {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|meta| (meta.dev(), meta.ino()));
        if ours.is_some() && ours == self.identity {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Connects to the Unix-domain socket at `path`.
/// `connect_timeout` bounds the attempt; `None` leaves it to the system.
pub(crate) async fn connect(
    path: &Path,
    connect_timeout: Option<Duration>,
) -> anyhow::Result<UnixStream> {
    let shown = Address::Unix(path.to_path_buf());
    check_path(path).map_err(|why| anyhow!("cannot connect to {shown}: {why}"))?;
    let attempt = UnixStream::connect(path);
    let connected = match connect_timeout {
        Some(limit) => timeout(limit, attempt).await,
        None => Ok(attempt.await),
    };
    match connected {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => {
            // Only now, the connect having failed, is the path looked at: the system refuses a
            // file or a directory as it refuses a socket nobody listens on.
            let not_a_socket = std::fs::metadata(path)
                .ok()
                .and_then(|meta| other_than_socket(meta.file_type()));
            let why = match (not_a_socket, e.kind()) {
                (Some(kind), _) => format!(
                    "{} is not a socket but {kind} (give the path the server listens on)",
                    path.display()
                ),
                (None, io::ErrorKind::NotFound) => {
                    format!("no such socket (is `echoctl serve --listen {shown}` running?)")
                }
                (None, io::ErrorKind::ConnectionRefused) => {
                    "nobody is listening on that socket (is the server running?)".to_string()
                }
                (None, io::ErrorKind::PermissionDenied) => {
                    "permission denied (you may not write to that socket)".to_string()
                }
                (None, _) => e.to_string(),
            };
            Err(anyhow!("cannot connect to {shown}: {why}"))
        }
        Err(_) => Err(anyhow!(
            "cannot connect to {shown}: no answer within {} (--connect-timeout)",
            echoctl_core::duration::format_timeout(connect_timeout)
        )),
    }
}

/// What a file that is not a socket is, as a message names it.
fn other_than_socket(file_type: std::fs::FileType) -> Option<&'static str> {
    let kind = if file_type.is_socket() {
        return None;
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a regular file"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_fifo() {
        "a named pipe"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else {
        "some other kind of file"
    };
    Some(kind)
}

/// Whether `path` is short enough for `sun_path` (an empty one is no [`Address`]).
fn check_path(path: &Path) -> Result<(), String> {
    let bytes = path.as_os_str().len();
    if bytes >= SUN_PATH {
        return Err(format!(
            "the path is {bytes} bytes, and a socket path holds at most {} (pick a shorter one, \
             e.g. under /tmp)",
            SUN_PATH - 1
        ));
    }
    Ok(())
}

fn explain(shown: &Address, path: &Path, e: io::Error) -> anyhow::Error {
    let directory = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let why = match e.kind() {
        io::ErrorKind::NotFound if !directory.is_dir() => format!(
            "the directory {} does not exist (create it, or pick another path)",
            directory.display()
        ),
        io::ErrorKind::PermissionDenied => format!(
            "permission denied: you may not create files in {} (pick a directory you can write \
             to)",
            directory.display()
        ),
        io::ErrorKind::AddrInUse => {
            "another server is listening there (stop it, or pick another path)".to_string()
        }
        _ => e.to_string(),
    };
    anyhow!("cannot listen on {shown}: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_must_fit_a_socket_address() {
        assert!(check_path(Path::new("/tmp/echo.sock")).is_ok());
        assert!(check_path(Path::new(&"x".repeat(SUN_PATH - 1))).is_ok());
        let too_long = check_path(Path::new(&"x".repeat(SUN_PATH))).unwrap_err();
        assert!(
            too_long.contains(&format!("at most {}", SUN_PATH - 1)),
            "{too_long}"
        );
    }
}
