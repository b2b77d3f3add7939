//! The softmax kernel (multi-class, with class indices or target probabilities), DESIGN §2.2–2.3,
//! for any backend.
//!
//! A row takes three passes over its logits: the maximum (and whether the row holds NaN or +∞),
//! the normaliser `s = Σ exp(x_j − max)` with the arg-max class kept apart (so that
//! `1 − p_argmax` is the sum of the others, never `1 − p`), and the terms. With one class index
//! and no smoothing, only the target's term is needed: its gradient is `w_t·g_t·(1 − p_t)` and
//! every other class's is `−p_k·w_t·g_t`, so the exponentials of pass two are kept in the
//! gradient buffer and pass three only scales them. Between passes two and three sits a chain of
//! scalar work (the normaliser's logarithm, the target's terms, several divisions); for such
//! rows the vector backends batch `LANES` at a time and do that work one row per lane.

use super::focus::{Focus, LnM};
use super::{Hard, Soft, TargetForm};
use crate::io::{load_at, Io};
use crate::options::FocalLoss;
use crate::simd::scalar::Scalar;
use crate::simd::{math, Simd};
use crate::sum::{Accumulate, Accumulator, SmallSums, Wide, SMALL};

/// What a row is asked to predict.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RowTarget<'a> {
    /// The row is skipped: loss 0, gradient 0.
    Ignored,
    /// A class index.
    Class(usize),
    /// A target probability per class.
    Probs(&'a [f32]),
}

/// The targets of a batch, row by row.
pub(crate) trait RowTargets<'t>: Copy {
    /// The form a batch of these targets runs when it is hard: [`Hard`] where it can be,
    /// [`Soft`] where it never is (so that no kernel instance is built for it).
    type HardForm: TargetForm;
    #[cfg_attr(
        not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")),
        expect(dead_code, reason = "the per-form instances serve the vector backends only")
    )]
    const HARD_FORM: Self::HardForm;

    fn row(&self, row: usize) -> RowTarget<'t>;

    /// The class of each of the `out.len()` rows from `row0` as float32, for rows of fewer than
    /// 2^24 classes; false (and `out` unspecified) where one of them has no class (ignored, or
    /// target probabilities).
    #[inline(always)]
    fn classes_of(&self, row0: usize, out: &mut [f32]) -> bool {
        for (k, o) in out.iter_mut().enumerate() {
            let RowTarget::Class(class) = self.row(row0 + k) else { return false };
            *o = class as f32;
        }
        true
    }
}

/// A caller's class indices, whatever their integer type ([`crate::ClassIndex`]).
///
/// One type for all of them keeps the kernels to one instance per backend: reading an index
/// costs a branch per row that always goes the same way (per batch, for short rows batched one
/// per lane: [`RowTargets::classes_of`]), and a per-type kernel would be compiled again in every
/// crate that calls the library.
#[derive(Clone, Copy, Debug)]
pub enum Indices<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    I32(&'a [i32]),
    I64(&'a [i64]),
}

impl Indices<'_> {
    pub(crate) fn len(&self) -> usize {
        match *self {
            Indices::U8(t) => t.len(),
            Indices::U16(t) => t.len(),
            Indices::U32(t) => t.len(),
            Indices::I32(t) => t.len(),
            Indices::I64(t) => t.len(),
        }
    }

    /// Index `i` as an `i64`, which holds every value of every index type.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> i64 {
        match *self {
            Indices::U8(t) => t[i].into(),
            Indices::U16(t) => t[i].into(),
            Indices::U32(t) => t[i].into(),
            Indices::I32(t) => t[i].into(),
            Indices::I64(t) => t[i],
        }
    }
}

/// One class index per row; rows equal to the ignore index are skipped.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassIndices<'a> {
    pub(crate) targets: Indices<'a>,
    pub(crate) classes: usize,
    pub(crate) ignore_index: Option<i64>,
}

impl<'t> RowTargets<'t> for ClassIndices<'_> {
    type HardForm = Hard;
    const HARD_FORM: Hard = Hard;

    #[inline(always)]
    fn row(&self, row: usize) -> RowTarget<'t> {
        match crate::validate::class_of(self.targets.get(row), self.classes, self.ignore_index) {
            crate::validate::Target::Class(t) => RowTarget::Class(t),
            // Validation refused invalid indices before any kernel ran.
            _ => RowTarget::Ignored,
        }
    }

    /// One match on the index type for the whole run of rows, then a loop without branches
    /// (each row through [`row`](RowTargets::row) cost a jump table, a bounds check and three
    /// tests: 24 instructions per row, a tenth of multi-class C = 10 on AVX2).
    #[inline(always)]
    fn classes_of(&self, row0: usize, out: &mut [f32]) -> bool {
        let rows = row0..row0 + out.len();
        let ignore = self.ignore_index;
        match self.targets {
            Indices::U8(t) => classes_unless_ignored(&t[rows], ignore, out),
            Indices::U16(t) => classes_unless_ignored(&t[rows], ignore, out),
            Indices::U32(t) => classes_unless_ignored(&t[rows], ignore, out),
            Indices::I32(t) => classes_unless_ignored(&t[rows], ignore, out),
            Indices::I64(t) => classes_unless_ignored(&t[rows], ignore, out),
        }
    }
}

