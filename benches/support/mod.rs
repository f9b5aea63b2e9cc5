//! What the benchmark harnesses (`reverb`, `plain`) share: the servers they start and stop, the
//! Go programs of `benches/go` they build, and what they read of a process from `/proc`. Each
//! harness uses what it needs of it.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A server under test; killed when dropped, so a failed run does not leave it behind.
pub struct Running {
    child: Child,
    stopped: bool,
}

impl Running {
    pub fn new(child: Child) -> Running {
        Running {
            child,
            stopped: false,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server and, where it leads a process group of its own (socat and the children
    /// it forks, in the plain harness), the whole group. Once only: after the wait its id may
    /// be another process's.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill only sends a signal. The child is not yet reaped, so no other
            // process holds its id: a group of that id can only be the one it leads.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Builds `benches/go/NAME.go` with the machine's `go` into cargo's scratch directory, as
/// `NAME-go`.
pub fn build_go(name: &str) -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/go/{name}.go"));
    let binary = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-go"));
    let status = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        // One file and no dependencies: no module, so nothing is fetched.
        .env("GO111MODULE", "off")
        .status()
        .map_err(|e| {
            format!(
                "cannot run `go` ({e}); install Go (Debian: apt-get install golang-go) or drop --go"
            )
        })?;
    if !status.success() {
        return Err(format!("`go build {}` failed ({status})", source.display()));
    }
    Ok(binary)
}

/// A TCP port on 127.0.0.1 that nothing listens on now.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A process's peak resident set (`VmHWM`), in MB.
pub fn peak_rss_mb(pid: u32) -> Result<f64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .ok_or_else(|| format!("no VmHWM in /proc/{pid}/status"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .map_err(|e| e.to_string())?;
    Ok(kb * 1024.0 / 1e6)
}

/// User + system CPU seconds of a process and of its children that have ended (socat's, one
/// per connection; echoctl and Go have none), from /proc/PID/stat.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime, stime, cutime, cstime: fields 14 to 17 of the line, 11 to 14 after the name.
    let ticks: f64 = (11..=14)
        .map(|i| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        })
        .sum();
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(ticks / hz)
}

/// Context switches of a process so far, voluntary and involuntary, summed over its threads
/// (those that have ended are not counted: the servers here keep theirs).
pub fn context_switches(pid: u32) -> f64 {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return f64::NAN;
    };
    let mut total = 0.0;
    for thread in threads.flatten() {
        let Ok(status) = std::fs::read_to_string(thread.path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if let Some(rest) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += rest.trim().parse::<f64>().unwrap_or(0.0);
            }
        }
    }
    total
}

/// The descriptors a process holds now.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// The load averages over 1, 5 and 15 minutes, as /proc/loadavg gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Prints a Markdown table's header: the columns' names, then the line under them.
pub fn table_header(columns: &[&str]) {
    println!("| {} |", columns.join(" | "));
    println!("|{}", " --- |".repeat(columns.len()));
}

/// The median of the values that are numbers (NaN marks a figure a run does not have); NaN
/// when none is.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The first two CPUs this process may run on, for a server and its load on a core each; `None`
/// with fewer.
pub fn two_cpus() -> Option<[usize; 2]> {
    // SAFETY: an all-zero cpu_set_t is an empty set, which sched_getaffinity fills.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the set is ours and of the size passed.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) } != 0 {
        return None;
    }
    let mut allowed = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads a bit of the set, within its size.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) });
    Some([allowed.next()?, allowed.next()?])
}

/// Runs `command` on `cpu` alone, as `taskset -c CPU` would: a Go program and tokio both size
/// their thread pools to it.
pub fn pin(command: &mut Command, cpu: usize) {
    let set = one_cpu(cpu);
    // SAFETY: between fork and exec the closure makes one system call, which allocates nothing.
    unsafe {
        command.pre_exec(move || set_affinity(&set));
    }
}

/// Runs the calling thread, and every thread and process it starts from now on, on `cpu` alone.
pub fn pin_this_process(cpu: usize) -> std::io::Result<()> {
    set_affinity(&one_cpu(cpu))
}

fn one_cpu(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET sets a bit of the set (it checks `cpu` against the set's size).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// The calling thread's CPUs, as `set` says.
fn set_affinity(set: &libc::cpu_set_t) -> std::io::Result<()> {
    // SAFETY: the set is borrowed, and of the size passed.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
