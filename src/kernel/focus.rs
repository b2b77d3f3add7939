//! The focusing power `m^γ`, specialised for the γ that matter.
//!
//! Vector backends instantiate a kernel for γ = 2 (the common choice, `m·m`) and one for the
//! run-time form, [`crate::math::Focus`], which serves every other γ (γ = 0 and whole γ need no
//! `exp` there either); the scalar backend uses the run-time form alone, to keep
//! microcontroller code small.

use crate::math::Focus as Dynamic;
use crate::simd::Simd;

/// A way to compute `m^γ`.
pub(crate) trait Focus: Copy {
    /// γ.
    fn gamma(self) -> f32;
    /// Whether [`pow`](Focus::pow) reads `ln m` (only non-integer γ does).
    fn needs_ln(self) -> bool {
        false
    }
    /// `m^γ` for `m` in [0, 1]; `ln_m` is asked for `ln m` only where
    /// [`needs_ln`](Focus::needs_ln) says so.
    fn pow<S: Simd, L: LnM<S>>(self, s: S, m: S::V, ln_m: L) -> S::V;
    /// `γ·v`.
    #[inline(always)]
    fn times_gamma<S: Simd>(self, s: S, v: S::V) -> S::V {
        s.mul(s.splat(self.gamma()), v)
    }
}

/// How [`Focus::pow`] finds `ln m`: inside the branch that reads it, so that the one kernel
/// whose γ is decided at run time (the scalar backend's) does not compute it, and then discard
/// it, for every γ that needs none. No closure: closures lose the caller's `#[target_feature]`.
pub(crate) trait LnM<S: Simd>: Copy {
    /// `ln m`.
    fn ln_m(self, s: S) -> S::V;
}

/// γ = 2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Two;

impl Focus for Two {
    #[inline(always)]
    fn gamma(self) -> f32 {
        2.0
    }
    #[inline(always)]
    fn pow<S: Simd, L: LnM<S>>(self, s: S, m: S::V, _: L) -> S::V {
        s.mul(m, m)
    }
    /// `v + v`: exact, and an add (on Zen 4, off the FMA pipes that bound the kernels).
    #[inline(always)]
    fn times_gamma<S: Simd>(self, s: S, v: S::V) -> S::V {
        s.add(v, v)
    }
}

/// γ decided at run time (the scalar backend's one kernel instance): γ, whether `ln m` is
/// needed and whether γ = 2 are kept as plain values beside the form, so that the element loop
/// tests them instead of matching the form for each (a four-way match per element made the
/// Cortex-M4F's register allocator shuffle a dozen registers around the jump: 5 instructions
/// per element).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Runtime {
    form: Dynamic,
    gamma: f32,
    needs_ln: bool,
    two: bool,
}

impl Runtime {
    pub(crate) fn new(form: Dynamic) -> Runtime {
        Runtime {
            form,
            gamma: form.gamma(),
            // Half-integer γ reads `ln m` on backends without a square root, and in the scalar
            // terms that vector kernels run per row (the softmax's target, through `Scalar`).
            needs_ln: matches!(form, Dynamic::Real(_) | Dynamic::Half(_)),
            two: form == Dynamic::Two,
        }
    }
}

impl Focus for Runtime {
    #[inline(always)]
    fn gamma(self) -> f32 {
        self.gamma
    }
    #[inline(always)]
    fn needs_ln(self) -> bool {
        self.needs_ln
    }
    #[inline(always)]
    fn pow<S: Simd, L: LnM<S>>(self, s: S, m: S::V, ln_m: L) -> S::V {
        if self.two {
            return s.mul(m, m);
        }
        match self.form {
            Dynamic::Two => s.mul(m, m),
            Dynamic::Zero => s.splat(1.0),
            Dynamic::Int(n) => int_power(s, m, n),
            // A square root and products where an exponential of a logarithm was (AVX-512,
            // binary γ=1.5 fused, alternated 3×: 0.92–1.06 → 0.74–0.75 ns/element; AVX2
            // 1.46–2.15 → 1.18–1.36). More exact for small m (no error growing with |ln m|);
            // near m = 1 the rounding of m weighs about γ/2 ulp, as for whole γ.
            Dynamic::Half(n) if S::SQRT => s.mul(int_power(s, m, n), s.sqrt(m)),
            Dynamic::Half(_) | Dynamic::Real(_) => s.pow_from_ln(self.gamma, ln_m.ln_m(s)),
        }
    }
}

/// `m^n` by binary powering (at most 8 products for n ≤ 16).
#[inline(always)]
fn int_power<S: Simd>(s: S, m: S::V, mut n: u32) -> S::V {
    let (mut base, mut acc) = (m, s.splat(1.0));
    while n > 0 {
        if n & 1 == 1 {
            acc = s.mul(acc, base);
        }
        base = s.mul(base, base);
        n >>= 1;
    }
    acc
}
