//! NEON: four lanes in `v` registers, with fused multiply-add.

use core::arch::aarch64::*;

use crate::simd::{row_parts, set_row_parts, Simd};
use crate::sum::Wide;

/// The NEON backend; a value exists only where the CPU runs NEON (every aarch64 Linux CPU).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Neon(());

impl Neon {
    /// The token, if this CPU has NEON.
    #[inline]
    pub(crate) fn new() -> Option<Neon> {
        crate::Backend::Neon.is_available().then_some(Neon(()))
    }
}

// SAFETY (every `unsafe` block below): a `Neon` value exists only when `Backend::Neon` is
// available (checked by `Neon::new`); loads and stores go through slices of at least four
// values, bounds-checked by the slicing.
impl Simd for Neon {
    type V = float32x4_t;
    type M = uint32x4_t;
    type Acc = [float64x2_t; 2];
    type Array = [f32; 4];
    const LANES: usize = 4;
    const TRANSPOSES: bool = true;
    /// Four columns at a time: each row's four values in one load ([`row_parts`]), then a 4×4
    /// transpose in registers (8 shuffles), where the default moves every value through memory
    /// on its own.
    #[inline(always)]
    fn load_columns(self, rows: &[f32], c: usize, from: usize) -> [float32x4_t; 16] {
        let rows = &rows[..4 * c];
        let mut columns = [self.splat(0.0); 16];
        for (q, quad) in columns.chunks_exact_mut(4).enumerate() {
            let at = from + 4 * q;
            if at >= c {
                break;
            }
            quad.copy_from_slice(&transpose4(self, row_parts(self, rows, c, at)));
        }
        columns
    }
    /// [`load_columns`](Simd::load_columns) backwards, the last four columns first: a row
    /// part's whole vector may run over the next row's first three columns, which the first
    /// four columns of this call, written last (or the call from column 0), then overwrite.
    #[inline(always)]
    fn store_columns(self, columns: &[float32x4_t; 16], c: usize, from: usize, rows: &mut [f32]) {
        let rows = &mut rows[..4 * c];
        for (q, quad) in columns.chunks_exact(4).enumerate().rev() {
            let at = from + 4 * q;
            if at >= c {
                continue;
            }
            set_row_parts(self, rows, c, at, &transpose4(self, [quad[0], quad[1], quad[2], quad[3]]));
        }
    }

