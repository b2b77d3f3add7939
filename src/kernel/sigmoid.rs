//! The sigmoid kernel (binary and multi-label), DESIGN §2.1, for any backend.
//!
//! Two forms: hard targets (every target exactly 0 or 1, no smoothing), which selects between
//! the two sides of the sigmoid with masks instead of computing `s = 2y − 1`; and soft targets,
//! the general formula. Both build on the same [`Parts`], from which every other quantity is
//! formed without cancellation.

use super::focus::{Focus, LnM};
use super::TargetForm;
use crate::io::{load_at, store_at, Io};
use crate::options::FocalLoss;
use crate::simd::{math, Simd};
use crate::sum::{SmallSums, Wide, SMALL};

/// The per-class weights α of a batch.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Weights<'a> {
    /// No α: α_t = 1.
    None,
    /// One α for every class.
    Scalar(f32),
    /// One α per class (column).
    PerClass(&'a [f32]),
}

/// What the kernel needs besides the buffers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Args<'a> {
    pub(crate) targets: &'a [f32],
    pub(crate) classes: usize,
    pub(crate) weights: Weights<'a>,
    pub(crate) label_smoothing: f32,
    /// What the gradient is divided by: D for `mean`, else 1. At least 1 (a divisor below 1
    /// takes the wide path, `Plan::wide`).
    pub(crate) divisor: f32,
    /// The options, for the wide path's recomputation of small losses ([`SmallSums`]).
    pub(crate) options: &'a FocalLoss<'a>,
}

/// The weights of one block: α for target 1 and for target 0, for the loss and for the gradient
/// (divided by D).
#[derive(Clone, Copy)]
struct BlockWeights<V> {
    loss1: V,
    loss0: V,
    grad1: V,
    grad0: V,
}

/// Runs the kernel over a validated batch; returns the sum of the losses.
#[inline(always)]
pub(crate) fn run<S: Simd, F: Focus, H: TargetForm, I: Io>(
    s: S,
    focus: F,
    form: H,
    args: &Args<'_>,
    io: &mut I,
    losses: Option<&mut [f32]>,
) -> Wide {
    let n = args.targets.len();
    // D (at least 1) folds into the weights.
    let d = args.divisor;
    let fixed = match args.weights {
        Weights::None => BlockWeights {
            loss1: s.splat(1.0),
            loss0: s.splat(1.0),
            grad1: s.splat(1.0 / d),
            grad0: s.splat(1.0 / d),
        },
        Weights::Scalar(a) => uniform(s, a, d),
        Weights::PerClass(_) => uniform(s, 0.0, d),
    };
    // Spans that share their weights' layout: the whole batch, or (per-class α) one row each;
    // but with vectors and rows of at most TILED_CLASSES, the whole batch again, its blocks
    // straddling rows, each reading its α from `tiled[j] = α[j mod C]` at its column (rows
    // one by one, every row ended in a partial block: with α per class, C = 10 on AVX-512,
    // 4.8 → 0.72 ns/element, C = 80 1.2 → 0.72; AVX2 8.1 → 1.15–1.6).
    let mut tiled = [0.0f32; TILED_CLASSES + 64];
    let (span_len, class_alpha, period) = match args.weights {
        Weights::PerClass(class_alpha) if S::LANES > 1 && (1..=TILED_CLASSES).contains(&args.classes) => {
            let c = args.classes;
            for (j, t) in tiled[..c + S::LANES].iter_mut().enumerate() {
                *t = class_alpha[j % c];
            }
            (n, Some(&tiled[..c + S::LANES]), c)
        }
        Weights::PerClass(class_alpha) => (args.classes, Some(class_alpha), 0),
        _ => (n, None, 0),
    };
    // Vector backends run the loop once for each source of weights, so that one α stays in
    // registers rather than travelling with the per-class weights through the loop, copied on
    // the stack for every vector (binary γ=2 fused on AVX2, Zen 3: 11.70 → 10.55 instructions
    // per element, 1.33 → 1.26 ns/element at the lower quartile of 12 interleaved runs). The
    // scalar backend keeps one loop for both, for its flash; in this shape (its struct of
    // weights built first, passed by reference) its loop measured as before on the Cortex-M4F,
    // where a `match` between the two calls cost it 1.5 instructions per element (114.45 →
    // 115.94). The second loop doubles the sigmoid's compile time (release build of the
    // library 101 → 150 s). Tried against it: one loop reading every kind of weights from a
    // table by column on the stack (12.09 instructions per element: 64 loads per 4 blocks,
    // and more spills; per-class α, with no division left, no faster); the per-class loop
    // without its groups of four blocks (117 s, but per-class α C = 80 12.06 → 13.84, 6 %
    // slower at the lower quartile).
    let any = AnyWeights { fixed, class_alpha, period, d };
    if S::LANES == 1 || class_alpha.is_some() {
        return blocks(s, focus, form, args, io, losses, span_len, &any);
    }
    blocks(s, focus, form, args, io, losses, span_len, &fixed)
}

