//! One call of the Rust API, decoded from the fuzzer's bytes: the task, the shape, the options
//! (valid or not), the buffers and their lengths (right or not); and the ways of making it.

use arbitrary::{Result, Unstructured};
use focal_loss::{Backend, ClassIndex, Error, FocalLoss, Out, Reduction};

use crate::input::{self, filled, pick, rare, Len, Stratum, TargetStyle, MAX_ELEMENTS};

/// What output buffers hold before a call: a NaN whose payload no computation produces, so that
/// "untouched" can be checked bit for bit.
pub const SENTINEL: f32 = f32::from_bits(0x7fc0_1234);

/// The three tasks of the Rust API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, arbitrary::Arbitrary)]
pub enum Task {
    /// `FocalLoss::sigmoid`: binary and multi-label.
    Sigmoid,
    /// `FocalLoss::softmax`: class indices.
    Softmax,
    /// `FocalLoss::softmax_probs`: target probabilities.
    Probs,
}

/// Every backend a call can be forced onto, available here or not (the reference included).
pub const FORCEABLE: [Backend; 6] =
    [Backend::Reference, Backend::Scalar, Backend::Portable, Backend::Neon, Backend::Avx2, Backend::Avx512];

/// The backends this CPU runs, the reference first: the ones every valid call is checked on.
pub fn backends() -> Vec<Backend> {
    FORCEABLE.into_iter().filter(|b| b.is_available()).collect()
}

/// The options of one call, unvalidated.
#[derive(Clone, Debug)]
pub struct Options {
    pub gamma: f32,
    pub alpha: Option<f32>,
    pub class_alpha: Option<Vec<f32>>,
    pub label_smoothing: f32,
    pub reduction: Reduction,
    pub normalizer: Option<f32>,
    pub ignore_index: Option<i64>,
    /// The backend the call under test is forced onto (`None`: detected).
    pub backend: Option<Backend>,
}

impl Options {
    /// Decodes options for a batch of `classes`: each valid more often than not.
    fn decode(u: &mut Unstructured<'_>, classes: usize) -> Result<Options> {
        let gamma = match pick(u, 8)? {
            0 => input::raw(u)?,
            1 => input::special(u)?,
            2 | 3 => *u.choose(&[0.0f32, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0])?,
            _ => input::uniform(u, 0.0, 5.0)?,
        };
        let alpha = if rare(u, 1, 2)? { Some(input::option_value(u, 0.0, 1.0)?) } else { None };
        let class_alpha = if rare(u, 1, 3)? { Some(class_alpha(u, classes)?) } else { None };
        let label_smoothing = match pick(u, 8)? {
            0..=3 => 0.0,
            4 => 0.1,
            5 | 6 => input::uniform(u, 0.0, 0.5)?,
            _ => input::option_value(u, 0.0, 1.0)?,
        };
        let reduction = *u.choose(&[Reduction::None, Reduction::Sum, Reduction::Mean])?;
        let normalizer = match pick(u, 8)? {
            0..=4 => None,
            5 => Some(0.0),
            _ => Some(input::option_value(u, 1e-3, 1e3)?),
        };
        let ignore_index = match pick(u, 4)? {
            0 => None,
            1 => Some(u.arbitrary()?),
            2 => Some(u.int_in_range(-2i64..=10)?),
            _ => Some(-100),
        };
        let backend = if rare(u, 1, 4)? { Some(*u.choose(&FORCEABLE)?) } else { None };
        Ok(Options {
            gamma,
            alpha,
            class_alpha,
            label_smoothing,
            reduction,
            normalizer,
            ignore_index,
            backend,
        })
    }

    /// The builder's answer, on `backend` (`None`: detected).
    pub fn build(&self, backend: Option<Backend>) -> std::result::Result<FocalLoss<'_>, Error> {
        let mut b = FocalLoss::builder()
            .gamma(self.gamma)
            .label_smoothing(self.label_smoothing)
            .reduction(self.reduction);
        if let Some(alpha) = self.alpha {
            b = b.alpha(alpha);
        }
        if let Some(class_alpha) = &self.class_alpha {
            b = b.class_alpha(class_alpha);
        }
        if let Some(d) = self.normalizer {
            b = b.normalizer(d);
        }
        if let Some(i) = self.ignore_index {
            b = b.ignore_index(i);
        }
        if let Some(backend) = backend {
            b = b.backend(backend);
        }
        b.build()
    }

    /// The same options for the oracle, with `reduction`.
    pub fn oracle(&self, reduction: Reduction) -> oracle::Options {
        oracle::Options {
            gamma: self.gamma.into(),
            alpha: self.alpha.map(f64::from),
            class_alpha: self.class_alpha.as_ref().map(|v| v.iter().map(|&a| f64::from(a)).collect()),
            label_smoothing: self.label_smoothing.into(),
            reduction: match reduction {
                Reduction::None => oracle::Reduction::None,
                Reduction::Sum => oracle::Reduction::Sum,
                _ => oracle::Reduction::Mean,
            },
            // The oracle, as the C ABI, takes 0 as off.
            normalizer: self.normalizer.map(f64::from),
            ignore_index: self.ignore_index,
        }
    }
}

