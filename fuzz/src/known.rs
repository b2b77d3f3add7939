//! Open findings of these fuzzers: ways the library breaks the accuracy contract that have been
//! reported, each shown by a regression test in `tests/fuzz_regressions.rs` (`#[ignore]`d while
//! it fails).
//!
//! While an entry is listed here, an output that breaks the contract only in the way the entry
//! describes is counted, not reported as a crash: libFuzzer stops at the first crash, and these
//! come up within seconds, so without this list a run would find nothing new. Each predicate is
//! as narrow as the finding (the backend, the task, the regime of parameters, and for budget
//! overruns how far over); anything else still crashes. The census prints how many inputs hit
//! each entry. Delete an entry once the library is fixed (its regression test then passes and
//! loses its `#[ignore]`); `FOCAL_FUZZ_STRICT=1` disregards the whole list.

use std::sync::OnceLock;

use crate::accuracy::Violation;
use crate::case::Case;

/// One open finding.
pub struct Known {
    /// The regression test that shows it (in `tests/fuzz_regressions.rs`).
    pub test: &'static str,
    /// What goes wrong.
    pub summary: &'static str,
    /// Whether a violation is this finding.
    applies: fn(&Case, &Violation) -> bool,
}

/// The open findings.
pub const KNOWN: [Known; 0] = [];

/// Whether the list is in force (`FOCAL_FUZZ_STRICT` unset).
fn lenient() -> bool {
    static LENIENT: OnceLock<bool> = OnceLock::new();
    *LENIENT.get_or_init(|| std::env::var_os("FOCAL_FUZZ_STRICT").is_none())
}

/// The open finding a violation is, if any (none in strict mode).
pub fn classify(case: &Case, v: &Violation) -> Option<&'static Known> {
    if !lenient() {
        return None;
    }
    KNOWN.iter().find(|k| (k.applies)(case, v))
}
