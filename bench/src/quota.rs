//! Lambda's CPU share, reproduced with a cgroup CPU quota: a function of `mb` MB gets `mb / 1769` of one
//! core (1,769 MB = one vCPU, the Lambda developer guide's "Memory and computing power"). cgroup v2's
//! `cpu.max` where the `cpu` controller is on the v2 hierarchy, else cgroup v1's `cpu.cfs_quota_us`; when
//! neither can be written (not root, a read-only mount) the sweep is skipped, never failed.
//!
//! The period is 20 ms unless `BENCH_CPU_PERIOD_US` says otherwise: the kernel refuses a quota under 1 ms,
//! so 128 MB's 7.2 % needs a period of at least 13.9 ms, and a short period spreads a start's CPU over many
//! periods, as a fractional vCPU does, instead of granting it a 7 ms burst at full speed (the kernel's
//! default 100 ms period would run most of an init unthrottled).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

/// One vCPU's worth of memory.
pub const VCPU_MB: u32 = 1769;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// The groups this run made, one per memory size, removed when dropped.
pub struct Quotas {
    version: Version,
    root: PathBuf,
    period_us: u64,
    made: Vec<PathBuf>,
    groups: Vec<Group>,
    spawners: Vec<JoinHandle<()>>,
}

type Spawn = (Command, mpsc::Sender<std::io::Result<(Child, Instant)>>);

/// A group of one memory size. A process must be born in it: moving one in costs the mover an RCU grace
/// period (tens of milliseconds of wall time, which a start would otherwise be charged). With cgroup v1 a
/// thread of the bench joins the group (its `tasks`) and forks every process started there; with v2,
/// where one thread cannot join alone, the child joins between fork and exec and pays for it.
#[derive(Clone)]
pub struct Group {
    pub mb: u32,
    procs: CString,
    spawner: Option<mpsc::Sender<Spawn>>,
}