/// Where a block's weights come from ([`blocks`]): the same for every block, or per class.
trait WeightsAt<S: Simd>: Copy {
    /// The weights of the block of `lanes` elements at column `at` of its span.
    fn at(self, s: S, at: usize, lanes: usize) -> BlockWeights<S::V>;
}

impl<S: Simd> WeightsAt<S> for &BlockWeights<S::V> {
    #[inline(always)]
    fn at(self, _: S, _: usize, _: usize) -> BlockWeights<S::V> {
        *self
    }
}

/// Per-class α (at column `at`, or `at mod period` in a tiled α) when given, else `fixed`.
#[derive(Clone, Copy)]
struct AnyWeights<'a, V> {
    fixed: BlockWeights<V>,
    class_alpha: Option<&'a [f32]>,
    period: usize,
    d: f32,
}

impl<S: Simd> WeightsAt<S> for &AnyWeights<'_, S::V> {
    #[inline(always)]
    fn at(self, s: S, at: usize, lanes: usize) -> BlockWeights<S::V> {
        match self.class_alpha {
            Some(ca) => {
                let column = if self.period > 0 { at % self.period } else { at };
                let a = load_at(s, ca, column, lanes, 0.0);
                let not_a = s.sub(s.splat(1.0), a);
                let dv = s.splat(self.d);
                BlockWeights { loss1: a, loss0: not_a, grad1: s.div(a, dv), grad0: s.div(not_a, dv) }
            }
            None => self.fixed,
        }
    }
}

/// The loop over the batch's spans and blocks, with the weights from `weights`; returns the sum
/// of the losses.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn blocks<S: Simd, F: Focus, H: TargetForm, I: Io, W: WeightsAt<S>>(
    s: S,
    focus: F,
    form: H,
    args: &Args<'_>,
    io: &mut I,
    mut losses: Option<&mut [f32]>,
    span_len: usize,
    weights: W,
) -> Wide {
    let mut acc = s.acc_zero();
    let mut small = SmallSums::new();
    let n = args.targets.len();
    // No closures below: a closure does not inherit the `#[target_feature]` of the wrapper that
    // instantiates this kernel, and every intrinsic inside it would become a call.
    let mut base = 0;
    while base < n {
        // The span's buffers, indexed from 0 and of a length the compiler knows: no bounds
        // check per block (on the Cortex-M4F, 10 instructions per element with their effect
        // on register allocation).
        let span = base..base + span_len;
        let targets = &args.targets[span.clone()];
        let mut io = io.span(span.clone());
        let mut losses = losses.as_deref_mut().map(|losses| &mut losses[span]);
        let mut off = 0;
        while off < span_len {
            let lanes = S::LANES.min(span_len - off);
            let at = [off, off + S::LANES, off + 2 * S::LANES, off + 3 * S::LANES];
            macro_rules! block_at {
                ($k:expr, $lanes:expr) => {{
                    let w = weights.at(s, at[$k], $lanes);
                    block(s, focus, form, args, targets, &io, at[$k], $lanes, w)
                }};
            }
            // The stores of a finished block: its gradient, and its losses where asked for (the
            // fast ones, each within its budget: a small block's sum comes from the wide path,
            // which is what the sum needs; writing the wide losses here too cost the Cortex-M4F
            // 8 instructions per element). Returns the losses.
            macro_rules! block_done {
                ($k:expr, $lanes:expr, $loss:expr, $grad:expr) => {{
                    let i = at[$k];
                    if let Some(losses) = losses.as_deref_mut() {
                        store_at(s, $loss, losses, i, $lanes);
                    }
                    io.store_grad(s, i, $lanes, $grad);
                    $loss
                }};
                ($k:expr, $lanes:expr) => {{
                    let (loss, grad) = block_at!($k, $lanes);
                    block_done!($k, $lanes, loss, grad)
                }};
            }
            let blocks = if S::LANES > 1 && span_len - off >= 4 * S::LANES && !small.watching() {
                // The four blocks' losses meet the wide accumulator together (its float32 →
                // float64 conversions cost AVX-512 a tenth of the loop), each scaled by 1/4 so
                // that their float32 sum (three roundings) cannot overflow; the ×4 in the
                // accumulator's width is exact. Where the sum is subnormal, its roundings cost
                // at most 2^-148 per element once scaled back: nothing against a sum that has
                // reached SMALL.
                let (l, quarter) = (S::LANES, s.splat(0.25));
                let mut group = s.mul(block_done!(0, l), quarter);
                group = s.mul_add(block_done!(1, l), quarter, group);
                group = s.mul_add(block_done!(2, l), quarter, group);
                group = s.mul_add(block_done!(3, l), quarter, group);
                acc = s.acc_add_product(acc, group, s.splat(4.0));
                4
            } else {
                // Each block alone; while every loss so far is small ([`SmallSums`]), a block's
                // small losses are replaced by the wide path's before its gradient is written.
                let (loss, grad) = block_at!(0, lanes);
                if !small.watching() {
                    acc = s.acc_add(acc, loss);
                } else if s.any(s.le(s.splat(SMALL), loss)) {
                    small.stop();
                    acc = s.acc_add(acc, loss);
                } else {
                    small.add(exact_losses(args, targets, &io, off, lanes));
                }
                block_done!(0, lanes, loss, grad);
                1
            };
            off += blocks * lanes;
        }
        base += span_len.max(1);
    }
    small.total(s.acc_total(acc))
}

