//! AVX-512F: sixteen lanes in `zmm` registers, masks in `k` registers.

use core::arch::x86_64::*;

use crate::simd::{math, Simd};
use crate::sum::Wide;

/// The AVX-512 backend; a value exists only where the CPU runs AVX-512F (and AVX2+FMA).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// The token, if this CPU has AVX-512F.
    #[inline]
    pub(crate) fn new() -> Option<Avx512> {
        crate::Backend::Avx512.is_available().then_some(Avx512(()))
    }
}

// SAFETY (every `unsafe` block below): an `Avx512` value exists only when `Backend::Avx512` is
// available, i.e. the CPU supports AVX-512F (checked by `Avx512::new`); loads and stores go
// through slices of at least sixteen values, or (masked) of at least the `n` lanes they touch,
// bounds-checked by the slicing.
impl Simd for Avx512 {
    type V = __m512;
    type M = __mmask16;
    type Acc = [__m512d; 2];
    type Array = [f32; 16];
    const LANES: usize = 16;

    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m512 {
        let s = &s[..16];
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: __m512, s: &mut [f32]) {
        let s = &mut s[..16];
        unsafe { _mm512_storeu_ps(s.as_mut_ptr(), v) }
    }
    /// A masked load: the lanes past `n` are not read (no fault), so no copy is needed.
    #[inline(always)]
    fn load_partial(self, s: &[f32], n: usize, pad: f32) -> __m512 {
        let s = &s[..n];
        let k = first_lanes(n);
        unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(pad), k, s.as_ptr()) }
    }
    #[inline(always)]
    fn store_partial(self, v: __m512, s: &mut [f32], n: usize) {
        let s = &mut s[..n];
        let k = first_lanes(n);
        unsafe { _mm512_mask_storeu_ps(s.as_mut_ptr(), k, v) }
    }
    const TRANSPOSES: bool = true;
    /// Each row's part in one masked load (its `c − from` values, sixteen at most: the mask is
    /// the same for every row, and AVX-512's masked loads cost what whole ones do), then a
    /// 16×16 transpose in registers: 64 shuffles for 256 values, where the default moves every
    /// value through memory on its own (that, or `vgatherdps`, cost about 1.1 ns/element on
    /// Zen 4, C = 10, and kept AVX-512 at one row per vector until this).
    #[inline(always)]
    fn load_columns(self, rows: &[f32], c: usize, from: usize) -> [__m512; 16] {
        let (rows, n) = (&rows[..16 * c], (c - from).min(16));
        let k = first_lanes(n);
        let mut block = [self.splat(0.0); 16];
        for (r, v) in block.iter_mut().enumerate() {
            let part = &rows[r * c + from..][..n];
            *v = unsafe { _mm512_maskz_loadu_ps(k, part.as_ptr()) };
        }
        transpose16(self, &mut block);
        block
    }
    /// [`load_columns`](Simd::load_columns) backwards: transposes, then each row's part in one
    /// masked store (so nothing outside the parts is written).
    #[inline(always)]
    fn store_columns(self, columns: &[__m512; 16], c: usize, from: usize, rows: &mut [f32]) {
        let (rows, n) = (&mut rows[..16 * c], (c - from).min(16));
        let k = first_lanes(n);
        let mut block = *columns;
        transpose16(self, &mut block);
        for (r, &v) in block.iter().enumerate() {
            let part = &mut rows[r * c + from..][..n];
            unsafe { _mm512_mask_storeu_ps(part.as_mut_ptr(), k, v) }
        }
    }
    /// One masked add (on Zen 4, an add pipe rather than a blend on the FMA pipes).
    #[inline(always)]
    fn add_where(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mask_add_ps(a, m, a, b) }
    }
    #[inline(always)]
    fn add_unless(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mask_add_ps(a, !m, a, b) }
    }
    /// An integer compare of the bits (on Zen 4, off the FMA pipes).
    #[inline(always)]
    fn magnitude_beyond(self, ax: __m512, bound: f32) -> __mmask16 {
        unsafe {
            let bound = _mm512_set1_epi32(bound.to_bits() as i32);
            _mm512_cmpgt_epu32_mask(_mm512_castps_si512(ax), bound)
        }
    }
    const TABLE_EXP: bool = true;
    const TABLE_LOG1P: bool = true;
    /// One `vpermps`, which reads the low four bits of each index lane.
    #[inline(always)]
    fn lookup16(self, table: &[f32; 16], index: __m512) -> __m512 {
        unsafe { _mm512_permutexvar_ps(_mm512_castps_si512(index), _mm512_loadu_ps(table.as_ptr())) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn sqrt(self, a: __m512) -> __m512 {
        unsafe { _mm512_sqrt_ps(a) }
    }
    #[inline(always)]
    fn abs(self, a: __m512) -> __m512 {
        unsafe { _mm512_abs_ps(a) }
    }
    #[inline(always)]
    fn neg(self, a: __m512) -> __m512 {
        unsafe { _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(i32::MIN))) }
    }
    #[inline(always)]
    fn lt(self, a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn eq(self, a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b) }
    }
    #[inline(always)]
    fn mask_and(self, a: __mmask16, b: __mmask16) -> __mmask16 {
        a & b
    }
    #[inline(always)]
    fn mask_or(self, a: __mmask16, b: __mmask16) -> __mmask16 {
        a | b
    }
    #[inline(always)]
    fn mask_not(self, a: __mmask16) -> __mmask16 {
        !a
    }
    #[inline(always)]
    fn mask_xor(self, a: __mmask16, b: __mmask16) -> __mmask16 {
        a ^ b
    }
    #[inline(always)]
    fn select(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mask_blend_ps(m, b, a) }
    }
    #[inline(always)]
    fn any(self, m: __mmask16) -> bool {
        m != 0
    }
    #[inline(always)]
    fn round(self, a: __m512) -> __m512 {
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    fn frexp(self, x: __m512) -> (__m512, __m512) {
        unsafe { (_mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC>(x), _mm512_getexp_ps(x)) }
    }
    #[inline(always)]
    fn pow2(self, n: __m512) -> __m512 {
        unsafe { _mm512_scalef_ps(_mm512_set1_ps(1.0), n) }
    }
    /// `vscalefps` scales with one rounding, subnormal results included.
    #[inline(always)]
    fn scale_by_pow2(self, a: __m512, n: __m512) -> __m512 {
        unsafe { _mm512_scalef_ps(a, n) }
    }
    /// `vscalefps` scales by `2^⌊q⌋` itself.
    #[inline(always)]
    fn scale_by_pow2_floor(self, a: __m512, t: __m512) -> __m512 {
        unsafe { _mm512_scalef_ps(a, _mm512_sub_ps(t, _mm512_set1_ps(math::SIXTEENTHS))) }
    }
    const SCALES_SUBNORMALS: bool = true;
    #[inline(always)]
    fn reduce_add(self, a: __m512) -> f32 {
        unsafe { _mm512_reduce_add_ps(a) }
    }
    #[inline(always)]
    fn reduce_max(self, a: __m512) -> f32 {
        unsafe { _mm512_reduce_max_ps(a) }
    }
    #[inline(always)]
    fn acc_zero(self) -> [__m512d; 2] {
        unsafe { [_mm512_setzero_pd(); 2] }
    }
    #[inline(always)]
    fn acc_add(self, acc: [__m512d; 2], v: __m512) -> [__m512d; 2] {
        unsafe {
            let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
            let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v))));
            [_mm512_add_pd(acc[0], lo), _mm512_add_pd(acc[1], hi)]
        }
    }
    #[inline(always)]
    fn acc_add_product(self, acc: [__m512d; 2], a: __m512, b: __m512) -> [__m512d; 2] {
        unsafe {
            let lo = |v: __m512| _mm512_cvtps_pd(_mm512_castps512_ps256(v));
            let hi = |v: __m512| {
                _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v))))
            };
            [_mm512_fmadd_pd(lo(a), lo(b), acc[0]), _mm512_fmadd_pd(hi(a), hi(b), acc[1])]
        }
    }
    #[inline(always)]
    fn acc_total(self, acc: [__m512d; 2]) -> Wide {
        unsafe { _mm512_reduce_add_pd(_mm512_add_pd(acc[0], acc[1])) }
    }
}

