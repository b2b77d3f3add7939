//! Lanes: the one trait every backend implements, and nothing else.
//!
//! The kernels (`crate::kernel`) and the vector math (`math`) are written once against
//! [`Simd`]; a backend only supplies lane operations. Every method is `#[inline(always)]` and
//! carries no `#[target_feature]`: a thin `#[target_feature]` wrapper per backend instantiates a
//! kernel, and the compiler emits the wide instructions inside it. A backend value is a token:
//! it can only be made where its instructions can run, so safe code cannot reach an unsupported
//! path.

pub(crate) mod math;
pub(crate) mod pair;
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) mod portable;
pub(crate) mod scalar;

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;

/// Lane operations over float32 vectors `V` and their masks `M`.
///
/// Arithmetic is IEEE float32 per lane. `mul_add` is fused where the backend has FMA and is
/// `a·b + c` with two roundings elsewhere: every algorithm here is exact enough either way.
pub(crate) trait Simd: Copy {
    /// Float32 lanes.
    type V: Copy;
    /// A lane mask.
    type M: Copy;
    /// The loss accumulator (float64 lanes where the hardware has them).
    type Acc: Copy;
    /// An array of `LANES` float32 values, for lanes that leave the registers.
    type Array: Copy + Default + AsRef<[f32]> + AsMut<[f32]>;
    /// Lanes per vector.
    const LANES: usize;

    fn splat(self, x: f32) -> Self::V;
    /// The first `LANES` values of `s` (`s.len() >= LANES`).
    fn load(self, s: &[f32]) -> Self::V;
    /// Writes the lanes to the first `LANES` values of `s` (`s.len() >= LANES`).
    fn store(self, v: Self::V, s: &mut [f32]);
    /// The first `n < LANES` values of `s` (`s.len() >= n`), the other lanes `pad`. Backends
    /// with masked loads override this; the default goes through a buffer on the stack.
    #[inline(always)]
    fn load_partial(self, s: &[f32], n: usize, pad: f32) -> Self::V {
        let mut buf = [pad; 16];
        buf[..n].copy_from_slice(&s[..n]);
        self.load(&buf)
    }
    /// Writes the first `n < LANES` lanes to `s` (`s.len() >= n`).
    #[inline(always)]
    fn store_partial(self, v: Self::V, s: &mut [f32], n: usize) {
        let mut buf = [0.0; 16];
        self.store(v, &mut buf);
        s[..n].copy_from_slice(&buf[..n]);
    }

    /// Whether [`load_columns`](Simd::load_columns) and
    /// [`store_columns`](Simd::store_columns) transpose in registers (else they move each value
    /// through memory on its own, [`columns_from_memory`]).
    const TRANSPOSES: bool = false;
    /// Sixteen columns from column `from` (`from < c`) of `LANES` rows of `c` values each,
    /// stored one after another in `rows` (at least `LANES·c` values): lane `k` of `columns[j]`
    /// is `rows[k·c + from + j]`, for `from + j < c` (the other columns are unspecified).
    #[inline(always)]
    fn load_columns(self, rows: &[f32], c: usize, from: usize) -> [Self::V; 16] {
        columns_from_memory(self, rows, c, from)
    }
    /// The inverse of [`load_columns`](Simd::load_columns): writes lane `k` of `columns[j]` to
    /// `rows[k·c + from + j]`, for `from + j < c` and `k < LANES`; and may write anything to the
    /// columns of the next rows below `from` (but nothing past `rows[..LANES·c]`). So where
    /// the columns of rows go back in several calls, the call from column 0 comes last.
    #[inline(always)]
    fn store_columns(self, columns: &[Self::V; 16], c: usize, from: usize, rows: &mut [f32]) {
        columns_to_memory(self, columns, c, from, rows);
    }