/// [`RowTargets::classes_of`] for validated class indices: each is a class or the ignore index,
/// so a row is a class unless it equals the ignore index (none: −1, which validation refused).
#[inline(always)]
fn classes_unless_ignored<T: Copy + Into<i64>>(indices: &[T], ignore: Option<i64>, out: &mut [f32]) -> bool {
    let ignore = ignore.unwrap_or(-1);
    let mut ignored = false;
    for (o, &t) in out.iter_mut().zip(indices) {
        let t: i64 = t.into();
        ignored |= t == ignore;
        // Exact below 2^24; an ignored row's value is discarded.
        *o = t as i32 as f32;
    }
    !ignored
}

/// A row of target probabilities per row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probabilities<'a> {
    pub(crate) probs: &'a [f32],
    pub(crate) classes: usize,
}

impl<'t> RowTargets<'t> for Probabilities<'t> {
    type HardForm = Soft;
    const HARD_FORM: Soft = Soft;

    #[inline(always)]
    fn row(&self, row: usize) -> RowTarget<'t> {
        RowTarget::Probs(&self.probs[row * self.classes..][..self.classes])
    }
}

/// The class weights `w_j` of a batch.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Weights<'a> {
    /// The same weight for every class (α, or 1).
    Uniform(f32),
    /// One weight per class.
    PerClass(&'a [f32]),
}

impl Weights<'_> {
    #[inline(always)]
    fn of(&self, j: usize) -> f32 {
        match *self {
            Weights::Uniform(w) => w,
            Weights::PerClass(w) => w[j],
        }
    }
}

/// What the kernel needs besides the buffers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Args<'a, R> {
    pub(crate) rows: usize,
    pub(crate) classes: usize,
    pub(crate) targets: R,
    pub(crate) weights: Weights<'a>,
    pub(crate) label_smoothing: f32,
    /// What the gradient is divided by: D for `mean`, else 1. At least 1 (a divisor below 1
    /// takes the wide path, `Plan::wide`).
    pub(crate) divisor: f32,
    /// The options, for the wide path's rows after small ones ([`SmallSums`]).
    pub(crate) options: &'a FocalLoss<'a>,
}

/// Runs `$body` for each block `($off, $lanes)` of a row of `$classes`: the whole blocks, where
/// `$lanes` is a constant (their loads and stores test no length, and the loop no minimum), then
/// the partial block, if any (a second copy of the body; not on one lane, where there is none).
/// A macro, not a function taking a closure: closures lose the `#[target_feature]` of the
/// wrapper that instantiates the kernel, and every intrinsic inside them would become a call.
macro_rules! for_blocks {
    ($s:ty, $classes:expr, |$off:ident, $lanes:ident| $body:block) => {{
        let classes: usize = $classes;
        let whole = classes - classes % <$s as Simd>::LANES;
        let mut $off = 0;
        while $off < whole {
            let $lanes = <$s as Simd>::LANES;
            $body
            $off += $lanes;
        }
        if <$s as Simd>::LANES > 1 && $off < classes {
            let $lanes = classes - $off;
            $body
        }
    }};
}

/// A row's maximum and normaliser, and what the arg-max class needs: one row per lane (the
/// batched small-row path), or one row in every lane (`Stats<f32>` splatted).
#[derive(Clone, Copy, Debug)]
struct Stats<V> {
    max: V,
    /// `s = 1 + Σ_{j ≠ argmax} exp(x_j − max)`, the normaliser.
    s: V,
    /// `1 − p_argmax = others/s`, never `1 − p`.
    argmax_q: V,
    /// `ln(s)/2`, through `log1p(others)` where that is the accurate form.
    half_log_s: V,
    /// 1 where the maximum is reached by one class only, else 0 (then no class is "the"
    /// arg-max: each of the tied classes has p ≤ 1/2).
    unique: V,
    /// For the arg-max class: `l/(1 − p) = −s·log1p(others)/others` (−1 at others = 0).
    argmax_l_over_q: V,
    /// For the arg-max class: `ln(1 − p) = ln(others) − ln s` (only for non-integer γ).
    argmax_ln_q: V,
}

/// The statistics of rows with maximum `max`, `others = Σ_{j ≠ argmax} exp(x_j − max)` and
/// `unique` (1 or 0), one row per lane.
#[inline(always)]
fn stats<S: Simd>(s: S, max: S::V, others: S::V, unique: S::V, needs_ln: bool) -> Stats<S::V> {
    let (zero, one) = (s.splat(0.0), s.splat(1.0));
    let sv = s.add(one, others);
    let log_s = s.ln_one_plus(others);
    let none = s.eq(others, zero);
    let ratio = s.select(none, one, s.div(log_s, s.select(none, one, others)));
    Stats {
        max,
        s: sv,
        argmax_q: s.div(others, sv),
        half_log_s: s.mul(s.splat(0.5), log_s),
        unique,
        argmax_l_over_q: s.neg(s.mul(sv, ratio)),
        argmax_ln_q: if needs_ln { s.sub(s.ln(others), log_s) } else { zero },
    }
}

impl Stats<f32> {
    /// One row's statistics in every lane.
    #[inline(always)]
    fn splat<S: Simd>(&self, s: S) -> Stats<S::V> {
        Stats {
            max: s.splat(self.max),
            s: s.splat(self.s),
            argmax_q: s.splat(self.argmax_q),
            half_log_s: s.splat(self.half_log_s),
            unique: s.splat(self.unique),
            argmax_l_over_q: s.splat(self.argmax_l_over_q),
            argmax_ln_q: s.splat(self.argmax_ln_q),
        }
    }
}

