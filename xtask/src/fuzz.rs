//! `cargo xtask fuzz [--seconds N] [--seed S]`: every cargo-fuzz target of `fuzz/` for N seconds
//! (default 20) with libFuzzer's seed S (default fixed; 0 for a random one), then the census of
//! what the corpora reach.
//!
//! 1. `cargo +NIGHTLY fuzz build --debug-assertions` (release, AddressSanitizer). Debug
//!    assertions on: integer overflow in the library or the C layer then panics, which the
//!    fuzzer reports, instead of wrapping silently as in a plain release build; the checks cost
//!    far less than the oracle the targets run on every valid input.
//! 2. Each target runs on a scratch corpus, `target/fuzz/corpus/<target>/`, seeded from the
//!    committed `fuzz/corpus/<target>/` (what earlier runs added there is kept, so coverage
//!    grows from run to run without touching the repository), with crashes written to
//!    `target/fuzz/artifacts/<target>/`. One line per target: executions, executions per
//!    second, coverage (`cov:`, edges) and features (`ft:`). A crash, a timeout or an
//!    out-of-memory fails the task, with libFuzzer's report and the input's path.
//! 3. The census (`fuzz/examples/census.rs`) replays the scratch corpora through the same
//!    checks and prints, per target, the inputs that reach each outcome (Ok, each error variant
//!    or C status) and each class of refused input of DESIGN §2.5; it fails when one is never
//!    reached.
//!
//! Needs the pinned nightly toolchain (`NIGHTLY`) and cargo-fuzz (`cargo install cargo-fuzz --version 0.13.2
//! --locked`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{cargo, cargo_command, nightly, root, Result, NIGHTLY};

/// The fuzz targets, in the order they run (the binaries of `fuzz/Cargo.toml`).
const TARGETS: [&str; 5] = ["sigmoid", "softmax", "softmax_probs", "in_place", "capi"];

/// Seconds per target by default: enough to replay the seeds and explore a little.
const DEFAULT_SECONDS: u64 = 20;

/// libFuzzer's limit on one input, in seconds: far above any input's time (milliseconds), so
/// that only an input that loops forever trips it.
const INPUT_TIMEOUT: u64 = 30;

/// libFuzzer's seed by default: fixed, so that a run on the committed seeds is reproducible
/// (CI on a fresh clone replays the mutations a run here made, as far as its time allows). `--seed
/// 0` asks libFuzzer for a random one.
const DEFAULT_SEED: u64 = 2017;

/// `cargo xtask fuzz [--seconds N] [--seed S]`.
pub fn run(args: &[String]) -> Result {
    let usage = "usage: cargo xtask fuzz [--seconds N] [--seed S]";
    let mut seconds = DEFAULT_SECONDS;
    let mut seed = DEFAULT_SEED;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let n = args.next().ok_or(usage)?;
                seconds = n
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("bad --seconds {n:?}: {usage}"))?;
            }
            "--seed" => {
                let n = args.next().ok_or(usage)?;
                seed = n.parse().map_err(|_| format!("bad --seed {n:?}: {usage}"))?;
            }
            other => return Err(format!("unexpected argument {other:?}: {usage}")),
        }
    }

    let root = root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let scratch = if target.is_absolute() { target } else { root.join(target) }.join("fuzz");

    nightly(&["fuzz", "build", "--debug-assertions"], &[])
        .map_err(|e| format!("{e}; cargo-fuzz: `cargo install cargo-fuzz --version 0.13.2 --locked`"))?;
    let bin_dir = root.join("fuzz/target").join(host_triple()?).join("release");
    let manifest = root.join("fuzz/Cargo.toml");
    let manifest = manifest.to_str().ok_or("the repository's path is not UTF-8")?;
    // The census builds (without sanitizers, on stable) while the targets run, each on one core.
    let census_args = ["build", "--release", "--quiet", "--manifest-path", manifest, "--example", "census"];
    let mut census_build = spawn_cargo(&census_args)?;

    let ran = TARGETS
        .iter()
        .map(|&name| {
            let corpus = scratch.join("corpus").join(name);
            let artifacts = scratch.join("artifacts").join(name);
            copy_seeds(&root.join("fuzz/corpus").join(name), &corpus)?;
            std::fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
            let stats = fuzz(&bin_dir.join(name), &corpus, &artifacts, seconds, seed)?;
            let line = format!(
                "{name:<14} {:>10} runs {:>8} exec/s   cov: {:>5}   ft: {:>6}   corpus: {} inputs",
                stats.runs, stats.exec_per_sec, stats.cov, stats.ft, stats.corpus
            );
            println!("{line}");
            Ok(line)
        })
        .collect::<Result<Vec<String>>>();
    // Waited for even after a crash, so that no build outlives the task.
    let built = census_build.wait().map_err(|e| format!("building the census: {e}"))?;
    let lines = ran?;
    if !built.success() {
        return Err(format!("`cargo {}` failed ({built})", census_args.join(" ")));
    }
    println!();
    let corpora = scratch.join("corpus");
    let corpora = corpora.to_str().ok_or("the target directory's path is not UTF-8")?;
    cargo(
        &["run", "--release", "--quiet", "--manifest-path", manifest, "--example", "census", "--", corpora],
        &[],
    )?;

    println!("\nxtask fuzz: {seconds} s per target, no crash:");
    for line in lines {
        println!("  {line}");
    }
    Ok(())
}

