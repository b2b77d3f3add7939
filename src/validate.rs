//! The one validation path: every entry point calls one of these before it writes anything.
//!
//! Each returns a [`Plan`]: what the kernel needs to know about a batch that has passed.

use crate::kernel::softmax::Indices;
use crate::options::{check_class_alpha, Buffer, Error, FocalLoss, Reduction};
use crate::sum::{divide, Wide};

/// A validated batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Rows in the batch.
    pub(crate) rows: usize,
    /// Classes per row.
    pub(crate) classes: usize,
    /// What the reduced loss and every gradient are divided by: D for `mean`, 1 otherwise.
    /// May be 0 (nothing to average): then every output is 0.
    pub(crate) divisor: f32,
    /// The hard-target form applies: no smoothing, and (sigmoid) every target exactly 0 or 1.
    pub(crate) hard: bool,
    /// The batch runs on the wide path (`crate::reference`, float64): some float32 intermediate
    /// could leave float32's range where the outputs do not ([`needs_wide`]).
    pub(crate) wide: bool,
}

impl Plan {
    /// The reduced loss: the accumulated sum divided by the divisor, or 0 when there is
    /// nothing to average.
    pub(crate) fn reduce(&self, total: Wide) -> f32 {
        if self.divisor == 0.0 {
            0.0
        } else {
            divide(total, self.divisor)
        }
    }
}

/// The lengths of the optional output buffers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutLens {
    pub(crate) losses: Option<usize>,
    pub(crate) grad: Option<usize>,
}

fn check_len(buffer: Buffer, got: usize, expected: usize) -> Result<(), Error> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::Length { buffer, got, expected })
    }
}

/// Checks what every task shares: the per-class α and the output buffers.
fn check_common(
    fl: &FocalLoss<'_>,
    classes: usize,
    elements: usize,
    losses_expected: usize,
    out: OutLens,
    class_alpha_max: f32,
) -> Result<(), Error> {
    if let Some(class_alpha) = fl.class_alpha {
        if class_alpha.len() != classes {
            return Err(Error::ClassAlphaLength { got: class_alpha.len(), expected: classes });
        }
        // Built options hold finite weights of at least 0; the scan only names the first one
        // above this task's bound.
        if fl.class_alpha_summary.heaviest > class_alpha_max {
            check_class_alpha(class_alpha, class_alpha_max)?;
        }
    }
    if let Some(got) = out.losses {
        if fl.reduction != Reduction::None {
            return Err(Error::LossesWithReduction);
        }
        check_len(Buffer::Losses, got, losses_expected)?;
    }
    if let Some(got) = out.grad {
        check_len(Buffer::Grad, got, elements)?;
    }
    Ok(())
}

/// The divisor of the reduced loss and the gradient.
fn divisor(fl: &FocalLoss<'_>, count: usize) -> f32 {
    match (fl.reduction, fl.normalizer) {
        (Reduction::Mean, Some(d)) => d,
        (Reduction::Mean, None) => count as f32,
        _ => 1.0,
    }
}

/// Rows of a task whose targets are as long as its logits (sigmoid, target probabilities).
fn rows_of(logits: usize, targets: usize, classes: usize) -> Result<usize, Error> {
    if classes == 0 {
        if logits != 0 {
            return Err(Error::Shape);
        }
        check_len(Buffer::Targets, targets, 0)?;
        return Ok(0);
    }
    if !logits.is_multiple_of(classes) {
        return Err(Error::Shape);
    }
    check_len(Buffer::Targets, targets, logits)?;
    Ok(logits / classes)
}

/// What the values of a target buffer are, as far as the kernels care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UnitTargets {
    /// Every value is exactly 0 or 1.
    Hard,
    /// Some value is neither, none is tiny.
    Soft,
    /// Some value is above 0 and below [`TINY`]: a mass the float32 kernels would lose.
    Tiny,
}