/// The terms of DESIGN §2.2 for a block of classes.
#[derive(Clone, Copy)]
struct Terms<V> {
    /// `p_j`.
    p: V,
    /// `1 − p_j`.
    q: V,
    /// `g_j = (1 − p_j)^γ·(γ·p_j·l_j/(1 − p_j) − 1)`.
    g: V,
    /// `−(1 − p_j)^γ·l_j / 2`: the loss term per unit of `w·τ`, halved so that a row spanning
    /// more than `f32::MAX` cannot overflow before the wide accumulator doubles it.
    half_loss: V,
}

/// Computes the terms of a block of classes with logits `x` (−∞ masks a class).
#[inline(always)]
fn terms<S: Simd, F: Focus>(s: S, focus: F, x: S::V, st: &Stats<S::V>) -> Terms<S::V> {
    let zero = s.splat(0.0);
    let max = st.max;
    let is_argmax = s.mask_and(s.eq(x, max), s.eq(st.unique, s.splat(1.0)));
    let p = s.div(math::exp(s, s.sub(x, max)), st.s);
    let q = s.select(is_argmax, st.argmax_q, s.sub(s.splat(1.0), p));
    let half = s.splat(0.5);
    // (x − max)/2 as x/2 − max/2: exact (x and max are finite or x = −∞) and cannot overflow.
    let half_l = s.select(
        is_argmax,
        s.neg(st.half_log_s),
        s.sub(s.sub(s.mul(x, half), s.mul(max, half)), st.half_log_s),
    );
    let l_over_q = s.select(is_argmax, st.argmax_l_over_q, s.div(s.add(half_l, half_l), q));
    let q_gamma = focus.pow(s, q, LnQ { is_argmax, argmax_ln_q: st.argmax_ln_q, p });
    // g = q^γ·γ·p·l/(1 − p) − q^γ, with q^γ·γ formed first: γ·p alone overflows for a huge γ,
    // where q^γ is 0 (and ∞·0 would be NaN). The focusing part is 0 where p is (masked
    // classes, and the far tail of a huge row), where l/(1 − p) may be −∞.
    let focused = s.mul(s.mul(q_gamma, s.splat(focus.gamma())), p);
    let g = s.mul_add(focused, l_over_q, s.neg(q_gamma));
    Terms { p, q, g: s.select(s.eq(p, zero), s.neg(q_gamma), g), half_loss: s.neg(s.mul(q_gamma, half_l)) }
}

/// `ln q = ln(1 − p)` of a class: `log1p(−p)`, or the row's arg-max value (from the sum of the
/// others, [`Stats`]).
#[derive(Clone, Copy)]
struct LnQ<S: Simd> {
    is_argmax: S::M,
    argmax_ln_q: S::V,
    p: S::V,
}

impl<S: Simd> LnM<S> for LnQ<S> {
    #[inline(always)]
    fn ln_m(self, s: S) -> S::V {
        s.select(self.is_argmax, self.argmax_ln_q, s.log1p(s.neg(self.p)))
    }
}

/// One class's terms, for the per-row scalar work.
fn scalar_terms<F: Focus>(focus: F, x: f32, st: &Stats<f32>) -> Terms<f32> {
    terms(Scalar, focus, x, st)
}

/// `w·τ·(half loss)·2`, 0 when `w·τ` is. Without a branch, so that the compiler widens a batch
/// of rows several at a time ([`batch_rows`]: C = 10 on AVX2, 18.57 → 18.02 instructions per
/// element).
#[inline(always)]
fn weighted_loss(w_tau: f32, half_loss: f32) -> Wide {
    let loss = Wide::from(w_tau) * Wide::from(half_loss) * 2.0;
    if w_tau == 0.0 {
        0.0
    } else {
        loss
    }
}

/// The most classes of the rows that [`small_rows`] batches: sixteen rows of them (256 KiB at
/// most) stay in the level-2 cache between its passes. Measured on Zen 4 (fused, hard targets,
/// N = 2^16, against rows one by one): C = 80, AVX-512 0.90 → 0.53 ns/element and AVX2 1.15 →
/// 0.80; C = 1000, AVX-512 0.47 → 0.43 and AVX2 0.78 → 0.73.
const BATCH_CLASSES: usize = 4096;

/// The most classes of the rows that [`transposed_rows`] batches, in one or two groups of
/// sixteen (an instance for each: as one, with its columns in an array of 32, C = 10 took 17.42
/// → 20.07 instructions per element on AVX2). One row per lane rather than one per vector with
/// horizontal reductions ([`small_rows`]) measured, C = 10 fused, with the columns gathered a
/// value at a time: portable 7.0 → 3.8 ns/element and AVX2 4.7 → 2.3, but AVX-512 1.7 → 2.1–2.4
/// (the gathers cost about 1.1 ns/element, whether `vgatherdps` or a buffer), so it stayed one
/// row per vector until its 16×16 transpose in registers (session 15; not yet timed on a CPU
/// with AVX-512).
const TRANSPOSED_CLASSES: usize = 32;

