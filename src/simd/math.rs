//! Vector `exp`, `log1p`, `ln` and `pow`, written once against [`Simd`].
//!
//! The polynomials come from `tools/fit_polynomials.py` (Chebyshev fits in mpmath, float32
//! coefficients). Each function states its domain and its error bound, measured over its
//! domain by the tests at the end of this file on every backend this CPU can run. NaN inputs
//! give unspecified results (finite or NaN): the kernels route special values around these
//! functions.

use super::Simd;

/// `log2(e)`.
const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// `ln 2` split so that `n · LN2_HI` is exact for |n| < 2^9 without FMA (15 significant bits).
const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
/// `ln 2 − LN2_HI`.
const LN2_LO: f32 = 1.428_606_8e-6;

/// `e^r = 1 + r + r²·P(r)` on |r| ≤ ln2/2: P's coefficients, r^0 first. Error of the
/// polynomial itself 3.9e-9 (0.07 ulp).
const EXP_P: [f32; 5] = [0.499_999_94, 0.166_665_21, 0.041_668_39, 0.008_368_71, 0.001_381_461_3];

/// `log1p(v) = 2·atanh(z) = 2z + z·w·R(w)`, `z = v/(2 + v)`, `w = z²` in [0, 1/9]: R's
/// coefficients, w^0 first. Error of the polynomial itself 1.6e-8 (0.27 ulp).
const LOG1P_R: [f32; 4] = [0.666_666_4, 0.400_075_6, 0.282_366_2, 0.268_515];

/// `e^x` for `x ≤ 0` (−∞ included): at most 1.5 ulp from the correctly rounded value, and within
/// one subnormal ulp where the result is below 2^-126 (results below 2^-150 are 0). Through a
/// table ([`exp_of_table`]) where the backend says so ([`Simd::TABLE_EXP`]), else through a
/// polynomial alone ([`exp_of_polynomial`]).
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::V) -> S::V {
    exp_in::<S, false>(s, x)
}

/// The largest `|x|` of [`exp_normal`]'s domain: `x/ln2` is at least −124.07 there, so that
/// `e^x` and every step towards it stay in the normal range.
pub(crate) const NORMAL_EXP_BOUND: f32 = 86.0;

/// [`exp`] for `x` in [−[`NORMAL_EXP_BOUND`], 0], whose results are normal: without the floor
/// on `x` and the test for results below the normal range (the sigmoid's common case, where one
/// test of its block for this domain also rules out infinities and NaN).
#[inline(always)]
pub(crate) fn exp_normal<S: Simd>(s: S, x: S::V) -> S::V {
    exp_in::<S, true>(s, x)
}

/// [`exp`] (`NORMAL` false) or [`exp_normal`] (`NORMAL` true), through the backend's form.
#[inline(always)]
fn exp_in<S: Simd, const NORMAL: bool>(s: S, x: S::V) -> S::V {
    if S::TABLE_EXP {
        exp_of_table::<S, NORMAL>(s, x)
    } else {
        exp_of_polynomial::<S, NORMAL>(s, x)
    }
}

/// [`exp`] (or with `NORMAL`, [`exp_normal`]) with a degree-5 polynomial on |r| ≤ ln2/2.
#[inline(always)]
pub(crate) fn exp_of_polynomial<S: Simd, const NORMAL: bool>(s: S, x: S::V) -> S::V {
    let x = if NORMAL { x } else { s.exp_floor(x) };
    let n = s.round(s.mul(x, s.splat(LOG2_E)));
    // r = x − n·ln2 in two steps: the first is exact, so r carries no cancellation error.
    let r = s.mul_add(n, s.splat(-LN2_HI), x);
    let r = s.mul_add(n, s.splat(-LN2_LO), r);
    let mut p = s.splat(EXP_P[4]);
    for &c in EXP_P[..4].iter().rev() {
        p = s.mul_add(p, r, s.splat(c));
    }
    let e_r = s.add(s.mul_add(s.mul(r, r), p, r), s.splat(1.0));
    if NORMAL {
        s.add_exponent(e_r, n)
    } else {
        s.scale_by_pow2(e_r, n)
    }
}