/// Weights and target masses above 0 and below this (2^-64) go to the wide path: a product of
/// two of them (w·τ, a·y') is then at least 2^-128, subnormal by two bits at most (a relative
/// error of 2^-22, inside the budget), where smaller ones would lose more.
pub(crate) const TINY: f32 = 5.421_011e-20;

/// Softmax weights times the largest row's target mass above this go to the wide path. A
/// probability that underflows float32 (a logit 87 below the row's maximum, so κ ≥ 87) loses
/// about 2^-150 of itself, which the gradient multiplies by Σ_j w_j·τ_j·g_j, up to
/// W·(1 + γ)·Σ_j τ_j; at W·Σ τ ≤ 64 that stays a fifth of the budget. (The fuzzers found weights
/// of 2^20 and above breaking it; a review, rows of 4 001 target probabilities of 1: 3.5 budgets.)
const HUGE: f32 = 64.0;

/// The largest γ the float32 sigmoid kernel serves. Near x = 0 its budget is 16 units (κ = γ·|x|
/// ≈ 0), while `m^γ` carries γ times the relative error of `m` (a unit or two): measured worst
/// 0.54 budgets at γ = 4, 0.61 at 5, 0.71 at 6, 0.99 at 8, 1.78 at 16 (soft targets, random
/// search). The softmax's κ holds (γ + 1)·range + 4·log2 C, and it stays within 0.63 budgets up to
/// γ = 16, its bound.
const SIGMOID_MAX_GAMMA: f32 = 5.0;
const SOFTMAX_MAX_GAMMA: f32 = 16.0;

/// Each value must be a finite number in [0, 1]; returns which of [`UnitTargets`] they are.
///
/// On the bit patterns: a float32 is in [0, 1] exactly when its bits are at most those of 1.0
/// or it is −0; it is 0 or 1 when its bits without the sign are 0 or its bits are those of 1.0;
/// and it is tiny when its bits without the sign are in 1..bits(TINY). Where there are vector
/// units, [`unit_targets_in_chunks`]; without (microcontrollers), [`unit_targets_branching`],
/// about half the instructions.
#[inline(always)]
fn unit_targets(targets: &[f32]) -> Result<UnitTargets, Error> {
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        unit_targets_in_chunks(targets)
    } else {
        unit_targets_branching(targets)
    }
}

const ONE: u32 = 0x3f80_0000;
const NEG_ZERO: u32 = 0x8000_0000;

/// [`unit_targets`] without an early exit inside a chunk, so that it vectorises: three reductions
/// of the bit patterns, which compile to plain vector integer operations with no mask to
/// materialise (four per vector: one fewer than with the magnitudes, 8.3 % → 5.4 % of a binary
/// γ=2 call on AVX-512, perf).
#[inline(always)]
fn unit_targets_in_chunks(targets: &[f32]) -> Result<UnitTargets, Error> {
    // The smallest bit pattern minus 1, wrapping: +0 becomes the largest and −0 the largest
    // below the sign bit, so without errors this is the smallest positive target (less 1) when
    // there is one.
    let mut lowest = u32::MAX;
    for chunk in targets.chunks(1024) {
        let (mut highest, mut largest) = (0u32, 0i32);
        for &y in chunk {
            let b = y.to_bits();
            // Above the bits of −0: a negative number (or NaN) other than −0.
            highest = highest.max(b);
            // Signed, so that negatives do not count: above the bits of 1.0 is above 1, +∞ or
            // NaN.
            largest = largest.max(b as i32);
            lowest = lowest.min(b.wrapping_sub(1));
        }
        if highest > NEG_ZERO || largest > ONE as i32 {
            let index = targets.iter().position(|y| !(0.0..=1.0).contains(y)).unwrap_or(0);
            return Err(Error::Target { index });
        }
    }
    // Every target is in [0, 1] here (or −0): none in (0, 1) is the same as none below it.
    Ok(if lowest < TINY.to_bits() - 1 {
        UnitTargets::Tiny
    } else if lowest < ONE - 1 {
        UnitTargets::Soft
    } else {
        UnitTargets::Hard
    })
}