impl Quotas {
    /// The writable hierarchy, or why there is none.
    pub fn new(period_us: u64) -> Result<Quotas, String> {
        let v2 = Path::new("/sys/fs/cgroup");
        let v2_cpu = std::fs::read_to_string(v2.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"));
        let (version, root) = if v2_cpu {
            // Children of the root get the cpu controller only once the root's subtree enables it.
            let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+cpu");
            (Version::V2, v2.to_path_buf())
        } else if v2.join("cpu/cpu.cfs_quota_us").exists() {
            (Version::V1, v2.join("cpu"))
        } else {
            return Err("no cgroup CPU controller (neither v2 cpu.max nor v1 cpu.cfs_quota_us)".into());
        };
        let mut quotas =
            Quotas { version, root, period_us, made: Vec::new(), groups: Vec::new(), spawners: Vec::new() };
        // Probe: make one group and set a quota, so that a read-only hierarchy is found before the sweep.
        quotas.group(VCPU_MB)?;
        Ok(quotas)
    }

    pub fn describe(&self) -> String {
        let what = match self.version {
            Version::V1 => "cgroup v1 cpu.cfs_quota_us",
            Version::V2 => "cgroup v2 cpu.max",
        };
        format!("{what} under {}, period {} µs", self.root.display(), self.period_us)
    }

    pub fn period_us(&self) -> u64 {
        self.period_us
    }

    /// How long a start waits after the one before it in the same group: eight periods. A process that ran
    /// over its quota at its end (its last warm create, or its exit: Python's frees 49 MiB) leaves its group
    /// in debt, which the next start would pay out of its init. Subjects follow one another in a fixed order,
    /// so the same one paid every time (Cal.com's, after Python's at 128 MB: 3.6 × hello world's mean init
    /// with three periods' wait).
    pub fn settle(&self) -> std::time::Duration {
        std::time::Duration::from_micros(8 * self.period_us)
    }

    /// The quota of `mb` MB: `mb / 1769` of the period, at least the kernel's 1 ms.
    pub fn quota_us(&self, mb: u32) -> u64 {
        (self.period_us * u64::from(mb) / u64::from(VCPU_MB)).max(1000)
    }

    /// The group of `mb` MB (made and set once).
    pub fn group(&mut self, mb: u32) -> Result<Group, String> {
        if let Some(group) = self.groups.iter().find(|g| g.mb == mb) {
            return Ok(group.clone());
        }
        let dir = self.root.join(format!("orgmint-bench-{}-{mb}mb", std::process::id()));
        let fail = |what: &str, e: std::io::Error| format!("{what} {}: {e}", dir.display());
        {
            std::fs::create_dir(&dir).or_else(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(fail("mkdir", e)),
            })?;
            self.made.push(dir.clone());
            let quota = self.quota_us(mb);
            match self.version {
                Version::V1 => {
                    std::fs::write(dir.join("cpu.cfs_period_us"), self.period_us.to_string())
                        .map_err(|e| fail("cpu.cfs_period_us of", e))?;
                    std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())
                        .map_err(|e| fail("cpu.cfs_quota_us of", e))?;
                }
                Version::V2 => std::fs::write(dir.join("cpu.max"), format!("{quota} {}", self.period_us))
                    .map_err(|e| fail("cpu.max of", e))?,
            }
        }
        let procs = dir.join("cgroup.procs").into_os_string().into_encoded_bytes();
        let mut group = Group { mb, procs: CString::new(procs).expect("a path without NUL"), spawner: None };
        if self.version == Version::V1 {
            let (send, receive) = mpsc::channel::<Spawn>();
            let (joined, joining) = mpsc::channel();
            let tasks = dir.join("tasks");
            self.spawners.push(std::thread::spawn(move || {
                // SAFETY: gettid has no preconditions.
                let tid = unsafe { libc::gettid() };
                let _ = joined.send(std::fs::write(&tasks, tid.to_string()));
                for (mut command, reply) in receive {
                    let spawned = Instant::now();
                    let _ = reply.send(command.spawn().map(|child| (child, spawned)));
                }
            }));
            joining.recv().expect("the spawner answers").map_err(|e| fail("join the tasks of", e))?;
            group.spawner = Some(send);
        }
        self.groups.push(group.clone());
        Ok(group)
    }
}

impl Drop for Quotas {
    fn drop(&mut self) {
        // The spawners leave (their channels close with the last group), then the groups are empty: every
        // process started in them was killed and waited for when its Function was dropped.
        self.groups.clear();
        for spawner in self.spawners.drain(..) {
            let _ = spawner.join();
        }
        for dir in &self.made {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Group {
    /// Starts `command` inside the group; the time it was started.
    pub fn spawn(&self, mut command: Command) -> std::io::Result<(Child, Instant)> {
        match &self.spawner {
            Some(spawner) => {
                let (reply, answer) = mpsc::channel();
                spawner.send((command, reply)).expect("the group's spawner runs");
                answer.recv().expect("the spawner answers")
            }
            None => {
                let group = self.clone();
                // SAFETY: `enter` makes only async-signal-safe calls.
                unsafe { std::os::unix::process::CommandExt::pre_exec(&mut command, move || group.enter()) };
                let spawned = Instant::now();
                command.spawn().map(|child| (child, spawned))
            }
        }
    }

    /// Moves the calling process into the group. Runs in the child between fork and exec, so that exec
    /// and everything after it are under the quota: only async-signal-safe calls, no allocation.
    fn enter(&self) -> std::io::Result<()> {
        let mut digits = [0u8; 20];
        let mut pid = unsafe { libc::getpid() } as u64;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (pid % 10) as u8;
            pid /= 10;
            if pid == 0 {
                break;
            }
        }
        // SAFETY: a NUL-terminated path, a stack buffer, and a descriptor closed before returning.
        unsafe {
            let fd = libc::open(self.procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = libc::write(fd, digits[at..].as_ptr().cast(), digits.len() - at);
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if n < 0 {
                return Err(err);
            }
        }
        Ok(())
    }
}
