//! Binary and multi-label focal loss (DESIGN §2.1): one sigmoid per logit.

use super::{reduce, sigmoid_element};
use crate::io::Io;
use crate::math::{Focus, Smoothed};
use crate::options::FocalLoss;
use crate::validate::Plan;

/// Runs a validated batch: writes the per-element losses and the gradient where wanted, and
/// returns the reduced loss. Out of line, so that its float64 frame does not join the callers'
/// (microcontroller stacks are small).
#[inline(never)]
pub(crate) fn run<I: Io>(
    fl: &FocalLoss<'_>,
    plan: &Plan,
    io: &mut I,
    targets: &[f32],
    mut losses: Option<&mut [f32]>,
) -> f32 {
    let focus = Focus::new(fl.gamma);
    let divisor = f64::from(plan.divisor);
    let mut total = 0.0;
    for (row, row_targets) in targets.chunks_exact(plan.classes.max(1)).enumerate() {
        for (c, &y) in row_targets.iter().enumerate() {
            let i = row * plan.classes + c;
            let (loss, grad) = element(fl, focus, c, y, io.x(i));
            total += loss;
            if let Some(losses) = losses.as_deref_mut() {
                losses[i] = loss as f32;
            }
            io.set_grad(i, (grad / divisor) as f32);
        }
    }
    reduce(total, plan)
}

/// The loss and the gradient (before the division by D) of an element of class `c` with target
/// `y` and logit `x`.
#[inline(never)]
pub(crate) fn element(fl: &FocalLoss<'_>, focus: Focus, c: usize, y: f32, x: f32) -> (f64, f64) {
    let t = Smoothed::new(f64::from(y), f64::from(fl.label_smoothing));
    let alpha_t = match (fl.class_alpha, fl.alpha) {
        (Some(class_alpha), _) => t.alpha_t(f64::from(class_alpha[c])),
        (None, Some(alpha)) => t.alpha_t(f64::from(alpha)),
        (None, None) => 1.0,
    };
    sigmoid_element(f64::from(x), t, alpha_t, focus)
}
