//! Scalar definitions shared by the kernels (in float32) and the reference (in float64): the
//! zero-weight product and the focusing exponent; label smoothing (the reference's).
//!
//! Conventions used throughout: `0^0 = 1`, and a term whose weight or target mass is exactly 0
//! contributes exactly 0 even where the other factor is infinite ([`mul0`]).

use core::ops::{Add, Mul, Sub};

/// The scalar widths these definitions are written for: float32 and float64.
pub(crate) trait Float:
    Copy + PartialEq + From<f32> + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self>
{
}

impl Float for f32 {}
impl Float for f64 {}

/// `w · v`, except that a zero weight gives 0 even when `v` is infinite.
#[inline(always)]
pub(crate) fn mul0<T: Float>(w: T, v: T) -> T {
    if w == T::from(0.0) {
        T::from(0.0)
    } else {
        w * v
    }
}

/// The focusing power `m^γ`, with exact fast forms for small integer γ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Focus {
    /// γ = 2, the paper's and the common choice: `m·m`, a variant of its own (the scalar
    /// kernel, which decides γ per element, tests a flag for it: `kernel::focus::Runtime`).
    Two,
    /// γ = 0: `m^0 = 1`, even for m = 0 (plain cross-entropy).
    Zero,
    /// γ another whole number in 1..=16: repeated multiplication (at most 7 roundings).
    Int(u32),
    /// γ = n + ½ for a whole n in 0..=15: `m^n·√m` where the backend has a square root
    /// ([`crate::simd::Simd::SQRT`]), else as [`Focus::Real`].
    Half(u32),
    /// Any other γ: `exp(γ·ln m)`.
    Real(f32),
}

impl Focus {
    pub(crate) fn new(gamma: f32) -> Focus {
        if gamma == 2.0 {
            Focus::Two
        } else if gamma == 0.0 {
            Focus::Zero
        } else if gamma <= 16.0 && gamma == (gamma as u32) as f32 {
            Focus::Int(gamma as u32)
        } else if gamma <= 15.5 && gamma - 0.5 == ((gamma - 0.5) as u32) as f32 {
            Focus::Half((gamma - 0.5) as u32)
        } else {
            Focus::Real(gamma)
        }
    }

    /// γ itself.
    #[inline(always)]
    pub(crate) fn gamma(self) -> f32 {
        match self {
            Focus::Two => 2.0,
            Focus::Zero => 0.0,
            Focus::Int(n) => n as f32,
            Focus::Half(n) => n as f32 + 0.5,
            Focus::Real(gamma) => gamma,
        }
    }
}

/// A sigmoid target after label smoothing: `y' = y(1 − ls) + ls/2` and `1 − y'`, each computed
/// from its own side so that neither is formed by cancellation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Smoothed<T> {
    pub(crate) y: T,
    pub(crate) not_y: T,
}

impl<T: Float> Smoothed<T> {
    #[inline(always)]
    pub(crate) fn new(y: T, label_smoothing: T) -> Smoothed<T> {
        let one = T::from(1.0);
        let keep = one - label_smoothing;
        let half = T::from(0.5) * label_smoothing;
        Smoothed { y: y * keep + half, not_y: (one - y) * keep + half }
    }

    /// `α_t = a·y' + (1 − a)(1 − y')`.
    #[inline(always)]
    pub(crate) fn alpha_t(self, a: T) -> T {
        a * self.y + (T::from(1.0) - a) * self.not_y
    }
}
