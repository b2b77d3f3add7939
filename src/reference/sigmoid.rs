//! Binary and multi-label focal loss (DESIGN §2.1): one sigmoid per logit.

use super::sigmoid_element;
use crate::io::Io;
use crate::math::{Focus, Smoothed};
use crate::options::FocalLoss;
use crate::sum::{Accumulate, Accumulator};
use crate::validate::Plan;

/// Runs a validated batch: writes the per-element losses and the gradient where wanted, and
/// returns the reduced loss.
pub(crate) fn run<I: Io>(
    fl: &FocalLoss<'_>,
    plan: &Plan,
    mut io: I,
    targets: &[f32],
    mut losses: Option<&mut [f32]>,
) -> f32 {
    let focus = Focus::new(fl.gamma);
    let mut total = Accumulator::default();
    for (row, row_targets) in targets.chunks_exact(plan.classes.max(1)).enumerate() {
        for (c, &y) in row_targets.iter().enumerate() {
            let i = row * plan.classes + c;
            let t = Smoothed::new(y, fl.label_smoothing);
            let alpha_t = match (fl.class_alpha, fl.alpha) {
                (Some(class_alpha), _) => t.alpha_t(class_alpha[c]),
                (None, Some(alpha)) => t.alpha_t(alpha),
                (None, None) => 1.0,
            };
            let (loss, grad) = sigmoid_element(io.x(i), t, alpha_t, focus);
            total.add(loss.into());
            if let Some(losses) = losses.as_deref_mut() {
                losses[i] = loss;
            }
            io.set_grad(i, grad / plan.divisor);
        }
    }
    plan.reduce(total.total())
}
