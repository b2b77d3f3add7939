//! Options, their validation, and the one error type.
//!
//! Options are checked once, when they are built: a [`FocalLoss`] that exists is valid. What can
//! only be checked against a batch (buffer lengths, targets, the per-class α's length and its
//! range for the sigmoid task) is checked by each entry point before it writes anything.

use core::fmt;

use crate::Backend;

/// How the per-element (sigmoid) or per-row (softmax) losses are combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// Keep every loss; the gradient is that of their sum.
    None,
    /// One value: the sum of the losses.
    Sum,
    /// One value: the sum divided by D, where D is `rows × classes` (sigmoid), the number of
    /// rows not ignored (softmax), or the normalizer when one is set.
    #[default]
    Mean,
}

/// Why a call was refused. Nothing was written when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// γ is negative or not finite.
    Gamma,
    /// The scalar α is outside [0, 1].
    Alpha,
    /// A per-class α is out of range: outside [0, 1] for the sigmoid task, negative or not finite
    /// for the softmax tasks.
    ClassAlpha {
        /// The offending class.
        class: usize,
    },
    /// The per-class α slice does not hold one value per class.
    ClassAlphaLength {
        /// Values given.
        got: usize,
        /// Classes in the batch.
        expected: usize,
    },
    /// Label smoothing outside [0, 1).
    LabelSmoothing,
    /// The normalizer is NaN, negative or infinite.
    Normalizer,
    /// A buffer's length does not match the batch.
    Length {
        /// Which buffer.
        buffer: Buffer,
        /// Its length.
        got: usize,
        /// The length the batch needs.
        expected: usize,
    },
    /// The shape is impossible: `classes == 0` with rows, a sigmoid length that is not a multiple
    /// of `classes`, or `rows × classes` overflowing.
    Shape,
    /// A target is out of range: a sigmoid target or target probability that is not a finite
    /// value in [0, 1], or a class index outside `[0, classes)` that is not the ignore index.
    Target {
        /// Index of the offending target in the targets buffer.
        index: usize,
    },
    /// A per-element loss buffer was given with a reduction that produces one value.
    LossesWithReduction,
    /// Output buffers overlap the inputs or each other (only reachable through the C ABI).
    Aliasing,
    /// The forced backend cannot run on this CPU.
    BackendUnavailable {
        /// The backend asked for.
        backend: Backend,
    },
}

/// Names a buffer in [`Error::Length`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Buffer {
    /// The logits.
    Logits,
    /// The targets (values, class indices or probabilities).
    Targets,
    /// The per-element (sigmoid) or per-row (softmax) losses of `Reduction::None`.
    Losses,
    /// The gradient.
    Grad,
}

impl fmt::Display for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Buffer::Logits => "logits",
            Buffer::Targets => "targets",
            Buffer::Losses => "losses",
            Buffer::Grad => "gradient",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Gamma => f.write_str("gamma must be finite and >= 0"),
            Error::Alpha => f.write_str("alpha must be in [0, 1]"),
            Error::ClassAlpha { class } => write!(f, "class_alpha[{class}] is out of range"),
            Error::ClassAlphaLength { got, expected } => {
                write!(f, "class_alpha has {got} values, the batch has {expected} classes")
            }
            Error::LabelSmoothing => f.write_str("label smoothing must be in [0, 1)"),
            Error::Normalizer => f.write_str("normalizer must be finite and >= 0"),
            Error::Length { buffer, got, expected } => {
                write!(f, "{buffer} buffer has length {got}, the batch needs {expected}")
            }
            Error::Shape => f.write_str(
                "impossible shape: classes is 0, does not divide the logits, or rows*classes overflows",
            ),
            Error::Target { index } => write!(f, "target {index} is out of range"),
            Error::LossesWithReduction => f.write_str("a per-element losses buffer needs reduction none"),
            Error::Aliasing => f.write_str("output buffers overlap the inputs"),
            Error::BackendUnavailable { backend } => write!(f, "backend {backend} cannot run on this CPU"),
        }
    }
}

impl core::error::Error for Error {}

