//! Where a kernel reads its logits and writes its gradient.
//!
//! Three shapes share one kernel: forward only, a separate gradient buffer, and the gradient
//! written over the logits (which saves a whole buffer on a microcontroller). A kernel reads the
//! logit at `i` before it writes the gradient at `i`, and never reads a logit after writing its
//! gradient, so the in-place form computes the same values as the others.

use core::ops::Range;

/// The logits and, when wanted, the gradient buffer.
pub(crate) trait Io {
    /// Whether a gradient is wanted at all.
    const GRAD: bool;
    /// The same shape over a part of the buffers, indexed from 0.
    type Span<'s>: Io
    where
        Self: 's;
    /// The elements in `range`, as buffers of their own: a kernel that works inside a span
    /// whose length the compiler knows needs no bounds check per load or store, and a loop that
    /// writes through a span keeps its buffers' addresses in registers (through `self`, the
    /// compiler reloads them after every store, which might have changed them for all it knows).
    fn span(&mut self, range: Range<usize>) -> Self::Span<'_>;
    /// The logit at `i`.
    fn x(&self, i: usize) -> f32;
    /// Writes the gradient at `i` (a no-op when `GRAD` is false).
    fn set_grad(&mut self, i: usize, g: f32);
    /// The logits at `i..i + n` (`n ≤ LANES`), padded with `pad`.
    fn load_x<S: crate::simd::Simd>(&self, s: S, i: usize, n: usize, pad: f32) -> S::V;
    /// The logits of sixteen classes from class `from` of the `LANES` rows of `c` classes from
    /// `i`, class by class ([`Simd::load_columns`](crate::simd::Simd::load_columns)).
    fn load_x_columns<S: crate::simd::Simd>(&self, s: S, i: usize, c: usize, from: usize) -> [S::V; 16];
    /// Writes the gradient of sixteen classes from class `from` of the `LANES` rows of `c`
    /// classes from `i`, given class by class, as
    /// [`Simd::store_columns`](crate::simd::Simd::store_columns) does (a no-op when `GRAD` is
    /// false).
    fn store_grad_columns<S: crate::simd::Simd>(
        &mut self,
        s: S,
        i: usize,
        c: usize,
        from: usize,
        columns: &[S::V; 16],
    );
    /// Writes the first `n` lanes of `g` as the gradient at `i..i + n` (a no-op when `GRAD` is
    /// false).
    fn store_grad<S: crate::simd::Simd>(&mut self, s: S, i: usize, n: usize, g: S::V);
    /// Reads back what `store_grad` wrote at `i..i + n` (only called when `GRAD` is true).
    fn load_grad<S: crate::simd::Simd>(&self, s: S, i: usize, n: usize) -> S::V;
}

/// Forward only.
pub(crate) struct Forward<'a>(pub(crate) &'a [f32]);

impl Io for Forward<'_> {
    const GRAD: bool = false;
    type Span<'s>
        = Forward<'s>
    where
        Self: 's;

    #[inline(always)]
    fn span(&mut self, range: Range<usize>) -> Forward<'_> {
        Forward(&self.0[range])
    }

    #[inline(always)]
    fn x(&self, i: usize) -> f32 {
        self.0[i]
    }

    #[inline(always)]
    fn set_grad(&mut self, _: usize, _: f32) {}

    #[inline(always)]
    fn load_x<S: crate::simd::Simd>(&self, s: S, i: usize, n: usize, pad: f32) -> S::V {
        load_at(s, self.0, i, n, pad)
    }

    #[inline(always)]
    fn load_x_columns<S: crate::simd::Simd>(&self, s: S, i: usize, c: usize, from: usize) -> [S::V; 16] {
        s.load_columns(&self.0[i..i + S::LANES * c], c, from)
    }

    #[inline(always)]
    fn store_grad_columns<S: crate::simd::Simd>(
        &mut self,
        _: S,
        _: usize,
        _: usize,
        _: usize,
        _: &[S::V; 16],
    ) {
    }

    #[inline(always)]
    fn store_grad<S: crate::simd::Simd>(&mut self, _: S, _: usize, _: usize, _: S::V) {}

    #[inline(always)]
    fn load_grad<S: crate::simd::Simd>(&self, s: S, _: usize, _: usize) -> S::V {
        s.splat(0.0)
    }
}

/// The gradient goes to its own buffer, as long as the logits.
pub(crate) struct Separate<'a> {
    pub(crate) logits: &'a [f32],
    pub(crate) grad: &'a mut [f32],
}

