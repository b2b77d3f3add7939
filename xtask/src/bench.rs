//! `cargo xtask bench [N] [--native]`: the summary table of `benches/summary.rs` (ns/element per
//! case and backend, and the speed-up over the naive libm code), N elements per case (default
//! 65536).
//!
//! With `--native`, the same bench is also built with `RUSTFLAGS="-C target-cpu=native"` (in its
//! own target directory, `target/native`, so that neither build evicts the other) and the task
//! prints, per case, the time of the default build over the time of the native build for the
//! backend each build selects by itself. The issue's acceptance: a default build (run-time
//! dispatch) reaches at least 90 % of the speed of a native build. The machine is shared and
//! noisy, so each build runs [`ROUNDS`] times, alternately, and each case keeps its best time;
//! the task fails when a case stays below 90 %.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::Result;

/// The default number of elements per case (2^16: in cache, the bench configuration's size).
const DEFAULT_N: usize = 1 << 16;

/// How many times each build runs with `--native` (the first prints the whole table).
const ROUNDS: usize = 3;

/// The acceptance: default-build speed over native-build speed.
const MIN_SPEED: f64 = 0.90;

/// `cargo xtask bench [N] [--native]`.
pub fn run(args: &[String]) -> Result {
    let mut n = DEFAULT_N;
    let mut native = false;
    for arg in args {
        match arg.as_str() {
            "--native" => native = true,
            other => {
                n = other.parse().map_err(|_| {
                    format!("unexpected argument {other:?}: usage: cargo xtask bench [N] [--native]")
                })?;
            }
        }
    }
    let default = summary(n, Build::Default, None, true)?;
    if !native {
        return Ok(());
    }
    println!();
    let native = summary(n, Build::Native, None, true)?;
    // More rounds, on the selected backend only, alternating the builds.
    let (mut best_default, mut best_native) = (default.auto_times()?, native.auto_times()?);
    for round in 2..=ROUNDS {
        eprintln!("round {round}/{ROUNDS} (auto backend only)");
        for (build, table, best) in
            [(Build::Default, &default, &mut best_default), (Build::Native, &native, &mut best_native)]
        {
            let again = summary(n, build, Some(&table.auto), false)?.auto_times()?;
            for ((case, t), (again_case, t_again)) in best.iter_mut().zip(again) {
                if *case != again_case {
                    return Err(format!("the summary's cases changed between runs: {case} vs {again_case}"));
                }
                *t = t.min(t_again);
            }
        }
    }

    println!();
    println!(
        "default build (auto backend {}) vs -C target-cpu=native (auto backend {}), N = {n}, \
         best of {ROUNDS} runs each:",
        default.auto, native.auto
    );
    println!(
        "{:<18} {:>9} {:>9} {:>15} {:>14}",
        "case", "default", "native", "default/native", "default speed"
    );
    let mut below = Vec::new();
    for ((case, d), (_, nat)) in best_default.iter().zip(&best_native) {
        let speed = nat / d;
        let verdict = if speed >= MIN_SPEED { "ok" } else { "BELOW 90 %" };
        println!("{case:<18} {d:>9.3} {nat:>9.3} {:>14.3}× {:>12.1} %  {verdict}", d / nat, 100.0 * speed);
        if speed < MIN_SPEED {
            below.push(format!("{case} ({:.1} %)", 100.0 * speed));
        }
    }
    println!("(times in ns/element; default speed = native time / default time, acceptance ≥ 90 %)");
    if below.is_empty() {
        Ok(())
    } else {
        Err(format!("default build below 90 % of the native build's speed: {}", below.join(", ")))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Build {
    Default,
    Native,
}

/// The summary table, parsed.
struct Table {
    /// The backend the library selects by itself (`auto backend: …` in the header).
    auto: String,
    /// The backend columns, in order (the naive column comes first and is not listed).
    backends: Vec<String>,
    /// Each case and its times in ns/element: naive, then one per backend.
    rows: Vec<(String, Vec<f64>)>,
}

impl Table {
    /// Each case's time on the auto backend.
    fn auto_times(&self) -> Result<Vec<(String, f64)>> {
        let column = self
            .backends
            .iter()
            .position(|b| *b == self.auto)
            .ok_or_else(|| format!("the auto backend {} has no column in the summary", self.auto))?;
        self.rows
            .iter()
            .map(|(case, times)| {
                times
                    .get(column + 1)
                    .map(|&t| (case.clone(), t))
                    .ok_or_else(|| format!("{case}: no time for {}", self.auto))
            })
            .collect()
    }
}

/// Runs `cargo bench --bench summary -- n` (on `only` backend, if given, through the bench's
/// `FOCAL_BENCH_BACKEND`) and parses its table, printing it as it comes when `echo` is set.
fn summary(n: usize, build: Build, only: Option<&str>, echo: bool) -> Result<Table> {
    let n = n.to_string();
    let args = ["bench", "--package", "focal-loss", "--bench", "summary", "--", &n];
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(crate::root()).stdout(Stdio::piped());
    if build == Build::Native {
        let flags = std::env::var("RUSTFLAGS").unwrap_or_default();
        command
            .env("RUSTFLAGS", format!("{flags} -C target-cpu=native").trim_start())
            .env("CARGO_TARGET_DIR", crate::root().join("target/native"))
            // It would take precedence over RUSTFLAGS.
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        eprintln!(
            "$ RUSTFLAGS=\"-C target-cpu=native\" CARGO_TARGET_DIR=target/native cargo {}",
            args.join(" ")
        );
    } else {
        eprintln!("$ cargo {}", args.join(" "));
    }
    if let Some(backend) = only {
        command.env("FOCAL_BENCH_BACKEND", backend);
    }
    let mut child = command.spawn().map_err(|e| format!("cannot run cargo: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading the bench's output: {e}"))?;
        if echo {
            println!("{line}");
        }
        lines.push(line);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("`cargo {}` failed ({status})", args.join(" ")));
    }
    parse(&lines)
}