/// Runs the kernel over a validated batch; returns the sum of the row losses.
#[inline(always)]
pub(crate) fn run<'t, S: Simd, F: Focus, H: TargetForm, I: Io, R: RowTargets<'t>>(
    s: S,
    focus: F,
    form: H,
    args: &Args<'_, R>,
    io: &mut I,
    mut losses: Option<&mut [f32]>,
) -> Wide {
    // The per-row buffers of `transposed_rows`, `small_rows` and `w_tau` hold sixteen lanes.
    const { assert!(S::LANES <= 16) };
    let mut total = Accumulator::default();
    let mut small = SmallSums::new();
    let mut row = 0;
    // Rows with one class index each and no smoothing, of at most BATCH_CLASSES classes: LANES
    // rows at a time, their statistics and target terms one row per lane; rows of at most
    // TRANSPOSED_CLASSES read one row per lane, class by class, longer ones each in its own
    // vectors.
    let batched = form.hard() && S::LANES > 1 && args.classes <= BATCH_CLASSES;
    let by_columns = batched && args.classes <= TRANSPOSED_CLASSES;
    // A row whose last pass is still to run ([`one_row`]).
    let mut pending = None;
    while row < args.rows {
        if batched && row + S::LANES <= args.rows {
            let mut row_losses = [0.0 as Wide; 16];
            let done = if by_columns && args.classes <= 16 {
                transposed_rows::<S, F, I, 1>(s, focus, args, io, row, &mut row_losses)
            } else if by_columns {
                transposed_rows::<S, F, I, 2>(s, focus, args, io, row, &mut row_losses)
            } else {
                small_rows::<S, F, I>(s, focus, args, io, row, &mut row_losses)
            };
            if done {
                for (k, &loss) in row_losses.iter().enumerate().take(S::LANES) {
                    total.add(loss);
                    if let Some(losses) = losses.as_deref_mut() {
                        losses[row + k] = loss as f32;
                    }
                }
                row += S::LANES;
                if small.watching() {
                    let largest = row_losses.iter().take(S::LANES).fold(0.0, |m: Wide, &l| m.max(l));
                    row = after_watched(&mut small, largest, args, io, row, losses.as_deref_mut());
                }
                continue;
            }
        }
        let loss = one_row(s, focus, form, args, io, row * args.classes, args.targets.row(row), &mut pending);
        total.add(loss);
        if let Some(losses) = losses.as_deref_mut() {
            losses[row] = loss as f32;
        }
        row += 1;
        if small.watching() {
            row = after_watched(&mut small, loss, args, io, row, losses.as_deref_mut());
        }
    }
    if let Some(previous) = pending {
        // Vector backends only (`one_row`).
        scale_row_spanned(s, io, args.classes, previous);
    }
    small.total(total.total())
}

/// After a unit of rows from the fast path whose largest loss is `largest`, up to `row`: stops
/// the watch if that loss reaches [`SMALL`] (or is NaN); else runs the next rows on the wide path
/// ([`wide_rows`]), and returns the row after them ([`SmallSums`]). The test is inline: the
/// wide path's frame (160 bytes on the Cortex-M4F, the largest part of a call's peak) is entered
/// only while the sum is small.
#[inline(always)]
fn after_watched<'t, I: Io>(
    small: &mut SmallSums,
    largest: Wide,
    args: &Args<'_, impl RowTargets<'t>>,
    io: &mut I,
    row: usize,
    losses: Option<&mut [f32]>,
) -> usize {
    if largest >= Wide::from(SMALL) || largest.is_nan() {
        small.stop();
        row
    } else {
        wide_rows(small, args, io, row, losses)
    }
}

/// The rows from `row` on the wide path (loss and gradient) until one's loss is not small;
/// returns the row after them.
#[inline(never)]
#[cold]
fn wide_rows<'t, I: Io>(
    small: &mut SmallSums,
    args: &Args<'_, impl RowTargets<'t>>,
    io: &mut I,
    mut row: usize,
    mut losses: Option<&mut [f32]>,
) -> usize {
    while small.watching() && row < args.rows {
        let loss = exact_row(args, io, row);
        small.add(loss);
        if let Some(losses) = losses.as_deref_mut() {
            losses[row] = loss as f32;
        }
        row += 1;
    }
    row
}

/// Row `row` on the wide path (loss and gradient).
#[inline(always)]
fn exact_row<'t, I: Io>(args: &Args<'_, impl RowTargets<'t>>, io: &mut I, row: usize) -> f64 {
    let focus = crate::math::Focus::new(args.options.gamma);
    let base = row * args.classes;
    crate::reference::softmax::one_row(
        args.options,
        args.classes,
        args.divisor,
        focus,
        io,
        base,
        args.targets.row(row),
    )
}

/// The target terms of a batch of rows, one row per lane (target logit `x_t`, weight `w`,
/// statistics `st`): writes each row's loss to `row_losses` and returns the gradient factor
/// −w·g/s of every class of the row (D folded in, as in `one_row`) and the target's
/// own gradient w·g·(1 − p_t)/D; all 0 where w is.
#[inline(always)]
fn batch_rows<S: Simd, F: Focus>(
    s: S,
    focus: F,
    x_t: S::V,
    st: &Stats<S::V>,
    w: S::V,
    d: f32,
    row_losses: &mut [Wide; 16],
) -> (S::V, S::V) {
    let tt = terms(s, focus, x_t, st);
    let zero = s.splat(0.0);
    let wg = s.select(s.eq(w, zero), zero, s.mul(w, tt.g));
    let factor = s.div(s.neg(wg), st.s);
    let factor = s.div(factor, s.splat(d));
    let target_grad = s.div(s.mul(wg, tt.q), s.splat(d));
    let (mut w_k, mut half_loss) = ([0.0f32; 16], [0.0f32; 16]);
    s.store(w, &mut w_k);
    s.store(tt.half_loss, &mut half_loss);
    for k in 0..S::LANES {
        row_losses[k] = weighted_loss(w_k[k], half_loss[k]);
    }
    (factor, target_grad)
}

