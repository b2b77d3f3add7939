//! `cargo xtask test-x86-levels`: the library's tests on x86_64 CPUs with fewer features than this
//! one, under QEMU user mode, so that every level of the run-time dispatch runs on every change.
//!
//! The test binaries of `focal-loss` (unit tests and `tests/*.rs`, test profile) run under
//! `qemu-x86_64 -cpu Haswell` (AVX2 and FMA, no AVX-512: detection must choose `avx2`) and
//! `qemu-x86_64 -cpu Nehalem` (SSE4.2, no AVX: `portable`), with `FOCAL_LOSS_EXPECT_BACKEND`
//! naming the backend `tests/backend.rs` must see detected. No QEMU model has AVX-512; when this
//! CPU has it, the backend test also runs natively expecting `avx512`. Every test binary runs on
//! each model but the two sweeps over forced backends ([`SWEEPS`]), whose every backend the
//! host's own run (`cargo xtask ci`'s host tests) has covered already.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::Result;

/// QEMU CPU model, the backend detection must choose on it, and what the model lacks.
const LEVELS: [(&str, &str, &str); 2] =
    [("Haswell", "avx2", "AVX2 + FMA, no AVX-512"), ("Nehalem", "portable", "SSE4.2, no AVX")];

/// Test binaries not run under emulation: the accuracy sweep (`tests/accuracy.rs`) and the unit
/// tests (whose time goes to `simd::math`'s sweep of the vector functions), which force each
/// backend in turn and so test nothing on a QEMU model that the host's run did not: every
/// backend a model has (AVX2 at most), the host has. What the models add is the automatic
/// choice, which every other binary makes (validation's own AVX2 pass included). They took
/// 568 of the 640 s of this step (a shared Zen 3, 2 cores), CI's longest lane then 34.7 min.
const SWEEPS: [&str; 2] = ["accuracy", "focal_loss"];

/// The test of `tests/backend.rs` that checks `FOCAL_LOSS_EXPECT_BACKEND`: it must have run.
const EXPECT_TEST: &str = "expected_backend_is_detected";

/// `cargo xtask test-x86-levels`.
pub fn run() -> Result {
    if !cfg!(target_arch = "x86_64") {
        println!("xtask test-x86-levels: skipped: x86_64 hosts only");
        return Ok(());
    }
    if Command::new("qemu-x86_64").arg("--version").output().is_err() {
        return Err("qemu-x86_64 not found: install Debian's qemu-user (.ci/run does)".into());
    }
    let tests: Vec<_> = crate::asm::cargo_executables(&["test", "--package", "focal-loss", "--no-run"], &[])?
        .into_iter()
        .filter(|e| e.test)
        .collect();
    if !tests.iter().any(|t| t.name == "backend") {
        return Err("cargo built no `backend` test (tests/backend.rs)".into());
    }
    let mut failures = Vec::new();
    let mut levels: Vec<(String, Vec<&str>, &str)> = LEVELS
        .iter()
        .map(|&(cpu, backend, what)| {
            (format!("qemu-x86_64 -cpu {cpu} ({what})"), vec!["qemu-x86_64", "-cpu", cpu], backend)
        })
        .collect();
    if native_avx512() {
        levels.push(("this CPU, natively (AVX-512), backend test only".into(), vec![], "avx512"));
    }
    for (level, runner, backend) in &levels {
        println!("{level}: FOCAL_LOSS_EXPECT_BACKEND={backend}");
        let start = Instant::now();
        for test in &tests {
            if (runner.is_empty() && test.name != "backend") || SWEEPS.contains(&test.name.as_str()) {
                continue;
            }
            let t = Instant::now();
            match run_one(runner, &test.path, backend) {
                Ok(output) => {
                    let summary = output.lines().rev().find(|l| l.starts_with("test result:")).unwrap_or("");
                    println!("  {:<12} {:>6.1} s  {summary}", test.name, t.elapsed().as_secs_f64());
                    if test.name == "backend" && !output.contains(&format!("test {EXPECT_TEST} ... ok")) {
                        failures.push(format!("{level}: `{EXPECT_TEST}` did not run"));
                    }
                }
                Err(output) => {
                    println!("  {:<12} {:>6.1} s  FAILED:\n{output}", test.name, t.elapsed().as_secs_f64());
                    failures.push(format!("{level}: {} failed", test.name));
                }
            }
        }
        println!("  {level}: {:.1} s in all", start.elapsed().as_secs_f64());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Runs one test binary (under `runner`, if any) at the package root, as `cargo test` does;
/// returns its output, as the error too when it fails.
fn run_one(runner: &[&str], exe: &Path, backend: &str) -> std::result::Result<String, String> {
    let mut command = match runner.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let output = command
        .env("FOCAL_LOSS_EXPECT_BACKEND", backend)
        .current_dir(crate::root())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("{text}\n(exit status {})", output.status))
    }
}

/// Whether this CPU runs AVX-512F (the macro exists on x86 only; the xtask also builds for
/// aarch64 in the aarch64 test run).
fn native_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}