/// [`unit_targets`] one value at a time: a hard target takes two tests, and four hard targets in
/// a row take one branch back (a quarter of the loop's own instructions); from the first four
/// that are not all hard, [`classify`] takes the rest.
#[inline(always)]
fn unit_targets_branching(targets: &[f32]) -> Result<UnitTargets, Error> {
    let mut index = 0;
    for four in targets.chunks_exact(4) {
        if !four.iter().all(|&y| is_hard(y)) {
            break;
        }
        index += 4;
    }
    classify(&targets[index..], index)
}

/// 1, or ±0 (the sign shifted out).
#[inline(always)]
fn is_hard(y: f32) -> bool {
    y.to_bits() == ONE || y.to_bits() << 1 == 0
}

/// [`unit_targets_branching`]'s verdict on `targets`, found at `index` after hard ones only.
#[inline(never)]
fn classify(targets: &[f32], index: usize) -> Result<UnitTargets, Error> {
    let mut kind = UnitTargets::Hard;
    for (i, &y) in targets.iter().enumerate() {
        if is_hard(y) {
            continue;
        }
        let b = y.to_bits();
        if b > ONE {
            return Err(Error::Target { index: index + i });
        }
        kind = if b < TINY.to_bits() { UnitTargets::Tiny } else { kind.max_soft() };
    }
    Ok(kind)
}

impl UnitTargets {
    /// At least [`UnitTargets::Soft`].
    #[inline(always)]
    fn max_soft(self) -> UnitTargets {
        match self {
            UnitTargets::Tiny => UnitTargets::Tiny,
            _ => UnitTargets::Soft,
        }
    }
}

/// What a task's batch adds to [`needs_wide`]'s tests.
struct Task {
    /// The largest γ its float32 kernel serves.
    max_gamma: f32,
    /// The classes smoothing spreads ls over: 2 for the sigmoid, C for the softmax.
    shares: usize,
    targets: UnitTargets,
    /// The largest row's target mass (softmax; 0 for the sigmoid, whose weights are at most 1).
    row_mass: f32,
}

/// The largest weight: of the per-class α if given, else α, else 1.
fn heaviest_weight(fl: &FocalLoss<'_>) -> f32 {
    match fl.class_alpha {
        Some(_) => fl.class_alpha_summary.heaviest,
        None => fl.alpha.unwrap_or(1.0),
    }
}

/// Whether a validated batch needs the wide path (see [`Plan::wide`]): γ above the task's bound
/// (`m^γ` multiplies the relative error of `m` by γ, which κ = γ·|x| does not cover near x = 0),
/// a divisor below 1 (it magnifies what underflowed before the division), a weight or target mass
/// above 0 and below [`TINY`], or the heaviest weight times the largest row mass above [`HUGE`].
/// In float32 alone: software float64 here would cost microcontrollers flash and stack.
fn needs_wide(fl: &FocalLoss<'_>, divisor: f32, task: Task) -> bool {
    let tiny = |w: f32| w > 0.0 && w < TINY;
    let heaviest = heaviest_weight(fl);
    let (ls, shares, targets, row_mass) = (fl.label_smoothing, task.shares, task.targets, task.row_mass);
    fl.gamma > task.max_gamma
        || (divisor > 0.0 && divisor < 1.0)
        || targets == UnitTargets::Tiny
        || (ls > 0.0 && ls < TINY * shares as f32)
        || fl.alpha.is_some_and(tiny)
        || fl.class_alpha_summary.tiny
        || heaviest * row_mass.max(1.0) > HUGE
}