/// `2^(j/16)` rounded to float32 (at most 0.45 ulp off), for [`exp_of_table`].
#[rustfmt::skip]
const EXP2_SIXTEENTHS: [f32; 16] = [
    1.0, 1.044_273_7, 1.090_507_7, 1.138_788_6, 1.189_207_1, 1.241_857_8, 1.296_839_6, 1.354_255_6,
    core::f32::consts::SQRT_2, 1.476_826_2, 1.542_210_8, 1.610_490_3, 1.681_792_8, 1.756_252_2, 1.834_008_1,
    1.915_206_6,
];
/// `e^r = 1 + r + r²·(E₀ + E₁·r)` on |r| ≤ ln2/32 (+2^-20): the coefficients, r^0 first. Error
/// of the polynomial itself 4.7e-9 (0.08 ulp).
const EXP_E: [f32; 2] = [0.500_009_8, 0.166_668_62];
/// `ln 2` to 12 significant bits, so that `k/16 · LN2_HI_12` is exact for |k| < 2^12 without
/// FMA.
const LN2_HI_12: f32 = f32::from_bits(0x3f31_7000);
/// `ln 2 − LN2_HI_12`.
const LN2_LO_12: f32 = 3.194_618_3e-5;

/// 1.5·2^19, whose ulp is 1/16: `t = x/ln2 + SIXTEENTHS` rounds `x/ln2` to `k/16`, and the last
/// four bits of t's significand are `k mod 16` ([`exp_of_table`]'s table index; the bits above
/// them hold ⌊k/16⌋ for [`Simd::scale_by_pow2_floor`]).
pub(crate) const SIXTEENTHS: f32 = 786_432.0;

/// [`exp`] through `2^(j/16)` from a 16-entry table: `k = round(16·x/ln2)`, `r = x − (k/16)·ln2`
/// (|r| ≤ ln2/32, so a degree-3 polynomial where [`exp_of_polynomial`] needs degree 5), and
/// `e^x = 2^⌊k/16⌋ · 2^((k mod 16)/16) · e^r`. Fewer multiplications than the polynomial alone
/// (AVX-512, fused, best of 3 alternated: binary γ=2 0.77 → 0.71 ns/element, γ=1.5 1.13 → 1.04, C = 80 0.52 → 0.50, C = 1000 0.40 → 0.37).
/// With `NORMAL`, [`exp_normal`].
#[inline(always)]
pub(crate) fn exp_of_table<S: Simd, const NORMAL: bool>(s: S, x: S::V) -> S::V {
    let x = if NORMAL { x } else { s.exp_floor(x) };
    let t = s.mul_add(x, s.splat(LOG2_E), s.splat(SIXTEENTHS));
    let k16 = s.sub(t, s.splat(SIXTEENTHS));
    // r = x − (k/16)·ln2 in two steps: the first is exact, so r carries no cancellation error.
    let r = s.mul_add(k16, s.splat(-LN2_HI_12), x);
    let r = s.mul_add(k16, s.splat(-LN2_LO_12), r);
    let q = s.mul_add(s.mul(r, r), s.mul_add(r, s.splat(EXP_E[1]), s.splat(EXP_E[0])), r);
    let table = s.lookup16(&EXP2_SIXTEENTHS, t);
    let unscaled = s.mul_add(table, q, table);
    if NORMAL && !S::SCALES_SUBNORMALS {
        s.add_floor_exponent(unscaled, t)
    } else {
        s.scale_by_pow2_floor(unscaled, t)
    }
}