/// A validated focal-loss configuration: γ, α, label smoothing, reduction and normalizer.
///
/// Build one with [`FocalLoss::builder`]; [`FocalLoss::default`] is γ = 2, no α, no smoothing,
/// mean reduction. It is a small `Copy` value: build it once, call it on every batch.
///
/// ```
/// use focal_loss::{FocalLoss, Reduction};
///
/// let fl = FocalLoss::builder().gamma(2.0).alpha(0.25).reduction(Reduction::Sum).build()?;
/// assert_eq!(fl.gamma(), 2.0);
/// assert!(FocalLoss::builder().gamma(-1.0).build().is_err());
/// # Ok::<(), focal_loss::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FocalLoss<'a> {
    pub(crate) gamma: f32,
    pub(crate) alpha: Option<f32>,
    pub(crate) class_alpha: Option<&'a [f32]>,
    pub(crate) label_smoothing: f32,
    pub(crate) reduction: Reduction,
    pub(crate) normalizer: Option<f32>,
    pub(crate) ignore_index: Option<i64>,
    pub(crate) backend: Option<Backend>,
    /// What every call's validation needs of `class_alpha`, found once by [`Builder::build`].
    pub(crate) class_alpha_summary: WeightSummary,
}

/// The per-class α in brief, so that a call does not read them all again (C = 1000: three
/// scans of the weights were 5 % of a call's time).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct WeightSummary {
    /// The largest weight (0 for none).
    pub(crate) heaviest: f32,
    /// Whether some weight is above 0 and below [`crate::validate::TINY`].
    pub(crate) tiny: bool,
}

/// Each per-class α must be finite and at least 0: its summary, in one pass, or the first that
/// is not.
///
/// On the bit patterns, so that the pass vectorises (no early exit, two unsigned reductions): with
/// −0 read as 0, a weight is in [0, f32::MAX] exactly when its bits are at most those of
/// f32::MAX; the largest bits are those of the heaviest weight; and the smallest non-zero bits,
/// less 1 (0 wraps to the largest), tell a tiny weight. Scalar with an early exit, the pass was
/// 3 % of a call at C = 1000 (the bench builds its options for every call).
fn summarise(class_alpha: &[f32]) -> Result<WeightSummary, Error> {
    const NEG_ZERO: u32 = 0x8000_0000;
    let (mut highest, mut lowest) = (0u32, u32::MAX);
    for &a in class_alpha {
        let b = a.to_bits();
        let b = if b == NEG_ZERO { 0 } else { b };
        highest = highest.max(b);
        lowest = lowest.min(b.wrapping_sub(1));
    }
    if highest > f32::MAX.to_bits() {
        let class = class_alpha.iter().position(|a| !(0.0..=f32::MAX).contains(a)).unwrap_or(0);
        return Err(Error::ClassAlpha { class });
    }
    Ok(WeightSummary {
        heaviest: f32::from_bits(highest),
        tiny: lowest < crate::validate::TINY.to_bits() - 1,
    })
}

impl Default for FocalLoss<'_> {
    fn default() -> Self {
        FocalLoss {
            gamma: 2.0,
            alpha: None,
            class_alpha: None,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
            normalizer: None,
            ignore_index: None,
            backend: None,
            class_alpha_summary: WeightSummary::default(),
        }
    }
}

impl<'a> FocalLoss<'a> {
    /// Starts from the defaults (γ = 2, no α, no smoothing, mean).
    pub fn builder() -> Builder<'a> {
        Builder { options: FocalLoss::default() }
    }

    /// The focusing parameter γ.
    pub fn gamma(&self) -> f32 {
        self.gamma
    }

    /// The scalar α, if set.
    pub fn alpha(&self) -> Option<f32> {
        self.alpha
    }

    /// The per-class α (sigmoid) or weights (softmax), if set.
    pub fn class_alpha(&self) -> Option<&'a [f32]> {
        self.class_alpha
    }

    /// Label smoothing in [0, 1).
    pub fn label_smoothing(&self) -> f32 {
        self.label_smoothing
    }

    /// The reduction.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// The normalizer that `mean` divides by, if set.
    pub fn normalizer(&self) -> Option<f32> {
        self.normalizer
    }

    /// The class index whose rows are skipped (softmax with class indices), if set.
    pub fn ignore_index(&self) -> Option<i64> {
        self.ignore_index
    }

    /// The backend that runs: the forced one, else the fastest this CPU can run.
    pub fn backend(&self) -> Backend {
        self.backend.unwrap_or_else(Backend::detect)
    }
}

