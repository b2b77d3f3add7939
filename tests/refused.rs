//! DESIGN §2.5, "Inputs that are refused": every refused input the Rust API can express, at
//! every entry point where it applies, with the exact [`Error`] (fields included), and a check
//! that nothing was written: every output buffer (losses, gradient, and for the in-place forms
//! the logits themselves) is compared bit for bit with its contents before the call.
//!
//! Options (γ, α, per-class α ranges that hold for every task, label smoothing, normalizer) are
//! validated once, by [`Builder::build`](focal_loss::Builder::build): a `FocalLoss` holding such
//! a value cannot exist, so no entry point can be reached with it and no buffer can be written.
//! Those tests check the builder's error; everything that depends on the batch (lengths, shape,
//! targets, the per-class α's length and its sigmoid range, a losses buffer with a reduction) is
//! checked against every entry point and every way of passing its outputs.
//!
//! Boundary values that must be accepted are checked too, and so is the `Display` text of every
//! error.
//!
//! Under Miri (`cargo xtask miri`) every test still runs, on fewer values: the first, middle and
//! last of each list that calls every entry point ([`walk`]), two reductions ([`REDUCTIONS`])
//! and the `i64` index type in [`every_softmax`].

use focal_loss::{Buffer, ClassIndex, Error, FocalLoss, Out, Reduction};

/// What the output buffers hold before a call: a NaN with a payload no computation produces.
const SENTINEL: f32 = f32::from_bits(0x7fc0_1234);

#[cfg(not(miri))]
const REDUCTIONS: [Reduction; 3] = [Reduction::None, Reduction::Sum, Reduction::Mean];
/// Under Miri, which interprets every call thousands of times more slowly: none (every way of
/// passing outputs) and mean (a reduction to one value); sum differs from mean only in its
/// divisor, and `losses_with_a_reduction_to_one_value_are_refused` still runs it.
#[cfg(miri)]
const REDUCTIONS: [Reduction; 2] = [Reduction::None, Reduction::Mean];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn untouched(v: &[f32]) -> bool {
    v.iter().all(|x| x.to_bits() == SENTINEL.to_bits())
}

fn all_written(v: &[f32]) -> bool {
    v.iter().all(|x| x.to_bits() != SENTINEL.to_bits())
}

/// The output buffers a separate-gradient call is given: `None` leaves it out of [`Out`].
#[derive(Clone, Copy, Debug)]
struct Outs {
    losses: Option<usize>,
    grad: Option<usize>,
}

const NO_OUTS: Outs = Outs { losses: None, grad: None };

/// Calls `f` with sentinel-filled output buffers of the given lengths. On error, checks that
/// they are untouched; on success, that every element was written.
fn with_outs(label: &str, outs: Outs, f: impl FnOnce(Out<'_>) -> Result<f32, Error>) -> Result<f32, Error> {
    let mut losses = vec![SENTINEL; outs.losses.unwrap_or(0)];
    let mut grad = vec![SENTINEL; outs.grad.unwrap_or(0)];
    let mut out = Out::new();
    if outs.losses.is_some() {
        out = out.losses(&mut losses);
    }
    if outs.grad.is_some() {
        out = out.grad(&mut grad);
    }
    let result = f(out);
    if result.is_err() {
        assert!(untouched(&losses), "{label} {outs:?}: {result:?} but the losses were written");
        assert!(untouched(&grad), "{label} {outs:?}: {result:?} but the gradient was written");
    } else {
        assert!(all_written(&losses), "{label} {outs:?}: Ok but some losses were not written");
        assert!(all_written(&grad), "{label} {outs:?}: Ok but some gradients were not written");
    }
    result
}

/// Calls an in-place form on a copy of `logits`, with a sentinel-filled losses buffer when
/// `losses` is given. On error, checks that the logits and the losses are untouched.
fn with_in_place(
    label: &str,
    logits: &[f32],
    losses: Option<usize>,
    f: impl FnOnce(&mut [f32], Option<&mut [f32]>) -> Result<f32, Error>,
) -> Result<f32, Error> {
    let mut buf = logits.to_vec();
    let mut losses_buf = vec![SENTINEL; losses.unwrap_or(0)];
    let result = f(&mut buf, losses.map(|_| &mut losses_buf[..]));
    if result.is_err() {
        assert_eq!(bits(&buf), bits(logits), "{label}: {result:?} but the logits were written over");
        assert!(untouched(&losses_buf), "{label}: {result:?} but the losses were written");
    } else {
        assert!(all_written(&losses_buf), "{label}: Ok but some losses were not written");
    }
    result
}

fn sigmoid(
    fl: &FocalLoss<'_>,
    logits: &[f32],
    targets: &[f32],
    classes: usize,
    outs: Outs,
) -> Result<f32, Error> {
    with_outs("sigmoid", outs, |out| fl.sigmoid(logits, targets, classes, out))
}

fn sigmoid_in_place(
    fl: &FocalLoss<'_>,
    logits: &[f32],
    targets: &[f32],
    classes: usize,
    losses: Option<usize>,
) -> Result<f32, Error> {
    with_in_place("sigmoid_in_place", logits, losses, |l, out| fl.sigmoid_in_place(l, targets, classes, out))
}

fn softmax<T: ClassIndex>(
    fl: &FocalLoss<'_>,
    logits: &[f32],
    targets: &[T],
    classes: usize,
    outs: Outs,
) -> Result<f32, Error> {
    with_outs("softmax", outs, |out| fl.softmax(logits, targets, classes, out))
}

fn softmax_in_place<T: ClassIndex>(
    fl: &FocalLoss<'_>,
    logits: &[f32],
    targets: &[T],
    classes: usize,
    losses: Option<usize>,
) -> Result<f32, Error> {
    with_in_place("softmax_in_place", logits, losses, |l, out| fl.softmax_in_place(l, targets, classes, out))
}

fn probs(
    fl: &FocalLoss<'_>,
    logits: &[f32],
    probs: &[f32],
    classes: usize,
    outs: Outs,
) -> Result<f32, Error> {
    with_outs("softmax_probs", outs, |out| fl.softmax_probs(logits, probs, classes, out))
}

fn probs_in_place(
    fl: &FocalLoss<'_>,
    logits: &[f32],
    probs: &[f32],
    classes: usize,
    losses: Option<usize>,
) -> Result<f32, Error> {
    with_in_place("softmax_probs_in_place", logits, losses, |l, out| {
        fl.softmax_probs_in_place(l, probs, classes, out)
    })
}

/// Which call a result came from: an entry point (with its index type, if any) and how its
/// outputs were passed. Formatted only when an assertion fails: under Miri formatting a label
/// costs more than the call it names.
#[derive(Clone, Copy, Debug)]
struct Label {
    entry: &'static str,
    index_type: Option<&'static str>,
    form: Form,
}

#[derive(Clone, Copy, Debug)]
enum Form {
    Separate(Outs),
    InPlace { losses: Option<usize> },
}

impl core::fmt::Display for Label {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let in_place = if matches!(self.form, Form::InPlace { .. }) { "_in_place" } else { "" };
        write!(f, "{}{in_place}", self.entry)?;
        if let Some(ty) = self.index_type {
            write!(f, "::<{ty}>")?;
        }
        match self.form {
            Form::Separate(outs) => write!(f, " {outs:?}"),
            Form::InPlace { losses } => write!(f, " losses={losses:?}"),
        }
    }
}