/// [`unit_targets`], compiled for AVX-512 or AVX2 where the CPU has them (four or twice the lanes
/// of SSE2: the pass reads every target before the kernel's, and costs a tenth of it with AVX2).
fn check_unit_targets(targets: &[f32]) -> Result<UnitTargets, Error> {
    #[cfg(target_arch = "x86_64")]
    if crate::Backend::Avx512.is_available() {
        #[target_feature(enable = "avx512f,avx2")]
        fn avx512(targets: &[f32]) -> Result<UnitTargets, Error> {
            unit_targets(targets)
        }
        // SAFETY: the CPU runs AVX-512F and AVX2 (checked just above).
        return unsafe { avx512(targets) };
    }
    #[cfg(target_arch = "x86_64")]
    if crate::Backend::Avx2.is_available() {
        #[target_feature(enable = "avx2")]
        fn avx2(targets: &[f32]) -> Result<UnitTargets, Error> {
            unit_targets(targets)
        }
        // SAFETY: the CPU runs AVX2 (checked just above).
        return unsafe { avx2(targets) };
    }
    unit_targets(targets)
}

/// Binary and multi-label: `targets` in [0, 1], one per logit.
pub(crate) fn sigmoid(
    fl: &FocalLoss<'_>,
    logits: usize,
    targets: &[f32],
    classes: usize,
    out: OutLens,
) -> Result<Plan, Error> {
    let rows = rows_of(logits, targets.len(), classes)?;
    check_common(fl, classes, logits, logits, out, 1.0)?;
    let kind = check_unit_targets(targets)?;
    let hard = kind == UnitTargets::Hard && fl.label_smoothing == 0.0;
    let divisor = divisor(fl, logits);
    let task = Task { max_gamma: SIGMOID_MAX_GAMMA, shares: 2, targets: kind, row_mass: 0.0 };
    let wide = needs_wide(fl, divisor, task);
    Ok(Plan { rows, classes, divisor, hard, wide })
}

/// Softmax with target probabilities: one probability in [0, 1] per logit.
pub(crate) fn softmax_probs(
    fl: &FocalLoss<'_>,
    logits: usize,
    probs: &[f32],
    classes: usize,
    out: OutLens,
) -> Result<Plan, Error> {
    let rows = rows_of(logits, probs.len(), classes)?;
    check_common(fl, classes, logits, rows, out, f32::MAX)?;
    let kind = check_unit_targets(probs)?;
    // Rows are not renormalised: a row's mass may reach C. The pass that finds the largest is
    // needed only where C itself would cross the bound (0 stands for "at most 1" otherwise).
    let row_mass = if heaviest_weight(fl) * classes as f32 > HUGE {
        probs.chunks_exact(classes.max(1)).fold(0.0f32, |m, r| m.max(r.iter().sum()))
    } else {
        0.0
    };
    let divisor = divisor(fl, rows);
    let task = Task { max_gamma: SOFTMAX_MAX_GAMMA, shares: classes, targets: kind, row_mass };
    let wide = needs_wide(fl, divisor, task);
    Ok(Plan { rows, classes, divisor, hard: false, wide })
}

/// Softmax with class indices: one index per row, in `[0, classes)` or the ignore index.
///
/// Inlined into its entry point on bare-metal targets: out of line, its frame sat below the
/// kernel's and took the Cortex-M4F's softmax entry to 516 bytes of stack (480 inlined). Not
/// elsewhere: inlined, the AVX-512 kernel measured 2 % slower (C = 10, 80 and 1000).
#[cfg_attr(target_os = "none", inline(always))]
pub(crate) fn softmax(
    fl: &FocalLoss<'_>,
    logits: usize,
    targets: Indices<'_>,
    classes: usize,
    out: OutLens,
) -> Result<Plan, Error> {
    let rows = targets.len();
    if classes == 0 && rows > 0 {
        return Err(Error::Shape);
    }
    let elements = rows.checked_mul(classes).ok_or(Error::Shape)?;
    check_len(Buffer::Logits, logits, elements)?;
    check_common(fl, classes, elements, rows, out, f32::MAX)?;
    // One loop per index type: matching the type per row cost a tenth of a call at C = 10.
    let counted = match targets {
        Indices::U8(t) => counted_rows(t, classes, fl.ignore_index),
        Indices::U16(t) => counted_rows(t, classes, fl.ignore_index),
        Indices::U32(t) => counted_rows(t, classes, fl.ignore_index),
        Indices::I32(t) => counted_rows(t, classes, fl.ignore_index),
        Indices::I64(t) => counted_rows(t, classes, fl.ignore_index),
    }?;
    let divisor = divisor(fl, counted);
    let task =
        Task { max_gamma: SOFTMAX_MAX_GAMMA, shares: classes, targets: UnitTargets::Hard, row_mass: 1.0 };
    let wide = needs_wide(fl, divisor, task);
    Ok(Plan { rows, classes, divisor, hard: fl.label_smoothing == 0.0, wide })
}

