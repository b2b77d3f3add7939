//! Two vectors of a backend in lockstep: a backend of twice the lanes whose every operation is
//! the same operation on two independent registers, side by side in the instruction stream.
//!
//! Why: the sigmoid kernel is one long dependency chain per vector (`exp`, two divisions,
//! `log1p`, the focusing factor: about 110 cycles of latency on Zen 4 for about 30 cycles of
//! arithmetic). Blocks unrolled one after another leave each chain's start beyond the
//! out-of-order window while the previous chain drains; two chains interleaved operation by
//! operation keep both FMA pipes fed. Pairs nest: a pair of pairs runs four chains (the AVX-512
//! sigmoid), a pair of those eight (the AVX2 sigmoid). The results are those of the inner
//! backend, lane for lane: nothing is reordered across lanes except the accumulator's final sum,
//! which is fixed (the first half's total plus the second's).

use core::marker::PhantomData;

use super::Simd;
use crate::sum::Wide;

/// Backend `S` with `2·S::LANES` lanes: the low half in `.0`, the high half in `.1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pair<S>(pub(crate) S);

/// `2·S::LANES` float32 values (at most 64: four AVX-512 vectors, `Pair(Pair(Avx512))`), for
/// lanes that leave the registers.
#[derive(Clone, Copy)]
pub(crate) struct PairArray<S> {
    values: [f32; 64],
    backend: PhantomData<S>,
}

impl<S: Simd> Default for PairArray<S> {
    fn default() -> Self {
        const { assert!(2 * S::LANES <= 64) };
        PairArray { values: [0.0; 64], backend: PhantomData }
    }
}

impl<S: Simd> AsRef<[f32]> for PairArray<S> {
    fn as_ref(&self) -> &[f32] {
        &self.values[..2 * S::LANES]
    }
}

impl<S: Simd> AsMut<[f32]> for PairArray<S> {
    fn as_mut(&mut self) -> &mut [f32] {
        &mut self.values[..2 * S::LANES]
    }
}

/// Applies a binary operation of `S` to both halves.
macro_rules! both {
    ($s:expr, $op:ident, $a:expr, $b:expr) => {
        ($s.$op($a.0, $b.0), $s.$op($a.1, $b.1))
    };
}

impl<S: Simd> Simd for Pair<S> {
    type V = (S::V, S::V);
    type M = (S::M, S::M);
    type Acc = (S::Acc, S::Acc);
    type Array = PairArray<S>;
    const LANES: usize = 2 * S::LANES;

    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        let v = self.0.splat(x);
        (v, v)
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> Self::V {
        (self.0.load(s), self.0.load(&s[S::LANES..]))
    }
    #[inline(always)]
    fn store(self, v: Self::V, s: &mut [f32]) {
        self.0.store(v.0, s);
        self.0.store(v.1, &mut s[S::LANES..]);
    }
    #[inline(always)]
    fn load_partial(self, s: &[f32], n: usize, pad: f32) -> Self::V {
        let l = S::LANES;
        match n {
            n if n < l => (self.0.load_partial(s, n, pad), self.0.splat(pad)),
            n if n == l => (self.0.load(s), self.0.splat(pad)),
            n => (self.0.load(s), self.0.load_partial(&s[l..], n - l, pad)),
        }
    }
    #[inline(always)]
    fn store_partial(self, v: Self::V, s: &mut [f32], n: usize) {
        let l = S::LANES;
        match n {
            n if n < l => self.0.store_partial(v.0, s, n),
            n if n == l => self.0.store(v.0, s),
            n => {
                self.0.store(v.0, s);
                self.0.store_partial(v.1, &mut s[l..], n - l);
            }
        }
    }