/// `log(1 + v)` for `v` in [−1/2, 1]: at most 2 ulp (two roundings in `z`), exact as v → 0.
#[inline(always)]
pub(crate) fn log1p<S: Simd>(s: S, v: S::V) -> S::V {
    let z = s.div(v, s.add(s.splat(2.0), v));
    let w = s.mul(z, z);
    let mut r = s.splat(LOG1P_R[3]);
    for &c in LOG1P_R[..3].iter().rev() {
        r = s.mul_add(r, w, s.splat(c));
    }
    s.mul_add(s.mul(z, w), r, s.add(z, z))
}

/// `r_j ≈ 1/(1 + j/15)` for [`log1p_of_unit`]: the float32 within 1000 ulp of it whose `−ln r_j`
/// is nearest a float32 (Tang's trick; at most 0.09 ulp off).
#[rustfmt::skip]
const UNIT_R: [f32; 16] = [
    1.0, 0.937_472_7, 0.882_315_16, 0.833_362_46, 0.789_416_6, 0.750_059_6, 0.714_263_4, 0.681_761_56,
    0.652_164_04, 0.624_999_94, 0.599_940_4, 0.576_873_36, 0.555_555_6, 0.535_764_2, 0.517_294_05, 0.5,
];
/// `−ln r_j` rounded to float32, for [`log1p_of_unit`].
#[rustfmt::skip]
const UNIT_LN: [f32; 16] = [
    0.0, 0.064_567_64, 0.125_205_96, 0.182_286_6, 0.236_461_08, 0.287_602_6, 0.336_503_5, 0.383_075_3,
    0.427_459_15, 0.470_003_72, 0.510_924_94, 0.550_132_5, 0.587_786_6, 0.624_061_1, 0.659_143_8,
    core::f32::consts::LN_2,
];
/// `log1p(t) = t + t²·Q(t)` on |t| ≤ 1/30 (+2^-20): Q's coefficients, t^0 first. Error of the
/// polynomial itself 1.0e-9 (0.02 ulp).
const UNIT_Q: [f32; 4] = [-0.499_999_97, 0.333_333_3, -0.250_185_3, 0.200_158_85];

/// `log(1 + e)` for `e` in [0, 1] without a division, for backends whose [`Simd::lookup16`] is
/// cheap ([`Simd::TABLE_LOG1P`]): `j = round(15·e)` picks `r_j ≈ 1/(1 + j/15)` and `−ln r_j` from two tables,
/// `t = (1 + e)·r_j − 1` is one FMA (|t| ≤ 1/30), and `log1p(e) = −ln r_j + log1p(t)`. At most
/// 1.5 ulp (1.0 measured with a fused `mul_add`, 1.25 without); exact as e → 0 (where j = 0,
/// r_0 = 1 and t = e).
#[inline(always)]
pub(crate) fn log1p_of_unit<S: Simd>(s: S, e: S::V) -> S::V {
    // 15·e + 2^23 holds round(15·e) in the low bits of its significand: the table index.
    let index = s.mul_add(e, s.splat(15.0), s.splat(8_388_608.0));
    let r = s.lookup16(&UNIT_R, index);
    let t = s.mul_add(e, r, s.sub(r, s.splat(1.0)));
    let mut q = s.splat(UNIT_Q[3]);
    for &c in UNIT_Q[..3].iter().rev() {
        q = s.mul_add(q, t, s.splat(c));
    }
    s.add(s.lookup16(&UNIT_LN, index), s.mul_add(s.mul(t, t), q, t))
}

