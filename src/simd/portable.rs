//! Eight lanes of the `wide` crate: SSE2 on x86_64, NEON on aarch64, arrays elsewhere.
//!
//! `wide` picks its instructions when the crate is compiled, so this backend is what a CPU
//! without AVX2 (or any target without a hand-written backend) runs. Its `mul_add` is fused
//! only where the compile-time target has FMA.

use wide::{f32x8, f64x4, i32x8, u32x8};

use super::Simd;
use crate::sum::Wide;

/// The portable backend. Always available.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

impl Simd for Portable {
    type V = f32x8;
    type M = f32x8;
    type Acc = [f64x4; 2];
    type Array = [f32; 8];
    const LANES: usize = 8;

    #[inline(always)]
    fn splat(self, x: f32) -> f32x8 {
        f32x8::splat(x)
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> f32x8 {
        let a: [f32; 8] = s[..8].try_into().unwrap_or([0.0; 8]);
        f32x8::from(a)
    }
    #[inline(always)]
    fn store(self, v: f32x8, s: &mut [f32]) {
        s[..8].copy_from_slice(&v.to_array());
    }
    #[inline(always)]
    fn add(self, a: f32x8, b: f32x8) -> f32x8 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32x8, b: f32x8) -> f32x8 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32x8, b: f32x8) -> f32x8 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32x8, b: f32x8) -> f32x8 {
        a / b
    }
    #[inline(always)]
    fn mul_add(self, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn max(self, a: f32x8, b: f32x8) -> f32x8 {
        a.fast_max(b)
    }
    #[inline(always)]
    fn sqrt(self, a: f32x8) -> f32x8 {
        a.sqrt()
    }
    #[inline(always)]
    fn abs(self, a: f32x8) -> f32x8 {
        a.abs()
    }
    #[inline(always)]
    fn neg(self, a: f32x8) -> f32x8 {
        -a
    }
    #[inline(always)]
    fn lt(self, a: f32x8, b: f32x8) -> f32x8 {
        a.simd_lt(b)
    }
    #[inline(always)]
    fn le(self, a: f32x8, b: f32x8) -> f32x8 {
        a.simd_le(b)
    }
    #[inline(always)]
    fn eq(self, a: f32x8, b: f32x8) -> f32x8 {
        a.simd_eq(b)
    }
    #[inline(always)]
    fn mask_and(self, a: f32x8, b: f32x8) -> f32x8 {
        a & b
    }
    #[inline(always)]
    fn mask_or(self, a: f32x8, b: f32x8) -> f32x8 {
        a | b
    }
    #[inline(always)]
    fn mask_not(self, a: f32x8) -> f32x8 {
        !a
    }
    #[inline(always)]
    fn mask_xor(self, a: f32x8, b: f32x8) -> f32x8 {
        a ^ b
    }
    #[inline(always)]
    fn select(self, m: f32x8, a: f32x8, b: f32x8) -> f32x8 {
        m.bitselect(a, b)
    }
    #[inline(always)]
    fn any(self, m: f32x8) -> bool {
        m.any()
    }
    #[inline(always)]
    fn round(self, a: f32x8) -> f32x8 {
        const MAGIC: f32 = 12_582_912.0;
        (a + f32x8::splat(MAGIC)) - f32x8::splat(MAGIC)
    }
    #[inline(always)]
    fn frexp(self, x: f32x8) -> (f32x8, f32x8) {
        let bits: u32x8 = bytemuck::cast(x);
        let k: i32x8 = bytemuck::cast((bits >> 23) & u32x8::splat(0xff));
        let f: f32x8 = bytemuck::cast((bits & u32x8::splat(0x007f_ffff)) | u32x8::splat(0x3f80_0000));
        (f, f32x8::from_i32x8(k) - f32x8::splat(127.0))
    }
    #[inline(always)]
    fn pow2(self, n: f32x8) -> f32x8 {
        // (n + 127)·2^23 is a whole number below 2^31: convert it exactly and reuse its bits.
        let bits = ((n + f32x8::splat(127.0)) * f32x8::splat(8_388_608.0)).fast_trunc_int();
        bytemuck::cast(bits)
    }
    #[inline(always)]
    fn add_exponent(self, a: f32x8, n: f32x8) -> f32x8 {
        // n·2^23 is a whole number of magnitude below 2^31: converted exactly.
        let e = (n * f32x8::splat(8_388_608.0)).fast_trunc_int();
        bytemuck::cast(bytemuck::cast::<f32x8, i32x8>(a) + e)
    }
    #[inline(always)]
    fn reduce_add(self, a: f32x8) -> f32 {
        let l = a.to_array();
        ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
    }
    #[inline(always)]
    fn reduce_max(self, a: f32x8) -> f32 {
        a.to_array().iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
    }
    #[inline(always)]
    fn acc_zero(self) -> [f64x4; 2] {
        [f64x4::ZERO; 2]
    }
    #[inline(always)]
    fn acc_add(self, acc: [f64x4; 2], v: f32x8) -> [f64x4; 2] {
        let l = v.to_array();
        let lo = f64x4::from([l[0] as f64, l[1] as f64, l[2] as f64, l[3] as f64]);
        let hi = f64x4::from([l[4] as f64, l[5] as f64, l[6] as f64, l[7] as f64]);
        [acc[0] + lo, acc[1] + hi]
    }
    #[inline(always)]
    fn acc_add_product(self, acc: [f64x4; 2], a: f32x8, b: f32x8) -> [f64x4; 2] {
        // Each product spelt out: `array::map` is not always inlined (a call per group of the
        // sigmoid's blocks took binary γ=2 from 30.92 to 34.33 instructions per element).
        let (a, b) = (a.to_array(), b.to_array());
        let product = |j: usize| a[j] as f64 * b[j] as f64;
        let lo = f64x4::from([product(0), product(1), product(2), product(3)]);
        let hi = f64x4::from([product(4), product(5), product(6), product(7)]);
        [acc[0] + lo, acc[1] + hi]
    }
    #[inline(always)]
    #[allow(clippy::unnecessary_cast, reason = "Wide is f32 on targets without float64 hardware")]
    fn acc_total(self, acc: [f64x4; 2]) -> Wide {
        let l = (acc[0] + acc[1]).to_array();
        ((l[0] + l[1]) + (l[2] + l[3])) as Wide
    }
}