/// `LANES` rows from `row0`, each of at most `16·GROUPS` classes with a class index and no
/// smoothing, one row per lane: the logits are read class by class (a vector holds class `j`
/// of every row, [`Simd::load_columns`], sixteen classes at a time), so the maximum, the
/// exponentials, the normaliser and the target terms are all plain lane-wise operations on full
/// vectors; the gradient, formed class by class, goes back to row order the same way. Returns
/// false, having written nothing, when a row is ignored, holds NaN or +∞, or is all −∞: the
/// caller then runs those rows one by one.
#[inline(always)]
fn transposed_rows<'t, S: Simd, F: Focus, I: Io, const GROUPS: usize>(
    s: S,
    focus: F,
    args: &Args<'_, impl RowTargets<'t>>,
    io: &mut I,
    row0: usize,
    row_losses: &mut [Wide; 16],
) -> bool {
    let (c, l) = (args.classes, S::LANES);
    let base = row0 * c;
    let (zero, one, inf) = (s.splat(0.0), s.splat(1.0), s.splat(f32::INFINITY));
    let mut t = [0.0f32; 16];
    if !args.targets.classes_of(row0, &mut t[..l]) {
        return false;
    }
    let vt = s.load(&t);
    // Class j of every row, the rows' maxima, and each row's target logit and weight.
    // The first group as the loads return it, by value (into a zeroed array, C = 10 took
    // 17.42 → 18.33 instructions per element).
    let mut groups = [io.load_x_columns(s, base, c, 0); GROUPS];
    for (g, group) in groups.iter_mut().enumerate().skip(1) {
        *group = io.load_x_columns(s, base, c, 16 * g);
    }
    let x = &mut groups.as_flattened_mut()[..c];
    let (mut max, mut x_t, mut vw) = (s.splat(f32::NEG_INFINITY), zero, zero);
    let mut finite = s.lt(max, inf);
    // The class weights as one slice, so that the loop tests neither their kind nor their
    // bounds (C = 10 on AVX2: 15.11 → 14.60 instructions per element).
    let mut uniform = [0.0; TRANSPOSED_CLASSES];
    let weights = match args.weights {
        Weights::PerClass(w) => &w[..c],
        Weights::Uniform(w) => {
            uniform[..c].fill(w);
            &uniform[..c]
        }
    };
    for (j, (xj, &w)) in x.iter().zip(weights).enumerate() {
        finite = s.mask_and(finite, s.lt(*xj, inf));
        max = s.max(max, *xj);
        let target = s.eq(vt, s.splat(j as f32));
        x_t = s.select(target, *xj, x_t);
        vw = s.select(target, s.splat(w), vw);
    }
    if s.any(s.mask_not(s.mask_and(finite, s.lt(s.splat(f32::NEG_INFINITY), max)))) {
        return false;
    }
    // The exponentials (kept in place of the logits), the count of classes at the maximum and
    // the sum of the others.
    let (mut n_max, mut others) = (zero, zero);
    for xj in x.iter_mut() {
        let is_max = s.eq(*xj, max);
        *xj = math::exp(s, s.sub(*xj, max));
        n_max = s.add_where(is_max, n_max, one);
        others = s.add_unless(is_max, others, *xj);
    }
    let others = s.add(others, s.sub(n_max, one));
    let unique = s.select(s.eq(n_max, one), one, zero);
    let st = stats(s, max, others, unique, focus.needs_ln());
    let (factor, target_grad) = batch_rows(s, focus, x_t, &st, vw, args.divisor, row_losses);
    if I::GRAD {
        // The gradient over the exponentials.
        // The class as a vector counted up, where converting and splatting it took three
        // instructions (not in the first loop: there it cost a spill, C = 10 1.48 → 1.57 ns).
        let mut vj = zero;
        for e in x.iter_mut() {
            *e = s.select(s.eq(vt, vj), target_grad, s.mul(*e, factor));
            vj = s.add(vj, one);
        }
        // The group of class 0 last: a group's stores may write over the first classes of the
        // next rows ([`Simd::store_columns`]).
        for (g, group) in groups.iter().enumerate().rev() {
            io.store_grad_columns(s, base, c, 16 * g, group);
        }
    }
    true
}

