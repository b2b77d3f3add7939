//! The project's task runner (`cargo xtask <task>`), in plain Rust.
//!
//! `cargo xtask ci` is what CI runs: every check, in order, failing fast.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Embedded targets the core must build for without `std` or `alloc`.
const NO_STD_TARGETS: &[&str] = &["thumbv7em-none-eabihf"];

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let result = match task {
        "ci" => ci(),
        "cross" => cross(),
        "tidy" => tidy(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 ci     every check CI runs: format, clippy, docs, tests, tidy, no_std builds\n  \
                 cross  no_std builds of the library for the embedded targets\n  \
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

/// Runs `cargo args…` at the workspace root with extra environment variables.
fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn ci() -> Result {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[])?;
    cargo(&["doc", "--workspace", "--no-deps"], &[("RUSTDOCFLAGS", "-D warnings")])?;
    cargo(&["test", "--workspace"], &[])?;
    // The accuracy sweep again, showing its worst errors in units of the budget.
    cargo(&["test", "--test", "accuracy", "--test", "golden", "--", "--nocapture"], &[])?;
    tidy()?;
    cross()?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
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
            for (n, line) in text.lines().enumerate() {
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
