//! Accumulating the losses of a `sum` or `mean`.
//!
//! The terms are non-negative float32 values, up to 2^28 of them and more. Where the hardware
//! has float64 the accumulator is a plain float64 sum: its relative error is at most
//! `n · 2^-53` (2^-25 at n = 2^28, well inside float32), and its range cannot overflow on a
//! float32 sum. Elsewhere (Cortex-M4F and smaller, where float64 is software and about twenty
//! times slower) it is a renormalised pair of float32 values (a "double-float" sum), whose error
//! is about one float32 rounding plus `n · 2^-48` of the total. Either way the order of the
//! additions is fixed by the input length and the backend, so the result depends on nothing else.

/// Whether this target has float64 in hardware (then loss terms are handed over and summed in
/// float64).
#[cfg(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm64ec",
    target_arch = "powerpc64",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "s390x",
    target_arch = "wasm32",
    target_arch = "wasm64",
))]
mod width {
    /// The accumulator this target uses.
    pub(crate) type Accumulator = super::WideSum;
    /// The type a loss term is handed to the accumulator in: wide enough that a softmax row's
    /// loss cannot overflow before a `mean` divides it.
    pub(crate) type Wide = f64;
}
#[cfg(not(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm64ec",
    target_arch = "powerpc64",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "s390x",
    target_arch = "wasm32",
    target_arch = "wasm64",
)))]
mod width {
    pub(crate) type Accumulator = super::CompensatedSum;
    pub(crate) type Wide = f32;
}
pub(crate) use width::{Accumulator, Wide};

/// What every accumulator offers.
pub(crate) trait Accumulate: Default {
    /// Adds one term.
    fn add(&mut self, v: Wide);
    /// The sum so far.
    fn total(&self) -> Wide;
}

/// A float64 sum.
#[allow(dead_code, reason = "the accumulator of targets with float64 hardware")]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WideSum(f64);

impl Accumulate for WideSum {
    #[inline(always)]
    #[allow(clippy::useless_conversion, reason = "Wide is f32 on targets without float64 hardware")]
    fn add(&mut self, v: Wide) {
        self.0 += f64::from(v);
    }

    fn total(&self) -> Wide {
        self.0 as Wide
    }
}

/// A compensated float32 sum kept as an unevaluated pair `hi + lo` with |lo| ≤ ulp(hi)/2.
///
/// Terms are first summed plainly in groups of four: the terms are non-negative, so a group is
/// off by at most 3·2^-24 of itself. Each group then joins the pair with an exact TwoSum and a
/// renormalisation, so the compensation itself never accumulates rounding errors (plain
/// Kahan/Neumaier does, by n·u·|compensation|). The groups cost a quarter of the per-term work of
/// a pair update, which dominates a cheap kernel's loop on a microcontroller.
#[allow(dead_code, reason = "the accumulator of targets without float64 hardware")]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CompensatedSum {
    hi: f32,
    lo: f32,
    /// The plain sum of the current group, and how many terms it holds.
    group: f32,
    count: u32,
}

#[allow(dead_code, reason = "the accumulator of targets without float64 hardware")]
impl CompensatedSum {
    /// Adds the current group to the pair.
    #[inline(always)]
    fn flush(&mut self) {
        let v = self.group;
        (self.group, self.count) = (0.0, 0);
        let s = self.hi + v;
        if !s.is_finite() {
            // +∞ and NaN are sticky; the pair has no meaning any more.
            (self.hi, self.lo) = (s, 0.0);
            return;
        }
        // TwoSum: s + e = hi + v exactly.
        let b = s - self.hi;
        let e = (self.hi - (s - b)) + (v - b);
        // Fold the low parts in and renormalise (Fast2Sum, |s| ≥ |lo|).
        let lo = self.lo + e;
        let hi = s + lo;
        self.lo = lo - (hi - s);
        self.hi = hi;
    }
}

impl Accumulate for CompensatedSum {
    #[inline(always)]
    #[allow(clippy::unnecessary_cast, reason = "Wide is f32 on this accumulator's targets")]
    fn add(&mut self, v: Wide) {
        self.group += v as f32;
        self.count += 1;
        if self.count == 4 {
            self.flush();
        }
    }

    fn total(&self) -> Wide {
        let mut all = *self;
        all.flush();
        (all.hi + all.lo) as Wide
    }
}

