//! Peak RSS and CPU accounting, from /proc: the server's peak RSS over a run, where the machine's
//! CPU time went (server, PostgreSQL, wrk, anything else), and the wait for a quiet machine
//! before each run. A server that forks workers (the Python peer) is watched as its process tree:
//! RSS and CPU summed over the processes.

use std::io::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

pub(super) fn read_meminfo_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix(field)?.split_whitespace().next()?.parse().ok()))
        .unwrap_or(0)
}

pub(super) fn read_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// `(busy, total, cpus)` clock ticks of the whole machine, from `/proc/stat`.
fn machine_ticks() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpus =
        stat.lines().filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit)).count();
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|n| n.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total, cpus as u64)
}

/// User + system clock ticks of a process (0 when it is gone).
pub(super) fn process_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (proc(5)).
    let at = |i: usize| fields.get(i - 3).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    at(14) + at(15)
}

/// `pid` and its descendants (from the parent pids in `/proc/*/stat`).
pub(super) fn process_tree(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return vec![pid] };
    let parents: Vec<(u32, u32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter_map(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            // After the command: state is field 3, the parent pid field 4 (proc(5)).
            let parent = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while let Some(&parent) = tree.get(i) {
        tree.extend(
            parents
                .iter()
                .filter(|(child, of)| *of == parent && !tree.contains(child))
                .map(|(child, _)| *child)
                .collect::<Vec<_>>(),
        );
        i += 1;
    }
    tree
}

/// Ticks of every `postgres` process, by pid.
fn postgres_ticks() -> Vec<(u32, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(|pid| (pid, process_ticks(pid)))
        .collect()
}

/// Waits (up to `max_wait`) until the machine is quiet: other processes (builds, ...) using
/// CPU during a run would distort it. Returns the cores busy in the last one-second sample.
pub(super) fn settle(max_wait: Duration) -> f64 {
    let start = Instant::now();
    let mut told = false;
    loop {
        let (b0, t0, cpus) = machine_ticks();
        thread::sleep(Duration::from_secs(1));
        let (b1, t1, _) = machine_ticks();
        let busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * cpus as f64;
        if busy <= 0.25 || start.elapsed() >= max_wait {
            if told {
                print!("(settled after {:.0} s, {busy:.2} cores busy) ", start.elapsed().as_secs_f64());
            }
            return busy;
        }
        if !told {
            print!("(waiting for other CPU load, {busy:.2} cores busy) ");
            let _ = std::io::stdout().flush();
            told = true;
        }
    }
}

/// What a measured run cost: the server's peak RSS (`VmHWM` after resetting it with
/// `echo 5 > /proc/PID/clear_refs`, or the maximum of `VmRSS` sampled every 50 ms where the reset
/// is not allowed) and where the machine's CPU time went (server, PostgreSQL, wrk, anything else).
pub(super) struct Watch {
    pid: u32,
    /// Watch `pid`'s process tree (see `start_tree`), not `pid` alone.
    tree: bool,
    /// The processes watched: `pid`, and its descendants when watching the tree.
    pids: Vec<u32>,
    reset: bool,
    stop: Arc<AtomicBool>,
    limit_hit: Arc<AtomicBool>,
    wrk_pid: Arc<AtomicU64>,
    wrk_ticks: Arc<AtomicU64>,
    sampler: Option<thread::JoinHandle<u64>>,
    machine: (u64, u64, u64),
    server_ticks: Vec<(u32, u64)>,
    postgres: Vec<(u32, u64)>,
}

pub(super) struct Usage {
    pub(super) peak_kib: u64,
    pub(super) rss_method: &'static str,
    pub(super) server_cores: f64,
    pub(super) postgres_cores: f64,
    pub(super) wrk_cores: f64,
    pub(super) other_cores: f64,
    pub(super) rss_limit_hit: bool,
}

impl Watch {
    /// Starts watching `pid`. Past `rss_limit_kib` of RSS the run is cut short (wrk gets SIGINT and
    /// still prints its summary), so a runaway server cannot exhaust the machine's memory.
    pub(super) fn start(pid: u32, rss_limit_kib: u64) -> Self {
        Self::begin(pid, false, rss_limit_kib)
    }

    /// Like `start`, for a server that forks workers: RSS and CPU are summed over `pid` and its
    /// descendants (as they are when the run starts; CPU also counts those present at its end).
    /// Summed RSS counts the pages the workers share with their parent once per process.
    pub(super) fn start_tree(pid: u32, rss_limit_kib: u64) -> Self {
        Self::begin(pid, true, rss_limit_kib)
    }

    fn begin(pid: u32, tree: bool, rss_limit_kib: u64) -> Self {
        let pids = if tree { process_tree(pid) } else { vec![pid] };
        let reset = pids.iter().all(|p| std::fs::write(format!("/proc/{p}/clear_refs"), "5").is_ok());
        let stop = Arc::new(AtomicBool::new(false));
        let wrk_pid = Arc::new(AtomicU64::new(0));
        let wrk_ticks = Arc::new(AtomicU64::new(0));
        let limit_hit = Arc::new(AtomicBool::new(false));
        let (flag, wrk, ticks, hit) =
            (Arc::clone(&stop), Arc::clone(&wrk_pid), Arc::clone(&wrk_ticks), Arc::clone(&limit_hit));
        let watched = pids.clone();
        let sampler = thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(watched.iter().map(|&p| read_status_kib(p, "VmRSS:")).sum());
                let wrk = u32::try_from(wrk.load(Ordering::Relaxed)).unwrap_or(0);
                if wrk > 0 {
                    ticks.fetch_max(process_ticks(wrk), Ordering::Relaxed);
                    if peak > rss_limit_kib && !hit.swap(true, Ordering::Relaxed) {
                        let _ = Command::new("kill").args(["-INT", &wrk.to_string()]).status();
                    }
                }
                thread::sleep(Duration::from_millis(50));
            }
            peak
        });
        Self {
            pid,
            tree,
            reset,
            stop,
            limit_hit,
            wrk_pid,
            wrk_ticks,
            sampler: Some(sampler),
            machine: machine_ticks(),
            server_ticks: pids.iter().map(|&p| (p, process_ticks(p))).collect(),
            postgres: postgres_ticks(),
            pids,
        }
    }

    pub(super) fn set_wrk(&self, pid: u32) {
        self.wrk_pid.store(u64::from(pid), Ordering::Relaxed);
    }

    pub(super) fn stop(mut self) -> Usage {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.sampler.take().and_then(|h| h.join().ok()).unwrap_or(0);
        let hwm = self.pids.iter().map(|&p| read_status_kib(p, "VmHWM:")).sum::<u64>();
        let (peak_kib, rss_method) =
            if self.reset && hwm > 0 { (hwm.max(sampled), "VmHWM") } else { (sampled, "sampled VmRSS") };
        let (busy, total, cpus) = machine_ticks();
        let scale = cpus as f64 / (total - self.machine.1).max(1) as f64;
        let cores = |ticks: u64| ticks as f64 * scale;
        let since = |before: &[(u32, u64)], after: &[(u32, u64)]| -> u64 {
            after
                .iter()
                .map(|(pid, t)| t.saturating_sub(before.iter().find(|(p, _)| p == pid).map_or(0, |(_, t0)| *t0)))
                .sum()
        };
        let mut server_pids = if self.tree { process_tree(self.pid) } else { vec![self.pid] };
        server_pids.extend(self.pids.iter().filter(|p| !server_pids.contains(p)).copied().collect::<Vec<_>>());
        let server_after: Vec<(u32, u64)> = server_pids.iter().map(|&p| (p, process_ticks(p))).collect();
        let server = since(&self.server_ticks, &server_after);
        let postgres = since(&self.postgres, &postgres_ticks());
        let wrk = self.wrk_ticks.load(Ordering::Relaxed);
        let all = busy - self.machine.0;
        Usage {
            peak_kib,
            rss_method,
            server_cores: cores(server),
            postgres_cores: cores(postgres),
            wrk_cores: cores(wrk),
            other_cores: cores(all.saturating_sub(server + postgres + wrk)),
            rss_limit_hit: self.limit_hit.load(Ordering::Relaxed),
        }
    }
}
