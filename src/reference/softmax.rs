//! Multi-class focal loss (DESIGN §2.2, §2.3): one softmax per row, with a class index or a
//! row of target probabilities.

use super::{reduce, row_shape, ClassTerm, RowShape, Sum8};
use crate::io::Io;
use crate::kernel::softmax::{RowTarget, RowTargets};
use crate::math::{mul0, Focus};
use crate::options::FocalLoss;
use crate::validate::Plan;

/// Runs a validated batch: writes the per-row losses and the gradient where wanted, and returns
/// the reduced loss. Out of line, so that its float64 frame does not join the callers'
/// (microcontroller stacks are small).
#[inline(never)]
pub(crate) fn run<'t, I: Io>(
    fl: &FocalLoss<'_>,
    plan: &Plan,
    io: &mut I,
    targets: impl RowTargets<'t>,
    mut losses: Option<&mut [f32]>,
) -> f32 {
    let focus = Focus::new(fl.gamma);
    let mut total = 0.0;
    for row in 0..plan.rows {
        let loss = one_row(fl, plan.classes, plan.divisor, focus, io, row * plan.classes, targets.row(row));
        total += loss;
        if let Some(losses) = losses.as_deref_mut() {
            losses[row] = loss as f32;
        }
    }
    reduce(total, plan)
}

/// One row of `classes` logits starting at `base`: writes its gradient divided by `divisor`
/// (when `I` wants one) and returns its loss.
pub(crate) fn one_row<I: Io>(
    fl: &FocalLoss<'_>,
    classes: usize,
    divisor: f32,
    focus: Focus,
    io: &mut I,
    base: usize,
    target: RowTarget<'_>,
) -> f64 {
    let divisor = f64::from(divisor);
    let x = |io: &I, j: usize| f64::from(io.x(base + j));
    let set_grad = |io: &mut I, k: usize, g: f64| io.set_grad(base + k, (g / divisor) as f32);
    let set_row = |io: &mut I, v: f32| (0..classes).for_each(|k| io.set_grad(base + k, v));
    let stats = match target {
        RowTarget::Ignored => {
            set_row(io, 0.0);
            return 0.0;
        }
        _ => match row_shape(|j| x(io, j), classes) {
            RowShape::Nan => {
                set_row(io, f32::NAN);
                return f64::NAN;
            }
            RowShape::AllMasked => None,
            RowShape::Finite(stats) => Some(stats),
        },
    };
    let term = |x: f64, j: usize| match &stats {
        Some(st) => ClassTerm::new(x, j, st, focus),
        None => ClassTerm::MASKED,
    };
    let probability = |x: f64, j: usize| match &stats {
        Some(st) if x != f64::NEG_INFINITY => st.probability(x, j),
        _ => 0.0,
    };
    let weight = |j: usize| {
        f64::from(match (fl.class_alpha, fl.alpha) {
            (Some(class_alpha), _) => class_alpha[j],
            (None, Some(alpha)) => alpha,
            (None, None) => 1.0,
        })
    };

    if let (RowTarget::Class(t), true) = (target, fl.label_smoothing == 0.0) {
        // One class carries all the mass: loss −w_t(1 − p_t)^γ log p_t, and the target's
        // gradient in the form w_t·g_t·(1 − p_t), which does not cancel as p_t → 1.
        let w = weight(t);
        let tt = term(x(io, t), t);
        if I::GRAD {
            let g_sum = mul0(w, tt.g);
            for k in 0..classes {
                let g = if k == t { mul0(w, tt.g * tt.q) } else { -probability(x(io, k), k) * g_sum };
                set_grad(io, k, g);
            }
        }
        return tt.loss(w);
    }

    // Target mass spread over the classes: τ_j = (1 − ls)·r_j + ls/C.
    let keep = 1.0 - f64::from(fl.label_smoothing);
    let spread = f64::from(fl.label_smoothing) / classes as f64;
    let tau = |j: usize| match target {
        RowTarget::Class(t) => {
            if j == t {
                keep + spread
            } else {
                spread
            }
        }
        RowTarget::Probs(r) => keep * f64::from(r[j]) + spread,
        RowTarget::Ignored => 0.0,
    };
    let (mut loss, mut g_sum) = (Sum8::<f64>::default(), Sum8::<f64>::default());
    for j in 0..classes {
        let w_tau = weight(j) * tau(j);
        let tj = term(x(io, j), j);
        loss.add(j, tj.loss(w_tau));
        g_sum.add(j, mul0(w_tau, tj.g));
    }
    let g_sum = g_sum.total();
    if I::GRAD {
        for k in 0..classes {
            let tk = term(x(io, k), k);
            set_grad(io, k, mul0(weight(k) * tau(k), tk.g) - tk.p * g_sum);
        }
    }
    loss.total()
}
