//! What DESIGN §2.5 refuses, written from the design (not from the library's code): for a
//! decoded call, every fault it has, each with the input class of §2.5 it belongs to and the
//! [`Error`] the library may answer with. A call must be refused exactly when it has a fault,
//! with the error of one of its faults (the library reports the first it finds; which one is
//! first is its business).

use focal_loss::{Buffer, Error, Reduction};

use crate::case::{Case, Options, Task};

/// The classes of refused inputs: those of DESIGN §2.5, and the few more each interface has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    // DESIGN §2.5.
    GammaNegative,
    GammaNotFinite,
    AlphaOutOfRange,
    ClassAlphaAboveOneSigmoid,
    ClassAlphaNegativeOrNotFinite,
    LabelSmoothing,
    Normalizer,
    SigmoidTarget,
    TargetProbability,
    ClassIndex,
    LengthMismatch,
    RowsTimesClassesOverflow,
    ZeroClassesWithRows,
    GradOverlapsLogits,
    GradOverlapsTargets,
    GradOverlapsLoss,
    // The Rust API.
    ClassAlphaLength,
    LogitsNotWholeRows,
    LossesWithReduction,
    BackendUnavailable,
    // The C ABI (DESIGN §4.2).
    OptionsNull,
    StructSize,
    Reduction,
    SizeTooLarge,
    NullPointer,
    Misaligned,
    WrapsAround,
    GradOverlapsClassAlpha,
    LossOverlapsInput,
}

impl Class {
    /// The classes DESIGN §2.5 lists, each of which some fuzz target must produce.
    pub const DESIGN: [Class; 16] = [
        Class::GammaNegative,
        Class::GammaNotFinite,
        Class::AlphaOutOfRange,
        Class::ClassAlphaAboveOneSigmoid,
        Class::ClassAlphaNegativeOrNotFinite,
        Class::LabelSmoothing,
        Class::Normalizer,
        Class::SigmoidTarget,
        Class::TargetProbability,
        Class::ClassIndex,
        Class::LengthMismatch,
        Class::RowsTimesClassesOverflow,
        Class::ZeroClassesWithRows,
        Class::GradOverlapsLogits,
        Class::GradOverlapsTargets,
        Class::GradOverlapsLoss,
    ];

    /// A short description, for the census.
    pub fn describe(self) -> &'static str {
        match self {
            Class::GammaNegative => "γ negative",
            Class::GammaNotFinite => "γ NaN or infinite",
            Class::AlphaOutOfRange => "α outside [0, 1] (Rust: NaN too)",
            Class::ClassAlphaAboveOneSigmoid => "per-class α above 1 (sigmoid)",
            Class::ClassAlphaNegativeOrNotFinite => "per-class α negative or not finite",
            Class::LabelSmoothing => "label smoothing outside [0, 1)",
            Class::Normalizer => "normalizer NaN, negative or infinite",
            Class::SigmoidTarget => "sigmoid target not finite or outside [0, 1]",
            Class::TargetProbability => "target probability not finite or outside [0, 1]",
            Class::ClassIndex => "class index outside [0, classes), not ignore_index",
            Class::LengthMismatch => "buffer length not matching rows·classes",
            Class::RowsTimesClassesOverflow => "rows·classes overflowing",
            Class::ZeroClassesWithRows => "classes = 0 with rows > 0",
            Class::GradOverlapsLogits => "grad overlapping logits other than exactly",
            Class::GradOverlapsTargets => "grad overlapping targets",
            Class::GradOverlapsLoss => "grad overlapping loss",
            Class::ClassAlphaLength => "per-class α length ≠ classes",
            Class::LogitsNotWholeRows => "logits not a whole number of rows",
            Class::LossesWithReduction => "losses buffer with sum/mean",
            Class::BackendUnavailable => "forced backend not on this CPU",
            Class::OptionsNull => "opts NULL",
            Class::StructSize => "struct_size < 40, or larger with nonzero extra bytes",
            Class::Reduction => "reduction not FL_REDUCTION_*",
            Class::SizeTooLarge => "a buffer's size in bytes > PTRDIFF_MAX",
            Class::NullPointer => "logits or targets NULL with rows·classes > 0",
            Class::Misaligned => "a used buffer misaligned",
            Class::WrapsAround => "a used buffer wrapping around the address space",
            Class::GradOverlapsClassAlpha => "grad overlapping class_alpha",
            Class::LossOverlapsInput => "loss overlapping logits, targets or class_alpha",
        }
    }
}

/// One fault of a call: its class, and the error that reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    pub class: Class,
    pub error: Error,
}

fn fault(class: Class, error: Error) -> Fault {
    Fault { class, error }
}

/// γ's faults (shared with the C ABI's model).
pub fn gamma_class(gamma: f32) -> Option<Class> {
    if gamma.is_nan() || gamma.is_infinite() {
        Some(Class::GammaNotFinite)
    } else if gamma < 0.0 {
        Some(Class::GammaNegative)
    } else {
        None
    }
}

/// Whether a label smoothing is refused: outside [0, 1), NaN included.
pub fn bad_label_smoothing(ls: f32) -> bool {
    !(0.0..1.0).contains(&ls)
}

/// Whether a normalizer is refused: NaN, negative or infinite (0 and −0 are off).
pub fn bad_normalizer(d: f32) -> bool {
    d.is_nan() || d < 0.0 || d.is_infinite()
}

/// Whether a value is not a finite number in [0, 1] (−0 is in it).
pub fn not_unit(y: f32) -> bool {
    !(y.is_finite() && (0.0..=1.0).contains(&y))
}