impl Io for Separate<'_> {
    const GRAD: bool = true;
    type Span<'s>
        = Separate<'s>
    where
        Self: 's;

    #[inline(always)]
    fn span(&mut self, range: Range<usize>) -> Separate<'_> {
        Separate { logits: &self.logits[range.clone()], grad: &mut self.grad[range] }
    }

    #[inline(always)]
    fn x(&self, i: usize) -> f32 {
        self.logits[i]
    }

    #[inline(always)]
    fn set_grad(&mut self, i: usize, g: f32) {
        self.grad[i] = g;
    }

    #[inline(always)]
    fn load_x<S: crate::simd::Simd>(&self, s: S, i: usize, n: usize, pad: f32) -> S::V {
        load_at(s, self.logits, i, n, pad)
    }

    #[inline(always)]
    fn load_x_columns<S: crate::simd::Simd>(&self, s: S, i: usize, c: usize, from: usize) -> [S::V; 16] {
        s.load_columns(&self.logits[i..i + S::LANES * c], c, from)
    }

    #[inline(always)]
    fn store_grad_columns<S: crate::simd::Simd>(
        &mut self,
        s: S,
        i: usize,
        c: usize,
        from: usize,
        columns: &[S::V; 16],
    ) {
        s.store_columns(columns, c, from, &mut self.grad[i..i + S::LANES * c]);
    }

    #[inline(always)]
    fn store_grad<S: crate::simd::Simd>(&mut self, s: S, i: usize, n: usize, g: S::V) {
        store_at(s, g, self.grad, i, n);
    }

    #[inline(always)]
    fn load_grad<S: crate::simd::Simd>(&self, s: S, i: usize, n: usize) -> S::V {
        load_at(s, self.grad, i, n, 0.0)
    }
}

/// The gradient overwrites the logits.
pub(crate) struct InPlace<'a>(pub(crate) &'a mut [f32]);

impl Io for InPlace<'_> {
    const GRAD: bool = true;
    type Span<'s>
        = InPlace<'s>
    where
        Self: 's;

    #[inline(always)]
    fn span(&mut self, range: Range<usize>) -> InPlace<'_> {
        InPlace(&mut self.0[range])
    }

    #[inline(always)]
    fn x(&self, i: usize) -> f32 {
        self.0[i]
    }

    #[inline(always)]
    fn set_grad(&mut self, i: usize, g: f32) {
        self.0[i] = g;
    }

    #[inline(always)]
    fn load_x<S: crate::simd::Simd>(&self, s: S, i: usize, n: usize, pad: f32) -> S::V {
        load_at(s, self.0, i, n, pad)
    }

    #[inline(always)]
    fn load_x_columns<S: crate::simd::Simd>(&self, s: S, i: usize, c: usize, from: usize) -> [S::V; 16] {
        s.load_columns(&self.0[i..i + S::LANES * c], c, from)
    }

    #[inline(always)]
    fn store_grad_columns<S: crate::simd::Simd>(
        &mut self,
        s: S,
        i: usize,
        c: usize,
        from: usize,
        columns: &[S::V; 16],
    ) {
        s.store_columns(columns, c, from, &mut self.0[i..i + S::LANES * c]);
    }

    #[inline(always)]
    fn store_grad<S: crate::simd::Simd>(&mut self, s: S, i: usize, n: usize, g: S::V) {
        store_at(s, g, self.0, i, n);
    }

    #[inline(always)]
    fn load_grad<S: crate::simd::Simd>(&self, s: S, i: usize, n: usize) -> S::V {
        load_at(s, self.0, i, n, 0.0)
    }
}

/// Loads `n ≤ LANES` values of `v` from `off`, padding the lanes past `n` with `pad`.
#[inline(always)]
pub(crate) fn load_at<S: crate::simd::Simd>(s: S, v: &[f32], off: usize, n: usize, pad: f32) -> S::V {
    if n == S::LANES {
        s.load(&v[off..off + S::LANES])
    } else {
        s.load_partial(&v[off..], n, pad)
    }
}

/// Stores the first `n ≤ LANES` lanes of `x` to `v` at `off`.
#[inline(always)]
pub(crate) fn store_at<S: crate::simd::Simd>(s: S, x: S::V, v: &mut [f32], off: usize, n: usize) {
    if n == S::LANES {
        s.store(x, &mut v[off..off + S::LANES]);
    } else {
        s.store_partial(x, &mut v[off..], n);
    }
}