/// A per-class α: one value per class (often), or a length of its own; values valid for every
/// task, valid for softmax only (above 1), or anything.
fn class_alpha(u: &mut Unstructured<'_>, classes: usize) -> Result<Vec<f32>> {
    let len = if !rare(u, 1, 4)? && classes <= MAX_ELEMENTS { classes } else { u.int_in_range(0..=20)? };
    let style = pick(u, 4)?;
    filled(u, len, 16, 0.5, |u| match style {
        0 => input::uniform(u, 0.0, 3.0),
        1 => input::option_value(u, 0.0, 1.0),
        _ => Ok(match pick(u, 4)? {
            0 => *u.choose(&[0.0f32, 1.0, -0.0])?,
            _ => input::uniform(u, 0.0, 1.0)?,
        }),
    })
}

/// Class indices of one of the five index types.
#[derive(Clone, Debug)]
pub enum Indices {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// Runs `$body` with `$t` bound to the indices as a slice of their own type.
macro_rules! with_indices {
    ($indices:expr, |$t:ident| $body:expr) => {
        match $indices {
            $crate::case::Indices::U8($t) => $body,
            $crate::case::Indices::U16($t) => $body,
            $crate::case::Indices::U32($t) => $body,
            $crate::case::Indices::I32($t) => $body,
            $crate::case::Indices::I64($t) => $body,
        }
    };
}

impl Indices {
    /// `values` converted to index type number `ty` with `as` (wrapping, so that -100 becomes 156
    /// as a `u8`: every type sees values outside its own range too).
    fn new(ty: usize, values: &[i64]) -> Indices {
        match ty {
            0 => Indices::U8(values.iter().map(|&v| v as u8).collect()),
            1 => Indices::U16(values.iter().map(|&v| v as u16).collect()),
            2 => Indices::U32(values.iter().map(|&v| v as u32).collect()),
            3 => Indices::I32(values.iter().map(|&v| v as i32).collect()),
            _ => Indices::I64(values.to_vec()),
        }
    }

    /// The indices as the library reads them.
    pub fn to_i64(&self) -> Vec<i64> {
        fn wide<T: ClassIndex>(v: &[T]) -> Vec<i64> {
            v.iter().map(|&t| t.to_i64()).collect()
        }
        with_indices!(self, |t| wide(t))
    }