    const TRANSPOSES: bool = S::TRANSPOSES;
    /// With transposes in registers, the first `S::LANES` rows into the low halves and the
    /// others into the high halves; else a value at a time, without the halves' buffers.
    #[inline(always)]
    fn load_columns(self, rows: &[f32], c: usize, from: usize) -> [Self::V; 16] {
        if !S::TRANSPOSES {
            return super::columns_from_memory(self, rows, c, from);
        }
        let (first, second) = rows[..2 * S::LANES * c].split_at(S::LANES * c);
        let (low, high) = (self.0.load_columns(first, c, from), self.0.load_columns(second, c, from));
        let mut columns = [self.splat(0.0); 16];
        for j in 0..16 {
            columns[j] = (low[j], high[j]);
        }
        columns
    }
    #[inline(always)]
    fn store_columns(self, columns: &[Self::V; 16], c: usize, from: usize, rows: &mut [f32]) {
        if !S::TRANSPOSES {
            return super::columns_to_memory(self, columns, c, from, rows);
        }
        // One half at a time, through one buffer: with both halves' buffers filled first, the
        // compiler moved more of their vectors from stack slot to stack slot (C = 10 on AVX2: 75
        // → 50 moves a batch in the stores, 14.62 → 14.42 instructions per element; C = 3
        // 29.37 → 28.78).
        let (first, second) = rows[..2 * S::LANES * c].split_at_mut(S::LANES * c);
        let mut half = [self.0.splat(0.0); 16];
        for j in 0..16 {
            half[j] = columns[j].0;
        }
        self.0.store_columns(&half, c, from, first);
        for j in 0..16 {
            half[j] = columns[j].1;
        }
        self.0.store_columns(&half, c, from, second);
    }