/// A row's first pass: the maximum of its logits, whether any is NaN or +∞ (then the maximum
/// means nothing), and the row's last block of logits (all of them, where they fit one vector).
#[inline(always)]
fn first_pass<S: Simd, I: Io>(s: S, io: &I, base: usize, classes: usize) -> (f32, bool, S::V) {
    let inf = s.splat(f32::INFINITY);
    // A row of one vector without the loop; not on one lane, where the branch cost the
    // Cortex-M4F's `softmax_probs` entries 64 bytes of stack.
    if S::LANES > 1 && classes <= S::LANES {
        let x = io.load_x(s, base, classes, f32::NEG_INFINITY);
        return (s.reduce_max(x), s.any(s.mask_not(s.lt(x, inf))), x);
    }
    // With vectors, NaN or +∞ anywhere makes the sum NaN or +∞ (−∞ with +∞ gives NaN): one add
    // per block where a comparison and a mask's `or` were two (AVX-512, C = 1000: 0.406 → 0.394
    // ns/element, best of 4 alternated runs each); a sum that only overflows is told apart by
    // the exact test, which runs only then. On one lane the comparison stays: the cold call
    // cost the Cortex-M4F's softmax entry 8 bytes of stack, over its budget.
    let (mut vmax, mut sum, mut bad) = (s.splat(f32::NEG_INFINITY), s.splat(0.0), s.lt(inf, inf));
    let mut last = vmax;
    for_blocks!(S, classes, |off, lanes| {
        let x = io.load_x(s, base + off, lanes, f32::NEG_INFINITY);
        vmax = s.max(vmax, x);
        if S::LANES > 1 {
            sum = s.add(sum, x);
        } else {
            bad = s.mask_or(bad, s.mask_not(s.lt(x, inf)));
        }
        last = x;
    });
    let bad = if S::LANES > 1 {
        nan_or_infinity(s.reduce_add(sum)) && any_nan_or_infinity(io, base, classes)
    } else {
        s.any(bad)
    };
    (s.reduce_max(vmax), bad, last)
}

/// Whether a row holds NaN or +∞: [`first_pass`]'s exact test, for a row whose sum says it may.
#[cold]
#[inline(never)]
fn any_nan_or_infinity<I: Io>(io: &I, base: usize, classes: usize) -> bool {
    (base..base + classes).any(|i| nan_or_infinity(io.x(i)))
}

/// NaN or +∞ (−∞ is a masked class).
#[inline(always)]
fn nan_or_infinity(x: f32) -> bool {
    x.is_nan() || x == f32::INFINITY
}

/// A row's second pass, given its finite maximum: `others`, the sum of `exp(x_j − max)` over
/// the classes below the maximum plus one for each class at it but the first (so that
/// `1 − p_argmax = others/s`, never `1 − p`), and how many classes reach the maximum. With
/// `keep`, the exponentials: returned for a row that fits one vector (its logits `x_single`
/// from the first pass; a masked store read back at once would stall on store forwarding),
/// else written to the gradient buffer.
#[inline(always)]
fn second_pass<S: Simd, I: Io>(
    s: S,
    io: &mut I,
    base: usize,
    classes: usize,
    max: f32,
    x_single: S::V,
    keep: bool,
) -> (f32, f32, S::V) {
    let (vmax, one, zero) = (s.splat(max), s.splat(1.0), s.splat(0.0));
    let (mut below, mut at_max) = (zero, zero);
    let mut e_single = zero;
    if classes <= S::LANES {
        let (e, is_max) = (math::exp(s, s.sub(x_single, vmax)), s.eq(x_single, vmax));
        (below, at_max, e_single) = (s.add_unless(is_max, zero, e), s.add_where(is_max, zero, one), e);
    } else {
        // The row's loops that write go through a span of the row: its buffers are then values
        // of its own, which no store can change, where through `io` the compiler reloaded the
        // buffers' addresses and lengths after every store. With `small_rows`' spans for the
        // last pass, on AVX2: C = 80 10.53 → 9.82 instructions per element (0.95 → 0.85
        // ns/element at q25 of 10 interleaved runs), C = 1000 8.10 → 7.22 (0.76 → 0.68),
        // C = 5000 7.91 → 7.66; on the Cortex-M4F, C = 10 105.10 → 101.92.
        let mut row = io.span(base..base + classes);
        for_blocks!(S, classes, |off, lanes| {
            let x = row.load_x(s, off, lanes, f32::NEG_INFINITY);
            let (e, is_max) = (math::exp(s, s.sub(x, vmax)), s.eq(x, vmax));
            below = s.add_unless(is_max, below, e);
            at_max = s.add_where(is_max, at_max, one);
            if keep {
                row.store_grad(s, off, lanes, e);
            }
        });
    }
    let n_max = s.reduce_add(at_max);
    (s.reduce_add(below) + (n_max - 1.0), n_max, e_single)
}