    pub fn len(&self) -> usize {
        with_indices!(self, |t| t.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One call: the task, `classes`, the options, the inputs, and the lengths of the output buffers
/// it passes (`None`: not passed).
#[derive(Clone, Debug)]
pub struct Case {
    pub task: Task,
    pub classes: usize,
    pub options: Options,
    pub logits: Vec<f32>,
    /// Sigmoid targets or target probabilities (empty for class indices).
    pub values: Vec<f32>,
    /// Class indices (empty for the other tasks).
    pub indices: Indices,
    pub losses: Option<usize>,
    pub grad: Option<usize>,
}

/// What one call returned and left in its output buffers.
#[derive(Clone, Debug)]
pub struct Outputs {
    pub result: std::result::Result<f32, Error>,
    pub losses: Option<Vec<f32>>,
    pub grad: Option<Vec<f32>>,
}

impl Case {
    /// Decodes a call of `task`.
    pub fn decode(u: &mut Unstructured<'_>, task: Task) -> Result<Case> {
        let classes = match pick(u, 16)? {
            0 => {
                *u.choose(&[usize::MAX, usize::MAX / 2 + 1, isize::MAX as usize, 1 << 32, usize::MAX / 3])?
            }
            1 => 0,
            2 | 3 => u.int_in_range(18..=1100)?,
            4..=6 => 1,
            _ => u.int_in_range(2..=17)?,
        };
        let max_rows = if classes > 100 { 3 } else { 40 };
        let rows = u.int_in_range(0..=max_rows)?;
        let options = Options::decode(u, classes)?;
        let (logits_len, targets_len) = (Len::decode(u)?, Len::decode(u)?);
        let losses_len = if rare(u, 1, 2)? { Some(Len::decode(u)?) } else { None };
        let grad_len = if !rare(u, 1, 4)? { Some(Len::decode(u)?) } else { None };
        let stratum: Stratum = u.arbitrary()?;
        let style: TargetStyle = u.arbitrary()?;

        // The lengths: for class indices the rows follow the targets, otherwise the logits.
        let (n_logits, n_targets, per_row) = match task {
            Task::Softmax => {
                let n_targets = targets_len.resolve(Some(rows));
                (logits_len.resolve(n_targets.checked_mul(classes)), n_targets, n_targets)
            }
            _ => {
                let n_logits = logits_len.resolve(rows.checked_mul(classes));
                let per_row =
                    if task == Task::Sigmoid { n_logits } else { n_logits.checked_div(classes).unwrap_or(0) };
                (n_logits, targets_len.resolve(Some(n_logits)), per_row)
            }
        };
        let losses = losses_len.map(|l| l.resolve(Some(per_row)));
        let grad = grad_len.map(|l| l.resolve(Some(n_logits)));

        let logits = filled(u, n_logits, 64, 0.5, |u| input::logit(u, stratum))?;
        let (values, indices) = if task == Task::Softmax {
            let ty = pick(u, 5)?;
            let ignore = options.ignore_index.unwrap_or(-100);
            let values = filled(u, n_targets, 64, 0, |u| {
                Ok(match pick(u, 8)? {
                    2..=7 => u.int_in_range(0..=classes.saturating_sub(1).min(1 << 20) as i64)?,
                    1 => ignore,
                    _ => match pick(u, 2)? {
                        0 => *u.choose(&[
                            -1,
                            -100,
                            255,
                            256,
                            65535,
                            65536,
                            u32::MAX as i64,
                            1 << 32,
                            i64::MIN,
                            i64::MAX,
                            classes as i64,
                        ])?,
                        _ => u.arbitrary()?,
                    },
                })
            })?;
            (Vec::new(), Indices::new(ty, &values))
        } else {
            (filled(u, n_targets, 64, 0.0, |u| input::unit(u, style))?, Indices::I64(Vec::new()))
        };
        Ok(Case { task, classes, options, logits, values, indices, losses, grad })
    }

    /// The length of the per-element (sigmoid) or per-row (softmax) losses of this batch.
    pub fn losses_right(&self) -> usize {
        match self.task {
            Task::Sigmoid => self.logits.len(),
            Task::Softmax => self.indices.len(),
            Task::Probs => self.logits.len().checked_div(self.classes).unwrap_or(0),
        }
    }

    /// The call with separate output buffers of the given lengths, filled with [`SENTINEL`].
    pub fn call(&self, fl: &FocalLoss<'_>, losses: Option<usize>, grad: Option<usize>) -> Outputs {
        let mut losses = losses.map(|n| vec![SENTINEL; n]);
        let mut grad = grad.map(|n| vec![SENTINEL; n]);
        let mut out = Out::new();
        if let Some(l) = losses.as_deref_mut() {
            out = out.losses(l);
        }
        if let Some(g) = grad.as_deref_mut() {
            out = out.grad(g);
        }
        let (x, c) = (&self.logits[..], self.classes);
        let result = match self.task {
            Task::Sigmoid => fl.sigmoid(x, &self.values, c, out),
            Task::Probs => fl.softmax_probs(x, &self.values, c, out),
            Task::Softmax => with_indices!(&self.indices, |t| fl.softmax(x, t, c, out)),
        };
        Outputs { result, losses, grad }
    }

    /// The in-place form, on a copy of the logits, with a losses buffer of the given length
    /// filled with [`SENTINEL`]; `grad` is what the copy of the logits holds afterwards.
    pub fn call_in_place(&self, fl: &FocalLoss<'_>, losses: Option<usize>) -> Outputs {
        let mut losses = losses.map(|n| vec![SENTINEL; n]);
        let mut x = self.logits.clone();
        let (l, c) = (losses.as_deref_mut(), self.classes);
        let result = match self.task {
            Task::Sigmoid => fl.sigmoid_in_place(&mut x, &self.values, c, l),
            Task::Probs => fl.softmax_probs_in_place(&mut x, &self.values, c, l),
            Task::Softmax => with_indices!(&self.indices, |t| fl.softmax_in_place(&mut x, t, c, l)),
        };
        Outputs { result, losses, grad: Some(x) }
    }
}

/// The bits of a buffer, to compare floats exactly (NaN payloads and signed zeros included).
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Whether a buffer still holds only [`SENTINEL`].
pub fn untouched(v: Option<&Vec<f32>>) -> bool {
    v.is_none_or(|v| v.iter().all(|x| x.to_bits() == SENTINEL.to_bits()))
}