/// Starts `cargo args…` at the workspace root without waiting for it.
fn spawn_cargo(args: &[&str]) -> Result<std::process::Child> {
    cargo_command(args, &[]).spawn().map_err(|e| format!("cannot run cargo: {e}"))
}

/// The nightly toolchain's host triple: cargo-fuzz builds for it, into `fuzz/target/<triple>/`.
fn host_triple() -> Result<String> {
    let output = Command::new("rustup")
        .args(["run", NIGHTLY, "rustc", "-vV"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "`rustc -vV` of the nightly printed no host".into())
}

/// Copies the committed seeds into the scratch corpus (same names: a seed is never duplicated).
fn copy_seeds(seeds: &Path, corpus: &Path) -> Result {
    std::fs::create_dir_all(corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let entries = std::fs::read_dir(seeds).map_err(|e| format!("{}: {e}", seeds.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_file() {
            let to = corpus.join(path.file_name().ok_or("a seed without a name")?);
            std::fs::copy(&path, &to).map_err(|e| format!("{} → {}: {e}", path.display(), to.display()))?;
        }
    }
    Ok(())
}

/// What one libFuzzer run reports.
#[derive(Debug, Default, PartialEq)]
struct Stats {
    runs: u64,
    exec_per_sec: u64,
    cov: u64,
    ft: u64,
    corpus: u64,
}

/// Runs one target for `seconds` on `corpus` and parses its report; fails on a crash.
fn fuzz(binary: &Path, corpus: &Path, artifacts: &Path, seconds: u64, seed: u64) -> Result<Stats> {
    let args = [
        format!("-max_total_time={seconds}"),
        format!("-seed={seed}"),
        format!("-timeout={INPUT_TIMEOUT}"),
        format!("-artifact_prefix={}/", artifacts.display()),
        "-print_final_stats=1".into(),
        corpus.display().to_string(),
    ];
    eprintln!("$ {} {}", binary.display(), args.join(" "));
    // libFuzzer reports on stderr; keep it for the statistics and for a crash's report.
    let mut child = Command::new(binary)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut report = Vec::new();
    for line in BufReader::new(stderr).lines() {
        report.push(line.map_err(|e| format!("reading libFuzzer's output: {e}"))?);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        let tail = report.len().saturating_sub(60);
        return Err(format!(
            "{} failed ({status}); libFuzzer's report ends:\n{}",
            binary.display(),
            report[tail..].join("\n")
        ));
    }
    parse(&report).ok_or_else(|| format!("no statistics in the output of {}", binary.display()))
}

/// The statistics of a run: `stat::number_of_executed_units` and `stat::average_exec_per_sec`
/// (`-print_final_stats=1`), and `cov:`, `ft:` and `corp:` of the last status line.
fn parse(report: &[String]) -> Option<Stats> {
    let stat = |name: &str| {
        report
            .iter()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim_start_matches(':').trim().parse().ok()))
    };
    let status = report.iter().rev().find(|l| l.starts_with('#') && l.contains(" cov: "))?;
    let field = |name: &str| -> Option<u64> {
        let words: Vec<&str> = status.split_whitespace().collect();
        let at = words.iter().position(|w| *w == name)?;
        // `corp: 123/45Kb`: the number of inputs.
        words.get(at + 1)?.split('/').next()?.parse().ok()
    };
    Some(Stats {
        runs: stat("stat::number_of_executed_units")?,
        exec_per_sec: stat("stat::average_exec_per_sec")?,
        cov: field("cov:")?,
        ft: field("ft:")?,
        corpus: field("corp:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libfuzzer_statistics() {
        let report: Vec<String> = "\
INFO: Seed: 1234
#2\tINITED cov: 812 ft: 1004 corp: 40/2210b exec/s: 0 rss: 45Mb
#4096\tpulse  cov: 900 ft: 1500 corp: 60/3Kb lim: 40 exec/s: 2048 rss: 50Mb
#65536\tDONE   cov: 912 ft: 1633 corp: 73/4096b lim: 120 exec/s: 3276 rss: 61Mb
Done 65536 runs in 20 second(s)
stat::number_of_executed_units: 65536
stat::average_exec_per_sec:     3276
stat::new_units_added:          33
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              61"
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(
            parse(&report),
            Some(Stats { runs: 65536, exec_per_sec: 3276, cov: 912, ft: 1633, corpus: 73 })
        );
        assert_eq!(parse(&report[..3]), None);
    }
}
