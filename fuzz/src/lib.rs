//! The checks behind the fuzz targets of `focal-loss` (the files in `fuzz_targets/` only call
//! [`Target::run`]), shared with the census (`examples/census.rs`), which replays a corpus
//! through the same decoding and reports which outcomes and which classes of refused input of
//! DESIGN §2.5 it reaches.
//!
//! Each target decodes the fuzzer's bytes into one call (see [`case`] and [`capi`]) and panics,
//! which libFuzzer reports as a crash, when the library breaks its contract:
//!
//! - `sigmoid`, `softmax`, `softmax_probs` (the Rust API): the builder and the call accept
//!   exactly what DESIGN §2.5 accepts and refuse the rest with the error of one of its faults
//!   ([`model`]); a refused call leaves every output buffer untouched, bit for bit; a valid one
//!   meets the accuracy contract of DESIGN §3 on every backend this CPU runs, the reference
//!   included, judged against the float64 oracle as `tests/accuracy.rs` does ([`accuracy`]):
//!   no NaN unless an input it depends on is NaN, +∞ only where the exact value is beyond
//!   f32::MAX or infinite, within one budget; and its forward-only or partial forms give the
//!   fused call's numbers bit for bit.
//! - `in_place`: each in-place form equals the separate form bit for bit on every backend, or
//!   both refuse with the same error and write nothing.
//! - `capi`: the C ABI returns exactly the status its documented order of checks gives, writes
//!   nothing on error, and on success writes what the Rust API computes where it should and
//!   nowhere else.
//!
//! Any panic or out-of-bounds access in the library is a crash too (the targets are built with
//! AddressSanitizer and debug assertions, so integer overflow panics).

pub mod accuracy;
pub mod api;
pub mod capi;
pub mod case;
pub mod input;
pub mod known;
pub mod model;

use focal_loss::Error;

use crate::case::Task;
use crate::model::Class;

/// What one input did, for the census.
#[derive(Clone, Debug)]
pub struct Report {
    /// `"Ok"` or the error (Rust API: the variant, with the buffer of a length error), or the C
    /// status's name.
    pub outcome: String,
    /// The classes of refused input that explain a refusal (empty when accepted).
    pub classes: Vec<Class>,
    /// The open findings ([`known`]) the input hits: their regression tests' names.
    pub known: Vec<&'static str>,
}

impl Report {
    fn ok() -> Report {
        Report { outcome: "Ok".into(), classes: Vec::new(), known: Vec::new() }
    }

    fn refused(e: &Error, classes: Vec<Class>) -> Report {
        Report { outcome: model::error_name(e), classes, known: Vec::new() }
    }

    /// The decoder found the input unusable (it never does: `Unstructured` pads with zeros).
    fn undecodable() -> Report {
        Report { outcome: "undecodable".into(), classes: Vec::new(), known: Vec::new() }
    }
}

/// The fuzz targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Sigmoid,
    Softmax,
    SoftmaxProbs,
    InPlace,
    Capi,
}

impl Target {
    pub const ALL: [Target; 5] =
        [Target::Sigmoid, Target::Softmax, Target::SoftmaxProbs, Target::InPlace, Target::Capi];

