//! Running a command and reading what it cost: wall time and peak resident memory.
//!
//! The peak is the child's own high-water mark (`VmHWM` in `/proc/PID/status`), read every
//! couple of milliseconds until it exits; being a high-water mark, any read after the peak sees
//! it. `wait4`'s `ru_maxrss` is no use here: Linux folds the spawning process's high-water mark
//! into the child's at `exec`, so a test process that built large fixtures would be measured
//! instead of the command. Where `/proc` is missing, `ru_maxrss` is the (upper-bound) fallback.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A run that takes this long hangs: it is killed and the test fails. A guard against a hang
/// stalling the whole test run, not a performance bound (those live in `benches/`).
const HANG_LIMIT: Duration = Duration::from_secs(600);

pub struct Measured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
    /// Peak resident set size of the child (after its `exec`), in bytes.
    pub peak_rss: u64,
}

/// Run `command` to completion with stdout and stderr captured, and measure it.
// The child is reaped by `wait4` (which std cannot do), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
pub fn run_measured(command: &mut Command) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the measured command");
    let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stdout_thread = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut bytes);
        bytes
    });
    let stderr_thread = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut bytes);
        bytes
    });
    let pid = child.id() as libc::pid_t;
    let exited = Arc::new(AtomicBool::new(false));
    let sampler = {
        let exited = Arc::clone(&exited);
        std::thread::spawn(move || {
            let mut peak = None;
            let mut hung = false;
            while !exited.load(Ordering::Acquire) {
                if let Some(hwm) = high_water_mark(pid) {
                    peak = peak.max(Some(hwm));
                }
                if !hung && started.elapsed() > HANG_LIMIT {
                    // SAFETY: the child is not reaped until this thread is joined, so the pid
                    // is still ours.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    hung = true;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            (peak, hung)
        })
    };
    // Wait for the exit without reaping, so the pid cannot be reused while the sampler reads it.
    // SAFETY: a zeroed siginfo_t is a valid value for waitid to fill in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let waited = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(waited, 0, "waitid on the measured command");
    exited.store(true, Ordering::Release);
    let (sampled, hung) = sampler.join().expect("memory sampler");
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in; the pid is our own child,
    // which std has not reaped (we never call `wait` on it).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 on the measured command");
    let wall = started.elapsed();
    let stdout = stdout_thread.join().expect("stdout reader");
    let stderr = stderr_thread.join().expect("stderr reader");
    assert!(
        !hung,
        "killed after {HANG_LIMIT:?}: {:?} hangs\n{}",
        command,
        String::from_utf8_lossy(&stderr)
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    Measured {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        wall,
        // Linux reports ru_maxrss in KiB.
        peak_rss: sampled.unwrap_or(usage.ru_maxrss as u64 * 1024),
    }
}

/// `VmHWM` of a running process, in bytes; `None` once it has exited or without `/proc`.
fn high_water_mark(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}