/// `ln(x)` for `x ≥ 0` (subnormals included; `ln 0 = −∞`): at most 2 ulp, or 2^-24 absolute
/// near x = 1 where the result is tiny.
#[inline(always)]
pub(crate) fn ln<S: Simd>(s: S, x: S::V) -> S::V {
    const TWO_POW_24: f32 = 16_777_216.0;
    let subnormal = s.lt(x, s.splat(f32::MIN_POSITIVE));
    let scaled = s.select(subnormal, s.mul(x, s.splat(TWO_POW_24)), x);
    let (f, k) = s.frexp(scaled);
    let k = s.select(subnormal, s.sub(k, s.splat(24.0)), k);
    // f in [1, 2) → [√½, √2), so that log1p's argument stays small and ln(x ≈ 1) does not cancel.
    let high = s.lt(s.splat(core::f32::consts::SQRT_2), f);
    let f = s.select(high, s.mul(f, s.splat(0.5)), f);
    let k = s.select(high, s.add(k, s.splat(1.0)), k);
    let l = s.mul_add(k, s.splat(LN2_HI), s.add(log1p(s, s.sub(f, s.splat(1.0))), s.mul(k, s.splat(LN2_LO))));
    s.select(s.eq(x, s.splat(0.0)), s.splat(f32::NEG_INFINITY), l)
}