/// The mask of the first `n` lanes (`n ≤ 16`).
#[inline(always)]
fn first_lanes(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// Transposes a 16×16 block: lane `j` of `v[k]` goes to lane `k` of `v[j]`. Within each 128-bit
/// block, pairs of rows interleave (`unpck`), then pairs of pairs (`shufps`), as in AVX2's 8×8
/// transpose; the 4×4 arrangement of 128-bit blocks that leaves is then transposed in two rounds
/// of `vshuff32x4`: 64 shuffles.
#[inline(always)]
fn transpose16(_: Avx512, v: &mut [__m512; 16]) {
    // SAFETY: the token exists, so the CPU runs AVX-512F.
    unsafe {
        // t[2i], t[2i+1]: rows 2i and 2i+1 interleaved, from the low and high halves of each
        // 128-bit block.
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
        }
        // u[4i+m]: 128-bit block b holds column 4b+m of rows 4i..4i+4.
        let mut u = [_mm512_setzero_ps(); 16];
        for i in 0..4 {
            u[4 * i] = _mm512_shuffle_ps::<0x44>(t[4 * i], t[4 * i + 2]);
            u[4 * i + 1] = _mm512_shuffle_ps::<0xee>(t[4 * i], t[4 * i + 2]);
            u[4 * i + 2] = _mm512_shuffle_ps::<0x44>(t[4 * i + 1], t[4 * i + 3]);
            u[4 * i + 3] = _mm512_shuffle_ps::<0xee>(t[4 * i + 1], t[4 * i + 3]);
        }
        // Column 4b+m gathers block b of u[m], u[4+m], u[8+m], u[12+m]: blocks 0, 1 and 2, 3 of
        // each pair first, then the even and odd blocks of those.
        for m in 0..4 {
            let (a, b, c, d) = (u[m], u[4 + m], u[8 + m], u[12 + m]);
            let ab01 = _mm512_shuffle_f32x4::<0x44>(a, b);
            let ab23 = _mm512_shuffle_f32x4::<0xee>(a, b);
            let cd01 = _mm512_shuffle_f32x4::<0x44>(c, d);
            let cd23 = _mm512_shuffle_f32x4::<0xee>(c, d);
            v[m] = _mm512_shuffle_f32x4::<0x88>(ab01, cd01);
            v[4 + m] = _mm512_shuffle_f32x4::<0xdd>(ab01, cd01);
            v[8 + m] = _mm512_shuffle_f32x4::<0x88>(ab23, cd23);
            v[12 + m] = _mm512_shuffle_f32x4::<0xdd>(ab23, cd23);
        }
    }
}