/// Reads the table of `benches/summary.rs`:
///
/// ```text
/// N = 65536 elements, fused forward+backward, reduction mean (auto backend: avx512)
/// case                  naive           scalar ...   (ns/element, ×speed-up over naive)
/// binary γ=2           21.512   3.010 (  7.1×) ...
/// ```
fn parse(lines: &[String]) -> Result<Table> {
    let auto = lines
        .iter()
        .find_map(|l| l.split_once("auto backend: ").map(|(_, b)| b.trim_end_matches(')').trim().to_string()))
        .ok_or("the summary printed no `auto backend:`")?;
    let header = lines.iter().position(|l| l.starts_with("case")).ok_or("the summary printed no header")?;
    let backends: Vec<String> = lines[header]
        .split_whitespace()
        .skip(2) // "case", "naive"
        .take_while(|w| !w.starts_with('('))
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for line in &lines[header + 1..] {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.iter().position(|w| w.parse::<f64>().is_ok()) else { continue };
        // The speed-ups, `(  7.1×)`, do not parse as numbers.
        let times: Vec<f64> = words[first..].iter().filter_map(|w| w.parse().ok()).collect();
        if first == 0 || times.len() != backends.len() + 1 {
            continue;
        }
        rows.push((words[..first].join(" "), times));
    }
    if rows.is_empty() {
        return Err("the summary printed no rows".into());
    }
    Ok(Table { auto, backends, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_summary() {
        let out = "\
N = 65536 elements, fused forward+backward, reduction mean (auto backend: avx512)
case                  naive           scalar         portable             avx2           avx512   (ns/element, ×speed-up over naive)
binary γ=2           21.512   3.010 (  7.1×)   1.500 ( 14.3×)   0.700 ( 30.7×)   0.500 ( 43.0×)
multi-class C=1000   30.000   4.000 (  7.5×)   2.000 ( 15.0×)   1.000 ( 30.0×)   0.800 ( 37.5×)
";
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        let t = parse(&lines).unwrap();
        assert_eq!(t.auto, "avx512");
        assert_eq!(t.backends, ["scalar", "portable", "avx2", "avx512"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].0, "multi-class C=1000");
        assert_eq!(
            t.auto_times().unwrap(),
            [("binary γ=2".to_string(), 0.5), ("multi-class C=1000".to_string(), 0.8)]
        );
    }
}
