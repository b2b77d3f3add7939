//! `cargo xtask miri`: the reduced test set under Miri (nightly), on the scalar and portable
//! backends of an x86_64 host, timed.
//!
//! Miri interprets the code and checks every memory access, so it finds undefined behaviour that
//! a native run cannot see, at several thousand times the native cost. The tests shrink
//! themselves under `cfg(miri)` (4 proptest cases drawn with XorShift, fewer values in
//! `tests/refused.rs`, no multi-million-element reductions, no golden literals to parse, no file
//! reading); what runs still calls every entry point, separate, forward only and in place,
//! at every length from 0 to 2·lanes + 1 with each buffer at an odd offset
//! (`tests/backend.rs`), every refusal of `tests/refused.rs`, and the C ABI's hostile calls
//! (`capi/tests/abi.rs`).
//!
//! Which backends: Miri answers `cpufeatures`' run-time detection from the compile-time target
//! features alone, so without `-C target-feature` detection chooses the portable backend (`wide`
//! on SSE2) and the tests that force a backend run the scalar one too. The AVX paths need the
//! features at compile time (see the README, "Miri").
//!
//! Isolation stays on: the run is deterministic (proptest's seeds come from Miri's seeded
//! generator, the clock is virtual), and nothing needs the host but one environment variable,
//! forwarded by name.

use std::time::Instant;

use crate::{nightly, root, Result, NIGHTLY};

/// The backend detection must choose under Miri on x86_64 (`tests/backend.rs` checks it).
const EXPECT_BACKEND: &str = "portable";

/// Unit tests in `src/` that walk millions of values (`src/` has no `cfg(miri)` of its own):
/// the accuracy grid of the vector math and the 2^20-term accumulator test.
const SKIP: [&str; 2] =
    ["accuracy_on_every_backend", "both_accumulators_keep_float32_accuracy_over_many_terms"];

/// `cargo xtask miri`.
pub fn run() -> Result {
    if !cfg!(target_arch = "x86_64") {
        return Err("the Miri run is set up for an x86_64 host (Miri cannot run NEON intrinsics)".into());
    }
    let started = Instant::now();
    nightly(&["miri", "--version"], &[]).map_err(|e| {
        format!(
            "{e}: Miri is missing; install it with \
             `rustup toolchain install {NIGHTLY} --profile minimal --component miri,rust-src`"
        )
    })?;
    nightly(&["miri", "setup"], &[])?;

    let miriflags = std::env::var("MIRIFLAGS").unwrap_or_default();
    let miriflags = format!("{miriflags} -Zmiri-env-forward=FOCAL_LOSS_EXPECT_BACKEND");
    let mut args = vec![
        "miri",
        "test",
        "--package",
        "focal-loss",
        "--package",
        "focal-loss-capi",
        // The library's and the C ABI's unit tests and integration tests; not the doctests (one
        // interpreter start each, and they only repeat the entry points on the default backend).
        "--tests",
        // Every test binary, even after a failure: a run is minutes long.
        "--no-fail-fast",
        "--",
    ];
    for name in SKIP {
        args.extend(["--skip", name]);
    }
    nightly(
        &args,
        &[
            ("MIRIFLAGS", miriflags.trim_start()),
            ("FOCAL_LOSS_EXPECT_BACKEND", EXPECT_BACKEND),
            // Forced target features would select the AVX backends and change `wide`'s code.
            ("RUSTFLAGS", ""),
        ],
    )?;
    println!(
        "xtask miri: the reduced test set passed under Miri (backends scalar and {EXPECT_BACKEND}) in \
         {:.0} s, build included",
        started.elapsed().as_secs_f64()
    );
    transposes(&miriflags)
}

/// The transposes of the AVX2 and AVX-512 backends (`Simd::load_columns`, `store_columns`) under
/// Miri, their features forced at compile time: the shuffles, masked loads and stores they are
/// made of are among the few AVX-512 intrinsics Miri implements, so the only run of AVX-512 code
/// on a machine without it. (`wide` needs the x86-64-v4 set, not AVX-512F alone, to compile.)
fn transposes(miriflags: &str) -> Result {
    let started = Instant::now();
    nightly(
        &["miri", "test", "--package", "focal-loss", "--lib", "--", "simd::tests::columns_on_every_backend"],
        &[
            ("RUSTFLAGS", "-C target-feature=+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx2,+fma"),
            ("MIRIFLAGS", miriflags.trim_start()),
            ("FOCAL_LOSS_EXPECT_BACKEND", "avx512"),
            // Its own directory: other flags than the main run's.
            ("CARGO_TARGET_DIR", &root().join("target/miri-avx512").to_string_lossy()),
        ],
    )?;
    println!(
        "xtask miri: the AVX2 and AVX-512 transposes passed under Miri in {:.0} s, build included",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