/// The most classes whose per-class α a vector kernel tiles along a buffer on the stack, so that
/// its blocks straddle rows (`run`); longer rows run one by one, ending in at most one partial
/// block each.
const TILED_CLASSES: usize = 256;

/// The sum of the losses of the `lanes` elements at `i`, from the wide path: a block whose every
/// loss is below [`SMALL`] while the batch's sum still is ([`SmallSums`]).
#[inline(never)]
#[cold]
fn exact_losses<I: Io>(args: &Args<'_>, targets: &[f32], io: &I, i: usize, lanes: usize) -> f64 {
    (i..i + lanes).map(|j| wide_element(args, targets, io, j).0).sum()
}

/// Element `j` of a span's loss and gradient (before the division by D) on the wide path. A
/// span starts a row (the batch, or one row), so `j` modulo the classes is its class.
#[inline(always)]
fn wide_element<I: Io>(args: &Args<'_>, targets: &[f32], io: &I, j: usize) -> (f64, f64) {
    let focus = crate::math::Focus::new(args.options.gamma);
    let class = j % args.classes.max(1);
    crate::reference::sigmoid::element(args.options, focus, class, targets[j], io.x(j))
}

/// The same α for every element.
#[inline(always)]
fn uniform<S: Simd>(s: S, a: f32, d: f32) -> BlockWeights<S::V> {
    BlockWeights {
        loss1: s.splat(a),
        loss0: s.splat(1.0 - a),
        grad1: s.splat(a / d),
        grad0: s.splat((1.0 - a) / d),
    }
}

/// Loss and gradient of the block of `lanes` elements at `i`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block<S: Simd, F: Focus, H: TargetForm, I: Io>(
    s: S,
    focus: F,
    form: H,
    args: &Args<'_>,
    targets: &[f32],
    io: &I,
    i: usize,
    lanes: usize,
    w: BlockWeights<S::V>,
) -> (S::V, S::V) {
    let x = io.load_x(s, i, lanes, 0.0);
    let y = load_at(s, targets, i, lanes, 0.0);
    let ax = s.abs(x);
    // The common case, in one test: every |x| within `exp_normal`'s domain, so that no lane is
    // infinite or NaN and e^(−|x|) needs neither a floor nor a test for subnormal results
    // (binary γ=2 fused on AVX2, Zen 3: 12.50 → 11.86 instructions per element, 1.46 → 1.37
    // ns/element at the lower quartile of interleaved runs). Vector backends only: on one lane
    // the test would cost more than it saves. Only the exponential is chosen, the rest of the
    // block being one copy for both paths. A copy of the whole block for each (d65ccb7) had
    // made a release build of the library take 150 → 217 s, for nothing: going back to one copy
    // took AVX2 from 10.55 to 10.53 instructions per element at γ=2, 13.15 to 12.36 at γ=1.5.
    let careful = S::LANES == 1 || s.any(s.magnitude_beyond(ax, math::NORMAL_EXP_BOUND));
    let e = if careful { math::exp(s, s.neg(ax)) } else { math::exp_normal(s, s.neg(ax)) };
    let (loss, grad) = formed(s, focus, form, args, x, y, lanes, Parts::new(s, ax, e), w);
    if careful && s.any(s.magnitude_beyond(ax, f32::MAX)) {
        // Through arrays: the cold helper is compiled without the wrapper's target features, so
        // it must not touch a vector.
        let (mut l, mut g) = (S::Array::default(), S::Array::default());
        s.store(loss, l.as_mut());
        s.store(grad, g.as_mut());
        fix_lanes(args, targets, io, i, lanes, l.as_mut(), g.as_mut());
        return (s.load(l.as_ref()), s.load(g.as_ref()));
    }
    (loss, grad)
}