/// A labelled result of one call.
type Calls = Vec<(Label, Result<f32, Error>)>;

/// The ways of passing outputs with well-sized buffers: none, gradient, losses (reduction none
/// only: otherwise a losses buffer is itself refused), both.
fn out_variants(fl: &FocalLoss<'_>, losses: usize, grad: usize) -> Vec<Outs> {
    let mut v = vec![NO_OUTS, Outs { losses: None, grad: Some(grad) }];
    if fl.reduction() == Reduction::None {
        v.push(Outs { losses: Some(losses), grad: None });
        v.push(Outs { losses: Some(losses), grad: Some(grad) });
    }
    v
}

/// The in-place losses variants: none, and (reduction none) a well-sized losses buffer.
fn in_place_variants(fl: &FocalLoss<'_>, losses: usize) -> Vec<Option<usize>> {
    if fl.reduction() == Reduction::None {
        vec![None, Some(losses)]
    } else {
        vec![None]
    }
}

/// Every way of calling the sigmoid task on this batch, separate and in place, with output
/// buffers sized for the logits.
fn every_sigmoid(fl: &FocalLoss<'_>, logits: &[f32], targets: &[f32], classes: usize) -> Calls {
    let n = logits.len();
    let mut calls = Calls::new();
    let label = |form| Label { entry: "sigmoid", index_type: None, form };
    for outs in out_variants(fl, n, n) {
        calls.push((label(Form::Separate(outs)), sigmoid(fl, logits, targets, classes, outs)));
    }
    for losses in in_place_variants(fl, n) {
        calls.push((label(Form::InPlace { losses }), sigmoid_in_place(fl, logits, targets, classes, losses)));
    }
    calls
}

/// Every way of calling the probability-target task, with buffers sized for the logits.
fn every_probs(fl: &FocalLoss<'_>, logits: &[f32], targets: &[f32], classes: usize) -> Calls {
    let n = logits.len();
    let rows = n / classes.max(1);
    let mut calls = Calls::new();
    let label = |form| Label { entry: "softmax_probs", index_type: None, form };
    for outs in out_variants(fl, rows, n) {
        calls.push((label(Form::Separate(outs)), probs(fl, logits, targets, classes, outs)));
    }
    for losses in in_place_variants(fl, rows) {
        calls.push((label(Form::InPlace { losses }), probs_in_place(fl, logits, targets, classes, losses)));
    }
    calls
}

/// Every way of calling the class-index task with index type `T`.
fn every_softmax_as<T: ClassIndex + core::fmt::Debug>(
    fl: &FocalLoss<'_>,
    logits: &[f32],
    targets: &[T],
    classes: usize,
) -> Calls {
    let label = |form| Label { entry: "softmax", index_type: Some(core::any::type_name::<T>()), form };
    let mut calls = Calls::new();
    for outs in out_variants(fl, targets.len(), logits.len()) {
        calls.push((label(Form::Separate(outs)), softmax(fl, logits, targets, classes, outs)));
    }
    for losses in in_place_variants(fl, targets.len()) {
        calls.push((label(Form::InPlace { losses }), softmax_in_place(fl, logits, targets, classes, losses)));
    }
    calls
}

fn converted<T: TryFrom<i64>>(targets: &[i64]) -> Option<Vec<T>> {
    targets.iter().map(|&t| T::try_from(t).ok()).collect()
}

/// [`every_softmax_as`] for every index type that holds all of `targets` (always `i64`). Under
/// Miri, which interprets every call thousands of times more slowly, `i64` only: the other types
/// go through the same generic code, and `index_types_out_of_range_are_refused` still runs each.
fn every_softmax(fl: &FocalLoss<'_>, logits: &[f32], targets: &[i64], classes: usize) -> Calls {
    let mut calls = every_softmax_as(fl, logits, targets, classes);
    if cfg!(miri) {
        return calls;
    }
    if let Some(t) = converted::<i32>(targets) {
        calls.extend(every_softmax_as(fl, logits, &t, classes));
    }
    if let Some(t) = converted::<u32>(targets) {
        calls.extend(every_softmax_as(fl, logits, &t, classes));
    }
    if let Some(t) = converted::<u16>(targets) {
        calls.extend(every_softmax_as(fl, logits, &t, classes));
    }
    if let Some(t) = converted::<u8>(targets) {
        calls.extend(every_softmax_as(fl, logits, &t, classes));
    }
    calls
}

