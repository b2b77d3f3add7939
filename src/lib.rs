//! Focal Loss (Lin et al., ICCV 2017) and its gradient, exact and allocation-free.
//!
//! `focal_loss` computes the loss of the binary, multi-label and multi-class tasks, with γ, α
//! (scalar or per class), label smoothing and the reductions none / sum / mean, together with
//! its gradient with respect to the logits, in one pass over buffers the caller owns. The core
//! is `#![no_std]` and never allocates, so the same code runs on a Cortex-M4F and on a server.
//!
//! Every output meets the accuracy contract of the project's design (a few float32 roundings,
//! growing only with the problem's own conditioning), including the inputs where common
//! implementations return NaN: probabilities that underflow, saturated logits, γ < 1.
//!
//! ```
//! use focal_loss::{FocalLoss, Out, Reduction};
//!
//! // Binary: one logit per sample, targets 0 or 1 (or soft, in [0, 1]).
//! let logits = [2.5, -1.0, 0.3, -4.0];
//! let targets = [1.0, 0.0, 1.0, 1.0];
//! let fl = FocalLoss::builder().gamma(2.0).alpha(0.25).reduction(Reduction::Mean).build()?;
//! let mut grad = [0.0; 4];
//! let loss = fl.sigmoid(&logits, &targets, 1, Out::new().grad(&mut grad))?;
//! assert!(loss > 0.0 && grad[3] < 0.0);
//!
//! // Multi-class: a row of logits per sample, one class index per row.
//! let logits = [3.0, 1.0, 0.2, /* row 2 */ 0.5, 2.0, -1.0];
//! let classes: [u8; 2] = [0, 2];
//! let loss = FocalLoss::default().softmax(&logits, &classes, 3, Out::new())?;
//! assert!(loss > 0.0);
//! # Ok::<(), focal_loss::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

mod dispatch;
mod io;
mod kernel;
mod math;
mod options;
mod reference;
mod simd;
mod sum;
mod validate;

pub use dispatch::Backend;
pub use options::{Buffer, Builder, Error, FocalLoss, Reduction};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use io::{Forward, InPlace, Io, Separate};
use kernel::softmax::{ClassIndices, Indices, Probabilities, RowTargets};
use validate::{OutLens, Plan};

/// The outputs one call writes, besides the reduced loss it returns.
///
/// ```
/// use focal_loss::{FocalLoss, Out, Reduction};
///
/// let fl = FocalLoss::builder().reduction(Reduction::None).build()?;
/// let (logits, targets) = ([1.0, -2.0], [1.0, 1.0]);
/// let (mut losses, mut grad) = ([0.0; 2], [0.0; 2]);
/// let sum = fl.sigmoid(&logits, &targets, 1, Out::new().losses(&mut losses).grad(&mut grad))?;
/// assert_eq!(sum, losses[0] + losses[1]);
/// # Ok::<(), focal_loss::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Out<'o> {
    losses: Option<&'o mut [f32]>,
    grad: Option<&'o mut [f32]>,
}

impl<'o> Out<'o> {
    /// Nothing but the returned loss.
    pub fn new() -> Self {
        Out::default()
    }

    /// Also write the gradient of the reduced loss here (as long as the logits).
    pub fn grad(mut self, grad: &'o mut [f32]) -> Self {
        self.grad = Some(grad);
        self
    }

    /// Also write the per-element (sigmoid) or per-row (softmax) losses here; needs
    /// [`Reduction::None`].
    pub fn losses(mut self, losses: &'o mut [f32]) -> Self {
        self.losses = Some(losses);
        self
    }

    fn lens(&self) -> OutLens {
        OutLens {
            losses: self.losses.as_deref().map(<[f32]>::len),
            grad: self.grad.as_deref().map(<[f32]>::len),
        }
    }
}

/// An integer type that can hold class indices: `u8`, `u16`, `u32`, `i32` or `i64`.
pub trait ClassIndex: Copy + sealed::Sealed {
    /// The index as an `i64`.
    fn to_i64(self) -> i64;
}

