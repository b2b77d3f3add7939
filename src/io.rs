//! Where a kernel reads its logits and writes its gradient.
//!
//! Three shapes share one kernel: forward only, a separate gradient buffer, and the gradient
//! written over the logits (which saves a whole buffer on a microcontroller). A kernel reads the
//! logit at `i` before it writes the gradient at `i`, and never reads a logit after writing its
//! gradient, so the in-place form computes the same values as the others.

/// The logits and, when wanted, the gradient buffer.
pub(crate) trait Io {
    /// Whether a gradient is wanted at all.
    const GRAD: bool;
    /// The logit at `i`.
    fn x(&self, i: usize) -> f32;
    /// Writes the gradient at `i` (a no-op when `GRAD` is false).
    fn set_grad(&mut self, i: usize, g: f32);
}

/// Forward only.
pub(crate) struct Forward<'a>(pub(crate) &'a [f32]);

impl Io for Forward<'_> {
    const GRAD: bool = false;

    #[inline(always)]
    fn x(&self, i: usize) -> f32 {
        self.0[i]
    }

    #[inline(always)]
    fn set_grad(&mut self, _: usize, _: f32) {}
}

/// The gradient goes to its own buffer, as long as the logits.
pub(crate) struct Separate<'a> {
    pub(crate) logits: &'a [f32],
    pub(crate) grad: &'a mut [f32],
}

impl Io for Separate<'_> {
    const GRAD: bool = true;

    #[inline(always)]
    fn x(&self, i: usize) -> f32 {
        self.logits[i]
    }

    #[inline(always)]
    fn set_grad(&mut self, i: usize, g: f32) {
        self.grad[i] = g;
    }
}

/// The gradient overwrites the logits.
pub(crate) struct InPlace<'a>(pub(crate) &'a mut [f32]);

impl Io for InPlace<'_> {
    const GRAD: bool = true;

    #[inline(always)]
    fn x(&self, i: usize) -> f32 {
        self.0[i]
    }

    #[inline(always)]
    fn set_grad(&mut self, i: usize, g: f32) {
        self.0[i] = g;
    }
}