/// Losses below this (2^-90) may be off by a few units of 2^-149 each in float32 (they are
/// subnormal, or built from subnormal parts), and 2^28 of them by 2^-119: a sum that stays
/// below it needs its terms exact ([`SmallSums`]); a sum that reaches it does not (2^-119 is
/// 2^-29 of it, well inside the budget).
pub(crate) const SMALL: f32 = 8.077_936e-28;

/// The guard of a batch's sum of losses (what every call returns, divided for `mean`) while
/// every loss so far is below [`SMALL`]: such losses are taken from the wide path
/// (`crate::reference`, float64), summed apart, and added to the fast sum at the end.
///
/// The sigmoid kernel recomputes each small block before it writes the block's gradient (its
/// logits are still there, even in place); the softmax kernel cannot (a row's gradient may
/// overwrite its logits before its loss is known), so after a small unit (a row or a batch of
/// rows) it runs the next rows on the wide path, loss and gradient, until one is not small. A
/// batch whose first loss is not small (every real one, nearly) pays one test per unit, and
/// the sigmoid's four-block loop none.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SmallSums {
    /// Every loss so far is small.
    watching: bool,
    /// The sum of the losses from the wide path.
    exact: f64,
}

impl SmallSums {
    /// The guard of a new batch.
    #[inline(always)]
    pub(crate) fn new() -> SmallSums {
        SmallSums { watching: true, exact: 0.0 }
    }

    /// Whether every loss so far is small.
    #[inline(always)]
    pub(crate) fn watching(&self) -> bool {
        self.watching
    }

    /// A loss has reached [`SMALL`] (or is NaN): no more checks.
    #[inline(always)]
    pub(crate) fn stop(&mut self) {
        self.watching = false;
    }

    /// Adds a loss from the wide path, and stops watching once one reaches [`SMALL`] (or is NaN).
    #[inline(always)]
    pub(crate) fn add(&mut self, loss: f64) {
        self.exact += loss;
        if loss >= f64::from(SMALL) || loss.is_nan() {
            self.stop();
        }
    }

    /// The fast sum plus the exact one. (The test on the bits and the addition out of line keep
    /// software float64 out of the kernels' frames on microcontrollers.)
    #[inline(always)]
    pub(crate) fn total(self, fast: Wide) -> Wide {
        if self.exact.to_bits() == 0 {
            fast
        } else {
            self.plus(fast)
        }
    }

    #[inline(never)]
    #[cold]
    #[allow(clippy::unnecessary_cast, reason = "Wide is f32 on targets without float64 hardware")]
    fn plus(self, fast: Wide) -> Wide {
        (fast as f64 + self.exact) as Wide
    }
}

/// `total / d` rounded once to float32 (`d = 1` for a plain sum).
#[inline]
#[allow(clippy::unnecessary_cast, reason = "Wide is f32 on targets without float64 hardware")]
pub(crate) fn divide(total: Wide, d: f32) -> f32 {
    (total / d as Wide) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of<A: Accumulate>(terms: impl Iterator<Item = f32>) -> f32 {
        let mut acc = A::default();
        terms.for_each(|v| acc.add(v.into()));
        acc.total() as f32
    }

    #[test]
    fn both_accumulators_keep_float32_accuracy_over_many_terms() {
        // 2^20 copies of 0.1: a naive float32 sum is off by about 1 %.
        let n = 1 << 20;
        let exact = 0.1f32 as f64 * n as f64;
        for got in [sum_of::<WideSum>((0..n).map(|_| 0.1)), sum_of::<CompensatedSum>((0..n).map(|_| 0.1))] {
            assert!(((got as f64 - exact) / exact).abs() < 2e-7, "{got} vs {exact}");
        }
        let naive: f32 = (0..n).map(|_| 0.1f32).sum();
        assert!(((naive as f64 - exact) / exact).abs() > 1e-3, "the test needs a hard case");
    }

    #[test]
    fn infinity_and_nan_propagate() {
        for terms in [[1.0, f32::INFINITY, 1.0], [1.0, f32::NAN, 1.0]] {
            let w = sum_of::<WideSum>(terms.into_iter());
            let c = sum_of::<CompensatedSum>(terms.into_iter());
            assert_eq!(w.is_nan(), terms[1].is_nan());
            assert_eq!(c.is_nan(), terms[1].is_nan());
            assert!(w.is_infinite() || w.is_nan());
            assert!(c.is_infinite() || c.is_nan());
        }
    }
}
