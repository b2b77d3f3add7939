//! The kernels, written once against [`Simd`](crate::simd::Simd) and instantiated per backend.
//!
//! `sigmoid` and `softmax` hold the algorithms; `dispatch` holds the thin `#[target_feature]`
//! wrappers that instantiate them and the match that picks one. The formulas are those of
//! `crate::math` (the float32 twin of the specification), rearranged for lanes: special values
//! (±∞, NaN) take a rare lane-by-lane path so that the vector path only ever sees finite inputs.

pub(crate) mod dispatch;
pub(crate) mod focus;
pub(crate) mod sigmoid;
pub(crate) mod softmax;

/// Whether a kernel instance is the hard-target form (every target exactly 0 or 1, one class
/// index per row, no smoothing): a type, so that each form is its own instance.
pub(crate) trait TargetForm: Copy {
    const HARD: bool;
}

/// The hard-target form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hard;
/// The general form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Soft;

impl TargetForm for Hard {
    const HARD: bool = true;
}

impl TargetForm for Soft {
    const HARD: bool = false;
}