    /// Whether [`math::exp`] goes through a 16-entry table ([`math::exp_of_table`]): where
    /// [`lookup16`](Simd::lookup16) takes one permute (AVX-512) or two and a blend (AVX2). Measured
    /// on Zen 4 (fused, ns/element): AVX-512 binary γ=2 0.77 → 0.71, C = 1000 0.40 → 0.37; AVX2
    /// C = 1000 0.62 → 0.58, binary unchanged.
    const TABLE_EXP: bool = false;
    /// Whether the sigmoid forms `log1p(e)` through two lookups ([`math::log1p_of_unit`], 1 ulp)
    /// rather than a division ([`math::log1p`], 2 ulp). Measured on Zen 4 (binary γ=2, fused):
    /// AVX-512 0.80 ns/element either way, so the more accurate form; AVX2 (two permutes and a
    /// blend per lookup) 1.25 → 1.44 with pairs, 1.03 → 1.10 with eight vectors, so not there.
    const TABLE_LOG1P: bool = false;
    /// Lane `k` is `table[bits_k & 15]`, where `bits_k` is the bit pattern of lane `k` of
    /// `index`. The default goes through a buffer on the stack.
    #[inline(always)]
    fn lookup16(self, table: &[f32; 16], index: Self::V) -> Self::V {
        const { assert!(Self::LANES <= 16, "wider backends override lookup16") };
        let (mut i, mut out) = ([0.0; 16], [0.0; 16]);
        self.store(index, &mut i);
        for (o, i) in out.iter_mut().zip(i).take(Self::LANES) {
            *o = table[(i.to_bits() & 15) as usize];
        }
        self.load(&out)
    }

    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a·b + c`.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// Whether [`sqrt`](Simd::sqrt) is one instruction, so that `m^(n+½)` is `m^n·√m`
    /// ([`crate::math::Focus::Half`]) rather than `exp((n + ½)·ln m)`.
    const SQRT: bool = true;
    /// The square root, correctly rounded.
    fn sqrt(self, a: Self::V) -> Self::V;
    fn abs(self, a: Self::V) -> Self::V;
    fn neg(self, a: Self::V) -> Self::V;

    /// `a + b` in the lanes of `m`, `a` elsewhere (one masked add where the backend has merge
    /// masking, rather than a blend and an add; the default's `a + 0` turns an `a` of −0 into
    /// +0, which the kernels never pass).
    #[inline(always)]
    fn add_where(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        self.add(a, self.select(m, b, self.splat(0.0)))
    }
    /// `a + b` in the lanes where `m` does not hold, `a` elsewhere.
    #[inline(always)]
    fn add_unless(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V {
        self.add(a, self.select(m, self.splat(0.0), b))
    }
    /// For hard targets (`y` 0 or 1) and logits `x` not NaN: the lanes where `y = 1`, and those
    /// where `x` is on the wrong side of 0 for its target (`x < 0` for `y = 1`, `x ≥ 0` for
    /// `y = 0`). At `x = ±0` either side gives the same values, so a backend may count −0 as
    /// negative.
    #[inline(always)]
    fn hard_target_sides(self, x: Self::V, y: Self::V) -> (Self::M, Self::M) {
        let one = self.eq(y, self.splat(1.0));
        (one, self.mask_xor(self.le(self.splat(0.0), x), one))
    }
    /// The lanes whose magnitude `ax = |x|` (sign bit clear) is above `bound` (≥ 0), NaN
    /// included: with `f32::MAX`, the lanes that are not finite. Backends with integer lanes
    /// compare the bits, in which such magnitudes are ordered as their values, NaN above +∞.
    #[inline(always)]
    fn magnitude_beyond(self, ax: Self::V, bound: f32) -> Self::M {
        self.mask_not(self.le(ax, self.splat(bound)))
    }

    fn lt(self, a: Self::V, b: Self::V) -> Self::M;
    fn le(self, a: Self::V, b: Self::V) -> Self::M;
    fn eq(self, a: Self::V, b: Self::V) -> Self::M;
    /// NaN in either lane is false, as for IEEE comparisons.
    fn mask_and(self, a: Self::M, b: Self::M) -> Self::M;
    fn mask_or(self, a: Self::M, b: Self::M) -> Self::M;
    fn mask_not(self, a: Self::M) -> Self::M;
    /// Lanes where exactly one of `a`, `b` holds.
    fn mask_xor(self, a: Self::M, b: Self::M) -> Self::M;
    /// `m ? a : b` per lane.
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V;
    fn any(self, m: Self::M) -> bool;

    /// Rounds to the nearest integer (ties to even); lanes must lie within ±2^22.
    fn round(self, a: Self::V) -> Self::V;
    /// `(f, k)` with `x = f · 2^k`, `f` in [1, 2) and `k` a whole number, for positive normal `x`.
    fn frexp(self, x: Self::V) -> (Self::V, Self::V);
    /// `2^n` for whole numbers `n` in [−126, 127] (built from the exponent bits).
    fn pow2(self, n: Self::V) -> Self::V;
    /// `x` brought into [`math::exp`]'s working range: `max(x, −104)` (e^−104 rounds to 0), so
    /// that `round` and `scale_by_pow2` see arguments in their domains. A backend whose
    /// `scale_by_pow2` gives 0 for every `n` below −150 (−∞ included) whatever `a` is may leave
    /// `x` as it is (the scalar one does).
    #[inline(always)]
    fn exp_floor(self, x: Self::V) -> Self::V {
        self.max(x, self.splat(-104.0))
    }
    /// `a · 2^n` for positive normal `a` and whole numbers `n` that keep it normal. Backends with
    /// integer lanes add `n` to the exponent field (three integer operations; the default is a
    /// product by `2^n`). Measured on Zen 4, AVX2 binary γ=2 fused, the branch of
    /// [`scale_by_pow2`](Simd::scale_by_pow2) it serves: 1.30 → 1.24 ns/element with the
    /// product, 1.20 with the addition.
    #[inline(always)]
    fn add_exponent(self, a: Self::V, n: Self::V) -> Self::V {
        self.mul(a, self.pow2(n))
    }
    /// `a · 2^n` for whole numbers `n` in [−151, 127] and `a` in [1/2, 2], rounded once (also
    /// into the subnormals; 0 below 2^-150). Where every result is normal (`n` ≥ −125, the
    /// common case by far) [`add_exponent`](Simd::add_exponent); else `2^n` is applied as
    /// `2^max(n, −126) · 2^(n − max(n, −126))`.
    #[inline(always)]
    fn scale_by_pow2(self, a: Self::V, n: Self::V) -> Self::V {
        if !self.any(self.lt(n, self.splat(-125.0))) {
            return self.add_exponent(a, n);
        }
        let n1 = self.max(n, self.splat(-126.0));
        let n2 = self.sub(n, n1);
        self.mul(self.mul(a, self.pow2(n1)), self.pow2(n2))
    }

    /// `a · 2^⌊q⌋` for `q` a whole number of sixteenths in [−151, 128), given as
    /// `t = q + `[`math::SIXTEENTHS`] (whose last four significand bits are q's sixteenths), and
    /// `a` in [0.97, 2], rounded as [`scale_by_pow2`](Simd::scale_by_pow2) rounds:
    /// [`math::exp_of_table`]'s last step. The default is [`scale_by_pow2_floor_tested`].
    #[inline(always)]
    fn scale_by_pow2_floor(self, a: Self::V, t: Self::V) -> Self::V {
        scale_by_pow2_floor_tested(self, a, t)
    }
    /// Whether [`scale_by_pow2_floor`](Simd::scale_by_pow2_floor) is the backend's own, one
    /// instruction that rounds into the subnormals (`vscalefps`): a [`pair::Pair`] then applies
    /// it to each half, where otherwise it tests both halves for results below the normal range
    /// at once.
    const SCALES_SUBNORMALS: bool = false;
    /// `a · 2^⌊q⌋` for `a` and `t = q + `[`math::SIXTEENTHS`] as in
    /// [`scale_by_pow2_floor`](Simd::scale_by_pow2_floor), where the result is normal
    /// (`q ≥ −125`). The default adds [`floor_of_sixteenths`] to the exponent.
    #[inline(always)]
    fn add_floor_exponent(self, a: Self::V, t: Self::V) -> Self::V {
        self.add_exponent(a, floor_of_sixteenths(self, self.sub(t, self.splat(math::SIXTEENTHS))))
    }

    /// [`math::ln`]. This and the two hooks below serve the rarer paths of the kernels
    /// (non-integer γ, soft targets, per-row statistics, special values); the hot paths call
    /// `math` directly. Vector backends inline them; the scalar backend calls one shared copy
    /// of each, to keep microcontroller flash small.
    #[inline(always)]
    fn ln(self, x: Self::V) -> Self::V {
        math::ln(self, x)
    }
    /// [`math::log1p`], for the rarer paths (see [`Simd::ln`]).
    #[inline(always)]
    fn log1p(self, v: Self::V) -> Self::V {
        math::log1p(self, v)
    }
    /// `ln m` given also `1 − m` formed without cancellation: through `log1p(−(1 − m))` above
    /// 1/2, where m itself may have rounded to 1 (see [`Simd::ln`]).
    #[inline(always)]
    fn ln_given_complement(self, m: Self::V, one_minus_m: Self::V) -> Self::V {
        self.select(self.lt(self.splat(0.5), m), self.log1p(self.neg(one_minus_m)), self.ln(m))
    }
    /// `ln(1 + v)` for `v ≥ 0`: `log1p(v)` on its domain, `ln(1 + v)` above it (where `1 + v ≥ 2`
    /// does not cancel) (see [`Simd::ln`]).
    #[inline(always)]
    fn ln_one_plus(self, v: Self::V) -> Self::V {
        let one = self.splat(1.0);
        let small = self.le(v, one);
        self.select(small, self.log1p(self.select(small, v, one)), self.ln(self.add(one, v)))
    }
    /// [`math::pow_from_ln`]: `m^γ` for non-integer γ (see [`Simd::ln`]).
    #[inline(always)]
    fn pow_from_ln(self, gamma: f32, ln_m: Self::V) -> Self::V {
        math::pow_from_ln(self, gamma, ln_m)
    }

    /// The sum of the lanes, in a fixed order.
    fn reduce_add(self, a: Self::V) -> f32;
    /// The largest lane; unspecified (but no panic) where a lane is NaN, which the kernels test
    /// for apart and then discard the result.
    fn reduce_max(self, a: Self::V) -> f32;

    fn acc_zero(self) -> Self::Acc;
    fn acc_add(self, acc: Self::Acc, v: Self::V) -> Self::Acc;
    /// Adds `a·b`, multiplied in the accumulator's width (so it cannot overflow float32 first).
    fn acc_add_product(self, acc: Self::Acc, a: Self::V, b: Self::V) -> Self::Acc;
    /// The accumulated total, in a fixed order.
    fn acc_total(self, acc: Self::Acc) -> crate::sum::Wide;
}

/// [`Simd::scale_by_pow2_floor`] with a test for results below the normal range (`q < −125`):
/// where there are none, [`Simd::add_floor_exponent`]; else [`Simd::scale_by_pow2`] by ⌊q⌋.
#[inline(always)]
pub(crate) fn scale_by_pow2_floor_tested<S: Simd>(s: S, a: S::V, t: S::V) -> S::V {
    let q = s.sub(t, s.splat(math::SIXTEENTHS));
    if !s.any(s.lt(q, s.splat(-125.0))) {
        return s.add_floor_exponent(a, t);
    }
    s.scale_by_pow2(a, floor_of_sixteenths(s, q))
}

/// ⌊q⌋ for `q` a whole number of sixteenths: `q − 15/32` rounded (within 15/32 of ⌊q⌋, so no
/// tie).
#[inline(always)]
fn floor_of_sixteenths<S: Simd>(s: S, q: S::V) -> S::V {
    s.round(s.sub(q, s.splat(15.0 / 32.0)))
}

/// [`Simd::load_columns`] a value at a time, through a buffer on the stack.
#[inline(always)]
pub(crate) fn columns_from_memory<S: Simd>(s: S, rows: &[f32], c: usize, from: usize) -> [S::V; 16] {
    const { assert!(S::LANES <= 16, "sixteen rows") };
    let rows = &rows[..S::LANES * c];
    let mut columns = [s.splat(0.0); 16];
    let mut buf = [0.0; 16];
    for (j, v) in columns.iter_mut().enumerate().take(c.saturating_sub(from)) {
        for (k, b) in buf.iter_mut().enumerate().take(S::LANES) {
            *b = rows[k * c + from + j];
        }
        *v = s.load(&buf);
    }
    columns
}

/// [`Simd::store_columns`] a value at a time, through a buffer on the stack.
#[inline(always)]
pub(crate) fn columns_to_memory<S: Simd>(
    s: S,
    columns: &[S::V; 16],
    c: usize,
    from: usize,
    rows: &mut [f32],
) {
    const { assert!(S::LANES <= 16, "sixteen rows") };
    let rows = &mut rows[..S::LANES * c];
    let mut buf = [0.0; 16];
    for (j, &v) in columns.iter().enumerate().take(c.saturating_sub(from)) {
        s.store(v, &mut buf);
        for (k, &b) in buf.iter().enumerate().take(S::LANES) {
            rows[k * c + from + j] = b;
        }
    }
}

/// The parts from column `at` of the `K` rows of `c` values in `rows` (`K·c` values): part `k`
/// holds `rows[k·c + at..]` in its first `min(c − at, LANES)` lanes, the others unspecified. Each
/// is a whole vector where that stays inside `rows` (running over the next rows' columns), else
/// [`Simd::load_partial`] (AVX2's masked load, NEON's half and lane loads). Where the parts of
/// all rows but the last stay inside (`at + LANES ≤ 2·c`, as for every part of rows of at least
/// `LANES` classes), those load without a test each: one comparison per call rather than one per
/// row. With [`set_row_parts`], on AVX2 (fused, Zen 3; callgrind, and q25 of 12 interleaved
/// runs): C = 10 17.60 → 15.43 instructions per element and 1.51 → 1.48 ns/element, C = 20
/// 15.77 → 13.36 and 1.27 → 1.17 (and C = 3, all through the tests, 33.41 → 29.93 and 3.27 →
/// 3.10: AVX2's stores no longer test per row whether the row has a second part).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn row_parts<S: Simd, const K: usize>(s: S, rows: &[f32], c: usize, at: usize) -> [S::V; K] {
    let rows = &rows[..K * c];
    let mut parts = [s.splat(0.0); K];
    if inside_but_last::<S, K>(rows.len(), c, at) {
        for (k, part) in parts.iter_mut().enumerate().take(K - 1) {
            let start = k * c + at;
            // SAFETY: `start + LANES ≤ (K − 2)·c + at + LANES ≤ rows.len()` (`inside_but_last`).
            *part = s.load(unsafe { rows.get_unchecked(start..start + S::LANES) });
        }
        parts[K - 1] = row_part(s, rows, (K - 1) * c + at, c - at);
    } else {
        for (k, part) in parts.iter_mut().enumerate() {
            *part = row_part(s, rows, k * c + at, c - at);
        }
    }
    parts
}

/// [`row_parts`] backwards: writes the first `min(c − at, LANES)` lanes of part `k` to
/// `rows[k·c + at..]`, the rows in order. A whole vector where that stays inside `rows`, writing
/// past the part over the next rows' columns (which their parts, or a later call from a lower
/// column, then overwrite), else [`Simd::store_partial`].
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn set_row_parts<S: Simd, const K: usize>(
    s: S,
    rows: &mut [f32],
    c: usize,
    at: usize,
    parts: &[S::V; K],
) {
    let rows = &mut rows[..K * c];
    if inside_but_last::<S, K>(rows.len(), c, at) {
        for (k, &part) in parts.iter().enumerate().take(K - 1) {
            let start = k * c + at;
            // SAFETY: `start + LANES ≤ (K − 2)·c + at + LANES ≤ rows.len()` (`inside_but_last`).
            s.store(part, unsafe { rows.get_unchecked_mut(start..start + S::LANES) });
        }
        set_row_part(s, rows, (K - 1) * c + at, c - at, parts[K - 1]);
    } else {
        for (k, &part) in parts.iter().enumerate() {
            set_row_part(s, rows, k * c + at, c - at, part);
        }
    }
}

/// Whether the whole vectors from column `at` of the first `K − 1` rows of `c` values lie in
/// `len` values: row `K − 2`'s, the last of them, ends at `(K − 2)·c + at + LANES` (checked, so
/// that no `c` or `at` can wrap it into range).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn inside_but_last<S: Simd, const K: usize>(len: usize, c: usize, at: usize) -> bool {
    const { assert!(K >= 2, "two rows or more") };
    let end = (K - 2).checked_mul(c).and_then(|v| v.checked_add(at)).and_then(|v| v.checked_add(S::LANES));
    end.is_some_and(|end| end <= len)
}

/// The `n` values of a row part at `rows[at..]` in the first lanes, the others unspecified: a
/// whole vector where it stays inside `rows`, else [`Simd::load_partial`].
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn row_part<S: Simd>(s: S, rows: &[f32], at: usize, n: usize) -> S::V {
    if at + S::LANES <= rows.len() {
        s.load(&rows[at..])
    } else {
        s.load_partial(&rows[at..], n.min(S::LANES), 0.0)
    }
}

/// Writes the first `n` lanes of `v` to `rows[at..]`: a whole vector where it stays inside
/// `rows` (writing past the part), else [`Simd::store_partial`].
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn set_row_part<S: Simd>(s: S, rows: &mut [f32], at: usize, n: usize, v: S::V) {
    if at + S::LANES <= rows.len() {
        s.store(v, &mut rows[at..]);
    } else {
        s.store_partial(v, &mut rows[at..], n.min(S::LANES));
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::simd::pair::Pair;

    /// The lanes of `v`.
    fn lanes<S: Simd>(s: S, v: S::V) -> Vec<f32> {
        let mut buf = [0.0; 64];
        s.store(v, &mut buf);
        buf[..S::LANES].to_vec()
    }

    /// [`Simd::load_columns`] and [`Simd::store_columns`] against the value-at-a-time forms, for
    /// rows of 1 to 32 classes in groups of sixteen columns, at an odd offset, with the batch at
    /// the end of its buffer or values after it: the columns read, the rows written back (the
    /// group of column 0 last, as the kernel writes them), and nothing written outside the batch.
    fn check_columns<S: Simd>(s: S, name: &str) {
        // Under Miri, the transposes in registers alone: the others are the forms compared with
        // here, and `tests/backend.rs` runs them.
        if cfg!(miri) && !S::TRANSPOSES {
            return;
        }
        for c in 1..=32 {
            let n = S::LANES * c;
            let froms: Vec<usize> = (0..c).step_by(16).collect();
            for after in [0, 16] {
                let source: Vec<f32> = (0..1 + n + after).map(|i| i as f32 + 0.5).collect();
                let rows = &source[1..];
                for &from in &froms {
                    let (got, want) = (s.load_columns(rows, c, from), columns_from_memory(s, rows, c, from));
                    for j in 0..(c - from).min(16) {
                        assert_eq!(
                            lanes(s, got[j]),
                            lanes(s, want[j]),
                            "{name}: c = {c}, column {from} + {j}"
                        );
                    }
                }
                let mut out = vec![-1.0; 1 + n + after];
                for &from in froms.iter().rev() {
                    let columns = columns_from_memory(s, rows, c, from);
                    s.store_columns(&columns, c, from, &mut out[1..]);
                }
                assert_eq!(out[0], -1.0, "{name}: c = {c}, before the batch");
                assert_eq!(&out[1..1 + n], &rows[..n], "{name}: c = {c}, the rows");
                assert!(out[1 + n..].iter().all(|&v| v == -1.0), "{name}: c = {c}, after the batch");
            }
        }
    }

    #[test]
    fn columns_on_every_backend() {
        // A run that forces target features names the backend they must give (`cargo xtask
        // miri`, for AVX-512), so that it cannot pass by skipping it.
        if let Ok(expected) = std::env::var("FOCAL_LOSS_EXPECT_BACKEND") {
            assert_eq!(crate::Backend::detect().name(), expected);
        }
        check_columns(scalar::Scalar, "scalar");
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        {
            check_columns(portable::Portable, "portable");
            check_columns(Pair(portable::Portable), "portable ×2");
        }
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(s) = x86_64::avx2::Avx2::new() {
                check_columns(s, "avx2");
                check_columns(Pair(s), "avx2 ×2");
            }
            if let Some(s) = x86_64::avx512::Avx512::new() {
                check_columns(s, "avx512");
            }
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(s) = aarch64::neon::Neon::new() {
            check_columns(s, "neon");
        }
    }
}
