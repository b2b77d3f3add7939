//! AVX2 with FMA: eight lanes in `ymm` registers.

use core::arch::x86_64::*;

use crate::simd::{row_parts, set_row_parts, Simd};
use crate::sum::Wide;

/// The AVX2+FMA backend; a value exists only where the CPU runs AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// The token, if this CPU has AVX2 and FMA.
    #[inline]
    pub(crate) fn new() -> Option<Avx2> {
        crate::Backend::Avx2.is_available().then_some(Avx2(()))
    }
}

// SAFETY (every `unsafe` block below): an `Avx2` value exists only when `Backend::Avx2` is
// available, i.e. the CPU supports AVX2 and FMA (checked by `Avx2::new`); loads and stores go
// through slices of at least eight values, or (masked) of at least the `n` lanes they touch,
// bounds-checked by the slicing.
impl Simd for Avx2 {
    type V = __m256;
    type M = __m256;
    type Acc = [__m256d; 2];
    type Array = [f32; 8];
    const LANES: usize = 8;

    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m256 {
        let s = &s[..8];
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: __m256, s: &mut [f32]) {
        let s = &mut s[..8];
        unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) }
    }
    /// A masked load: the lanes past `n` are not read (no fault), so no copy is needed.
    #[inline(always)]
    fn load_partial(self, s: &[f32], n: usize, pad: f32) -> __m256 {
        let s = &s[..n];
        unsafe {
            let mask = first_lanes(self, n);
            let v = _mm256_maskload_ps(s.as_ptr(), mask);
            _mm256_blendv_ps(_mm256_set1_ps(pad), v, _mm256_castsi256_ps(mask))
        }
    }
    #[inline(always)]
    fn store_partial(self, v: __m256, s: &mut [f32], n: usize) {
        let s = &mut s[..n];
        unsafe { _mm256_maskstore_ps(s.as_mut_ptr(), first_lanes(self, n), v) }
    }
    const TRANSPOSES: bool = true;
    /// Each row in one or two loads (its classes from `from`, eight at a time), then one or two
    /// 8×8 transposes in registers: 24 shuffles for 64 values, where the default moves every
    /// value through memory on its own. Measured on Zen 3 (fused, class indices, N = 2^16, best of 12
    /// interleaved runs, ns/element): C = 10 2.69 → 2.28, C = 16 2.37 → 1.73; instructions per
    /// element (callgrind) 30.0 → 22.5 and 27.1 → 17.2. Both halves are built whole and returned
    /// by value, so the compiler keeps them in registers up to the caller's buffer (filled into a
    /// zeroed temporary by a loop that stopped at `c`, and copied from there, they cost C = 10
    /// 20.8 → 22.5 instructions per element).
    #[inline(always)]
    fn load_columns(self, rows: &[f32], c: usize, from: usize) -> [__m256; 16] {
        let rows = &rows[..8 * c];
        let low = columns_of_part(self, rows, c, from);
        let high = if c > from + 8 { columns_of_part(self, rows, c, from + 8) } else { [self.splat(0.0); 8] };
        let mut columns = [self.splat(0.0); 16];
        columns[..8].copy_from_slice(&low);
        columns[8..].copy_from_slice(&high);
        columns
    }
    /// [`load_columns`](Simd::load_columns) backwards: transposes, then the rows' parts through
    /// [`set_row_parts`], those from `from + 8` first: a part's whole vector may run over the
    /// next row's first columns, which that row's part, the parts from `from` (written last) or
    /// the call from column 0 then overwrite. Masked stores only where a whole vector would leave
    /// `rows`: `vmaskmovps` stores are slow on Zen 3, where masked stores for every row part took
    /// C = 10 from 2.23 to 2.55 ns/element (best of 10 interleaved runs).
    #[inline(always)]
    fn store_columns(self, columns: &[__m256; 16], c: usize, from: usize, rows: &mut [f32]) {
        if c > from + 8 {
            set_row_parts(self, rows, c, from + 8, &transposed(self, &columns[8..]));
        }
        set_row_parts(self, rows, c, from, &transposed(self, &columns[..8]));
    }
    const TABLE_EXP: bool = true;
    /// Two `vpermps` (each reads the low three bits of the index) and a blend on bit 3.
    #[inline(always)]
    fn lookup16(self, table: &[f32; 16], index: __m256) -> __m256 {
        unsafe {
            let i = _mm256_castps_si256(index);
            let low = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table.as_ptr()), i);
            let high = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table[8..].as_ptr()), i);
            _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32::<28>(i)))
        }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn sqrt(self, a: __m256) -> __m256 {
        unsafe { _mm256_sqrt_ps(a) }
    }
    #[inline(always)]
    fn abs(self, a: __m256) -> __m256 {
        unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
    }
    #[inline(always)]
    fn neg(self, a: __m256) -> __m256 {
        unsafe { _mm256_xor_ps(_mm256_set1_ps(-0.0), a) }
    }
    /// `a + (m & b)`: every AVX2 mask is whole lanes of ones or zeros (comparisons, and logic
    /// on them), so an `and` selects, where the default's blend on the sign bit alone made the
    /// compiler rebuild the mask from its sign first.
    #[inline(always)]
    fn add_where(self, m: __m256, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, _mm256_and_ps(m, b)) }
    }
    #[inline(always)]
    fn add_unless(self, m: __m256, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, _mm256_andnot_ps(m, b)) }
    }
    /// An integer compare of the bits: one instruction, where the float compare needs a
    /// negation after it.
    #[inline(always)]
    fn magnitude_beyond(self, ax: __m256, bound: f32) -> __m256 {
        unsafe {
            let bound = _mm256_set1_epi32(bound.to_bits() as i32);
            _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_castps_si256(ax), bound))
        }
    }
    #[inline(always)]
    fn lt(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn eq(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b) }
    }
    #[inline(always)]
    fn mask_and(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_and_ps(a, b) }
    }
    #[inline(always)]
    fn mask_or(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_or_ps(a, b) }
    }
    #[inline(always)]
    fn mask_not(self, a: __m256) -> __m256 {
        unsafe { _mm256_xor_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(-1))) }
    }
    #[inline(always)]
    fn mask_xor(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_xor_ps(a, b) }
    }
    #[inline(always)]
    fn select(self, m: __m256, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_blendv_ps(b, a, m) }
    }
    #[inline(always)]
    fn any(self, m: __m256) -> bool {
        unsafe { _mm256_movemask_ps(m) != 0 }
    }
    #[inline(always)]
    fn round(self, a: __m256) -> __m256 {
        unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    fn frexp(self, x: __m256) -> (__m256, __m256) {
        unsafe {
            let bits = _mm256_castps_si256(x);
            let k = _mm256_srli_epi32::<23>(bits);
            let f = _mm256_or_si256(
                _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
                _mm256_set1_epi32(0x3f80_0000),
            );
            (_mm256_castsi256_ps(f), _mm256_sub_ps(_mm256_cvtepi32_ps(k), _mm256_set1_ps(127.0)))
        }
    }
    #[inline(always)]
    fn pow2(self, n: __m256) -> __m256 {
        unsafe {
            let e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
            _mm256_castsi256_ps(_mm256_slli_epi32::<23>(e))
        }
    }
    #[inline(always)]
    fn add_exponent(self, a: __m256, n: __m256) -> __m256 {
        let e = unsafe { _mm256_slli_epi32::<23>(_mm256_cvtps_epi32(n)) };
        add_to_exponent_field(self, a, e)
    }
    /// ⌊q⌋ in the exponent field straight from `t`'s bits, which are `bits(SIXTEENTHS) + 16·q`:
    /// shifted left by 19, the sum's first term leaves the 32 bits and the second is `q·2^23`,
    /// whose sixteenths (bits 19–22) the mask clears. Two integer operations where rounding and
    /// converting `q` took four: binary γ=2 fused on Zen 3, with the range test shared by
    /// [`Pair`](crate::simd::pair::Pair)'s halves, 1.80 → 1.66 ns/element (q25 of 12 interleaved
    /// runs), 12.59 → 12.50 instructions per element.
    #[inline(always)]
    fn add_floor_exponent(self, a: __m256, t: __m256) -> __m256 {
        let e = unsafe {
            let shifted = _mm256_slli_epi32::<19>(_mm256_castps_si256(t));
            _mm256_and_si256(shifted, _mm256_set1_epi32(0xff80_0000_u32 as i32))
        };
        add_to_exponent_field(self, a, e)
    }
    #[inline(always)]
    fn reduce_add(self, a: __m256) -> f32 {
        unsafe {
            let h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
            let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps::<1>(h, h)))
        }
    }
    #[inline(always)]
    fn reduce_max(self, a: __m256) -> f32 {
        unsafe {
            let h = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
            let h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps::<1>(h, h)))
        }
    }
    #[inline(always)]
    fn acc_zero(self) -> [__m256d; 2] {
        unsafe { [_mm256_setzero_pd(); 2] }
    }
    #[inline(always)]
    fn acc_add(self, acc: [__m256d; 2], v: __m256) -> [__m256d; 2] {
        unsafe {
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
            [_mm256_add_pd(acc[0], lo), _mm256_add_pd(acc[1], hi)]
        }
    }
    #[inline(always)]
    fn acc_add_product(self, acc: [__m256d; 2], a: __m256, b: __m256) -> [__m256d; 2] {
        unsafe {
            let lo = |v: __m256| _mm256_cvtps_pd(_mm256_castps256_ps128(v));
            let hi = |v: __m256| _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
            [_mm256_fmadd_pd(lo(a), lo(b), acc[0]), _mm256_fmadd_pd(hi(a), hi(b), acc[1])]
        }
    }
    #[inline(always)]
    fn acc_total(self, acc: [__m256d; 2]) -> Wide {
        unsafe {
            let s = _mm256_add_pd(acc[0], acc[1]);
            let h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
            _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)))
        }
    }
}

