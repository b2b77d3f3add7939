//! One lane of plain float32: the microcontroller backend, and the yardstick for the others.
//!
//! No FMA is assumed (`mul_add` rounds twice); the algorithms in `math` are written to stay
//! exact enough without it.

use super::{math, Simd};
use crate::sum::{Accumulate, Accumulator, Wide};

/// The one-lane backend. Always available.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    type V = f32;
    type M = bool;
    type Acc = Accumulator;
    type Array = [f32; 1];
    const LANES: usize = 1;

    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> f32 {
        s[0]
    }
    #[inline(always)]
    fn store(self, v: f32, s: &mut [f32]) {
        s[0] = v;
    }
    /// One lane: a part of it is no lane at all (`n` is 0), so no buffer on the stack (the
    /// default's 64 bytes, in every frame that inlines a partial load).
    #[inline(always)]
    fn load_partial(self, _: &[f32], _: usize, pad: f32) -> f32 {
        pad
    }
    /// One lane: nothing to write (`n` is 0).
    #[inline(always)]
    fn store_partial(self, _: f32, _: &mut [f32], _: usize) {}
    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a > b {
            a
        } else {
            b
        }
    }
    /// No square root instruction on every microcontroller (libm's is a loop): half-integer γ
    /// goes through `exp((n + ½)·ln m)` there.
    const SQRT: bool = false;
    /// Not reached by the kernels ([`Scalar::SQRT`] is false).
    #[inline(always)]
    fn sqrt(self, a: f32) -> f32 {
        libm::sqrtf(a)
    }
    #[inline(always)]
    fn abs(self, a: f32) -> f32 {
        f32::from_bits(a.to_bits() & 0x7fff_ffff)
    }
    #[inline(always)]
    fn neg(self, a: f32) -> f32 {
        -a
    }
    /// From the bits, with no move of the FPU's flags (Cortex-M4F): `y = 1` shifted left by 8
    /// is the sign bit alone (0 and −0 give 0), so the sign of `x ^ (y << 8)` is clear exactly
    /// on the wrong side (−0 counting as negative).
    #[inline(always)]
    fn hard_target_sides(self, x: f32, y: f32) -> (bool, bool) {
        let (x, y) = (x.to_bits(), y.to_bits());
        (y == 1f32.to_bits(), (x ^ (y << 8)) as i32 >= 0)
    }
    /// An integer compare of the bits: no move of the FPU's flags (Cortex-M4F).
    #[inline(always)]
    fn magnitude_beyond(self, ax: f32, bound: f32) -> bool {
        ax.to_bits() > bound.to_bits()
    }
    #[inline(always)]
    fn lt(self, a: f32, b: f32) -> bool {
        a < b
    }
    #[inline(always)]
    fn le(self, a: f32, b: f32) -> bool {
        a <= b
    }
    #[inline(always)]
    fn eq(self, a: f32, b: f32) -> bool {
        a == b
    }
    #[inline(always)]
    fn mask_and(self, a: bool, b: bool) -> bool {
        a & b
    }
    #[inline(always)]
    fn mask_or(self, a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    fn mask_not(self, a: bool) -> bool {
        !a
    }
    #[inline(always)]
    fn mask_xor(self, a: bool, b: bool) -> bool {
        a ^ b
    }
    #[inline(always)]
    fn select(self, m: bool, a: f32, b: f32) -> f32 {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn any(self, m: bool) -> bool {
        m
    }
    #[inline(always)]
    fn round(self, a: f32) -> f32 {
        // Adding 1.5·2^23 pushes the fraction out of the mantissa, rounding to nearest even.
        const MAGIC: f32 = 12_582_912.0;
        (a + MAGIC) - MAGIC
    }
    #[inline(always)]
    fn frexp(self, x: f32) -> (f32, f32) {
        let bits = x.to_bits();
        let k = ((bits >> 23) & 0xff) as i32 - 127;
        (f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000), k as f32)
    }
    #[inline(always)]
    fn pow2(self, n: f32) -> f32 {
        f32::from_bits((((n as i32) + 127) as u32) << 23)
    }
    /// No floor: the rare branch of [`Scalar::scale_by_pow2`] gives 0 for every `n` below −150
    /// (−∞ included) whatever `a` is, and on one lane the floor costs a comparison, a move of
    /// the FPU's flags and a conditional move per exponential (Cortex-M4F).
    #[inline(always)]
    fn exp_floor(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn scale_by_pow2(self, a: f32, n: f32) -> f32 {
        // On one lane a branch is cheaper than the second product, which only results below
        // 2^-126 need: out of line, so that the common path carries none of its instructions.
        // The test on the integer that builds 2^n: a float comparison would also move the FPU's
        // flags (Cortex-M4F).
        let k = n as i32;
        if k >= -126 {
            a * f32::from_bits(((k + 127) as u32) << 23)
        } else {
            shared_scale_into_subnormals(a, n)
        }
    }
    #[inline(always)]
    fn ln(self, x: f32) -> f32 {
        shared_ln(x)
    }
    #[inline(always)]
    fn log1p(self, v: f32) -> f32 {
        shared_log1p(v)
    }
    #[inline(always)]
    fn ln_given_complement(self, m: f32, one_minus_m: f32) -> f32 {
        // A branch, so that one of the two is called.
        if m > 0.5 {
            shared_log1p(-one_minus_m)
        } else {
            shared_ln(m)
        }
    }
    #[inline(always)]
    fn ln_one_plus(self, v: f32) -> f32 {
        // A branch, so that one of the two is called.
        if v <= 1.0 {
            shared_log1p(v)
        } else {
            shared_ln(1.0 + v)
        }
    }
    #[inline(always)]
    fn pow_from_ln(self, gamma: f32, ln_m: f32) -> f32 {
        shared_exp(gamma * ln_m)
    }
    #[inline(always)]
    fn reduce_add(self, a: f32) -> f32 {
        a
    }
    #[inline(always)]
    fn reduce_max(self, a: f32) -> f32 {
        a
    }
    #[inline(always)]
    fn acc_zero(self) -> Accumulator {
        Accumulator::default()
    }
    #[inline(always)]
    fn acc_add(self, mut acc: Accumulator, v: f32) -> Accumulator {
        acc.add(Wide::from(v));
        acc
    }
    #[inline(always)]
    fn acc_add_product(self, mut acc: Accumulator, a: f32, b: f32) -> Accumulator {
        acc.add(Wide::from(a) * Wide::from(b));
        acc
    }
    #[inline(always)]
    fn acc_total(self, acc: Accumulator) -> Wide {
        acc.total()
    }
}

// The out-of-line copies behind the rare-path hooks: one each in a whole program.

/// `a · 2^n` for `n` below −126: [`Simd::scale_by_pow2`]'s rare path; 0 below −150, where `a`
/// may be anything (`exp_floor` lets any `x` through: `n` may be −∞ and `a` NaN).
#[cold]
#[inline(never)]
fn shared_scale_into_subnormals(a: f32, n: f32) -> f32 {
    if n < -150.0 {
        return 0.0;
    }
    a * Scalar.pow2(-126.0) * Scalar.pow2(n + 126.0)
}

#[inline(never)]
fn shared_ln(x: f32) -> f32 {
    math::ln(Scalar, x)
}

#[inline(never)]
fn shared_log1p(v: f32) -> f32 {
    math::log1p(Scalar, v)
}

#[inline(never)]
fn shared_exp(x: f32) -> f32 {
    math::exp(Scalar, x)
}