/// How many rows of `targets` have a class (are not ignored); an error names the first index
/// that is neither a class nor the ignore index.
#[inline(always)]
fn counted_rows<T: Copy + Into<i64>>(
    targets: &[T],
    classes: usize,
    ignore_index: Option<i64>,
) -> Result<usize, Error> {
    let mut counted = 0;
    for (index, &t) in targets.iter().enumerate() {
        match class_of(t.into(), classes, ignore_index) {
            Target::Class(_) => counted += 1,
            Target::Ignored => {}
            Target::Invalid => return Err(Error::Target { index }),
        }
    }
    Ok(counted)
}

/// What a class index means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Class(usize),
    Ignored,
    Invalid,
}

#[inline(always)]
pub(crate) fn class_of(t: i64, classes: usize, ignore_index: Option<i64>) -> Target {
    if Some(t) == ignore_index {
        Target::Ignored
    } else if t >= 0 && (t as u64) < classes as u64 {
        Target::Class(t as usize)
    } else {
        Target::Invalid
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    /// The two forms of the target check give the same answer, and the same first index on error,
    /// for every mixture of boundary values (only one of them runs on any one target).
    #[test]
    fn both_target_checks_agree() {
        let mut values: Vec<f32> =
            [0.0, -0.0, 1.0, 0.5, -1.0, 2.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
                .into_iter()
                .chain([
                    f32::from_bits(1),
                    f32::from_bits(0x8000_0001),
                    f32::MIN_POSITIVE,
                    f32::MAX,
                    f32::MIN,
                ])
                .collect();
        // The neighbours of 1 and of ±0.
        values.extend([ONE - 1, ONE + 1, NEG_ZERO + 1, NEG_ZERO - 1, 0xbf80_0000].map(f32::from_bits));
        // The neighbours of the tiny bound.
        values.extend([TINY.to_bits() - 1, TINY.to_bits()].map(f32::from_bits));
        for &a in &values {
            for &b in &values {
                let (a5, b9) = ([1.0, 0.0, 1.0, -0.0, a], [0.0, 1.0, 1.0, 0.0, 1.0, b, 0.0, a, 1.0]);
                for targets in [&[a, b][..], &[1.0, a, 0.0, b], &[b, -0.0, a], &a5, &b9] {
                    let (chunks, branching) =
                        (unit_targets_in_chunks(targets), unit_targets_branching(targets));
                    assert_eq!(chunks, branching, "{targets:?}");
                    let expected = match targets.iter().position(|y| !(0.0..=1.0).contains(y)) {
                        Some(index) => Err(Error::Target { index }),
                        None if targets.iter().any(|&y| y > 0.0 && y < TINY) => Ok(UnitTargets::Tiny),
                        None if targets.iter().all(|&y| y == 0.0 || y == 1.0) => Ok(UnitTargets::Hard),
                        None => Ok(UnitTargets::Soft),
                    };
                    assert_eq!(branching, expected, "{targets:?}");
                }
            }
        }
        assert_eq!(unit_targets_branching(&[]), Ok(UnitTargets::Hard));
        assert_eq!(unit_targets_in_chunks(&[]), Ok(UnitTargets::Hard));
    }
}
