//! `cargo xtask icount [backend…]`: instructions per element of the fused kernels, counted by
//! valgrind's callgrind: a figure that does not drift, for machines whose timings do (shared,
//! virtualised, without performance counters).
//!
//! Each case runs its profiling example (`examples/profile_binary.rs`,
//! `examples/profile_softmax.rs`) twice under callgrind, with no repetition and with [`REPS`];
//! the difference over `REPS` times the elements is the kernel's count per element, the set-up
//! (input generation, validation of the options) cancelling out. Backends default to `avx2` and
//! `portable` (callgrind runs neither AVX-512 nor, on x86_64, NEON); the cases are the bench
//! configuration's (DESIGN §6) at N = 2^16: binary γ=2 and γ=1.5 (α = 0.25), multi-label with
//! 80 columns and per-class α at γ=2, and multi-class with class indices and per-class α at γ=2
//! for short rows (3, 10, 16 and 20 classes) and long ones (80 and 1000). Counts are not times:
//! a spill and a division count one each. Use them beside interleaved timings, not instead of
//! them.

use std::process::Command;

use crate::Result;

/// Elements per call (2^16, the bench configuration's size).
const N: usize = 1 << 16;

/// Calls of the measured run.
const REPS: usize = 20;

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
    Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run valgrind ({e}): apt-get install valgrind"))?;
    crate::cargo(
        &["build", "--release", "--example", "profile_binary", "--example", "profile_softmax"],
        &[],
    )?;
    let examples = crate::root().join("target/release/examples");

    print!("{:<20}", "instructions/element");
    for backend in &backends {
        print!(" {backend:>10}");
    }
    println!();
    for case in CASES {
        print!("{:<20}", case.label);
        for backend in &backends {
            let binary = examples.join(case.example);
            let count = |reps: usize| -> Result<u64> {
                let mut command = Command::new("valgrind");
                command
                    .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
                    .arg(&binary)
                    .arg(backend);
                if case.example == "profile_softmax" {
                    command.arg(case.classes.to_string());
                }
                command.arg(N.to_string()).arg(reps.to_string());
                if let Some(gamma) = case.gamma {
                    command.arg(gamma);
                }
                if case.example == "profile_binary" && case.classes > 1 {
                    command.arg(case.classes.to_string());
                }
                collected(&command.output().map_err(|e| format!("cannot run valgrind: {e}"))?.stderr)
            };
            let elements = (N / case.classes * case.classes * REPS) as f64;
            let per_element = (count(REPS)?.saturating_sub(count(0)?)) as f64 / elements;
            print!(" {per_element:>10.2}");
        }
        println!();
    }
    Ok(())
}

/// The instruction count of callgrind's summary line (`==pid== Collected : N`).
fn collected(stderr: &[u8]) -> Result<u64> {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{text}"))
}