/// What `Builder::build` refuses: the options on their own, and a forced backend this CPU lacks.
pub fn option_faults(o: &Options) -> Vec<Fault> {
    let mut f = Vec::new();
    if let Some(class) = gamma_class(o.gamma) {
        f.push(fault(class, Error::Gamma));
    }
    if o.alpha.is_some_and(not_unit) {
        f.push(fault(Class::AlphaOutOfRange, Error::Alpha));
    }
    if let Some(class) =
        o.class_alpha.as_ref().and_then(|ca| ca.iter().position(|a| !(a.is_finite() && *a >= 0.0)))
    {
        f.push(fault(Class::ClassAlphaNegativeOrNotFinite, Error::ClassAlpha { class }));
    }
    if bad_label_smoothing(o.label_smoothing) {
        f.push(fault(Class::LabelSmoothing, Error::LabelSmoothing));
    }
    if o.normalizer.is_some_and(bad_normalizer) {
        f.push(fault(Class::Normalizer, Error::Normalizer));
    }
    if let Some(backend) = o.backend.filter(|b| !b.is_available()) {
        f.push(fault(Class::BackendUnavailable, Error::BackendUnavailable { backend }));
    }
    f
}

/// What a call with valid options refuses, given the lengths of the output buffers it passes.
pub fn call_faults(case: &Case, losses: Option<usize>, grad: Option<usize>) -> Vec<Fault> {
    let mut f = Vec::new();
    let (classes, n) = (case.classes, case.logits.len());
    let length =
        |buffer, got, expected| fault(Class::LengthMismatch, Error::Length { buffer, got, expected });
    // The shape, and the number of elements the outputs must match when it is known.
    let elements = match case.task {
        Task::Sigmoid | Task::Probs => {
            if classes == 0 && n > 0 {
                f.push(fault(Class::ZeroClassesWithRows, Error::Shape));
            } else if classes > 0 && n % classes != 0 {
                f.push(fault(Class::LogitsNotWholeRows, Error::Shape));
            }
            if case.values.len() != n {
                f.push(length(Buffer::Targets, case.values.len(), n));
            }
            Some(n)
        }
        Task::Softmax => {
            let rows = case.indices.len();
            let elements = rows.checked_mul(classes);
            if classes == 0 && rows > 0 {
                f.push(fault(Class::ZeroClassesWithRows, Error::Shape));
            }
            if elements.is_none() {
                f.push(fault(Class::RowsTimesClassesOverflow, Error::Shape));
            }
            if let Some(expected) = elements.filter(|&e| e != n) {
                f.push(length(Buffer::Logits, n, expected));
            }
            elements
        }
    };
    // The per-class α: one per class, each in [0, 1] for the sigmoid task (the builder has
    // checked finite and ≥ 0).
    if let Some(ca) = &case.options.class_alpha {
        if ca.len() != classes {
            f.push(fault(
                Class::ClassAlphaLength,
                Error::ClassAlphaLength { got: ca.len(), expected: classes },
            ));
        } else if case.task == Task::Sigmoid {
            if let Some(class) = ca.iter().position(|&a| a > 1.0) {
                f.push(fault(Class::ClassAlphaAboveOneSigmoid, Error::ClassAlpha { class }));
            }
        }
    }
    if let Some(got) = losses {
        if case.options.reduction != Reduction::None {
            f.push(fault(Class::LossesWithReduction, Error::LossesWithReduction));
        }
        if got != case.losses_right() {
            f.push(length(Buffer::Losses, got, case.losses_right()));
        }
    }
    if let Some(got) = grad {
        if let Some(expected) = elements.filter(|&e| e != got) {
            f.push(length(Buffer::Grad, got, expected));
        }
    }
    // The targets.
    match case.task {
        Task::Sigmoid | Task::Probs => {
            if let Some(index) = case.values.iter().position(|&y| not_unit(y)) {
                let class =
                    if case.task == Task::Sigmoid { Class::SigmoidTarget } else { Class::TargetProbability };
                f.push(fault(class, Error::Target { index }));
            }
        }
        Task::Softmax => {
            let ignore = case.options.ignore_index;
            let valid = |t: i64| Some(t) == ignore || (t >= 0 && (t as u128) < classes as u128);
            if let Some(index) = case.indices.to_i64().into_iter().position(|t| !valid(t)) {
                f.push(fault(Class::ClassIndex, Error::Target { index }));
            }
        }
    }
    f
}

/// Checks a result against the faults: refused exactly when there is one, with the error of one
/// of them. Returns the classes that explain the refusal (every fault reported by that error).
pub fn judge(what: &str, result: &Result<f32, Error>, faults: &[Fault], case: &Case) -> Vec<Class> {
    match result {
        Ok(_) => {
            assert!(faults.is_empty(), "{what}: accepted, but DESIGN §2.5 refuses it: {faults:?}\n{case:?}");
            Vec::new()
        }
        Err(e) => {
            let classes: Vec<Class> = faults.iter().filter(|f| f.error == *e).map(|f| f.class).collect();
            assert!(
                !classes.is_empty(),
                "{what}: refused with {e:?}, but its faults are {faults:?}\n{case:?}"
            );
            classes
        }
    }
}

/// The census's name of an error: its variant, and the buffer of a length error.
pub fn error_name(e: &Error) -> String {
    match e {
        Error::Length { buffer, .. } => format!("Length({buffer})"),
        Error::ClassAlpha { .. } => "ClassAlpha".into(),
        Error::ClassAlphaLength { .. } => "ClassAlphaLength".into(),
        Error::Target { .. } => "Target".into(),
        Error::BackendUnavailable { .. } => "BackendUnavailable".into(),
        other => format!("{other:?}"),
    }
}