/// `LANES` rows from `row0`, each of more than [`TRANSPOSED_CLASSES`] (so more than `LANES`) and
/// at most [`BATCH_CLASSES`] classes, with a class index and no smoothing: each row's maximum,
/// then its exponentials (in the gradient buffer), then the normalisers and the target terms of
/// all the rows at once (a row per lane: the scalar chain of `one_row`'s statistics, a logarithm
/// and several divisions, costs more than a short row's vector passes), then each row's
/// gradient. Returns false, having written nothing, when a row is ignored, holds NaN or +∞, or
/// is all −∞: the caller then runs those rows one by one.
#[allow(clippy::needless_range_loop, reason = "the second pass reads and writes arrays at row k")]
#[inline(always)]
fn small_rows<'t, S: Simd, F: Focus, I: Io>(
    s: S,
    focus: F,
    args: &Args<'_, impl RowTargets<'t>>,
    io: &mut I,
    row0: usize,
    row_losses: &mut [Wide; 16],
) -> bool {
    let c = args.classes;
    let (mut max, mut x_t, mut w, mut t) = ([0.0f32; 16], [0.0f32; 16], [0.0f32; 16], [0usize; 16]);
    let (mut others, mut unique) = ([0.0f32; 16], [0.0f32; 16]);
    let mut classes = [0.0f32; 16];
    if !args.targets.classes_of(row0, &mut classes[..S::LANES]) {
        return false;
    }
    for k in 0..S::LANES {
        // Exact: at most BATCH_CLASSES classes.
        let class = classes[k] as usize;
        let base = (row0 + k) * c;
        let (m, bad, _) = first_pass(s, io, base, c);
        if bad || m == f32::NEG_INFINITY {
            return false;
        }
        (max[k], x_t[k], w[k], t[k]) = (m, io.x(base + class), args.weights.of(class), class);
    }
    // Every row's first pass came before anything is written (in place, the gradient buffer
    // holds the logits that a row sent back would need).
    let none = s.splat(f32::NEG_INFINITY);
    for k in 0..S::LANES {
        let (o, n_max, _) = second_pass(s, io, (row0 + k) * c, c, max[k], none, I::GRAD);
        (others[k], unique[k]) = (o, (n_max == 1.0) as u8 as f32);
    }
    let st = stats(s, s.load(&max), s.load(&others), s.load(&unique), focus.needs_ln());
    let (factor, target_grad) = batch_rows(s, focus, s.load(&x_t), &st, s.load(&w), args.divisor, row_losses);
    if I::GRAD {
        let (mut f, mut g_t) = ([0.0f32; 16], [0.0f32; 16]);
        s.store(factor, &mut f);
        s.store(target_grad, &mut g_t);
        for k in 0..S::LANES {
            let (base, target, target_grad) = ((row0 + k) * c, t[k], g_t[k]);
            // The rows span more than one vector: their exponentials are in the buffer.
            scale_row_spanned(s, io, c, Scale { base, factor: f[k], e: none, target, target_grad });
        }
    }
    true
}

/// Sets the gradient of a whole row to `v`.
#[inline(always)]
fn set_row<S: Simd, I: Io>(s: S, io: &mut I, base: usize, classes: usize, v: f32) {
    for_blocks!(S, classes, |off, lanes| {
        io.store_grad(s, base + off, lanes, s.splat(v));
    });
}

/// `w_j·τ_j` for the block at `off`, 0 past the end of the row.
#[inline(always)]
fn w_tau<'t, S: Simd>(
    s: S,
    weights: Weights<'_>,
    target: RowTarget<'t>,
    keep: f32,
    spread: f32,
    off: usize,
    lanes: usize,
) -> S::V {
    let valid = load_at(s, &[1.0; 16], 0, lanes, 0.0);
    let w = match weights {
        Weights::Uniform(w) => s.mul(valid, s.splat(w)),
        Weights::PerClass(w) => load_at(s, w, off, lanes, 0.0),
    };
    let tau = match target {
        RowTarget::Probs(r) => s.mul_add(load_at(s, r, off, lanes, 0.0), s.splat(keep), s.splat(spread)),
        _ => s.splat(spread),
    };
    s.mul(w, tau)
}

/// The last pass of a row with one class index and no smoothing, left for the caller to run
/// ([`scale_row`]): the gradient buffer holds the row's exponentials `e_k` (or `e`, for a row
/// that fits one vector), each to be multiplied by `factor`, and the target's gradient is
/// `target_grad`.
#[derive(Clone, Copy)]
struct Scale<V> {
    base: usize,
    factor: f32,
    e: V,
    target: usize,
    target_grad: f32,
}

/// A row's last pass: writes the gradient left by [`one_row`] or [`small_rows`].
#[inline(always)]
fn scale_row<S: Simd, I: Io>(s: S, io: &mut I, classes: usize, row: Scale<S::V>) {
    let factor = s.splat(row.factor);
    if classes <= S::LANES {
        io.store_grad(s, row.base, classes, s.mul(row.e, factor));
    } else {
        for_blocks!(S, classes, |off, lanes| {
            let e = io.load_grad(s, row.base + off, lanes);
            io.store_grad(s, row.base + off, lanes, s.mul(e, factor));
        });
    }
    io.set_grad(row.base + row.target, row.target_grad);
}

/// [`scale_row`] through a span of the row, as `second_pass` writes (rows one by one, C = 5000
/// on AVX2: 7.66 → 7.17 instructions per element; C = 50 000 7.82 → 7.07 with `second_pass`'
/// span). For vector backends only: on one lane, the span cost the Cortex-M4F's softmax entry 8
/// bytes of stack, over its budget (520 of 512).
#[inline(always)]
fn scale_row_spanned<S: Simd, I: Io>(s: S, io: &mut I, classes: usize, row: Scale<S::V>) {
    let mut span = io.span(row.base..row.base + classes);
    scale_row(s, &mut span, classes, Scale { base: 0, ..row });
}