/// Builds a [`FocalLoss`]; [`Builder::build`] validates every option at once.
///
/// ```
/// use focal_loss::{Error, FocalLoss};
///
/// let weights = [0.25, 0.5, 0.75];
/// let fl = FocalLoss::builder().gamma(1.5).class_alpha(&weights).label_smoothing(0.1).build()?;
/// assert_eq!(fl.class_alpha(), Some(&weights[..]));
/// assert_eq!(FocalLoss::builder().alpha(1.5).build(), Err(Error::Alpha));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "call .build() to get a FocalLoss"]
pub struct Builder<'a> {
    options: FocalLoss<'a>,
}

impl<'a> Builder<'a> {
    /// γ ≥ 0, finite (default 2). γ = 0 is exactly cross-entropy.
    pub fn gamma(mut self, gamma: f32) -> Self {
        self.options.gamma = gamma;
        self
    }

    /// Scalar α in [0, 1]. Sigmoid: α_t = α·y' + (1 − α)(1 − y'). Softmax: a pure scale.
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.options.alpha = Some(alpha);
        self
    }

    /// One α per class; replaces the scalar α. Sigmoid: α of each column, in [0, 1]. Softmax:
    /// the weight of each class, finite and ≥ 0.
    pub fn class_alpha(mut self, class_alpha: &'a [f32]) -> Self {
        self.options.class_alpha = Some(class_alpha);
        self
    }

    /// Label smoothing in [0, 1) (default 0).
    pub fn label_smoothing(mut self, label_smoothing: f32) -> Self {
        self.options.label_smoothing = label_smoothing;
        self
    }

    /// The reduction (default [`Reduction::Mean`]).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.options.reduction = reduction;
        self
    }

    /// What `mean` divides by instead of its count, when > 0 (RetinaNet divides by the number
    /// of positives); 0 means off. Ignored by `none` and `sum`.
    pub fn normalizer(mut self, normalizer: f32) -> Self {
        self.options.normalizer = Some(normalizer);
        self
    }

    /// Rows whose class index equals this are skipped (softmax with class indices).
    pub fn ignore_index(mut self, ignore_index: i64) -> Self {
        self.options.ignore_index = Some(ignore_index);
        self
    }

    /// Runs every call on this backend instead of the detected one (tests, benches, and results
    /// that must not depend on the machine). Refused by `build` if this CPU cannot run it.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.options.backend = Some(backend);
        self
    }

    /// Validates every option.
    pub fn build(self) -> Result<FocalLoss<'a>, Error> {
        let o = self.options;
        if !(o.gamma.is_finite() && o.gamma >= 0.0) {
            return Err(Error::Gamma);
        }
        if let Some(alpha) = o.alpha {
            if !(0.0..=1.0).contains(&alpha) {
                return Err(Error::Alpha);
            }
        }
        // The task decides the upper bound; every task needs finite and >= 0.
        let class_alpha_summary = match o.class_alpha {
            Some(class_alpha) => summarise(class_alpha)?,
            None => WeightSummary::default(),
        };
        if !(0.0..1.0).contains(&o.label_smoothing) {
            return Err(Error::LabelSmoothing);
        }
        let normalizer = match o.normalizer {
            Some(d) if d.is_finite() && d > 0.0 => Some(d),
            Some(0.0) => None,
            Some(_) => return Err(Error::Normalizer),
            None => None,
        };
        if let Some(backend) = o.backend {
            if !backend.is_available() {
                return Err(Error::BackendUnavailable { backend });
            }
        }
        Ok(FocalLoss { normalizer, class_alpha_summary, ..o })
    }
}

/// Each per-class α must lie in `[0, max]`.
pub(crate) fn check_class_alpha(class_alpha: &[f32], max: f32) -> Result<(), Error> {
    match class_alpha.iter().position(|&a| !(0.0..=max).contains(&a)) {
        Some(class) => Err(Error::ClassAlpha { class }),
        None => Ok(()),
    }
}
