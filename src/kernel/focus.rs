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
    /// `m^γ` for `m` in [0, 1], given `ln m` where [`needs_ln`](Focus::needs_ln) says so (any
    /// value otherwise). No closure here: closures lose the caller's `#[target_feature]`.
    fn pow<S: Simd>(self, s: S, m: S::V, ln_m: S::V) -> S::V;
    /// `γ·v`.
    #[inline(always)]
    fn times_gamma<S: Simd>(self, s: S, v: S::V) -> S::V {
        s.mul(s.splat(self.gamma()), v)
    }
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
    fn pow<S: Simd>(self, s: S, m: S::V, _: S::V) -> S::V {
        s.mul(m, m)
    }
    /// `v + v`: exact, and an add (on Zen 4, off the FMA pipes that bound the kernels).
    #[inline(always)]
    fn times_gamma<S: Simd>(self, s: S, v: S::V) -> S::V {
        s.add(v, v)
    }
}

/// γ decided at run time (the scalar backend's one kernel instance): γ and whether `ln m` is
/// needed are kept as plain values beside the form, so that the element loop reads them instead
/// of matching the form for each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Runtime {
    form: Dynamic,
    gamma: f32,
    needs_ln: bool,
}

impl Runtime {
    pub(crate) fn new(form: Dynamic) -> Runtime {
        Runtime { form, gamma: form.gamma(), needs_ln: matches!(form, Dynamic::Real(_)) }
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
    fn pow<S: Simd>(self, s: S, m: S::V, ln_m: S::V) -> S::V {
        match self.form {
            Dynamic::Two => s.mul(m, m),
            Dynamic::Zero => s.splat(1.0),
            Dynamic::Int(mut n) => {
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
            Dynamic::Real(gamma) => s.pow_from_ln(gamma, ln_m),
        }
    }
}