    /// Its name: the binary in `fuzz_targets/` and the directory of its corpus.
    pub fn name(self) -> &'static str {
        match self {
            Target::Sigmoid => "sigmoid",
            Target::Softmax => "softmax",
            Target::SoftmaxProbs => "softmax_probs",
            Target::InPlace => "in_place",
            Target::Capi => "capi",
        }
    }

    /// Runs one input; panics when the library breaks its contract.
    pub fn run(self, data: &[u8]) -> Report {
        match self {
            Target::Sigmoid => api::task(data, Task::Sigmoid),
            Target::Softmax => api::task(data, Task::Softmax),
            Target::SoftmaxProbs => api::task(data, Task::Probs),
            Target::InPlace => api::in_place(data),
            Target::Capi => capi::run(data),
        }
    }

    /// The outcomes a good corpus of this target reaches: every one the interface can return
    /// for what the target calls.
    pub fn expected_outcomes(self) -> Vec<String> {
        if self == Target::Capi {
            return capi::STATUSES.iter().map(|(_, name)| name.to_string()).collect();
        }
        let mut v: Vec<&str> = vec![
            "Ok",
            "Gamma",
            "Alpha",
            "ClassAlpha",
            "ClassAlphaLength",
            "LabelSmoothing",
            "Normalizer",
            "Shape",
            "Target",
            "LossesWithReduction",
            "Length(losses)",
        ];
        // A length error for each buffer the call can get wrong: for class indices the rows
        // follow the targets, so the logits are the ones that do not fit; the in-place forms have
        // no separate gradient.
        v.extend(match self {
            Target::Softmax => &["Length(logits)", "Length(gradient)"][..],
            Target::InPlace => &["Length(logits)", "Length(targets)"][..],
            _ => &["Length(targets)", "Length(gradient)"][..],
        });
        // Only where a forceable backend is missing on this CPU (on x86_64, NEON); in_place runs
        // the available ones only.
        if self != Target::InPlace && some_backend_missing() {
            v.push("BackendUnavailable");
        }
        v.into_iter().map(String::from).collect()
    }

    /// The classes of refused input of DESIGN §2.5 (and of its interface) this target must
    /// produce: those its calls can express.
    pub fn expected_classes(self) -> Vec<Class> {
        use Class::*;
        let options = [
            GammaNegative,
            GammaNotFinite,
            AlphaOutOfRange,
            ClassAlphaNegativeOrNotFinite,
            LabelSmoothing,
            Normalizer,
        ];
        let mut v = options.to_vec();
        match self {
            Target::Sigmoid => v.extend([
                ClassAlphaAboveOneSigmoid,
                SigmoidTarget,
                LengthMismatch,
                ZeroClassesWithRows,
                LogitsNotWholeRows,
                ClassAlphaLength,
                LossesWithReduction,
            ]),
            Target::Softmax => v.extend([
                ClassIndex,
                LengthMismatch,
                RowsTimesClassesOverflow,
                ZeroClassesWithRows,
                ClassAlphaLength,
                LossesWithReduction,
            ]),
            Target::SoftmaxProbs => v.extend([
                TargetProbability,
                LengthMismatch,
                ZeroClassesWithRows,
                LogitsNotWholeRows,
                ClassAlphaLength,
                LossesWithReduction,
            ]),
            Target::InPlace => v.extend([
                ClassAlphaAboveOneSigmoid,
                SigmoidTarget,
                TargetProbability,
                ClassIndex,
                LengthMismatch,
                RowsTimesClassesOverflow,
                ZeroClassesWithRows,
                LogitsNotWholeRows,
                ClassAlphaLength,
                LossesWithReduction,
            ]),
            Target::Capi => v.extend([
                ClassAlphaAboveOneSigmoid,
                SigmoidTarget,
                TargetProbability,
                ClassIndex,
                RowsTimesClassesOverflow,
                ZeroClassesWithRows,
                GradOverlapsLogits,
                GradOverlapsTargets,
                GradOverlapsLoss,
                OptionsNull,
                StructSize,
                Reduction,
                SizeTooLarge,
                NullPointer,
                Misaligned,
                WrapsAround,
                GradOverlapsClassAlpha,
                LossOverlapsInput,
            ]),
        }
        // The Rust API's targets that force a backend, where one is missing on this CPU.
        if matches!(self, Target::Sigmoid | Target::Softmax | Target::SoftmaxProbs) && some_backend_missing()
        {
            v.push(BackendUnavailable);
        }
        v
    }
}

/// Whether this CPU lacks a backend the targets can force (NEON on x86_64, AVX on aarch64).
fn some_backend_missing() -> bool {
    case::FORCEABLE.iter().any(|b| !b.is_available())
}
