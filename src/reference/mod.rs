//! The scalar definitions: DESIGN §2 in float64 with libm, one function per formula.
//!
//! This module is the specification's twin, written for reading: every formula in the form that
//! stays accurate for every input (see the comments on each step), one element or one row at a
//! time. The drivers in `sigmoid.rs` and `softmax.rs` only loop over these functions, reduce and
//! scale; inputs are widened once and every output is rounded once, to float32.
//!
//! It serves twice:
//! - as the **wide path**: the inputs whose float32 intermediates would leave float32's range,
//!   or whose rounding would exceed what κ covers, while the outputs do not run here, where
//!   float64's exponent range keeps every intermediate normal and its precision makes `m^γ`
//!   exact enough for any γ. Validation decides it per batch (`Plan::wide`: γ above the task's
//!   bound, a `mean` normaliser below 1, weights or target masses below 2^-64, weights times row
//!   mass above 64); the kernels per block or row (`SmallSums`: sums of losses below 2^-90; the
//!   sigmoid's limits at ±∞). It is slow (libm's float64 functions; software float64 on a
//!   Cortex-M4F), and these inputs are rare;
//! - as [`Backend::Reference`](crate::Backend::Reference) (feature `reference`), the yardstick
//!   the tests hold every fast backend against.

pub(crate) mod sigmoid;
pub(crate) mod softmax;

use core::ops::Add;

use libm::{exp, log, log1p};

use crate::math::{mul0, Focus, Smoothed};
use crate::validate::Plan;

/// The reduced loss: `total / D` rounded once to float32, or 0 when there is nothing to average.
fn reduce(total: f64, plan: &Plan) -> f32 {
    if plan.divisor == 0.0 {
        0.0
    } else {
        (total / f64::from(plan.divisor)) as f32
    }
}

/// `m^γ` for `m` in [0, 1], given also `1 − m` formed without cancellation. Above 1/2, through
/// `log1p(−(1 − m))`: m near 1 rounds to 1, and a large γ turns the lost `1 − m` into a factor
/// of 1 where it is `e^(−γ·(1 − m))`.
#[inline]
fn focus_pow(focus: Focus, m: f64, one_minus_m: f64) -> f64 {
    match focus {
        Focus::Two => m * m,
        Focus::Zero => 1.0,
        Focus::Int(n) => powi(m, n),
        // Half-integer γ too: exp(γ·ln m) rather than a square root, which is inline assembly
        // on x86_64 in libm (Miri cannot run it); float64's ln m is exact enough for any γ.
        Focus::Real(_) | Focus::Half(_) if m > 0.5 => exp(f64::from(focus.gamma()) * log1p(-one_minus_m)),
        Focus::Real(_) | Focus::Half(_) => exp(f64::from(focus.gamma()) * log(m)),
    }
}

/// `m^n` by binary powering.
#[inline]
fn powi(m: f64, mut n: u32) -> f64 {
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
#[inline]
pub(crate) fn sigmoid_element(x: f64, t: Smoothed<f64>, alpha_t: f64, focus: Focus) -> (f64, f64) {
    if x.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    // σ(|x|) and σ(−|x|) from e = exp(−|x|) ∈ [0, 1]: neither is formed as 1 − something.
    let e = exp(-x.abs());
    let big = 1.0 / (1.0 + e);
    let small = e * big;
    let (p, not_p) = if x >= 0.0 { (big, small) } else { (small, big) };
    // softplus(±x) = max(±x, 0) + log1p(exp(−|x|)).
    let l = log1p(e);
    let softplus_x = if x > 0.0 { x + l } else { l };
    let softplus_neg_x = if x < 0.0 { l - x } else { l };

    // m = 1 − p_t, a sum of non-negative terms.
    let m = p * t.not_y + not_p * t.y;
    let ce = mul0(t.y, softplus_neg_x) + mul0(t.not_y, softplus_x);
    let m_gamma = focus_pow(focus, m, p * t.y + not_p * t.not_y);
    // m^γ may underflow to 0 where m > 0; against an infinite ce the product is still +∞.
    let focused_ce = if ce == f64::INFINITY && m > 0.0 { ce } else { m_gamma * ce };
    let loss = mul0(alpha_t, focused_ce);

    // p − y' without cancellation: when p > 1/2, (1 − y') − (1 − p) instead.
    let p_minus_y = if x >= 0.0 { t.not_y - not_p } else { p - t.y };
    // m^γ·γ·r·ce (m^γ·γ first: γ·r alone overflows for a huge γ, where m^γ is 0); r·ce → 0 as
    // p·(1 − p) → 0, even where ce is infinite.
    let gamma = f64::from(focus.gamma());
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
    pub(crate) max: f64,
    /// `Σ_{j ≠ argmax} exp(x_j − max)`: the arg-max class's `1 − p`, times `s`.
    pub(crate) others: f64,
    /// `s = 1 + others`, the normaliser.
    pub(crate) s: f64,
    /// `log(s)`, computed as `log1p(others)`.
    pub(crate) log_s: f64,
}

impl RowStats {
    /// `p_j` of class `j` with logit `x`.
    #[inline]
    pub(crate) fn probability(&self, x: f64, j: usize) -> f64 {
        if j == self.argmax {
            1.0 / self.s
        } else {
            exp(x - self.max) / self.s
        }
    }
}

/// Finds the row's arg-max and normaliser.
pub(crate) fn row_shape(row: impl Fn(usize) -> f64, classes: usize) -> RowShape {
    let mut argmax = None;
    let mut max = f64::NEG_INFINITY;
    for j in 0..classes {
        let x = row(j);
        if x.is_nan() || x == f64::INFINITY {
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
            others.add(j, exp(row(j) - max));
        }
    }
    let others = others.total();
    RowShape::Finite(RowStats { argmax, max, others, s: 1.0 + others, log_s: log1p(others) })
}

/// One class of a softmax row: its probability, `1 − p`, log-probability and `g` of DESIGN §2.2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassTerm {
    /// `p_j`.
    pub(crate) p: f64,
    /// `1 − p_j`, never formed by cancellation.
    pub(crate) q: f64,
    /// `(1 − p_j)^γ`.
    pub(crate) q_gamma: f64,
    /// `g_j = (1 − p_j)^γ · (γ·p_j·l_j/(1 − p_j) − 1)`.
    pub(crate) g: f64,
    /// `l_j = log p_j` (−∞ for a masked class).
    pub(crate) l: f64,
}

