//! The scalar definitions: DESIGN §2 in float32 with libm, one function per formula.
//!
//! This module is the specification's twin, written for reading: every formula in the form that
//! stays accurate for every input (see the comments on each step), one element or one row at a
//! time. The drivers in `sigmoid.rs` and `softmax.rs` only loop over these functions, reduce and
//! scale. It runs as [`Backend::Reference`](crate::Backend::Reference) (feature `reference`), the
//! yardstick the tests hold every fast backend against.

pub(crate) mod sigmoid;
pub(crate) mod softmax;

use core::ops::Add;

use libm::{expf, log1pf, powf};

use crate::math::{mul0, Focus, Smoothed};
use crate::sum::Wide;

/// `m^γ` for `m` in [0, 1], given also `1 − m` formed without cancellation. Above 1/2, through
/// `log1p(−(1 − m))`: m near 1 rounds to 1, and a large γ turns the lost `1 − m` into a factor
/// of 1 where it is `e^(−γ·(1 − m))`.
#[inline(always)]
fn focus_pow(focus: Focus, m: f32, one_minus_m: f32) -> f32 {
    match focus {
        Focus::Two => m * m,
        Focus::Zero => 1.0,
        Focus::Int(n) => powi(m, n),
        Focus::Real(gamma) if m > 0.5 => expf(gamma * log1pf(-one_minus_m)),
        Focus::Real(gamma) => powf(m, gamma),
    }
}

/// `m^n` by binary powering.
#[inline(always)]
fn powi(m: f32, mut n: u32) -> f32 {
    let mut base = m;
    let mut acc = 1.0;
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}

/// The loss and the gradient of one sigmoid element (DESIGN §2.1), before reduction:
///
/// ```text
/// loss     = α_t · m^γ · ce
/// dloss/dx = α_t · m^γ · (γ·r·ce + p − y'),   r = p(1 − p)(1 − 2y') / m
/// ```
#[inline(always)]
pub(crate) fn sigmoid_element(x: f32, t: Smoothed, alpha_t: f32, focus: Focus) -> (f32, f32) {
    if x.is_nan() {
        return (f32::NAN, f32::NAN);
    }
    // σ(|x|) and σ(−|x|) from e = exp(−|x|) ∈ [0, 1]: neither is formed as 1 − something.
    let e = expf(-x.abs());
    let big = 1.0 / (1.0 + e);
    let small = e * big;
    let (p, not_p) = if x >= 0.0 { (big, small) } else { (small, big) };
    // softplus(±x) = max(±x, 0) + log1p(exp(−|x|)).
    let l = log1pf(e);
    let softplus_x = if x > 0.0 { x + l } else { l };
    let softplus_neg_x = if x < 0.0 { l - x } else { l };

    // m = 1 − p_t, a sum of non-negative terms.
    let m = p * t.not_y + not_p * t.y;
    let ce = mul0(t.y, softplus_neg_x) + mul0(t.not_y, softplus_x);
    let m_gamma = focus_pow(focus, m, p * t.y + not_p * t.not_y);
    // m^γ may underflow to 0 where m > 0; against an infinite ce the product is still +∞.
    let focused_ce = if ce == f32::INFINITY && m > 0.0 { ce } else { m_gamma * ce };
    let loss = mul0(alpha_t, focused_ce);

    // p − y' without cancellation: when p > 1/2, (1 − y') − (1 − p) instead.
    let p_minus_y = if x >= 0.0 { t.not_y - not_p } else { p - t.y };
    // m^γ·γ·r·ce (m^γ·γ first: γ·r alone overflows for a huge γ, where m^γ is 0); r·ce → 0 as
    // p·(1 − p) → 0, even where ce is infinite.
    let gamma = focus.gamma();
    let p_not_p = p * not_p;
    let focus_term = if gamma == 0.0 || p_not_p == 0.0 {
        0.0
    } else {
        let r = p_not_p / m * (t.not_y - t.y);
        m_gamma * gamma * r * ce
    };
    let grad = mul0(alpha_t, focus_term + m_gamma * p_minus_y);
    (loss, grad)
}

/// What the softmax of one row needs about the row as a whole (DESIGN §2.2).
#[derive(Clone, Copy, Debug)]
pub(crate) enum RowShape {
    /// A NaN or +∞ logit: every output of the row is NaN.
    Nan,
    /// Every logit is −∞: every class is masked.
    AllMasked,
    /// The ordinary case.
    Finite(RowStats),
}

/// The arg-max and the normaliser of a row's softmax.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowStats {
    /// Index of the (first) largest logit.
    pub(crate) argmax: usize,
    /// The largest logit.
    pub(crate) max: f32,
    /// `Σ_{j ≠ argmax} exp(x_j − max)`: the arg-max class's `1 − p`, times `s`.
    pub(crate) others: f32,
    /// `s = 1 + others`, the normaliser.
    pub(crate) s: f32,
    /// `log(s)`, computed as `log1p(others)`.
    pub(crate) log_s: f32,
}

impl RowStats {
    /// `p_j` of class `j` with logit `x`.
    #[inline(always)]
    pub(crate) fn probability(&self, x: f32, j: usize) -> f32 {
        if j == self.argmax {
            1.0 / self.s
        } else {
            expf(x - self.max) / self.s
        }
    }
}

