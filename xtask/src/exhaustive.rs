//! `cargo xtask exhaustive [options]`: the exhaustive check of the sigmoid kernel
//! (`examples/exhaustive.rs`): every finite float32 logit, for γ ∈ {0, 0.5, 2}, α ∈ {off, 0.25}
//! and y ∈ {0, 1}, on every backend this CPU runs, against the float64 oracle, in units of the
//! accuracy budget. Opt-in (not part of `ci`): the full run takes about 35 minutes on two idle
//! cores.
//! The options go to the example unchanged; `cargo xtask exhaustive --help` lists them
//! (`--stride K` checks every K-th bit pattern only, for a quick look).

use crate::Result;

/// `cargo xtask exhaustive [options]`.
pub fn run(args: &[String]) -> Result {
    // Release mode: the oracle alone costs tens of nanoseconds per logit when optimised.
    let mut cargo_args = vec!["run", "--release", "--package", "focal-loss", "--example", "exhaustive", "--"];
    cargo_args.extend(args.iter().map(String::as_str));
    crate::cargo(&cargo_args, &[])
}