/// `m^γ = e^(γ·ln m)` for `m` in [0, 1] and γ > 0, given `ln m` (which the caller may know in a
/// better form than `ln(m)`).
#[inline(always)]
pub(crate) fn pow_from_ln<S: Simd>(s: S, gamma: f32, ln_m: S::V) -> S::V {
    exp(s, s.mul(s.splat(gamma), ln_m))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use crate::simd::scalar::Scalar;

    /// Applies `f` lane-wise to `xs` with backend `s`, full vectors only.
    fn apply<S: Simd>(s: S, xs: &[f32], f: impl Fn(S, S::V) -> S::V) -> Vec<f32> {
        let mut out = xs.to_vec();
        for (i, o) in xs.chunks_exact(S::LANES).zip(out.chunks_exact_mut(S::LANES)) {
            s.store(f(s, s.load(i)), o);
        }
        out
    }

    /// Worst error in ulps of the float32 result (of f32::MIN_POSITIVE below it).
    fn worst_ulps(got: &[f32], xs: &[f32], exact: impl Fn(f64) -> f64) -> f64 {
        let mut worst = 0.0f64;
        for (&g, &x) in got.iter().zip(xs) {
            let e = exact(x as f64);
            let ulp = if e == 0.0 || e.is_infinite() {
                f32::from_bits(1) as f64
            } else {
                let r = (e.abs() as f32).max(f32::MIN_POSITIVE);
                (f32::from_bits(r.to_bits() + 1) - r) as f64
            };
            let err = if g as f64 == e { 0.0 } else { (g as f64 - e).abs() / ulp };
            worst = worst.max(err);
        }
        worst
    }

    /// Every `stride`-th float32 in [lo, hi], padded to a whole number of vectors.
    fn grid(lo: f32, hi: f32, stride: usize) -> Vec<f32> {
        let negatives = (0x8000_0000u32..=0xff80_0000).step_by(stride).map(f32::from_bits);
        let positives = (0u32..=0x7f80_0000).step_by(stride).map(f32::from_bits);
        let mut v: Vec<f32> = negatives.chain(positives).filter(|x| (lo..=hi).contains(x)).collect();
        while !v.len().is_multiple_of(64) {
            v.push(hi);
        }
        v
    }

    fn check_backend<S: Simd>(s: S, name: &str) {
        let xs = grid(-104.0, 0.0, 97);
        let e = worst_ulps(&apply(s, &xs, exp_of_polynomial::<S, false>), &xs, f64::exp);
        assert!(e <= 1.5, "{name} exp_of_polynomial: {e} ulp");
        let t = worst_ulps(&apply(s, &xs, exp_of_table::<S, false>), &xs, f64::exp);
        assert!(t <= 1.5, "{name} exp_of_table: {t} ulp");
        let mut specials = std::vec![f32::NEG_INFINITY, -1e30, -200.0, -104.0, -87.5, 0.0, -0.0, -1e-30];
        specials.resize(64, 0.0);
        let expected = specials.iter().map(|&x| (x as f64).exp() as f32);
        for f in [exp_of_polynomial::<S, false>, exp_of_table::<S, false>] {
            for ((got, want), x) in apply(s, &specials, f).into_iter().zip(expected.clone()).zip(&specials) {
                assert_eq!(got, want, "{name}: e^{x}");
            }
        }
        // The normal-range forms, over their domain and at its end (every stride-th float32, a
        // stride coprime to the first, and the bound itself).
        let mut normal = grid(-NORMAL_EXP_BOUND, 0.0, 89);
        normal[..8].fill(-NORMAL_EXP_BOUND);
        for (f, form) in [
            (exp_of_polynomial::<S, true> as fn(S, S::V) -> S::V, "polynomial"),
            (exp_of_table::<S, true>, "table"),
        ] {
            let w = worst_ulps(&apply(s, &normal, f), &normal, f64::exp);
            assert!(w <= 1.5, "{name} exp_of_{form}, normal range: {w} ulp");
        }
        // Blocks of eight lanes whose results alternate between normal and subnormal, both
        // ways round: a backend that tests some lanes for the subnormal range on behalf of
        // others (pairs) must see every one.
        for odd in [0, 1] {
            let xs: Vec<f32> = (0..64)
                .map(|k| if (k / 8) % 2 == odd { -88.0 - k as f32 / 4.0 } else { -1.0 - k as f32 / 3.0 })
                .collect();
            let m = worst_ulps(&apply(s, &xs, exp_of_table::<S, false>), &xs, f64::exp);
            assert!(m <= 1.5, "{name} exp_of_table, mixed ranges: {m} ulp");
        }
        let vs = grid(-0.5, 1.0, 89);
        let l = worst_ulps(&apply(s, &vs, log1p), &vs, f64::ln_1p);
        assert!(l <= 2.0, "{name} log1p: {l} ulp");
        let us = grid(0.0, 1.0, 89);
        let u = worst_ulps(&apply(s, &us, log1p_of_unit), &us, f64::ln_1p);
        assert!(u <= 1.5, "{name} log1p_of_unit: {u} ulp");
        let ms = grid(f32::from_bits(1), 1.0, 1013);
        let n = worst_ulps(&apply(s, &ms, ln), &ms, f64::ln);
        assert!(n <= 2.0, "{name} ln: {n} ulp");
        std::println!("{name}: exp {e:.2} ulp (table {t:.2}), log1p {l:.2} ulp, log1p_of_unit {u:.2} ulp, ln {n:.2} ulp");
    }

    #[test]
    fn accuracy_on_every_backend() {
        check_backend(Scalar, "scalar");
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        check_backend(crate::simd::portable::Portable, "portable");
        #[cfg(target_arch = "x86_64")]
        {
            use crate::simd::pair::Pair;
            if let Some(s) = crate::simd::x86_64::avx2::Avx2::new() {
                check_backend(s, "avx2");
                // Pairs test their halves' range together (`Simd::scale_by_pow2_floor`).
                check_backend(Pair(Pair(s)), "avx2 ×4");
            }
            if let Some(s) = crate::simd::x86_64::avx512::Avx512::new() {
                check_backend(s, "avx512");
                check_backend(Pair(Pair(s)), "avx512 ×4");
            }
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(s) = crate::simd::aarch64::neon::Neon::new() {
            check_backend(s, "neon");
        }
    }

    #[test]
    fn special_points() {
        let s = Scalar;
        assert_eq!(exp(s, 0.0), 1.0);
        assert_eq!(exp(s, f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(s, -200.0), 0.0);
        assert!(exp(s, -100.0) > 0.0);
        assert_eq!(log1p(s, 0.0), 0.0);
        assert_eq!(log1p(s, 1e-30), 1e-30);
        assert_eq!(ln(s, 1.0), 0.0);
        assert_eq!(ln(s, 0.0), f32::NEG_INFINITY);
    }
}