mod sealed {
    use crate::kernel::softmax::Indices;

    /// Sealed, and the bridge to the kernels: each index type names its slice as one variant
    /// of [`Indices`], so the generic entry points stay thin and the kernels are compiled once,
    /// in this crate, whatever index type a caller uses.
    pub trait Sealed: Sized {
        fn indices(targets: &[Self]) -> Indices<'_>;
    }
}

macro_rules! class_index {
    ($($t:ident => $variant:ident),*) => {$(
        impl sealed::Sealed for $t {
            #[inline(always)]
            fn indices(targets: &[$t]) -> kernel::softmax::Indices<'_> {
                kernel::softmax::Indices::$variant(targets)
            }
        }
        impl ClassIndex for $t {
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self.into()
            }
        }
    )*};
}
class_index!(u8 => U8, u16 => U16, u32 => U32, i32 => I32, i64 => I64);

impl FocalLoss<'_> {
    /// Binary (`classes = 1`) and multi-label focal loss: `logits` and `targets` are
    /// `rows × classes`, row-major; each target is in [0, 1] (hard 0/1 or soft).
    ///
    /// Returns the reduced loss (for [`Reduction::None`], the sum of the losses, which is what
    /// the gradient is of) and writes what `out` asks for. Nothing is written on error.
    ///
    /// ```
    /// use focal_loss::{FocalLoss, Out, Reduction};
    ///
    /// // Multi-label: 2 samples × 3 labels.
    /// let logits = [1.2, -0.4, 3.1, -2.0, 0.7, 0.0];
    /// let targets = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    /// let fl = FocalLoss::builder().gamma(2.0).alpha(0.25).reduction(Reduction::Sum).build()?;
    /// let mut grad = [0.0; 6];
    /// let loss = fl.sigmoid(&logits, &targets, 3, Out::new().grad(&mut grad))?;
    /// assert!(loss > 0.0 && grad[0] < 0.0 && grad[1] > 0.0);
    /// # Ok::<(), focal_loss::Error>(())
    /// ```
    pub fn sigmoid(
        &self,
        logits: &[f32],
        targets: &[f32],
        classes: usize,
        out: Out<'_>,
    ) -> Result<f32, Error> {
        let plan = validate::sigmoid(self, logits.len(), targets, classes, out.lens())?;
        let Out { losses, grad } = out;
        Ok(match grad {
            Some(grad) => self.run_sigmoid(&plan, Separate { logits, grad }, targets, losses),
            None => self.run_sigmoid(&plan, Forward(logits), targets, losses),
        })
    }

    /// [`sigmoid`](Self::sigmoid) with the gradient written over the logits.
    ///
    /// ```
    /// use focal_loss::FocalLoss;
    ///
    /// let mut logits_then_grad = [2.0, -1.0];
    /// let loss = FocalLoss::default().sigmoid_in_place(&mut logits_then_grad, &[1.0, 0.0], 1, None)?;
    /// assert!(loss > 0.0 && logits_then_grad[0] < 0.0 && logits_then_grad[1] > 0.0);
    /// # Ok::<(), focal_loss::Error>(())
    /// ```
    pub fn sigmoid_in_place(
        &self,
        logits: &mut [f32],
        targets: &[f32],
        classes: usize,
        losses: Option<&mut [f32]>,
    ) -> Result<f32, Error> {
        let lens = OutLens { losses: losses.as_deref().map(<[f32]>::len), grad: Some(logits.len()) };
        let plan = validate::sigmoid(self, logits.len(), targets, classes, lens)?;
        Ok(self.run_sigmoid(&plan, InPlace(logits), targets, losses))
    }

    /// Multi-class focal loss with one class index per row: `logits` is `rows × classes`,
    /// row-major, and `targets` holds `rows` indices in `[0, classes)` or equal to the
    /// [ignore index](Builder::ignore_index) (the row is skipped).
    ///
    /// Returns the reduced loss (for [`Reduction::None`], the sum of the per-row losses) and
    /// writes what `out` asks for. `mean` divides by the number of rows not ignored.
    ///
    /// ```
    /// use focal_loss::{FocalLoss, Out};
    ///
    /// let weights = [0.25, 0.5, 0.75];
    /// let fl = FocalLoss::builder().gamma(2.0).class_alpha(&weights).ignore_index(-100).build()?;
    /// let logits = [2.0, 0.5, -1.0, /* ignored */ 0.0, 0.0, 0.0];
    /// let mut grad = [0.0; 6];
    /// let loss = fl.softmax(&logits, &[0i64, -100], 3, Out::new().grad(&mut grad))?;
    /// assert!(loss > 0.0 && grad[0] < 0.0 && grad[3..] == [0.0; 3]);
    /// # Ok::<(), focal_loss::Error>(())
    /// ```
    pub fn softmax<T: ClassIndex>(
        &self,
        logits: &[f32],
        targets: &[T],
        classes: usize,
        out: Out<'_>,
    ) -> Result<f32, Error> {
        self.softmax_indices(logits, T::indices(targets), classes, out)
    }

    /// [`softmax`](Self::softmax) for every index type: the one compiled instance.
    fn softmax_indices(
        &self,
        logits: &[f32],
        targets: Indices<'_>,
        classes: usize,
        out: Out<'_>,
    ) -> Result<f32, Error> {
        let plan = validate::softmax(self, logits.len(), targets, classes, out.lens())?;
        let Out { losses, grad } = out;
        Ok(match grad {
            Some(grad) => self.run_softmax(&plan, Separate { logits, grad }, targets, losses),
            None => self.run_softmax_forward(&plan, logits, targets, losses),
        })
    }

    /// [`softmax`](Self::softmax) with the gradient written over the logits.
    pub fn softmax_in_place<T: ClassIndex>(
        &self,
        logits: &mut [f32],
        targets: &[T],
        classes: usize,
        losses: Option<&mut [f32]>,
    ) -> Result<f32, Error> {
        self.softmax_indices_in_place(logits, T::indices(targets), classes, losses)
    }

    /// [`softmax_in_place`](Self::softmax_in_place) for every index type: the one compiled
    /// instance.
    fn softmax_indices_in_place(
        &self,
        logits: &mut [f32],
        targets: Indices<'_>,
        classes: usize,
        losses: Option<&mut [f32]>,
    ) -> Result<f32, Error> {
        let lens = OutLens { losses: losses.as_deref().map(<[f32]>::len), grad: Some(logits.len()) };
        let plan = validate::softmax(self, logits.len(), targets, classes, lens)?;
        Ok(self.run_softmax(&plan, InPlace(logits), targets, losses))
    }

    /// Multi-class focal loss with a row of target probabilities per row (each in [0, 1]; rows
    /// are not renormalised). `logits` and `probs` are `rows × classes`, row-major.
    ///
    /// ```
    /// use focal_loss::{FocalLoss, Out};
    ///
    /// let logits = [2.0, 0.5, -1.0];
    /// let probs = [0.75, 0.25, 0.0];
    /// let mut grad = [0.0; 3];
    /// let loss = FocalLoss::default().softmax_probs(&logits, &probs, 3, Out::new().grad(&mut grad))?;
    /// assert!(loss > 0.0);
    /// # Ok::<(), focal_loss::Error>(())
    /// ```
    pub fn softmax_probs(
        &self,
        logits: &[f32],
        probs: &[f32],
        classes: usize,
        out: Out<'_>,
    ) -> Result<f32, Error> {
        let plan = validate::softmax_probs(self, logits.len(), probs, classes, out.lens())?;
        let Out { losses, grad } = out;
        Ok(match grad {
            Some(grad) => self.run_softmax_probs(&plan, Separate { logits, grad }, probs, losses),
            None => self.run_softmax_probs(&plan, Forward(logits), probs, losses),
        })
    }

    /// [`softmax_probs`](Self::softmax_probs) with the gradient written over the logits.
    pub fn softmax_probs_in_place(
        &self,
        logits: &mut [f32],
        probs: &[f32],
        classes: usize,
        losses: Option<&mut [f32]>,
    ) -> Result<f32, Error> {
        let lens = OutLens { losses: losses.as_deref().map(<[f32]>::len), grad: Some(logits.len()) };
        let plan = validate::softmax_probs(self, logits.len(), probs, classes, lens)?;
        Ok(self.run_softmax_probs(&plan, InPlace(logits), probs, losses))
    }

    fn run_sigmoid<I: Io>(&self, plan: &Plan, mut io: I, targets: &[f32], losses: Option<&mut [f32]>) -> f32 {
        let backend = self.backend();
        if plan.wide || backend.is_reference() {
            return reference::sigmoid::run(self, plan, &mut io, targets, losses);
        }
        let weights = match (self.class_alpha, self.alpha) {
            (Some(class_alpha), _) => kernel::sigmoid::Weights::PerClass(class_alpha),
            (None, Some(alpha)) => kernel::sigmoid::Weights::Scalar(alpha),
            (None, None) => kernel::sigmoid::Weights::None,
        };
        let args = kernel::sigmoid::Args {
            targets,
            classes: plan.classes,
            weights,
            label_smoothing: self.label_smoothing,
            divisor: if plan.divisor == 0.0 { 1.0 } else { plan.divisor },
            options: self,
        };
        let focus = math::Focus::new(self.gamma);
        plan.reduce(kernel::dispatch::sigmoid(backend, focus, plan.hard, &args, &mut io, losses))
    }

    fn run_softmax<I: Io>(
        &self,
        plan: &Plan,
        io: I,
        targets: Indices<'_>,
        losses: Option<&mut [f32]>,
    ) -> f32 {
        let targets = ClassIndices { targets, classes: plan.classes, ignore_index: self.ignore_index };
        self.run_softmax_rows(plan, io, targets, losses)
    }

    /// Out of line, so that validation's frames (172 bytes on the Cortex-M4F) do not sit below
    /// the kernel's: 624 → 464 bytes of stack for `softmax_probs` there.
    /// [`run_softmax`](Self::run_softmax) forward only, out of line: inlined beside the
    /// gradient's form, it added to the entry's frame (Cortex-M4F: 520 → 512 bytes of stack).
    #[inline(never)]
    fn run_softmax_forward(
        &self,
        plan: &Plan,
        logits: &[f32],
        targets: Indices<'_>,
        losses: Option<&mut [f32]>,
    ) -> f32 {
        self.run_softmax(plan, Forward(logits), targets, losses)
    }

    #[inline(never)]
    fn run_softmax_probs<I: Io>(&self, plan: &Plan, io: I, probs: &[f32], losses: Option<&mut [f32]>) -> f32 {
        self.run_softmax_rows(plan, io, Probabilities { probs, classes: plan.classes }, losses)
    }

    fn run_softmax_rows<'t, I: Io>(
        &self,
        plan: &Plan,
        mut io: I,
        targets: impl RowTargets<'t>,
        losses: Option<&mut [f32]>,
    ) -> f32 {
        let backend = self.backend();
        if plan.wide || backend.is_reference() {
            return reference::softmax::run(self, plan, &mut io, targets, losses);
        }
        let weights = match (self.class_alpha, self.alpha) {
            (Some(class_alpha), _) => kernel::softmax::Weights::PerClass(class_alpha),
            (None, Some(alpha)) => kernel::softmax::Weights::Uniform(alpha),
            (None, None) => kernel::softmax::Weights::Uniform(1.0),
        };
        let args = kernel::softmax::Args {
            rows: plan.rows,
            classes: plan.classes,
            targets,
            weights,
            label_smoothing: self.label_smoothing,
            divisor: if plan.divisor == 0.0 { 1.0 } else { plan.divisor },
            options: self,
        };
        let focus = math::Focus::new(self.gamma);
        plan.reduce(kernel::dispatch::softmax(backend, focus, plan.hard, &args, &mut io, losses))
    }
}