/// The values a test that calls every entry point walks: all of them, or under Miri (which
/// interprets each call thousands of times more slowly) the first, the middle and the last.
fn walk<T: Copy, const N: usize>(values: [T; N]) -> Vec<T> {
    if cfg!(miri) && N > 3 {
        vec![values[0], values[N / 2], values[N - 1]]
    } else {
        values.to_vec()
    }
}

#[track_caller]
fn assert_refused(calls: &Calls, expected: Error) {
    assert!(!calls.is_empty());
    for (label, result) in calls {
        assert_eq!(*result, Err(expected), "{label}");
    }
}

#[track_caller]
fn assert_accepted(calls: &Calls) {
    assert!(!calls.is_empty());
    for (label, result) in calls {
        assert!(result.is_ok(), "{label}: {result:?}");
    }
}

fn with_reduction(r: Reduction) -> FocalLoss<'static> {
    FocalLoss::builder().reduction(r).build().unwrap()
}

// A well-formed batch of each task: 2 rows × 3 classes.
const CLASSES: usize = 3;
const LOGITS: [f32; 6] = [1.5, -0.25, 3.0, -2.0, 0.0, 0.75];
const TARGETS: [f32; 6] = [1.0, 0.0, 0.25, 0.0, 1.0, 0.0];
const PROBS: [f32; 6] = [0.5, 0.25, 0.25, 0.0, 1.0, 0.0];
const INDICES: [i64; 2] = [2, 0];

/// Every entry point on the well-formed batch.
fn every_entry(fl: &FocalLoss<'_>) -> Calls {
    let mut calls = every_sigmoid(fl, &LOGITS, &TARGETS, CLASSES);
    calls.extend(every_probs(fl, &LOGITS, &PROBS, CLASSES));
    calls.extend(every_softmax(fl, &LOGITS, &INDICES, CLASSES));
    calls
}

// ---------------------------------------------------------------------------------------------
// Options refused by the builder.