/// Loss and gradient of a block from its parts, in the block's target form; the loss of lanes
/// past `lanes` (padding) is 0.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn formed<S: Simd, F: Focus, H: TargetForm>(
    s: S,
    focus: F,
    form: H,
    args: &Args<'_>,
    x: S::V,
    y: S::V,
    lanes: usize,
    parts: Parts<S::V>,
    w: BlockWeights<S::V>,
) -> (S::V, S::V) {
    let (loss, grad) = if form.hard() {
        hard_block(s, focus, x, y, parts, w)
    } else {
        soft_block(s, focus, x, y, parts, args.label_smoothing, w)
    };
    // Padding past the end: its loss must not count. In the vector, not through the cold
    // path: with per-class α every row ends in a partial block.
    let loss = if S::LANES > 1 && lanes < S::LANES {
        s.select(s.lt(s.load(&LANE_INDEX), s.splat(lanes as f32)), loss, s.splat(0.0))
    } else {
        loss
    };
    (loss, grad)
}

/// What both forms build on, for finite logits: `|x|`, `e = exp(−|x|)`, `σ(|x|) = 1/(1 + e)`,
/// `σ(−|x|) = e·σ(|x|)` and `log1p(e)` (through a table where the backend has a fast one: the
/// division it saves is the second of two per element).
#[derive(Clone, Copy)]
struct Parts<V> {
    ax: V,
    big: V,
    small: V,
    l: V,
}

impl<V: Copy> Parts<V> {
    /// The parts of `ax = |x|`, given `e = exp(−|x|)`.
    #[inline(always)]
    fn new<S: Simd<V = V>>(s: S, ax: V, e: V) -> Parts<V> {
        let big = s.div(s.splat(1.0), s.add(s.splat(1.0), e));
        let l = if S::TABLE_LOG1P { math::log1p_of_unit(s, e) } else { math::log1p(s, e) };
        Parts { ax, big, small: s.mul(e, big), l }
    }
}

/// Hard targets (y ∈ {0, 1}, no smoothing), finite logits.
///
/// With `right` meaning the logit is on the target's side (x ≥ 0 for y = 1, x < 0 for y = 0):
/// `m = 1 − p_t` is `σ(−|x|)` when right and `σ(|x|)` when wrong, `ce = softplus(∓|x|)`, and
/// `dloss/dx = −s·α_t·m^γ·(γ·p_t·ce + m)`.
#[inline(always)]
fn hard_block<S: Simd, F: Focus>(
    s: S,
    focus: F,
    x: S::V,
    y: S::V,
    parts: Parts<S::V>,
    w: BlockWeights<S::V>,
) -> (S::V, S::V) {
    let Parts { ax, big, small, l } = parts;
    let (one, wrong) = s.hard_target_sides(x, y);
    let m = s.select(wrong, big, small);
    let p_t = s.select(wrong, small, big);
    let ce = s.add_where(wrong, l, ax);
    let m_gamma = focus.pow(s, m, HardLnM { wrong, ax, l });
    let loss = s.mul(s.mul(s.select(one, w.loss1, w.loss0), m_gamma), ce);
    let inner = s.mul_add(focus.times_gamma(s, p_t), ce, m);
    let g = s.mul(s.mul(s.select(one, s.neg(w.grad1), w.grad0), m_gamma), inner);
    (loss, g)
}

