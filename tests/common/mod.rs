//! What the tests that judge the library against the float64 oracle share (`mod common;`): one
//! call's options and inputs ([`Case`]), running it on the library and on the oracle, the
//! backends to run, and float32 bits to compare.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use focal_loss::{Backend, Error, FocalLoss, Out, Reduction};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Task {
    Sigmoid,
    Softmax,
    Probs,
}

/// One call: the options and the inputs.
#[derive(Clone, Debug)]
pub struct Case {
    pub task: Task,
    pub classes: usize,
    pub gamma: f32,
    pub alpha: Option<f32>,
    pub class_alpha: Option<Vec<f32>>,
    pub label_smoothing: f32,
    pub reduction: Reduction,
    pub normalizer: Option<f32>,
    pub logits: Vec<f32>,
    /// Sigmoid targets or target probabilities.
    pub values: Vec<f32>,
    /// Class indices (−100 is ignored).
    pub indices: Vec<i64>,
}

impl Default for Case {
    fn default() -> Case {
        Case {
            task: Task::Sigmoid,
            classes: 1,
            gamma: 2.0,
            alpha: None,
            class_alpha: None,
            label_smoothing: 0.0,
            reduction: Reduction::None,
            normalizer: None,
            logits: Vec::new(),
            values: Vec::new(),
            indices: Vec::new(),
        }
    }
}

impl Case {
    /// The rows of the batch: one per class index (softmax), else `classes` logits each.
    pub fn rows(&self) -> usize {
        match self.task {
            Task::Softmax => self.indices.len(),
            _ => self.logits.len() / self.classes.max(1),
        }
    }

    /// The library with the case's options on `backend`, ignoring class index −100.
    pub fn library(&self, backend: Backend) -> FocalLoss<'_> {
        let mut builder = FocalLoss::builder()
            .backend(backend)
            .gamma(self.gamma)
            .label_smoothing(self.label_smoothing)
            .reduction(self.reduction)
            .ignore_index(-100);
        if let Some(alpha) = self.alpha {
            builder = builder.alpha(alpha);
        }
        if let Some(class_alpha) = &self.class_alpha {
            builder = builder.class_alpha(class_alpha);
        }
        if let Some(d) = self.normalizer {
            builder = builder.normalizer(d);
        }
        builder.build().unwrap()
    }

    /// The case's entry point of `fl` (fused, separate gradient) with the outputs `out`.
    pub fn call(&self, fl: &FocalLoss<'_>, out: Out<'_>) -> Result<f32, Error> {
        match self.task {
            Task::Sigmoid => fl.sigmoid(&self.logits, &self.values, self.classes, out),
            Task::Softmax => fl.softmax(&self.logits, &self.indices, self.classes, out),
            Task::Probs => fl.softmax_probs(&self.logits, &self.values, self.classes, out),
        }
    }

    /// Runs the case on `fl`: (the total, the losses, the gradient). The losses are asked for
    /// with `Reduction::None` only, and stay NaN otherwise.
    pub fn run(&self, fl: &FocalLoss<'_>) -> (f32, Vec<f32>, Vec<f32>) {
        let per_row = if self.task == Task::Sigmoid { self.logits.len() } else { self.rows() };
        let mut losses = vec![f32::NAN; per_row];
        let mut grad = vec![f32::NAN; self.logits.len()];
        let mut out = Out::new().grad(&mut grad);
        if self.reduction == Reduction::None {
            out = out.losses(&mut losses);
        }
        let total = self.call(fl, out).expect("a valid case");
        (total, losses, grad)
    }

    /// The oracle's outputs for the case, ignoring class index −100 like [`Case::library`].
    pub fn exact(&self) -> oracle::Outputs {
        let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        let opts = oracle::Options {
            gamma: self.gamma.into(),
            alpha: self.alpha.map(f64::from),
            class_alpha: self.class_alpha.as_deref().map(wide),
            label_smoothing: self.label_smoothing.into(),
            reduction: match self.reduction {
                Reduction::None => oracle::Reduction::None,
                Reduction::Sum => oracle::Reduction::Sum,
                _ => oracle::Reduction::Mean,
            },
            normalizer: self.normalizer.map(f64::from),
            ignore_index: Some(-100),
        };
        let (x, c) = (wide(&self.logits), self.classes);
        match self.task {
            Task::Sigmoid => oracle::sigmoid(&opts, &x, &wide(&self.values), c),
            Task::Softmax => oracle::softmax(&opts, &x, &self.indices, c),
            Task::Probs => oracle::softmax_probs(&opts, &x, &wide(&self.values), c),
        }
    }
}

/// The backends this CPU runs, the reference first. Not the reference under Miri, to keep that
/// run short: the others are judged against the float64 oracle directly, and the reference's
/// code still runs there as the wide path of every input that needs it.
pub fn backends() -> Vec<Backend> {
    let mut v = if cfg!(miri) { vec![] } else { vec![Backend::Reference] };
    v.extend(Backend::ALL.into_iter().filter(|b| b.is_available()));
    v
}

/// The bits of each value; under Miri every NaN counts as the same, since Miri (as Rust's
/// semantics allow) gives a NaN result a random sign and payload, where the hardware gives one
/// fixed NaN.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|&x| if cfg!(miri) && x.is_nan() { f32::NAN.to_bits() } else { x.to_bits() }).collect()
}