/// One row starting at `base`: writes its gradient and returns its loss. With vectors, the last
/// pass of a row with one class index and no smoothing is left `pending` until the next such
/// row has run its first passes (the caller runs the last one): its factor comes at the end of
/// a long chain of scalar work (the row's normaliser, its logarithm, the target's terms), which
/// then overlaps with the next row's vector passes instead of stalling the last pass (C = 80
/// with AVX-512, rows one by one: 0.97 → 0.90 ns/element). Not on one lane: the in-order cores
/// of microcontrollers would gain nothing.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn one_row<'t, S: Simd, F: Focus, H: TargetForm, I: Io>(
    s: S,
    focus: F,
    form: H,
    args: &Args<'_, impl RowTargets<'t>>,
    io: &mut I,
    base: usize,
    target: RowTarget<'t>,
    pending: &mut Option<Scale<S::V>>,
) -> Wide {
    let classes = args.classes;
    let d = args.divisor;
    if let RowTarget::Ignored = target {
        set_row(s, io, base, classes, 0.0);
        return 0.0;
    }

    let (max, bad, x_single) = first_pass(s, io, base, classes);
    if bad {
        set_row(s, io, base, classes, f32::NAN);
        return Wide::NAN;
    }
    let hard_class = match target {
        RowTarget::Class(t) if form.hard() => Some((t, io.x(base + t))),
        _ => None,
    };
    if max == f32::NEG_INFINITY {
        return all_masked(s, args, io, base, target);
    }
    // With one class index, the exponentials are kept for pass 3: the gradient of class k is
    // −e_k·w_t·g_t/s.
    let (others, n_max, e_single) = second_pass(s, io, base, classes, max, x_single, form.hard() && I::GRAD);
    let st = stats(Scalar, max, others, (n_max == 1.0) as u8 as f32, focus.needs_ln());

    if let Some((t, x_t)) = hard_class {
        let w = args.weights.of(t);
        let tt = scalar_terms(focus, x_t, &st);
        if I::GRAD {
            // −p_k·w·g_t = e_k·(−w·g_t/s), with D (at least 1) folded into the factor.
            let scale = Scale {
                base,
                factor: -crate::math::mul0(w, tt.g) / st.s / d,
                e: e_single,
                target: t,
                target_grad: crate::math::mul0(w, tt.g * tt.q) / d,
            };
            let ready = if S::LANES > 1 { pending.replace(scale) } else { Some(scale) };
            if let Some(row) = ready {
                if S::LANES > 1 {
                    scale_row_spanned(s, io, classes, row);
                } else {
                    scale_row(s, io, classes, row);
                }
            }
        }
        return weighted_loss(w, tt.half_loss);
    }

    // Target mass spread over the classes: τ_j = (1 − ls)·r_j + ls/C; a class index with
    // smoothing puts its (1 − ls) on one class, added apart from the vector pass.
    let keep = 1.0 - args.label_smoothing;
    let spread = args.label_smoothing / classes as f32;
    let class_part = match target {
        RowTarget::Class(t) => {
            let w = args.weights.of(t) * keep;
            Some((t, w, scalar_terms(focus, io.x(base + t), &st)))
        }
        _ => None,
    };

    let vst = st.splat(s);

    // Pass 3: the row's loss and G = Σ_j w_j·τ_j·g_j.
    let zero = s.splat(0.0);
    let mut loss = s.acc_zero();
    let mut g_sum = zero;
    for_blocks!(S, classes, |off, lanes| {
        let x = io.load_x(s, base + off, lanes, f32::NEG_INFINITY);
        let tm = terms(s, focus, x, &vst);
        let wt = w_tau(s, args.weights, target, keep, spread, off, lanes);
        // w·τ·loss, 0 where w·τ is (a masked class carries an infinite loss).
        loss = s.acc_add_product(loss, wt, s.select(s.eq(wt, zero), zero, tm.half_loss));
        g_sum = s.mul_add(wt, tm.g, g_sum);
    });
    let mut row_loss = s.acc_total(loss) * 2.0;
    let mut g_sum = s.reduce_add(g_sum);
    if let Some((_, w, tt)) = class_part {
        row_loss += weighted_loss(w, tt.half_loss);
        g_sum += crate::math::mul0(w, tt.g);
    }

    // Pass 4: dloss/dx_k = (w_k·τ_k·g_k − p_k·G) / D.
    if I::GRAD {
        let (vg, vd) = (s.splat(g_sum), s.splat(d));
        let mut row = io.span(base..base + classes);
        for_blocks!(S, classes, |off, lanes| {
            let x = row.load_x(s, off, lanes, f32::NEG_INFINITY);
            let tm = terms(s, focus, x, &vst);
            let g =
                s.sub(s.mul(w_tau(s, args.weights, target, keep, spread, off, lanes), tm.g), s.mul(tm.p, vg));
            row.store_grad(s, off, lanes, s.div(g, vd));
        });
        if let Some((t, w, tt)) = class_part {
            // The target class's whole numerator, divided once (one rounding, and no ∞ − ∞
            // between its two parts).
            let spread_part = args.weights.of(t) * spread * tt.g - tt.p * g_sum;
            row.set_grad(t, (spread_part + crate::math::mul0(w, tt.g)) / d);
        }
    }
    row_loss
}

/// A row whose every logit is −∞: every class is masked, p = 0, g = −1.
#[cold]
#[inline(never)]
fn all_masked<'t, S: Simd, I: Io>(
    _: S,
    args: &Args<'_, impl RowTargets<'t>>,
    io: &mut I,
    base: usize,
    target: RowTarget<'t>,
) -> Wide {
    let keep = 1.0 - args.label_smoothing;
    let spread = args.label_smoothing / args.classes as f32;
    let mut loss = 0.0;
    for k in 0..args.classes {
        let tau = match target {
            RowTarget::Class(t) => spread + if k == t { keep } else { 0.0 },
            RowTarget::Probs(r) => keep * r[k] + spread,
            RowTarget::Ignored => 0.0,
        };
        let w_tau = args.weights.of(k) * tau;
        if w_tau > 0.0 {
            loss = Wide::INFINITY;
        }
        io.set_grad(base + k, -w_tau / args.divisor);
    }
    loss
}