#[test]
fn gamma_negative_nan_or_infinite_is_refused() {
    for gamma in
        [-1.0, -f32::MIN_POSITIVE, -1e-45, f32::MIN, f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
    {
        for r in REDUCTIONS {
            let built = FocalLoss::builder().gamma(gamma).alpha(0.25).reduction(r).build();
            assert_eq!(built, Err(Error::Gamma), "gamma {gamma:e}");
        }
        let built = FocalLoss::builder().class_alpha(&[0.5; 3]).gamma(gamma).build();
        assert_eq!(built, Err(Error::Gamma), "gamma {gamma:e} with class_alpha");
    }
}

#[test]
fn gamma_boundaries_are_accepted() {
    for gamma in walk([0.0, -0.0, 1e-45, 0.5, 1.0, 2.0, 16.0, 17.0, 1e30, f32::MAX]) {
        for r in REDUCTIONS {
            let fl = FocalLoss::builder().gamma(gamma).reduction(r).build().unwrap();
            assert_eq!(fl.gamma().to_bits(), gamma.to_bits());
            assert_accepted(&every_entry(&fl));
        }
    }
}

#[test]
fn alpha_outside_unit_interval_or_nan_is_refused() {
    let next_above_one = f32::from_bits(1.0f32.to_bits() + 1);
    for alpha in
        [-0.25, -1e-45, next_above_one, 1.5, 2.0, f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
    {
        for r in REDUCTIONS {
            assert_eq!(
                FocalLoss::builder().alpha(alpha).reduction(r).build(),
                Err(Error::Alpha),
                "alpha {alpha:e}"
            );
        }
    }
}

#[test]
fn alpha_boundaries_are_accepted() {
    for alpha in walk([0.0, -0.0, 1e-45, 0.25, 1.0]) {
        for r in REDUCTIONS {
            let fl = FocalLoss::builder().alpha(alpha).reduction(r).build().unwrap();
            assert_eq!(fl.alpha().map(f32::to_bits), Some(alpha.to_bits()));
            assert_accepted(&every_entry(&fl));
        }
    }
}

#[test]
fn class_alpha_negative_nan_or_infinite_is_refused_for_every_task() {
    for bad in [-0.5, -1e-45, f32::MIN, f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let weights = [0.25, 0.5, bad, 0.75];
        for r in REDUCTIONS {
            let built = FocalLoss::builder().class_alpha(&weights).reduction(r).build();
            assert_eq!(built, Err(Error::ClassAlpha { class: 2 }), "class_alpha {weights:?}");
        }
    }
    // The first offending class is the one reported.
    let weights = [0.5, f32::NAN, -1.0, f32::INFINITY];
    assert_eq!(FocalLoss::builder().class_alpha(&weights).build(), Err(Error::ClassAlpha { class: 1 }));
    let weights = [-1.0, 0.5];
    assert_eq!(FocalLoss::builder().class_alpha(&weights).build(), Err(Error::ClassAlpha { class: 0 }));
}

#[test]
fn class_alpha_above_one_is_refused_by_sigmoid_and_accepted_by_softmax() {
    let next_above_one = f32::from_bits(1.0f32.to_bits() + 1);
    for bad in walk([next_above_one, 1.5, 1e30, f32::MAX]) {
        let weights = [0.25, 1.0, bad];
        for r in REDUCTIONS {
            let fl = FocalLoss::builder().class_alpha(&weights).reduction(r).build().unwrap();
            assert_refused(&every_sigmoid(&fl, &LOGITS, &TARGETS, CLASSES), Error::ClassAlpha { class: 2 });
            // Softmax weights only need to be finite and >= 0.
            assert_accepted(&every_probs(&fl, &LOGITS, &PROBS, CLASSES));
            assert_accepted(&every_softmax(&fl, &LOGITS, &INDICES, CLASSES));
        }
    }
    // The first offending class is the one reported.
    let weights = [1.5, 0.5, 2.0];
    let fl = FocalLoss::builder().class_alpha(&weights).build().unwrap();
    assert_refused(&every_sigmoid(&fl, &LOGITS, &TARGETS, CLASSES), Error::ClassAlpha { class: 0 });
}

#[test]
fn class_alpha_boundaries_are_accepted() {
    for weights in walk([[0.0, 1.0, 0.5], [-0.0, 1e-45, 1.0], [0.0; 3], [1.0; 3]]) {
        for r in REDUCTIONS {
            let fl = FocalLoss::builder().class_alpha(&weights).reduction(r).build().unwrap();
            assert_accepted(&every_entry(&fl));
        }
    }
}

#[test]
fn class_alpha_length_other_than_classes_is_refused() {
    let short = [0.25, 0.5];
    let long = [0.25, 0.5, 0.75, 1.0];
    for weights in [&short[..], &long[..], &[][..]] {
        let expected = Error::ClassAlphaLength { got: weights.len(), expected: CLASSES };
        for r in REDUCTIONS {
            let fl = FocalLoss::builder().class_alpha(weights).reduction(r).build().unwrap();
            assert_refused(&every_entry(&fl), expected);
            // Also for an empty batch of 3 classes (the option does not fit the call).
            let empty: [i64; 0] = [];
            assert_refused(&every_sigmoid(&fl, &[], &[], CLASSES), expected);
            assert_refused(&every_probs(&fl, &[], &[], CLASSES), expected);
            assert_refused(&every_softmax(&fl, &[], &empty, CLASSES), expected);
        }
    }
    // The length is checked before the sigmoid range.
    let fl = FocalLoss::builder().class_alpha(&[1.5, 0.5]).build().unwrap();
    assert_refused(
        &every_sigmoid(&fl, &LOGITS, &TARGETS, CLASSES),
        Error::ClassAlphaLength { got: 2, expected: 3 },
    );
}

#[test]
fn label_smoothing_outside_zero_one_is_refused() {
    let next_below_zero = -1e-45;
    for ls in [-0.1, next_below_zero, 1.0, 1.5, f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for r in REDUCTIONS {
            let built = FocalLoss::builder().label_smoothing(ls).reduction(r).build();
            assert_eq!(built, Err(Error::LabelSmoothing), "label smoothing {ls:e}");
        }
    }
}

#[test]
fn label_smoothing_boundaries_are_accepted() {
    let next_below_one = f32::from_bits(1.0f32.to_bits() - 1);
    for ls in walk([0.0, -0.0, 1e-45, 0.1, 0.999, next_below_one]) {
        for r in REDUCTIONS {
            let fl = FocalLoss::builder().label_smoothing(ls).reduction(r).build().unwrap();
            assert_accepted(&every_entry(&fl));
        }
    }
}

#[test]
fn normalizer_nan_negative_or_infinite_is_refused() {
    for d in [f32::NAN, -f32::NAN, -1.0, -1e-45, f32::MIN, f32::INFINITY, f32::NEG_INFINITY] {
        for r in REDUCTIONS {
            let built = FocalLoss::builder().normalizer(d).reduction(r).build();
            assert_eq!(built, Err(Error::Normalizer), "normalizer {d:e} with {r:?}");
        }
    }
}

#[test]
fn normalizer_zero_means_off_and_positive_values_are_accepted() {
    let plain = FocalLoss::builder().reduction(Reduction::Mean).build().unwrap();
    for zero in [0.0, -0.0] {
        let fl = FocalLoss::builder().normalizer(zero).build().unwrap();
        assert_eq!(fl.normalizer(), None, "normalizer {zero:e} is off");
        assert_accepted(&every_entry(&fl));
        // Off: the mean divides by its own count, exactly as without a normalizer.
        let a = fl.sigmoid(&LOGITS, &TARGETS, CLASSES, Out::new()).unwrap();
        let b = plain.sigmoid(&LOGITS, &TARGETS, CLASSES, Out::new()).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        let a = fl.softmax(&LOGITS, &INDICES, CLASSES, Out::new()).unwrap();
        let b = plain.softmax(&LOGITS, &INDICES, CLASSES, Out::new()).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
    }
    for d in walk([1e-45, 0.5, 3.0, f32::MAX]) {
        for r in REDUCTIONS {
            let fl = FocalLoss::builder().normalizer(d).reduction(r).build().unwrap();
            assert_eq!(fl.normalizer(), Some(d));
            assert_accepted(&every_entry(&fl));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Targets.

/// Values outside [0, 1] or not finite, the smallest steps outside included.
fn bad_unit_values() -> [f32; 9] {
    let next_above_one = f32::from_bits(1.0f32.to_bits() + 1);
    [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.5, 1.5, -1e-45, next_above_one, f32::MAX]
}

const GOOD_UNIT_VALUES: [f32; 6] = [-0.0, 0.0, 1e-45, 0.3, 0.5, 1.0];

#[test]
fn sigmoid_target_not_finite_or_outside_unit_interval_is_refused() {
    for bad in walk(bad_unit_values()) {
        for index in [0, 4, 5] {
            let mut targets = TARGETS;
            targets[index] = bad;
            for r in REDUCTIONS {
                let fl = with_reduction(r);
                assert_refused(&every_sigmoid(&fl, &LOGITS, &targets, CLASSES), Error::Target { index });
                // Binary (classes = 1) too.
                assert_refused(&every_sigmoid(&fl, &LOGITS, &targets, 1), Error::Target { index });
            }
        }
    }
    // The first offending target is the one reported.
    let targets = [0.5, 2.0, f32::NAN, 1.0, -1.0, 0.0];
    assert_refused(
        &every_sigmoid(&with_reduction(Reduction::None), &LOGITS, &targets, CLASSES),
        Error::Target { index: 1 },
    );
}

#[test]
fn sigmoid_targets_in_unit_interval_are_accepted() {
    for good in walk(GOOD_UNIT_VALUES) {
        let targets = [good; 6];
        for r in REDUCTIONS {
            assert_accepted(&every_sigmoid(&with_reduction(r), &LOGITS, &targets, CLASSES));
        }
    }
}

#[test]
fn target_probability_not_finite_or_outside_unit_interval_is_refused() {
    for bad in walk(bad_unit_values()) {
        for index in [0, 4, 5] {
            let mut targets = PROBS;
            targets[index] = bad;
            for r in REDUCTIONS {
                let fl = with_reduction(r);
                assert_refused(&every_probs(&fl, &LOGITS, &targets, CLASSES), Error::Target { index });
            }
        }
    }
    let targets = [0.5, 0.25, -0.25, 1.5, 0.0, f32::NAN];
    assert_refused(
        &every_probs(&with_reduction(Reduction::None), &LOGITS, &targets, CLASSES),
        Error::Target { index: 2 },
    );
}

#[test]
fn target_probabilities_in_unit_interval_are_accepted() {
    for good in walk(GOOD_UNIT_VALUES) {
        let targets = [good; 6];
        for r in REDUCTIONS {
            assert_accepted(&every_probs(&with_reduction(r), &LOGITS, &targets, CLASSES));
        }
    }
}

#[test]
fn class_index_equal_to_classes_is_refused() {
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        // Tried with every index type.
        assert_refused(&every_softmax(&fl, &LOGITS, &[0, 3], CLASSES), Error::Target { index: 1 });
        assert_refused(&every_softmax(&fl, &LOGITS, &[3, 0], CLASSES), Error::Target { index: 0 });
        assert_refused(&every_softmax(&fl, &LOGITS, &[1000, 0], CLASSES), Error::Target { index: 0 });
        // The first offending row is the one reported.
        let logits = [0.0; 9];
        assert_refused(&every_softmax(&fl, &logits, &[1, 4, 7], CLASSES), Error::Target { index: 1 });
    }
}

#[test]
fn negative_class_index_other_than_ignore_index_is_refused() {
    for r in REDUCTIONS {
        // No ignore index (the Rust default): every negative index is refused, -100 included.
        let fl = with_reduction(r);
        for bad in [-1, -100, i32::MIN as i64, i64::MIN] {
            assert_refused(&every_softmax(&fl, &LOGITS, &[0, bad], CLASSES), Error::Target { index: 1 });
        }
        // With an ignore index, the other negative values still are.
        let fl = FocalLoss::builder().ignore_index(-100).reduction(r).build().unwrap();
        for bad in [-1, -99, -101, i64::MIN, i64::MAX] {
            assert_refused(&every_softmax(&fl, &LOGITS, &[bad, 0], CLASSES), Error::Target { index: 0 });
        }
    }
}

#[test]
fn class_index_equal_to_ignore_index_is_accepted() {
    for r in REDUCTIONS {
        for ignore in walk([-100, -1, 0, 2, 255, i64::MIN, i64::MAX]) {
            let fl = FocalLoss::builder().ignore_index(ignore).reduction(r).build().unwrap();
            assert_accepted(&every_softmax(&fl, &LOGITS, &[ignore, 1], CLASSES));
            assert_accepted(&every_softmax(&fl, &LOGITS, &[ignore, ignore], CLASSES));
        }
        // An ignore index inside [0, classes) skips that class's rows; a row of every class is
        // accepted.
        let fl = FocalLoss::builder().ignore_index(1).reduction(r).build().unwrap();
        assert_accepted(&every_softmax(&fl, &LOGITS, &[1, 2], CLASSES));
    }
    // Every row ignored: loss 0, not NaN.
    let fl = FocalLoss::builder().ignore_index(-100).build().unwrap();
    assert_eq!(fl.softmax(&LOGITS, &[-100i64, -100], CLASSES, Out::new()), Ok(0.0));
}

#[test]
fn index_types_out_of_range_are_refused() {
    let logits = [0.5; 20];
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        assert_refused(&every_softmax_as(&fl, &logits, &[1u8, 255], 10), Error::Target { index: 1 });
        assert_refused(&every_softmax_as(&fl, &logits, &[10u8, 1], 10), Error::Target { index: 0 });
        assert_refused(&every_softmax_as(&fl, &logits, &[1u16, u16::MAX], 10), Error::Target { index: 1 });
        assert_refused(&every_softmax_as(&fl, &logits, &[1u32, u32::MAX], 10), Error::Target { index: 1 });
        assert_refused(&every_softmax_as(&fl, &logits, &[1i32, -1], 10), Error::Target { index: 1 });
        assert_refused(&every_softmax_as(&fl, &logits, &[i32::MIN, 1], 10), Error::Target { index: 0 });
        assert_refused(&every_softmax_as(&fl, &logits, &[1i64, i64::MAX], 10), Error::Target { index: 1 });
        assert_refused(&every_softmax_as(&fl, &logits, &[1i64, 1 << 32], 10), Error::Target { index: 1 });

        // An unsigned index is its value, never a wrapped negative number: u8 255 is not -1.
        let fl = FocalLoss::builder().ignore_index(-1).reduction(r).build().unwrap();
        assert_refused(&every_softmax_as(&fl, &logits, &[1u8, 255], 10), Error::Target { index: 1 });
        assert_refused(&every_softmax_as(&fl, &logits, &[1u32, u32::MAX], 10), Error::Target { index: 1 });
        assert_accepted(&every_softmax_as(&fl, &logits, &[1i32, -1], 10));
        let fl = FocalLoss::builder().ignore_index(255).reduction(r).build().unwrap();
        assert_accepted(&every_softmax_as(&fl, &logits, &[1u8, 255], 10));
        let fl = FocalLoss::builder().ignore_index(u32::MAX as i64).reduction(r).build().unwrap();
        assert_accepted(&every_softmax_as(&fl, &logits, &[1u32, u32::MAX], 10));
        // 255 is a valid class when there are 256.
        let logits = vec![0.5; 512];
        assert_accepted(&every_softmax_as(&with_reduction(r), &logits, &[0u8, 255], 256));
    }
}

// ---------------------------------------------------------------------------------------------
// Buffer lengths.

fn length(buffer: Buffer, got: usize, expected: usize) -> Error {
    Error::Length { buffer, got, expected }
}

#[test]
fn sigmoid_buffer_lengths_that_do_not_match_are_refused() {
    let logits9 = [0.5; 9];
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        // Targets shorter and longer than the logits.
        for got in walk([0, 3, 5, 7, 9, 12]) {
            let targets = vec![0.0; got];
            assert_refused(&every_sigmoid(&fl, &LOGITS, &targets, CLASSES), length(Buffer::Targets, got, 6));
        }
        // Logits shorter and longer (a whole number of rows): the batch follows the logits, so
        // the targets are named as the buffer that does not fit.
        assert_refused(&every_sigmoid(&fl, &LOGITS[..3], &TARGETS, CLASSES), length(Buffer::Targets, 6, 3));
        assert_refused(&every_sigmoid(&fl, &logits9, &TARGETS, CLASSES), length(Buffer::Targets, 6, 9));
        assert_refused(&every_sigmoid(&fl, &[], &TARGETS, CLASSES), length(Buffer::Targets, 6, 0));
        assert_refused(&every_sigmoid(&fl, &logits9, &[], CLASSES), length(Buffer::Targets, 0, 9));
        // Gradient shorter and longer.
        for got in walk([0, 5, 7, 12]) {
            let outs = Outs { losses: None, grad: Some(got) };
            assert_eq!(sigmoid(&fl, &LOGITS, &TARGETS, CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
            if r == Reduction::None {
                let outs = Outs { losses: Some(6), grad: Some(got) };
                assert_eq!(sigmoid(&fl, &LOGITS, &TARGETS, CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
            }
        }
    }
    // Losses shorter and longer (reduction none).
    let fl = with_reduction(Reduction::None);
    for got in [0, 2, 5, 7, 12] {
        for grad in [None, Some(6)] {
            let outs = Outs { losses: Some(got), grad };
            assert_eq!(sigmoid(&fl, &LOGITS, &TARGETS, CLASSES, outs), Err(length(Buffer::Losses, got, 6)));
        }
        assert_eq!(
            sigmoid_in_place(&fl, &LOGITS, &TARGETS, CLASSES, Some(got)),
            Err(length(Buffer::Losses, got, 6))
        );
    }
}

#[test]
fn softmax_buffer_lengths_that_do_not_match_are_refused() {
    let logits9 = [0.5; 9];
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        // Logits shorter and longer than rows × classes.
        for got in walk([0, 3, 5, 7, 9]) {
            let logits = vec![0.5; got];
            assert_refused(&every_softmax(&fl, &logits, &INDICES, CLASSES), length(Buffer::Logits, got, 6));
        }
        // Targets shorter and longer: the rows follow the targets, so the logits are named as
        // the buffer that does not fit.
        assert_refused(&every_softmax(&fl, &LOGITS, &[0], CLASSES), length(Buffer::Logits, 6, 3));
        assert_refused(&every_softmax(&fl, &LOGITS, &[0, 1, 2], CLASSES), length(Buffer::Logits, 6, 9));
        assert_refused(&every_softmax(&fl, &LOGITS, &[], CLASSES), length(Buffer::Logits, 6, 0));
        assert_refused(&every_softmax(&fl, &logits9, &INDICES, CLASSES), length(Buffer::Logits, 9, 6));
        // Gradient shorter and longer.
        for got in walk([0, 5, 7, 12]) {
            let outs = Outs { losses: None, grad: Some(got) };
            assert_eq!(softmax(&fl, &LOGITS, &INDICES, CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
            assert_eq!(softmax(&fl, &LOGITS, &[2u8, 0], CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
            assert_eq!(softmax(&fl, &LOGITS, &[2u16, 0], CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
            assert_eq!(softmax(&fl, &LOGITS, &[2u32, 0], CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
            assert_eq!(softmax(&fl, &LOGITS, &[2i32, 0], CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
        }
    }
    // Losses (one per row) shorter and longer, reduction none.
    let fl = with_reduction(Reduction::None);
    for got in [0, 1, 3, 6] {
        for grad in [None, Some(6)] {
            let outs = Outs { losses: Some(got), grad };
            assert_eq!(softmax(&fl, &LOGITS, &INDICES, CLASSES, outs), Err(length(Buffer::Losses, got, 2)));
            assert_eq!(softmax(&fl, &LOGITS, &[2u8, 0], CLASSES, outs), Err(length(Buffer::Losses, got, 2)));
        }
        assert_eq!(
            softmax_in_place(&fl, &LOGITS, &INDICES, CLASSES, Some(got)),
            Err(length(Buffer::Losses, got, 2))
        );
        assert_eq!(
            softmax_in_place(&fl, &LOGITS, &[2i32, 0], CLASSES, Some(got)),
            Err(length(Buffer::Losses, got, 2))
        );
    }
}

#[test]
fn probs_buffer_lengths_that_do_not_match_are_refused() {
    let logits9 = [0.5; 9];
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        // Probabilities shorter and longer than the logits.
        for got in walk([0, 3, 5, 7, 9]) {
            let targets = vec![0.0; got];
            assert_refused(&every_probs(&fl, &LOGITS, &targets, CLASSES), length(Buffer::Targets, got, 6));
        }
        // Logits shorter and longer (whole rows): the probabilities are named.
        assert_refused(&every_probs(&fl, &LOGITS[..3], &PROBS, CLASSES), length(Buffer::Targets, 6, 3));
        assert_refused(&every_probs(&fl, &logits9, &PROBS, CLASSES), length(Buffer::Targets, 6, 9));
        // Gradient shorter and longer.
        for got in walk([0, 5, 7, 12]) {
            let outs = Outs { losses: None, grad: Some(got) };
            assert_eq!(probs(&fl, &LOGITS, &PROBS, CLASSES, outs), Err(length(Buffer::Grad, got, 6)));
        }
    }
    // Losses (one per row) shorter and longer, reduction none.
    let fl = with_reduction(Reduction::None);
    for got in [0, 1, 3, 6] {
        for grad in [None, Some(6)] {
            let outs = Outs { losses: Some(got), grad };
            assert_eq!(probs(&fl, &LOGITS, &PROBS, CLASSES, outs), Err(length(Buffer::Losses, got, 2)));
        }
        assert_eq!(
            probs_in_place(&fl, &LOGITS, &PROBS, CLASSES, Some(got)),
            Err(length(Buffer::Losses, got, 2))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes.

#[test]
fn zero_classes_with_rows_is_refused() {
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        // Softmax: rows come from the targets.
        assert_refused(&every_softmax(&fl, &[], &[0], 0), Error::Shape);
        assert_refused(&every_softmax(&fl, &[], &[0, -100], 0), Error::Shape);
        assert_refused(&every_softmax(&fl, &LOGITS, &INDICES, 0), Error::Shape);
        let fl_ignore = FocalLoss::builder().ignore_index(-100).reduction(r).build().unwrap();
        assert_refused(&every_softmax(&fl_ignore, &[], &[-100], 0), Error::Shape);
        // Sigmoid and probabilities: non-empty logits.
        assert_refused(&every_sigmoid(&fl, &LOGITS, &TARGETS, 0), Error::Shape);
        assert_refused(&every_sigmoid(&fl, &LOGITS[..1], &[], 0), Error::Shape);
        assert_refused(&every_probs(&fl, &LOGITS, &PROBS, 0), Error::Shape);
        assert_refused(&every_probs(&fl, &LOGITS[..1], &[], 0), Error::Shape);
    }
}

#[test]
fn zero_classes_with_empty_batch_is_accepted() {
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        let empty: [i64; 0] = [];
        for calls in [
            every_sigmoid(&fl, &[], &[], 0),
            every_probs(&fl, &[], &[], 0),
            every_softmax(&fl, &[], &empty, 0),
        ] {
            assert_accepted(&calls);
            for (label, result) in calls {
                assert_eq!(result, Ok(0.0), "{label}");
            }
        }
        let fl = FocalLoss::builder().class_alpha(&[]).reduction(r).build().unwrap();
        assert_accepted(&every_sigmoid(&fl, &[], &[], 0));
        // Zero classes, empty logits, but targets: the targets do not fit.
        assert_refused(&every_sigmoid(&fl, &[], &[0.0], 0), length(Buffer::Targets, 1, 0));
        assert_refused(&every_probs(&fl, &[], &[0.0], 0), length(Buffer::Targets, 1, 0));
    }
}

#[test]
fn empty_batches_are_accepted() {
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        let empty: [i64; 0] = [];
        for classes in [1, 3, 1000, usize::MAX / 2 + 1, usize::MAX] {
            for calls in [
                every_sigmoid(&fl, &[], &[], classes),
                every_probs(&fl, &[], &[], classes),
                every_softmax(&fl, &[], &empty, classes),
            ] {
                for (label, result) in calls {
                    assert_eq!(result, Ok(0.0), "{label} classes={classes}");
                }
            }
        }
    }
}

#[test]
fn logits_not_a_whole_number_of_rows_is_refused() {
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        for classes in [4, 5, 7, 12, usize::MAX / 2 + 1, usize::MAX] {
            assert_refused(&every_sigmoid(&fl, &LOGITS, &TARGETS, classes), Error::Shape);
            assert_refused(&every_probs(&fl, &LOGITS, &PROBS, classes), Error::Shape);
        }
        // The shape is checked before the targets' length.
        assert_refused(&every_sigmoid(&fl, &LOGITS[..5], &TARGETS, CLASSES), Error::Shape);
        assert_refused(&every_probs(&fl, &LOGITS[..5], &PROBS, CLASSES), Error::Shape);
        assert_refused(&every_sigmoid(&fl, &LOGITS[..5], &TARGETS[..5], CLASSES), Error::Shape);
        assert_refused(&every_probs(&fl, &LOGITS[..5], &PROBS[..5], CLASSES), Error::Shape);
    }
}

#[test]
fn rows_times_classes_overflowing_is_refused() {
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        for classes in [usize::MAX / 2 + 1, usize::MAX] {
            assert_refused(&every_softmax(&fl, &[], &[0, 0], classes), Error::Shape);
            assert_refused(&every_softmax(&fl, &LOGITS, &[0, 1, 2], classes), Error::Shape);
        }
        // No overflow, but no such logits either.
        assert_refused(&every_softmax(&fl, &LOGITS, &[0], usize::MAX), length(Buffer::Logits, 6, usize::MAX));
        assert_refused(
            &every_softmax(&fl, &[], &[0, 0], usize::MAX / 2),
            length(Buffer::Logits, 0, usize::MAX - 1),
        );
    }
}

#[test]
fn losses_with_a_reduction_to_one_value_are_refused() {
    for r in [Reduction::Sum, Reduction::Mean] {
        let fl = with_reduction(r);
        // Well-sized (per element or per row), wrongly sized, and empty.
        for (sig, row) in [(6, 2), (1, 1), (0, 0)] {
            for grad in [None, Some(6)] {
                let e = Err(Error::LossesWithReduction);
                let outs = Outs { losses: Some(sig), grad };
                assert_eq!(sigmoid(&fl, &LOGITS, &TARGETS, CLASSES, outs), e);
                let outs = Outs { losses: Some(row), grad };
                assert_eq!(probs(&fl, &LOGITS, &PROBS, CLASSES, outs), e);
                assert_eq!(softmax(&fl, &LOGITS, &INDICES, CLASSES, outs), e);
                assert_eq!(softmax(&fl, &LOGITS, &[2u8, 0], CLASSES, outs), e);
                assert_eq!(softmax(&fl, &LOGITS, &[2u16, 0], CLASSES, outs), e);
                assert_eq!(softmax(&fl, &LOGITS, &[2u32, 0], CLASSES, outs), e);
                assert_eq!(softmax(&fl, &LOGITS, &[2i32, 0], CLASSES, outs), e);
            }
            let e = Err(Error::LossesWithReduction);
            assert_eq!(sigmoid_in_place(&fl, &LOGITS, &TARGETS, CLASSES, Some(sig)), e);
            assert_eq!(probs_in_place(&fl, &LOGITS, &PROBS, CLASSES, Some(row)), e);
            assert_eq!(softmax_in_place(&fl, &LOGITS, &INDICES, CLASSES, Some(row)), e);
            assert_eq!(softmax_in_place(&fl, &LOGITS, &[2u8, 0], CLASSES, Some(row)), e);
        }
        // Even for an empty batch.
        let empty: [u8; 0] = [];
        let e = Err(Error::LossesWithReduction);
        assert_eq!(sigmoid(&fl, &[], &[], CLASSES, Outs { losses: Some(0), grad: None }), e);
        assert_eq!(softmax(&fl, &[], &empty, CLASSES, Outs { losses: Some(0), grad: None }), e);
        assert_eq!(probs_in_place(&fl, &[], &[], CLASSES, Some(0)), e);
    }
}

// ---------------------------------------------------------------------------------------------
// What must be accepted.

#[test]
fn boundary_options_together_are_accepted() {
    for (gamma, alpha, ls) in walk([(0.0, 0.0, 0.0), (0.0, 1.0, 0.999), (2.0, 0.0, 0.999), (0.5, 1.0, 0.0)]) {
        for r in REDUCTIONS {
            let fl = FocalLoss::builder()
                .gamma(gamma)
                .alpha(alpha)
                .label_smoothing(ls)
                .reduction(r)
                .build()
                .unwrap();
            assert_accepted(&every_entry(&fl));
        }
    }
}

#[test]
fn nan_and_infinite_logits_are_not_refused() {
    let logits = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -f32::NAN, 1.0];
    for r in REDUCTIONS {
        let fl = with_reduction(r);
        assert_accepted(&every_sigmoid(&fl, &logits, &TARGETS, CLASSES));
        assert_accepted(&every_probs(&fl, &logits, &PROBS, CLASSES));
        assert_accepted(&every_softmax(&fl, &logits, &INDICES, CLASSES));
    }
}

#[test]
fn a_refused_call_leaves_the_options_usable() {
    let fl = with_reduction(Reduction::None);
    assert!(sigmoid(&fl, &LOGITS, &TARGETS, CLASSES, Outs { losses: Some(5), grad: None }).is_err());
    assert_accepted(&every_entry(&fl));
}

// ---------------------------------------------------------------------------------------------
// Display.

#[test]
fn every_error_displays_something_specific() {
    let cases: Vec<(Error, Vec<&str>)> = vec![
        (Error::Gamma, vec!["gamma"]),
        (Error::Alpha, vec!["alpha"]),
        (Error::ClassAlpha { class: 7 }, vec!["class_alpha", "7"]),
        (Error::ClassAlphaLength { got: 2, expected: 5 }, vec!["class_alpha", "2", "5"]),
        (Error::LabelSmoothing, vec!["smoothing"]),
        (Error::Normalizer, vec!["normalizer"]),
        (length(Buffer::Logits, 11, 12), vec!["logits", "11", "12"]),
        (length(Buffer::Targets, 13, 14), vec!["targets", "13", "14"]),
        (length(Buffer::Losses, 15, 16), vec!["losses", "15", "16"]),
        (length(Buffer::Grad, 17, 18), vec!["gradient", "17", "18"]),
        (Error::Shape, vec!["shape", "classes"]),
        (Error::Target { index: 9 }, vec!["target", "9"]),
        (Error::LossesWithReduction, vec!["losses", "reduction"]),
        (Error::Aliasing, vec!["overlap"]),
    ];
    let mut texts = Vec::new();
    for (error, needles) in &cases {
        let text = error.to_string();
        assert!(!text.trim().is_empty(), "{error:?}");
        for needle in needles {
            assert!(text.contains(needle), "{error:?} displays {text:?}, without {needle:?}");
        }
        // Usable as a standard error.
        let dyn_error: &dyn std::error::Error = error;
        assert_eq!(dyn_error.to_string(), text);
        texts.push(text);
    }
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), texts.len(), "two errors display the same text: {texts:?}");
    for (buffer, name) in [
        (Buffer::Logits, "logits"),
        (Buffer::Targets, "targets"),
        (Buffer::Losses, "losses"),
        (Buffer::Grad, "gradient"),
    ] {
        assert_eq!(buffer.to_string(), name);
    }
}
