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

use focal_loss::Reduction;

use crate::accuracy::{Output, Violation, Why};
use crate::case::{Case, Task};

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
pub const KNOWN: [Known; 5] = [
    Known {
        test: "large_gamma_near_zero_logits_exceeds_the_budget",
        summary: "γ > 16: m^γ (or (1 − p)^γ) carries a relative error of about γ·|ln m|·ε, which \
                  κ = γ·|x| does not cover near x = 0 (1.08 budgets at γ = 100); within the budget \
                  that κ + γ would give",
        applies: |c, v| {
            let (gamma, kappa) = (f64::from(c.options.gamma), v.exact.kappa);
            gamma > 16.0
                && v.why == Why::Budget
                && v.err * (16.0 + 4.0 * kappa) <= 16.0 + 4.0 * (kappa + gamma)
        },
    },
    Known {
        test: "normalizer_below_one_magnifies_underflow",
        summary: "mean with a normalizer below 1: terms that are subnormal or underflow before the \
                  division by it keep only their absolute precision (2^-149), which the division \
                  magnifies (a gradient of 0 instead of 1.8e-33 with normalizer 3e-26)",
        applies: |c, v| match (c.options.reduction, c.options.normalizer) {
            (Reduction::Mean, Some(d)) if d > 0.0 && d < 1.0 => {
                v.why == Why::Budget && v.exact.scale * f64::from(d) < TINY
            }
            _ => false,
        },
    },
    Known {
        test: "tiny_weights_or_masses_lose_precision",
        summary: "a weight or target mass that is subnormal in float32 (α, per-class α, a soft target \
                  or probability, ls/2 or ls/C) keeps a few significant bits or rounds to 0: 0.4 % \
                  error on a loss of 1.1e-14 with ls = 3.6e-43, a finite loss where a masked class \
                  with ls = 1e-45 makes it +∞; and with any weight or mass below 2^-64, outputs below \
                  2^-64 sum subnormal terms (7.2 budgets for a row of 432 terms of 2.5e-43)",
        applies: |c, v| {
            let o = &c.options;
            let weights: Vec<f64> = o
                .alpha
                .into_iter()
                .chain(o.class_alpha.iter().flatten().copied())
                .chain(c.values.iter().copied())
                .map(f64::from)
                .collect();
            let ls = f64::from(o.label_smoothing);
            let spread = if c.task == Task::Sigmoid { 2.0 } else { c.classes.max(1) as f64 };
            let masses = weights.iter().copied().chain([ls, ls / spread]);
            let subnormal = |w: f64| w > 0.0 && w < f64::from(f32::MIN_POSITIVE);
            let tiny = |w: f64| w > 0.0 && w < TINY;
            v.why == Why::Budget
                && (masses.clone().any(subnormal) || (v.exact.scale < TINY && masses.into_iter().any(tiny)))
        },
    },
    Known {
        test: "sum_of_subnormal_terms_exceeds_the_floor",
        summary: "a sum or mean of per-element losses that are subnormal: each term may be off by a \
                  few units of 2^-149, and N terms by N times that, while the budget of an output \
                  below 2^-126 is a fixed (16 + 4κ)·2^-149 (3.1 budgets for 34 losses of x = −100, \
                  y = 0)",
        applies: |_, v| {
            v.output == Output::Returned && v.why == Why::Budget && v.exact.scale < 2f64.powi(-100)
        },
    },
    Known {
        test: "huge_class_weight_overflows_or_underflows",
        summary: "softmax with a class weight above 2^20: p_k underflows in float32 while \
                  p_k·Σ_j w_j τ_j g_j does not (gradient 0 instead of 7.3e-17 with a weight of 1e30), \
                  or Σ_j w_j τ_j g_j overflows while the gradient does not (+∞ instead of 6.9e34, or \
                  NaN instead of −3.0e38, with weights of f32::MAX)",
        applies: |c, _| {
            let o = &c.options;
            let huge = |w: &f32| *w > (1u32 << 20) as f32;
            c.task != Task::Sigmoid && (o.class_alpha.iter().flatten().any(huge) || o.alpha.iter().any(huge))
        },
    },
];

/// Magnitudes below which float32 terms can be subnormal before a sum or a division (2^-64).
const TINY: f64 = 5.421010862427522e-20;

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