    #[inline(always)]
    fn add_where(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        (self.0.add_where(m.0, a.0, b.0), self.0.add_where(m.1, a.1, b.1))
    }
    #[inline(always)]
    fn add_unless(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        (self.0.add_unless(m.0, a.0, b.0), self.0.add_unless(m.1, a.1, b.1))
    }
    #[inline(always)]
    fn magnitude_beyond(self, ax: Self::V, bound: f32) -> Self::M {
        (self.0.magnitude_beyond(ax.0, bound), self.0.magnitude_beyond(ax.1, bound))
    }
    const TABLE_EXP: bool = S::TABLE_EXP;
    const SQRT: bool = S::SQRT;
    #[inline(always)]
    fn sqrt(self, a: Self::V) -> Self::V {
        (self.0.sqrt(a.0), self.0.sqrt(a.1))
    }
    const TABLE_LOG1P: bool = S::TABLE_LOG1P;
    #[inline(always)]
    fn lookup16(self, table: &[f32; 16], index: Self::V) -> Self::V {
        (self.0.lookup16(table, index.0), self.0.lookup16(table, index.1))
    }

    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        both!(self.0, add, a, b)
    }
    #[inline(always)]
    fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        both!(self.0, sub, a, b)
    }
    #[inline(always)]
    fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        both!(self.0, mul, a, b)
    }
    #[inline(always)]
    fn div(self, a: Self::V, b: Self::V) -> Self::V {
        both!(self.0, div, a, b)
    }
    #[inline(always)]
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        (self.0.mul_add(a.0, b.0, c.0), self.0.mul_add(a.1, b.1, c.1))
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        both!(self.0, max, a, b)
    }
    #[inline(always)]
    fn abs(self, a: Self::V) -> Self::V {
        (self.0.abs(a.0), self.0.abs(a.1))
    }
    #[inline(always)]
    fn neg(self, a: Self::V) -> Self::V {
        (self.0.neg(a.0), self.0.neg(a.1))
    }

    #[inline(always)]
    fn lt(self, a: Self::V, b: Self::V) -> Self::M {
        both!(self.0, lt, a, b)
    }
    #[inline(always)]
    fn le(self, a: Self::V, b: Self::V) -> Self::M {
        both!(self.0, le, a, b)
    }
    #[inline(always)]
    fn eq(self, a: Self::V, b: Self::V) -> Self::M {
        both!(self.0, eq, a, b)
    }
    #[inline(always)]
    fn mask_and(self, a: Self::M, b: Self::M) -> Self::M {
        both!(self.0, mask_and, a, b)
    }
    #[inline(always)]
    fn mask_or(self, a: Self::M, b: Self::M) -> Self::M {
        both!(self.0, mask_or, a, b)
    }
    #[inline(always)]
    fn mask_not(self, a: Self::M) -> Self::M {
        (self.0.mask_not(a.0), self.0.mask_not(a.1))
    }
    #[inline(always)]
    fn mask_xor(self, a: Self::M, b: Self::M) -> Self::M {
        both!(self.0, mask_xor, a, b)
    }
    #[inline(always)]
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        (self.0.select(m.0, a.0, b.0), self.0.select(m.1, a.1, b.1))
    }
    #[inline(always)]
    fn any(self, m: Self::M) -> bool {
        self.0.any(self.0.mask_or(m.0, m.1))
    }

    #[inline(always)]
    fn round(self, a: Self::V) -> Self::V {
        (self.0.round(a.0), self.0.round(a.1))
    }
    #[inline(always)]
    fn frexp(self, x: Self::V) -> (Self::V, Self::V) {
        let ((f0, k0), (f1, k1)) = (self.0.frexp(x.0), self.0.frexp(x.1));
        ((f0, f1), (k0, k1))
    }
    #[inline(always)]
    fn pow2(self, n: Self::V) -> Self::V {
        (self.0.pow2(n.0), self.0.pow2(n.1))
    }
    #[inline(always)]
    fn add_exponent(self, a: Self::V, n: Self::V) -> Self::V {
        both!(self.0, add_exponent, a, n)
    }
    #[inline(always)]
    fn scale_by_pow2(self, a: Self::V, n: Self::V) -> Self::V {
        both!(self.0, scale_by_pow2, a, n)
    }
    /// One test for both halves (AVX2 binary γ=2, four vectors: one where there were four), or
    /// the halves' own scaling where that needs no test.
    #[inline(always)]
    fn scale_by_pow2_floor(self, a: Self::V, t: Self::V) -> Self::V {
        if S::SCALES_SUBNORMALS {
            return both!(self.0, scale_by_pow2_floor, a, t);
        }
        super::scale_by_pow2_floor_tested(self, a, t)
    }
    const SCALES_SUBNORMALS: bool = S::SCALES_SUBNORMALS;
    #[inline(always)]
    fn add_floor_exponent(self, a: Self::V, t: Self::V) -> Self::V {
        both!(self.0, add_floor_exponent, a, t)
    }
    #[inline(always)]
    fn ln(self, x: Self::V) -> Self::V {
        (self.0.ln(x.0), self.0.ln(x.1))
    }
    #[inline(always)]
    fn log1p(self, v: Self::V) -> Self::V {
        (self.0.log1p(v.0), self.0.log1p(v.1))
    }
    #[inline(always)]
    fn ln_given_complement(self, m: Self::V, one_minus_m: Self::V) -> Self::V {
        both!(self.0, ln_given_complement, m, one_minus_m)
    }
    #[inline(always)]
    fn ln_one_plus(self, v: Self::V) -> Self::V {
        (self.0.ln_one_plus(v.0), self.0.ln_one_plus(v.1))
    }
    #[inline(always)]
    fn pow_from_ln(self, gamma: f32, ln_m: Self::V) -> Self::V {
        (self.0.pow_from_ln(gamma, ln_m.0), self.0.pow_from_ln(gamma, ln_m.1))
    }

    #[inline(always)]
    fn reduce_add(self, a: Self::V) -> f32 {
        self.0.reduce_add(a.0) + self.0.reduce_add(a.1)
    }
    #[inline(always)]
    fn reduce_max(self, a: Self::V) -> f32 {
        let (a, b) = (self.0.reduce_max(a.0), self.0.reduce_max(a.1));
        if a > b {
            a
        } else {
            b
        }
    }

    #[inline(always)]
    fn acc_zero(self) -> Self::Acc {
        let z = self.0.acc_zero();
        (z, z)
    }
    #[inline(always)]
    fn acc_add(self, acc: Self::Acc, v: Self::V) -> Self::Acc {
        (self.0.acc_add(acc.0, v.0), self.0.acc_add(acc.1, v.1))
    }
    #[inline(always)]
    fn acc_add_product(self, acc: Self::Acc, a: Self::V, b: Self::V) -> Self::Acc {
        (self.0.acc_add_product(acc.0, a.0, b.0), self.0.acc_add_product(acc.1, a.1, b.1))
    }
    #[inline(always)]
    fn acc_total(self, acc: Self::Acc) -> Wide {
        self.0.acc_total(acc.0) + self.0.acc_total(acc.1)
    }
}
