//! `cargo xtask firmware`: builds the Cortex-M4F demo (`examples/firmware`, its own workspace)
//! and runs it on QEMU's MPS2 AN386 board with semihosting, under a timeout.
//!
//! The firmware checks itself (the self-test against the oracle, the instruction and stack
//! budgets, the fine-tuning run) and exits non-zero on any failure; this task relays its output,
//! keeps a copy in `examples/firmware/target/firmware.log`, and names the failed checks.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// The embedded target of the firmware (also fixed in its `.cargo/config.toml`).
pub const TARGET: &str = "thumbv7em-none-eabihf";

/// A hung firmware (a fault loop, a deadlock) must not hang CI: it finishes in a few seconds.
const TIMEOUT: Duration = Duration::from_secs(180);

/// The same command line as the runner in `examples/firmware/.cargo/config.toml`.
/// `-icount shift=0`: 1 ns of virtual time per instruction, so SysTick counts instructions.
const QEMU: &[&str] = &[
    "qemu-system-arm",
    "-cpu",
    "cortex-m4",
    "-machine",
    "mps2-an386",
    "-nographic",
    "-semihosting-config",
    "enable=on,target=native",
    "-icount",
    "shift=0",
    "-kernel",
];

/// The firmware crate's folder.
pub(crate) fn dir() -> PathBuf {
    crate::root().join("examples/firmware")
}

/// The firmware's target folder: `examples/firmware/target`, or `CARGO_TARGET_DIR` when set.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => dir().join(t),
        None => dir().join("target"),
    }
}

/// Where the firmware's release ELF files are.
pub(crate) fn elf_dir() -> PathBuf {
    target_dir().join(TARGET).join("release")
}

/// Runs `program args…` in `dir` with extra environment variables.
pub(crate) fn run_in(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result {
    eprintln!("$ (cd {}; {program} {})", dir.display(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` in {} failed ({status})", args.join(" "), dir.display()))
    }
}

fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Formats-checks, lints and builds the firmware and the size probes (release).
pub(crate) fn build() -> Result {
    let cargo = cargo_program();
    let dir = dir();
    run_in(&dir, &cargo, &["fmt", "--", "--check"], &[])?;
    run_in(&dir, &cargo, &["clippy", "--release", "--bins", "--", "-D", "warnings"], &[])?;
    run_in(&dir, &cargo, &["build", "--release", "--bins"], &[])
}

/// `cargo xtask firmware`.
pub fn run(budgets: crate::Budgets) -> Result {
    build()?;
    let elf = elf_dir().join("firmware");
    let started = Instant::now();
    eprintln!("$ {} {} (timeout {} s)", QEMU.join(" "), elf.display(), TIMEOUT.as_secs());
    let mut child = Command::new(QEMU[0])
        .args(&QEMU[1..])
        .arg(&elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run {}: {e} (install Debian's qemu-system-arm, as .ci/run does)", QEMU[0])
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(std::io::Result::ok) {
            println!("{line}");
            lines.push(line);
        }
        lines
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            // Only the QEMU process this task started.
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the firmware did not exit within {} s: killed", TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let lines = reader.join().map_err(|_| "the output reader panicked".to_string())?;
    let log = target_dir().join("firmware.log");
    std::fs::write(&log, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", log.display()))?;
    eprintln!("firmware: ran in {:.1} s, output kept in {}", started.elapsed().as_secs_f32(), log.display());
    if status.success() {
        return Ok(());
    }
    let failures: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("FAIL") || l.starts_with("PANIC") || l.starts_with("HARD FAULT"))
        .collect();
    if budgets == crate::Budgets::Report
        && !failures.is_empty()
        && failures.iter().all(|l| l.starts_with("FAIL budget"))
    {
        eprintln!("firmware: NOT GATED IN CI: only budgets failed:\n  {}", failures.join("\n  "));
        return Ok(());
    }
    Err(if failures.is_empty() {
        format!("the firmware exited with {status} and reported no failed check")
    } else {
        format!("the firmware exited with {status}:\n  {}", failures.join("\n  "))
    })
}