impl ClassTerm {
    /// A class whose logit is −∞: p = 0, l = −∞, g = −1.
    pub(crate) const MASKED: ClassTerm =
        ClassTerm { p: 0.0, q: 1.0, q_gamma: 1.0, g: -1.0, l: f64::NEG_INFINITY };

    /// Class `j` with logit `x` in a row with statistics `st`.
    #[inline(never)]
    pub(crate) fn new(x: f64, j: usize, st: &RowStats, focus: Focus) -> ClassTerm {
        if x == f64::NEG_INFINITY {
            return ClassTerm::MASKED;
        }
        let (p, q, l_over_q, l) = if j == st.argmax {
            // 1 − p = others/s, l = −log1p(others), and l/(1 − p) = −s·log1p(others)/others,
            // whose limit at others = 0 is −1.
            let q = st.others / st.s;
            let ratio = if st.others == 0.0 { 1.0 } else { st.log_s / st.others };
            (st.probability(x, j), q, -st.s * ratio, -st.log_s)
        } else {
            // p ≤ 1/2 here, so 1 − p is exact enough.
            let p = st.probability(x, j);
            let q = 1.0 - p;
            let l = (x - st.max) - st.log_s;
            (p, q, l / q, l)
        };
        let q_gamma = focus_pow(focus, q, p);
        // q^γ·γ first: γ·p alone overflows for a huge γ, where q^γ is 0.
        let gamma = f64::from(focus.gamma());
        let focus_term = if gamma == 0.0 || p == 0.0 { 0.0 } else { q_gamma * gamma * p * l_over_q };
        ClassTerm { p, q, q_gamma, g: focus_term - q_gamma, l }
    }

    /// The row loss's term `−w·τ·(1 − p)^γ·l` for weight `w` and target mass `tau`.
    #[inline]
    pub(crate) fn loss(&self, w_tau: f64) -> f64 {
        if w_tau == 0.0 {
            0.0
        } else {
            -(w_tau * self.q_gamma) * self.l
        }
    }
}

/// Eight interleaved partial sums, combined pairwise: error about `(n/8 + 3)` roundings instead
/// of `n`, in an order fixed by the length alone.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sum8<T>([T; 8]);

impl<T: Copy + Add<Output = T>> Sum8<T> {
    #[inline]
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
        assert_eq!(Focus::new(0.5), Focus::Half(0));
        assert_eq!(Focus::new(1.5), Focus::Half(1));
        assert_eq!(Focus::new(15.5), Focus::Half(15));
        assert_eq!(Focus::new(16.5), Focus::Real(16.5));
        assert_eq!(Focus::new(1.25), Focus::Real(1.25));
        assert_eq!(focus_pow(Focus::Zero, 0.0, 1.0), 1.0);
        assert_eq!(focus_pow(Focus::Int(5), 0.5, 0.5), 0.03125);
        assert_eq!(focus_pow(Focus::Int(3), 0.0, 1.0), 0.0);
        // 1 − 2^-30 rounds to 1; (1 − 2^-30)^(2^40) = e^(−1024) is 0.
        assert_eq!(focus_pow(Focus::Real(2f32.powi(40)), 1.0, 2f64.powi(-30)), 0.0);
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
