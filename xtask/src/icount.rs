//! `cargo xtask icount [backend…]`: instructions per element of the fused kernels, counted by
//! valgrind's callgrind, or for `neon` by QEMU user mode: a figure that does not drift, for
//! machines whose timings do (shared, virtualised, without performance counters).
//!
//! Each case runs its profiling example (`examples/profile_binary.rs`,
//! `examples/profile_softmax.rs`) twice, with no repetition and with some; the difference over
//! the repetitions times the elements is the kernel's count per element, the set-up (input
//! generation, validation of the options) cancelling out. Backends default to `avx2` and
//! `portable` (callgrind runs neither AVX-512 nor, on x86_64, NEON). `neon` builds the examples
//! for aarch64 and runs them under `qemu-aarch64 -singlestep -d exec,nochain`, which logs one
//! line per instruction executed (about 1.5 million a second: 4 repetitions there, 20 under
//! callgrind). The cases are the bench configuration's (DESIGN §6) at N = 2^16: binary γ=2 and
//! γ=1.5 (α = 0.25), multi-label with 80 columns and per-class α at γ=2, and multi-class with
//! class indices and per-class α at γ=2 for short rows (3, 10, 16 and 20 classes) and long ones
//! (80 and 1000). Counts are not times: a spill and a division count one each. Use them beside
//! interleaved timings, not instead of them.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::embedded::{AARCH64, AARCH64_ENV};

use crate::Result;

/// Elements per call (2^16, the bench configuration's size).
const N: usize = 1 << 16;

/// Calls of the measured run under callgrind.
const REPS: usize = 20;

/// Calls of the measured run under QEMU (whose trace is slower).
const QEMU_REPS: usize = 4;

/// A measured case: its label, the example that runs it, and what that example is given.
struct Case {
    label: &'static str,
    example: &'static str,
    /// Classes per row (1 for the binary cases).
    classes: usize,
    gamma: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case { label: "binary γ=2", example: "profile_binary", classes: 1, gamma: Some("2") },
    Case { label: "binary γ=1.5", example: "profile_binary", classes: 1, gamma: Some("1.5") },
    Case { label: "α/class C=80", example: "profile_binary", classes: 80, gamma: Some("2") },
    Case { label: "multi-class C=3", example: "profile_softmax", classes: 3, gamma: None },
    Case { label: "multi-class C=10", example: "profile_softmax", classes: 10, gamma: None },
    Case { label: "multi-class C=16", example: "profile_softmax", classes: 16, gamma: None },
    Case { label: "multi-class C=20", example: "profile_softmax", classes: 20, gamma: None },
    Case { label: "multi-class C=80", example: "profile_softmax", classes: 80, gamma: None },
    Case { label: "multi-class C=1000", example: "profile_softmax", classes: 1000, gamma: None },
];

/// `cargo xtask icount [backend…]`.
pub fn run(args: &[String]) -> Result {
    let backends: Vec<&str> =
        if args.is_empty() { vec!["avx2", "portable"] } else { args.iter().map(String::as_str).collect() };
    let examples = ["--example", "profile_binary", "--example", "profile_softmax"];
    let host = crate::root().join("target/release/examples");
    let aarch64 = crate::root().join("target").join(AARCH64).join("release/examples");
    if backends.iter().any(|&b| b != "neon") {
        Command::new("valgrind")
            .arg("--version")
            .output()
            .map_err(|e| format!("cannot run valgrind ({e}): apt-get install valgrind"))?;
        crate::cargo(&[&["build", "--release"][..], &examples].concat(), &[])?;
    }
    if backends.contains(&"neon") {
        crate::cargo(&[&["build", "--release", "--target", AARCH64][..], &examples].concat(), &AARCH64_ENV)?;
    }

    print!("{:<20}", "instructions/element");
    for backend in &backends {
        print!(" {backend:>10}");
    }
    println!();
    for case in CASES {
        print!("{:<20}", case.label);
        for &backend in &backends {
            let (dir, reps) = if backend == "neon" { (&aarch64, QEMU_REPS) } else { (&host, REPS) };
            let binary = dir.join(case.example);
            let count = |reps: usize| count(&binary, backend == "neon", &case.arguments(backend, reps));
            let elements = (N / case.classes * case.classes * reps) as f64;
            let per_element = (count(reps)?.saturating_sub(count(0)?)) as f64 / elements;
            print!(" {per_element:>10.2}");
        }
        println!();
    }
    Ok(())
}

impl Case {
    /// What its example is given: the backend, (the classes,) N, the repetitions, (γ, columns).
    fn arguments(&self, backend: &str, reps: usize) -> Vec<String> {
        let mut args = vec![backend.to_string()];
        if self.example == "profile_softmax" {
            args.push(self.classes.to_string());
        }
        args.extend([N.to_string(), reps.to_string()]);
        args.extend(self.gamma.map(String::from));
        if self.example == "profile_binary" && self.classes > 1 {
            args.push(self.classes.to_string());
        }
        args
    }
}

/// The instructions `binary args…` executes: under callgrind (its summary line, `==pid==
/// Collected : N`), or for an aarch64 binary under QEMU (the lines of its execution trace, one
/// per instruction with `-singlestep`; `nochain` so that no block runs unlogged).
fn count(binary: &PathBuf, aarch64: bool, args: &[String]) -> Result<u64> {
    if aarch64 {
        let mut child = Command::new("qemu-aarch64")
            .args(["-L", "/usr/aarch64-linux-gnu", "-singlestep", "-d", "exec,nochain", "-D", "/dev/stdout"])
            .arg(binary)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run qemu-aarch64 ({e}): apt-get install qemu-user"))?;
        let trace = BufReader::new(child.stdout.take().ok_or("no trace from qemu-aarch64")?);
        let mut lines = 0;
        for line in trace.split(b'\n') {
            lines += u64::from(line.map_err(|e| format!("reading the trace: {e}"))?.starts_with(b"Trace "));
        }
        let status = child.wait().map_err(|e| format!("qemu-aarch64: {e}"))?;
        return if status.success() {
            Ok(lines)
        } else {
            Err(format!("{} failed ({status})", binary.display()))
        };
    }
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(binary)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    collected(&output.stderr)
}

/// The instruction count of callgrind's summary line (`==pid== Collected : N`).
fn collected(stderr: &[u8]) -> Result<u64> {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{text}"))
}
