//! The project's task runner (`cargo xtask <task>`), in plain Rust.
//!
//! `cargo xtask ci` is what CI runs: every check, in order, failing fast.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod asm;
mod bench;
mod capi;
mod ci;
mod embedded;
mod exhaustive;
mod firmware;
mod fuzz;
mod icount;
mod miri;
mod x86_levels;

/// Embedded targets the core must build for without `std` or `alloc`.
const NO_STD_TARGETS: &[&str] =
    &["thumbv7em-none-eabihf", "thumbv6m-none-eabi", "riscv32imac-unknown-none-elf"];

/// The nightly toolchain of Miri and cargo-fuzz, pinned so that a fresh machine builds what was
/// tested here (`.ci/run` installs it, reading this line).
const NIGHTLY: &str = "nightly-2026-05-20";

type Result<T = ()> = std::result::Result<T, String>;

/// Whether a budget that is not met fails the task or is only reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Budgets {
    Enforce,
    Report,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let result = match task {
        "asm" => asm::run(),
        "bench" => bench::run(&args[1..]),
        "capi" => capi::run(),
        "ci" => ci::run(),
        "ci-second-lane" => ci::second_lane(),
        "cross" => cross(),
        "exhaustive" => exhaustive::run(&args[1..]),
        "firmware" => firmware::run(Budgets::Enforce),
        "fuzz" => fuzz::run(&args[1..]),
        "icount" => icount::run(&args[1..]),
        "miri" => miri::run(),
        "size" => embedded::size(Budgets::Enforce),
        "test-aarch64" => embedded::test_aarch64(),
        "test-x86-levels" => x86_levels::run(),
        "tidy" => tidy(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 asm    codegen guard: packed FMAs on ymm/zmm and no intrinsic calls in the AVX wrappers\n  \
                 bench [N] [--native]  the summary bench table (N elements, default 65536); --native\n         \
                 also builds with -C target-cpu=native and prints default/native time per case\n  \
                 capi   build target/capi/libfocal_loss.{{so,a}}; test them from C, C++ and Python\n  \
                 ci     every check CI runs: format, clippy, docs, tests, tidy, no_std builds, codegen\n         guard, x86 dispatch levels, aarch64 tests, firmware, flash sizes, C ABI; Miri and\n         the fuzz smoke run in a second lane alongside (`ci-second-lane` runs that lane alone)\n  \
                 cross  no_std builds of the library for the embedded targets\n  \
                 exhaustive [options]  every finite float32 logit through the sigmoid kernel against the\n         \
                 oracle (opt-in, long; --help lists the options)\n  \
                 firmware  build the Cortex-M4F demo and run it on QEMU's mps2-an386 board\n  \
                 fuzz [--seconds N] [--seed S]  every cargo-fuzz target for N seconds (default 20; seed S,\n         \
                 default fixed, 0 random), then the census of what the corpora reach (nightly, cargo-fuzz)\n  \
                 icount [backend…]  instructions per element of the fused kernels under callgrind, neon\n         \
                 under qemu-aarch64 (a figure that does not drift; default backends avx2 and portable)\n  \
                 miri   the reduced test set under Miri on the scalar and portable backends, then the\n         \
                 AVX2 and AVX-512 transposes with their features forced (nightly)\n  \
                 size   flash of each entry point on thumbv7em-none-eabihf, against its budget\n  \
                 test-aarch64  the test suite on aarch64 under qemu-aarch64 (the NEON backend)\n  \
                 test-x86-levels  the test suite under qemu-x86_64 -cpu Haswell (avx2) and Nehalem (portable)\n  \
                 tidy   source checks (no std, no alloc in the core)"
            );
            return if task == "help" { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

/// `cargo args…` at the workspace root with extra environment variables, announced, not started.
fn cargo_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let mut command = Command::new(cargo);
    command.args(args).envs(env.iter().copied()).current_dir(root());
    command
}

/// Runs `cargo args…` at the workspace root with extra environment variables.
fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result {
    let status = cargo_command(args, env).status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// Runs `cargo +NIGHTLY args…` at the workspace root with extra environment variables (Miri and
/// cargo-fuzz need a nightly toolchain).
///
/// Through `rustup run` rather than `$CARGO`: the xtask runs under the stable
/// toolchain, whose `cargo` (what `$CARGO` names) does not take `+nightly`, and whose
/// `RUSTUP_TOOLCHAIN`, `RUSTC` and flags must not leak into the nightly build.
fn nightly(args: &[&str], env: &[(&str, &str)]) -> Result {
    eprintln!("$ cargo +{NIGHTLY} {}", args.join(" "));
    let status = Command::new("rustup")
        .args(["run", NIGHTLY, "cargo"])
        .args(args)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo +{NIGHTLY} {}` failed ({status})", args.join(" ")))
    }
}

fn cross() -> Result {
    for target in NO_STD_TARGETS {
        cargo(&["build", "--package", "focal-loss", "--release", "--target", target], &[])?;
    }
    Ok(())
}

/// The core must not reach for `std` or `alloc`: a target without them only proves `std`.
fn tidy() -> Result {
    let src = root().join("src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            // Unit tests sit at the end of a file, after `#[cfg(test)]`, and may use std.
            for (n, line) in text.lines().enumerate().take_while(|(_, l)| l.trim() != "#[cfg(test)]") {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("extern crate alloc") || code.contains("extern crate std") {
                    return Err(format!("{}:{}: the core must not use alloc or std", path.display(), n + 1));
                }
            }
        }
    }
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).map_err(|e| e.to_string())?;
    if !lib.contains("#![no_std]") {
        return Err("src/lib.rs must be #![no_std]".into());
    }
    Ok(())
}