/// Any targets in [0, 1] and smoothing, finite logits: the general formula of DESIGN §2.1.
#[inline(always)]
fn soft_block<S: Simd, F: Focus>(
    s: S,
    focus: F,
    x: S::V,
    y: S::V,
    parts: Parts<S::V>,
    label_smoothing: f32,
    w: BlockWeights<S::V>,
) -> (S::V, S::V) {
    let Parts { ax, big, small, l } = parts;
    let zero = s.splat(0.0);
    let pos = s.le(zero, x);
    let p = s.select(pos, big, small);
    let not_p = s.select(pos, small, big);
    let softplus_x = s.add_where(pos, l, ax);
    let softplus_neg_x = s.add_unless(pos, l, ax);
    let keep = s.splat(1.0 - label_smoothing);
    let half = s.splat(0.5 * label_smoothing);
    let y1 = s.mul_add(y, keep, half);
    let y0 = s.mul_add(s.sub(s.splat(1.0), y), keep, half);

    let m = s.mul_add(p, y0, s.mul(not_p, y1));
    let ce = s.mul_add(y1, softplus_neg_x, s.mul(y0, softplus_x));
    let m_gamma = focus.pow(s, m, SoftLnM { m, p, not_p, y1, y0 });
    let alpha_loss = s.mul_add(w.loss1, y1, s.mul(w.loss0, y0));
    let alpha_grad = s.mul_add(w.grad1, y1, s.mul(w.grad0, y0));
    let loss = s.mul(s.mul(alpha_loss, m_gamma), ce);

    // p − y' without cancellation: (1 − y') − (1 − p) when p ≥ 1/2.
    let p_minus_y = s.select(pos, s.sub(y0, not_p), s.sub(p, y1));
    // r = p(1 − p)(1 − 2y')/m; where p(1 − p) is 0, so is r (m may be 0 there too).
    let p_not_p = s.mul(p, not_p);
    let r = s.mul(s.div(p_not_p, m), s.sub(y0, y1));
    let r = s.select(s.eq(p_not_p, zero), zero, r);
    // α·m^γ·(γ·r·ce + p − y'), with α·m^γ·γ formed first: γ·r alone overflows for a huge γ,
    // where m^γ is 0 (and ∞·0 would be NaN).
    let weighted = s.mul(alpha_grad, m_gamma);
    let focused = s.mul(focus.times_gamma(s, weighted), r);
    let g = s.mul_add(focused, ce, s.mul(weighted, p_minus_y));
    (loss, g)
}

/// `ln m` for hard targets: `−softplus(±|x|)`, that is `−(|x| + l)` when right and `−l` when
/// wrong.
#[derive(Clone, Copy)]
struct HardLnM<S: Simd> {
    wrong: S::M,
    ax: S::V,
    l: S::V,
}

impl<S: Simd> LnM<S> for HardLnM<S> {
    #[inline(always)]
    fn ln_m(self, s: S) -> S::V {
        s.neg(s.add_unless(self.wrong, self.l, self.ax))
    }
}

/// `ln m` for soft targets, `m = p(1 − y') + (1 − p)y'`: through `log1p(−p_t)` once m > 1/2,
/// since m near 1 rounds to 1, and a large γ turns the lost `1 − m` into a factor of 1 where it
/// is `e^(−γ·p_t)`.
#[derive(Clone, Copy)]
struct SoftLnM<V> {
    m: V,
    p: V,
    not_p: V,
    y1: V,
    y0: V,
}

impl<S: Simd> LnM<S> for SoftLnM<S::V> {
    #[inline(always)]
    fn ln_m(self, s: S) -> S::V {
        let p_t = s.mul_add(self.p, self.y1, s.mul(self.not_p, self.y0));
        s.ln_given_complement(self.m, p_t)
    }
}

/// `k` in lane `k`: where the padding of a partial block starts.
#[rustfmt::skip]
static LANE_INDEX: [f32; 64] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
    16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0,
    32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0,
    48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0,
];

/// Lanes the vector path must not decide: non-finite logits, whose limits (DESIGN §2.1) come
/// from the wide path: at x = ±∞, `m` is a target mass such as ls/2, and `m^γ` in float32 is off
/// by about γ·|ln m|·ε (2.1 budgets at γ = 4.9, ls = 1.5e-5: a fuzz finding), which no κ covers
/// there. Padding lanes (from `lanes` on) are left as they are.
#[inline(never)]
#[cold]
fn fix_lanes<I: Io>(
    args: &Args<'_>,
    targets: &[f32],
    io: &I,
    i: usize,
    lanes: usize,
    l: &mut [f32],
    g: &mut [f32],
) {
    for k in 0..lanes {
        if !io.x(i + k).is_finite() {
            let (loss, grad) = wide_element(args, targets, io, i + k);
            (l[k], g[k]) = (loss as f32, (grad / f64::from(args.divisor)) as f32);
        }
    }
}