/// Finds the row's arg-max and normaliser.
pub(crate) fn row_shape(row: impl Fn(usize) -> f32, classes: usize) -> RowShape {
    let mut argmax = None;
    let mut max = f32::NEG_INFINITY;
    for j in 0..classes {
        let x = row(j);
        if x.is_nan() || x == f32::INFINITY {
            return RowShape::Nan;
        }
        if x > max {
            max = x;
            argmax = Some(j);
        }
    }
    let Some(argmax) = argmax else {
        return RowShape::AllMasked;
    };
    let mut others = Sum8::default();
    for j in 0..classes {
        if j != argmax {
            others.add(j, expf(row(j) - max));
        }
    }
    let others = others.total();
    RowShape::Finite(RowStats { argmax, max, others, s: 1.0 + others, log_s: log1pf(others) })
}

/// One class of a softmax row: its probability, `1 − p`, log-probability and `g` of DESIGN §2.2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassTerm {
    /// `p_j`.
    pub(crate) p: f32,
    /// `1 − p_j`, never formed by cancellation.
    pub(crate) q: f32,
    /// `(1 − p_j)^γ`.
    pub(crate) q_gamma: f32,
    /// `g_j = (1 − p_j)^γ · (γ·p_j·l_j/(1 − p_j) − 1)`.
    pub(crate) g: f32,
    /// `l_j = log p_j` (−∞ for a masked class), in the accumulator's width: `x_j − max`
    /// overflows float32 when the row spans more than `f32::MAX`, and a `mean` may bring such a
    /// loss back into range.
    pub(crate) l_wide: Wide,
}

impl ClassTerm {
    /// A class whose logit is −∞: p = 0, l = −∞, g = −1.
    pub(crate) const MASKED: ClassTerm =
        ClassTerm { p: 0.0, q: 1.0, q_gamma: 1.0, g: -1.0, l_wide: Wide::NEG_INFINITY };

    /// Class `j` with logit `x` in a row with statistics `st`.
    #[inline(always)]
    pub(crate) fn new(x: f32, j: usize, st: &RowStats, focus: Focus) -> ClassTerm {
        if x == f32::NEG_INFINITY {
            return ClassTerm::MASKED;
        }
        let (p, q, l_over_q, l_wide) = if j == st.argmax {
            // 1 − p = others/s, l = −log1p(others), and l/(1 − p) = −s·log1p(others)/others,
            // whose limit at others = 0 is −1.
            let q = st.others / st.s;
            let ratio = if st.others == 0.0 { 1.0 } else { st.log_s / st.others };
            (st.probability(x, j), q, -st.s * ratio, -Wide::from(st.log_s))
        } else {
            // p ≤ 1/2 here, so 1 − p is exact enough.
            let p = st.probability(x, j);
            let q = 1.0 - p;
            let l = (x - st.max) - st.log_s;
            let l_wide = (Wide::from(x) - Wide::from(st.max)) - Wide::from(st.log_s);
            (p, q, l / q, l_wide)
        };
        let q_gamma = focus_pow(focus, q, p);
        // q^γ·γ first: γ·p alone overflows for a huge γ, where q^γ is 0.
        let gamma = focus.gamma();
        let focus_term = if gamma == 0.0 || p == 0.0 { 0.0 } else { q_gamma * gamma * p * l_over_q };
        ClassTerm { p, q, q_gamma, g: focus_term - q_gamma, l_wide }
    }

    /// The row loss's term `−w·τ·(1 − p)^γ·l` for weight `w` and target mass `tau`.
    #[inline(always)]
    pub(crate) fn loss(&self, w_tau: f32) -> Wide {
        if w_tau == 0.0 {
            0.0
        } else {
            -Wide::from(w_tau * self.q_gamma) * self.l_wide
        }
    }
}

/// Eight interleaved partial sums, combined pairwise: error about `(n/8 + 3)` roundings instead
/// of `n`, in an order fixed by the length alone.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sum8<T>([T; 8]);

impl<T: Copy + Add<Output = T>> Sum8<T> {
    #[inline(always)]
    pub(crate) fn add(&mut self, j: usize, v: T) {
        self.0[j % 8] = self.0[j % 8] + v;
    }

    pub(crate) fn total(&self) -> T {
        let s = &self.0;
        ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_forms() {
        assert_eq!(Focus::new(0.0), Focus::Zero);
        assert_eq!(Focus::new(2.0), Focus::Two);
        assert_eq!(Focus::new(3.0), Focus::Int(3));
        assert_eq!(Focus::new(16.0), Focus::Int(16));
        assert_eq!(Focus::new(17.0), Focus::Real(17.0));
        assert_eq!(Focus::new(0.5), Focus::Real(0.5));
        assert_eq!(focus_pow(Focus::Zero, 0.0, 1.0), 1.0);
        assert_eq!(focus_pow(Focus::Int(5), 0.5, 0.5), 0.03125);
        assert_eq!(focus_pow(Focus::Int(3), 0.0, 1.0), 0.0);
        // 1 − 2^-30 rounds to 1; (1 − 2^-30)^(2^40) = e^(−1024) is 0.
        assert_eq!(focus_pow(Focus::Real(2f32.powi(40)), 1.0, 2f32.powi(-30)), 0.0);
    }

    #[test]
    fn sum8_order_is_pairwise() {
        let mut s = Sum8::<f32>::default();
        for j in 0..20 {
            s.add(j, j as f32);
        }
        assert_eq!(s.total(), 190.0);
    }
}