/// `a · 2^n` for `e = n·2^23` (a whole number `n` in the exponent field) where that stays normal:
/// an integer addition to the bit pattern ([`Simd::add_exponent`], [`Simd::add_floor_exponent`]).
#[inline(always)]
fn add_to_exponent_field(_: Avx2, a: __m256, e: __m256i) -> __m256 {
    // SAFETY: the token exists, so the CPU runs AVX2.
    unsafe { _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(a), e)) }
}

/// The eight vectors of `v` (at least eight), transposed.
#[inline(always)]
fn transposed(s: Avx2, v: &[__m256]) -> [__m256; 8] {
    let mut block = [s.splat(0.0); 8];
    block.copy_from_slice(&v[..8]);
    transpose8(s, &mut block);
    block
}

/// Columns `at..at + 8` of the eight rows of `c` values in `rows`: each row's part in one load
/// ([`row_parts`]), then a transpose.
#[inline(always)]
fn columns_of_part(s: Avx2, rows: &[f32], c: usize, at: usize) -> [__m256; 8] {
    let mut block = row_parts(s, rows, c, at);
    transpose8(s, &mut block);
    block
}

/// The mask of the first `n` lanes (all of them from 8 on).
#[inline(always)]
fn first_lanes(_: Avx2, n: usize) -> __m256i {
    let n = n.min(8) as i32;
    // SAFETY: the token exists, so the CPU runs AVX2.
    unsafe { _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
}

/// Transposes an 8×8 block: lane `j` of `v[k]` goes to lane `k` of `v[j]`. Pairs of rows
/// interleave (`unpck`), then pairs of pairs (`shufps`), then the 128-bit halves swap
/// (`vperm2f128`): 24 shuffles.
#[inline(always)]
fn transpose8(_: Avx2, v: &mut [__m256; 8]) {
    // SAFETY: the token exists, so the CPU runs AVX.
    unsafe {
        let t0 = _mm256_unpacklo_ps(v[0], v[1]);
        let t1 = _mm256_unpackhi_ps(v[0], v[1]);
        let t2 = _mm256_unpacklo_ps(v[2], v[3]);
        let t3 = _mm256_unpackhi_ps(v[2], v[3]);
        let t4 = _mm256_unpacklo_ps(v[4], v[5]);
        let t5 = _mm256_unpackhi_ps(v[4], v[5]);
        let t6 = _mm256_unpacklo_ps(v[6], v[7]);
        let t7 = _mm256_unpackhi_ps(v[6], v[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xee>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xee>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xee>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xee>(t5, t7);
        v[0] = _mm256_permute2f128_ps::<0x20>(u0, u4);
        v[1] = _mm256_permute2f128_ps::<0x20>(u1, u5);
        v[2] = _mm256_permute2f128_ps::<0x20>(u2, u6);
        v[3] = _mm256_permute2f128_ps::<0x20>(u3, u7);
        v[4] = _mm256_permute2f128_ps::<0x31>(u0, u4);
        v[5] = _mm256_permute2f128_ps::<0x31>(u1, u5);
        v[6] = _mm256_permute2f128_ps::<0x31>(u2, u6);
        v[7] = _mm256_permute2f128_ps::<0x31>(u3, u7);
    }
}
