//! Timing, CPU time, RSS and the JSON shape of one case (the same as the Python runner's).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value, json};

/// Process CPU time (all threads), in nanoseconds.
pub(crate) fn cpu_ns() -> u128 {
    static START: std::sync::OnceLock<cpu_time::ProcessTime> = std::sync::OnceLock::new();
    START
        .get_or_init(cpu_time::ProcessTime::now)
        .elapsed()
        .as_nanos()
}

/// Current resident set size, KiB.
pub(crate) fn rss_now_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4)
        .unwrap_or(0)
}

/// Peak resident set size, KiB (VmHWM).
pub(crate) fn rss_peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn loadavg() -> Value {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<f64> = s
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    json!(v)
}

/// The results of one (workload, variant).
pub(crate) struct Case {
    pub(crate) workload: String,
    pub(crate) variant: String,
    pub(crate) params: Map<String, Value>,
    pub(crate) info: Map<String, Value>,
    reps: Vec<BTreeMap<String, f64>>,
    rss_setup_kib: u64,
    loadavg_start: Value,
}

impl Case {
    pub(crate) fn new(workload: &str, variant: &str, params: Value) -> Self {
        Self {
            workload: workload.into(),
            variant: variant.into(),
            params: params.as_object().cloned().unwrap_or_default(),
            info: Map::new(),
            reps: Vec::new(),
            rss_setup_kib: 0,
            loadavg_start: loadavg(),
        }
    }

    /// Runs `warmup` untimed and `reps` timed repetitions of `timed`; `prepare` runs untimed
    /// before each. `units` maps unit names to counts per repetition. `timed` may return
    /// extra metrics.
    pub(crate) fn run<P, T>(
        &mut self,
        reps: usize,
        warmup: usize,
        units: &[(&str, f64)],
        mut prepare: P,
        mut timed: T,
    ) where
        P: FnMut(i64),
        T: FnMut(i64) -> BTreeMap<String, f64>,
    {
        self.rss_setup_kib = rss_now_kib();
        for w in 0..warmup {
            prepare(-1 - w as i64);
            timed(-1 - w as i64);
        }
        for r in 0..reps {
            prepare(r as i64);
            let c0 = cpu_ns();
            let w0 = Instant::now();
            let extra = timed(r as i64);
            let wall_us = w0.elapsed().as_nanos() as f64 / 1000.0;
            let cpu_us = cpu_ns().saturating_sub(c0) as f64 / 1000.0;
            let mut row = BTreeMap::new();
            row.insert("wall_ms_per_rep".to_string(), wall_us / 1000.0);
            for (unit, count) in units {
                row.insert(format!("us_per_{unit}"), wall_us / count);
                row.insert(format!("cpu_us_per_{unit}"), cpu_us / count);
            }
            row.extend(extra);
            self.reps.push(row);
        }
    }

    pub(crate) fn result(&self) -> Value {
        let mut metrics = Map::new();
        if let Some(first) = self.reps.first() {
            for name in first.keys() {
                let mut vals: Vec<f64> = self
                    .reps
                    .iter()
                    .filter_map(|r| r.get(name).copied())
                    .collect();
                let values = vals.clone();
                vals.sort_by(|a, b| a.total_cmp(b));
                let n = vals.len();
                let median = if n % 2 == 1 {
                    vals[n / 2]
                } else {
                    (vals[n / 2 - 1] + vals[n / 2]) / 2.0
                };
                metrics.insert(
                    name.clone(),
                    json!({"median": median, "min": vals[0], "max": vals[n - 1], "values": values}),
                );
            }
        }
        json!({
            "workload": self.workload,
            "variant": self.variant,
            "params": self.params,
            "metrics": metrics,
            "info": self.info,
            "rss_after_setup_mib": self.rss_setup_kib as f64 / 1024.0,
            "rss_peak_mib": rss_peak_kib() as f64 / 1024.0,
            "loadavg_start": self.loadavg_start,
            "loadavg_end": loadavg(),
        })
    }
}