    #[inline(always)]
    fn splat(self, x: f32) -> float32x4_t {
        unsafe { vdupq_n_f32(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> float32x4_t {
        let s = &s[..4];
        unsafe { vld1q_f32(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: float32x4_t, s: &mut [f32]) {
        let s = &mut s[..4];
        unsafe { vst1q_f32(s.as_mut_ptr(), v) }
    }
    /// The first lanes a half and a lane at a time (the default copies them to a buffer with
    /// `memcpy`).
    #[inline(always)]
    fn load_partial(self, s: &[f32], n: usize, pad: f32) -> float32x4_t {
        debug_assert!(n < 4, "a partial load has fewer than four lanes");
        let s = &s[..n];
        unsafe {
            let padded = vdupq_n_f32(pad);
            if n < 2 {
                return if n == 1 { vld1q_lane_f32::<0>(s.as_ptr(), padded) } else { padded };
            }
            let halves = vcombine_f32(vld1_f32(s.as_ptr()), vget_high_f32(padded));
            if n == 2 {
                halves
            } else {
                vld1q_lane_f32::<2>(s[2..].as_ptr(), halves)
            }
        }
    }
    #[inline(always)]
    fn store_partial(self, v: float32x4_t, s: &mut [f32], n: usize) {
        debug_assert!(n < 4, "a partial store has fewer than four lanes");
        let s = &mut s[..n];
        unsafe {
            if n < 2 {
                if n == 1 {
                    vst1q_lane_f32::<0>(s.as_mut_ptr(), v);
                }
                return;
            }
            vst1_f32(s.as_mut_ptr(), vget_low_f32(v));
            if n > 2 {
                vst1q_lane_f32::<2>(s[2..].as_mut_ptr(), v);
            }
        }
    }
    #[inline(always)]
    fn add(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        unsafe { vaddq_f32(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        unsafe { vsubq_f32(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        unsafe { vmulq_f32(a, b) }
    }
    #[inline(always)]
    fn div(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        unsafe { vdivq_f32(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        unsafe { vfmaq_f32(c, a, b) }
    }
    #[inline(always)]
    fn max(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        unsafe { vmaxnmq_f32(a, b) }
    }
    #[inline(always)]
    fn sqrt(self, a: float32x4_t) -> float32x4_t {
        unsafe { vsqrtq_f32(a) }
    }
    #[inline(always)]
    fn abs(self, a: float32x4_t) -> float32x4_t {
        unsafe { vabsq_f32(a) }
    }
    #[inline(always)]
    fn neg(self, a: float32x4_t) -> float32x4_t {
        unsafe { vnegq_f32(a) }
    }
    #[inline(always)]
    fn lt(self, a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        unsafe { vcltq_f32(a, b) }
    }
    /// An integer compare of the bits: one instruction, where the float compare needs a
    /// negation after it.
    #[inline(always)]
    fn magnitude_beyond(self, ax: float32x4_t, bound: f32) -> uint32x4_t {
        unsafe { vcgtq_u32(vreinterpretq_u32_f32(ax), vdupq_n_u32(bound.to_bits())) }
    }
    #[inline(always)]
    fn le(self, a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        unsafe { vcleq_f32(a, b) }
    }
    #[inline(always)]
    fn eq(self, a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        unsafe { vceqq_f32(a, b) }
    }
    #[inline(always)]
    fn mask_and(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        unsafe { vandq_u32(a, b) }
    }
    #[inline(always)]
    fn mask_or(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        unsafe { vorrq_u32(a, b) }
    }
    #[inline(always)]
    fn mask_not(self, a: uint32x4_t) -> uint32x4_t {
        unsafe { vmvnq_u32(a) }
    }
    #[inline(always)]
    fn mask_xor(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        unsafe { veorq_u32(a, b) }
    }
    #[inline(always)]
    fn select(self, m: uint32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        unsafe { vbslq_f32(m, a, b) }
    }
    #[inline(always)]
    fn any(self, m: uint32x4_t) -> bool {
        unsafe { vmaxvq_u32(m) != 0 }
    }
    #[inline(always)]
    fn round(self, a: float32x4_t) -> float32x4_t {
        unsafe { vrndnq_f32(a) }
    }
    #[inline(always)]
    fn frexp(self, x: float32x4_t) -> (float32x4_t, float32x4_t) {
        unsafe {
            let bits = vreinterpretq_u32_f32(x);
            let k = vcvtq_f32_u32(vshrq_n_u32::<23>(bits));
            let f = vorrq_u32(vandq_u32(bits, vdupq_n_u32(0x007f_ffff)), vdupq_n_u32(0x3f80_0000));
            (vreinterpretq_f32_u32(f), vsubq_f32(k, vdupq_n_f32(127.0)))
        }
    }
    #[inline(always)]
    fn pow2(self, n: float32x4_t) -> float32x4_t {
        unsafe {
            let e = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
            vreinterpretq_f32_s32(vshlq_n_s32::<23>(e))
        }
    }
    #[inline(always)]
    fn add_exponent(self, a: float32x4_t, n: float32x4_t) -> float32x4_t {
        unsafe {
            let e = vshlq_n_s32::<23>(vcvtq_s32_f32(n));
            vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(a), e))
        }
    }
    #[inline(always)]
    fn reduce_add(self, a: float32x4_t) -> f32 {
        unsafe { vaddvq_f32(a) }
    }
    #[inline(always)]
    fn reduce_max(self, a: float32x4_t) -> f32 {
        unsafe { vmaxnmvq_f32(a) }
    }
    #[inline(always)]
    fn acc_zero(self) -> [float64x2_t; 2] {
        unsafe { [vdupq_n_f64(0.0); 2] }
    }
    #[inline(always)]
    fn acc_add(self, acc: [float64x2_t; 2], v: float32x4_t) -> [float64x2_t; 2] {
        unsafe { [vaddq_f64(acc[0], vcvt_f64_f32(vget_low_f32(v))), vaddq_f64(acc[1], vcvt_high_f64_f32(v))] }
    }
    #[inline(always)]
    fn acc_add_product(self, acc: [float64x2_t; 2], a: float32x4_t, b: float32x4_t) -> [float64x2_t; 2] {
        unsafe {
            [
                vfmaq_f64(acc[0], vcvt_f64_f32(vget_low_f32(a)), vcvt_f64_f32(vget_low_f32(b))),
                vfmaq_f64(acc[1], vcvt_high_f64_f32(a), vcvt_high_f64_f32(b)),
            ]
        }
    }
    #[inline(always)]
    fn acc_total(self, acc: [float64x2_t; 2]) -> Wide {
        unsafe { vaddvq_f64(vaddq_f64(acc[0], acc[1])) }
    }
}

/// Transposes a 4×4 block: lane `j` of `v[k]` goes to lane `k` of the result's `[j]`. Pairs of
/// rows interleave their lanes (`trn1`, `trn2`), then pairs of pairs their 64-bit halves: 8
/// shuffles.
#[inline(always)]
fn transpose4(_: Neon, v: [float32x4_t; 4]) -> [float32x4_t; 4] {
    // SAFETY: the token exists, so the CPU runs NEON.
    unsafe {
        let (t0, t1) = (vtrn1q_f32(v[0], v[1]), vtrn2q_f32(v[0], v[1]));
        let (t2, t3) = (vtrn1q_f32(v[2], v[3]), vtrn2q_f32(v[2], v[3]));
        let halves = |a: float32x4_t, b: float32x4_t| {
            let (a, b) = (vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(b));
            (vreinterpretq_f32_f64(vtrn1q_f64(a, b)), vreinterpretq_f32_f64(vtrn2q_f64(a, b)))
        };
        let ((c0, c2), (c1, c3)) = (halves(t0, t2), halves(t1, t3));
        [c0, c1, c2, c3]
    }
}
