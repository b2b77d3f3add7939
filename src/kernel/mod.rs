//! The kernels, written once against [`Simd`](crate::simd::Simd) and instantiated per backend.
//!
//! `sigmoid` and `softmax` hold the algorithms; `dispatch` holds the thin `#[target_feature]`
//! wrappers that instantiate them and the match that picks one. The formulas are those of
//! `crate::reference` (the float64 twin of the specification), rearranged for float32 lanes:
//! special values (±∞, NaN) take a rare lane-by-lane path so that the vector path only ever sees
//! finite inputs, and inputs beyond float32's reach take the reference itself (the wide path).

pub(crate) mod dispatch;
pub(crate) mod focus;
pub(crate) mod sigmoid;
pub(crate) mod softmax;

/// Whether a kernel runs the hard-target form (every target exactly 0 or 1, one class index per
/// row, no smoothing). Vector backends pass a type ([`Hard`] or [`Soft`]), so that each form is
/// its own instance with the other branch folded away; the scalar backend passes a `bool`, so
/// that one instance serves both forms and microcontroller code stays small.
pub(crate) trait TargetForm: Copy {
    fn hard(self) -> bool;
}

/// The hard-target form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hard;
/// The general form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Soft;

impl TargetForm for Hard {
    #[inline(always)]
    fn hard(self) -> bool {
        true
    }
}

impl TargetForm for Soft {
    #[inline(always)]
    fn hard(self) -> bool {
        false
    }
}

impl TargetForm for bool {
    #[inline(always)]
    fn hard(self) -> bool {
        self
    }
}
