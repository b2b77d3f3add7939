//! DESIGN §2.5: "No input, however wrong, may panic, read or write out of bounds, or loop
//! forever", and "on error ... the caller's output buffers are untouched".
//!
//! Every entry point is called with garbage: arbitrary f32 bit patterns (mixed with ordinary and
//! special values, so that valid configurations come up too) for γ, α, the per-class α, label
//! smoothing, the normalizer, the logits and the targets; buffer lengths that are either right or
//! arbitrary in 0..40, each independently; `classes` in 0..8 or huge; arbitrary `i64` class
//! indices (cast to every index type); a random reduction and ignore index. Each call must
//! return, never panic. Each result is also checked against a model of §2.5 written here from the
//! design: the call is refused exactly when the model finds a fault, and the error returned is
//! one of the faults the model found (variant and fields). On error every buffer is unchanged bit
//! for bit; on success every element of every output buffer was written, and the in-place form
//! agrees bit for bit with the separate one.

mod common;

// Under Miri every NaN counts as the same in `bits`; the sentinel checks below compare raw bits.
use common::bits;
use focal_loss::{Buffer, ClassIndex, Error, FocalLoss, Out, Reduction};
use oracle::SPECIAL_F32;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm};

/// What the output buffers hold before a call: a NaN with a payload no computation produces.
const SENTINEL: f32 = f32::from_bits(0x7fc0_1234);

/// 2000 cases per property, without failure persistence (which under Miri would also fail:
/// proptest's file persistence starts with `getcwd`, which Miri's isolation refuses).
///
/// Under Miri, which interprets every call thousands of times more slowly, 4 cases (enough to
/// walk each entry point's checks and buffers with garbage once more; `refused.rs` covers every
/// refusal deterministically), drawn with XorShift: drawing values costs most of a case there,
/// and ChaCha costs about 3.5 times as much as XorShift.
fn config() -> Config {
    let mut config = Config { cases: 2000, failure_persistence: None, ..Config::default() };
    if cfg!(miri) {
        config.cases = 4;
        config.rng_algorithm = RngAlgorithm::XorShift;
    }
    config
}

/// How many values of each kind a batch draws; calls cycle through them. Under Miri 8, which
/// still fills a vector of the portable backend with distinct values.
const POOL: usize = if cfg!(miri) { 8 } else { 64 };

// ---------------------------------------------------------------------------------------------
// Strategies.

/// Any bit pattern, a special value, or a value in `range`.
fn float(range: core::ops::Range<f32>) -> impl Strategy<Value = f32> {
    prop_oneof![
        2 => any::<u32>().prop_map(f32::from_bits),
        1 => prop::sample::select(&SPECIAL_F32[..]),
        3 => range,
    ]
}

/// A value in [0, 1] more often than not, else garbage.
fn unit() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => 0.0f32..=1.0,
        2 => prop::sample::select(&[0.0f32, 1.0, -0.0][..]),
        1 => any::<u32>().prop_map(f32::from_bits),
        1 => prop::sample::select(&SPECIAL_F32[..]),
    ]
}

fn index() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 0i64..8,
        1 => Just(-100i64),
        1 => -3i64..0,
        1 => prop::sample::select(&[255i64, 256, 65535, 65536, u32::MAX as i64, 1 << 32, i64::MIN, i64::MAX][..]),
        1 => any::<i64>(),
    ]
}

#[derive(Clone, Debug)]
struct Options {
    gamma: f32,
    alpha: Option<f32>,
    class_alpha: Option<Vec<f32>>,
    /// Whether the per-class α is resized to the batch's classes (else its length is arbitrary).
    class_alpha_fits: bool,
    label_smoothing: f32,
    normalizer: Option<f32>,
    ignore_index: Option<i64>,
    reduction: Reduction,
}

fn options() -> impl Strategy<Value = Options> {
    (
        float(0.0..5.0),
        prop::option::of(unit()),
        prop::option::weighted(0.4, prop::collection::vec(class_alpha_value(), 0..9)),
        prop::bool::weighted(0.75),
        prop_oneof![3 => Just(0.0f32), 2 => unit()],
        prop::option::weighted(0.3, float(0.0..10.0)),
        prop::option::of(index()),
        prop::sample::select(&[Reduction::None, Reduction::Sum, Reduction::Mean][..]),
    )
        .prop_map(
            |(
                gamma,
                alpha,
                class_alpha,
                class_alpha_fits,
                label_smoothing,
                normalizer,
                ignore_index,
                reduction,
            )| Options {
                gamma,
                alpha,
                class_alpha,
                class_alpha_fits,
                label_smoothing,
                normalizer,
                ignore_index,
                reduction,
            },
        )
}

/// A per-class α: mostly in [0, 1], sometimes above (refused by sigmoid only), else garbage.
fn class_alpha_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        12 => 0.0f32..=1.0,
        2 => 1.0f32..100.0,
        1 => any::<u32>().prop_map(f32::from_bits),
        1 => prop::sample::select(&SPECIAL_F32[..]),
    ]
}

impl Options {
    /// These options for a batch of `classes`: a per-class α that fits is resized to it
    /// (repeating its values; left as it is when it is empty or `classes` is huge).
    fn for_classes(&self, classes: usize) -> Options {
        let mut o = self.clone();
        if let Some(ca) = &self.class_alpha {
            if self.class_alpha_fits && !ca.is_empty() && classes <= 64 {
                o.class_alpha = Some(take(ca, classes));
            }
        }
        o
    }

    fn build(&self) -> Result<FocalLoss<'_>, Error> {
        let mut b = FocalLoss::builder()
            .gamma(self.gamma)
            .label_smoothing(self.label_smoothing)
            .reduction(self.reduction);
        if let Some(a) = self.alpha {
            b = b.alpha(a);
        }
        if let Some(ca) = &self.class_alpha {
            b = b.class_alpha(ca);
        }
        if let Some(d) = self.normalizer {
            b = b.normalizer(d);
        }
        if let Some(i) = self.ignore_index {
            b = b.ignore_index(i);
        }
        b.build()
    }

    /// The model: every option the design refuses, whatever the task.
    fn faults(&self) -> Vec<Error> {
        let mut f = Vec::new();
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            f.push(Error::Gamma);
        }
        if self.alpha.is_some_and(|a| !(0.0..=1.0).contains(&a)) {
            f.push(Error::Alpha);
        }
        if let Some(class) =
            self.class_alpha.as_ref().and_then(|ca| ca.iter().position(|a| !(a.is_finite() && *a >= 0.0)))
        {
            f.push(Error::ClassAlpha { class });
        }
        if !(self.label_smoothing >= 0.0 && self.label_smoothing < 1.0) {
            f.push(Error::LabelSmoothing);
        }
        if self.normalizer.is_some_and(|d| !(d.is_finite() && d >= 0.0)) {
            f.push(Error::Normalizer);
        }
        f
    }
}

/// A buffer length: right for the batch, or arbitrary.
#[derive(Clone, Copy, Debug)]
enum Len {
    Right,
    Any(usize),
}

fn len() -> impl Strategy<Value = Len> {
    prop_oneof![6 => Just(Len::Right), 1 => (0usize..40).prop_map(Len::Any)]
}

impl Len {
    /// The length, where `right` is what the batch needs (when it is small enough to allocate).
    fn resolve(self, right: Option<usize>) -> usize {
        match (self, right) {
            (Len::Right, Some(n)) if n <= 64 => n,
            (Len::Right, _) => 3,
            (Len::Any(n), _) => n,
        }
    }
}

#[derive(Clone, Debug)]
struct Batch {
    classes: usize,
    rows: usize,
    logits_len: Len,
    targets_len: Len,
    losses_len: Option<Len>,
    grad_len: Option<Len>,
    logits: Vec<f32>,
    values: Vec<f32>,
    indices: Vec<i64>,
    /// Which indices are replaced by the ignore index, when there is one.
    ignored: Vec<bool>,
}

fn batch() -> impl Strategy<Value = Batch> {
    (
        prop_oneof![16 => 0usize..8, 1 => Just(usize::MAX), 1 => Just(usize::MAX / 2 + 1)],
        0usize..6,
        (len(), len(), prop::option::of(len()), prop::option::of(len())),
        prop::collection::vec(float(-30.0..30.0), POOL),
        prop::collection::vec(unit(), POOL),
        prop::collection::vec(index(), POOL),
        prop::collection::vec(prop::bool::weighted(0.3), POOL),
    )
        .prop_map(|(classes, rows, lens, logits, values, indices, ignored)| {
            let (logits_len, targets_len, losses_len, grad_len) = lens;
            Batch {
                classes,
                rows,
                logits_len,
                targets_len,
                losses_len,
                grad_len,
                logits,
                values,
                indices,
                ignored,
            }
        })
}

/// `n` values taken from `pool`, cycling.
fn take<T: Copy>(pool: &[T], n: usize) -> Vec<T> {
    pool.iter().copied().cycle().take(n).collect()
}

// ---------------------------------------------------------------------------------------------
// Calls.

/// The concrete buffers of one call: the inputs, and the outputs filled with the sentinel.
struct Call {
    logits: Vec<f32>,
    losses: Option<Vec<f32>>,
    grad: Option<Vec<f32>>,
}

impl Call {
    fn new(logits: Vec<f32>, losses: Option<usize>, grad: Option<usize>) -> Call {
        Call { logits, losses: losses.map(|n| vec![SENTINEL; n]), grad: grad.map(|n| vec![SENTINEL; n]) }
    }

    /// Runs a separate-gradient entry point on the call's buffers.
    fn separate(&mut self, f: impl FnOnce(&[f32], Out<'_>) -> Result<f32, Error>) -> Result<f32, Error> {
        let mut out = Out::new();
        if let Some(l) = self.losses.as_deref_mut() {
            out = out.losses(l);
        }
        if let Some(g) = self.grad.as_deref_mut() {
            out = out.grad(g);
        }
        f(&self.logits, out)
    }

    /// Runs an in-place entry point: the gradient goes over a copy of the logits.
    fn in_place(
        &mut self,
        f: impl FnOnce(&mut [f32], Option<&mut [f32]>) -> Result<f32, Error>,
    ) -> (Result<f32, Error>, Vec<f32>) {
        let mut buf = self.logits.clone();
        let r = f(&mut buf, self.losses.as_deref_mut());
        (r, buf)
    }

    fn losses_untouched(&self) -> bool {
        self.losses.as_ref().is_none_or(|l| l.iter().all(|x| x.to_bits() == SENTINEL.to_bits()))
    }

    fn grad_untouched(&self) -> bool {
        self.grad.as_ref().is_none_or(|g| g.iter().all(|x| x.to_bits() == SENTINEL.to_bits()))
    }

    fn losses_written(&self) -> bool {
        self.losses.as_ref().is_none_or(|l| l.iter().all(|x| x.to_bits() != SENTINEL.to_bits()))
    }

    fn grad_written(&self) -> bool {
        self.grad.as_ref().is_none_or(|g| g.iter().all(|x| x.to_bits() != SENTINEL.to_bits()))
    }
}

/// Checks one result against the faults the model found.
fn check_result(what: &str, result: &Result<f32, Error>, faults: &[Error]) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => prop_assert!(faults.is_empty(), "{what}: accepted, but the design refuses it: {faults:?}"),
        Err(e) => {
            prop_assert!(faults.contains(e), "{what}: refused with {e:?}, the design's faults are {faults:?}")
        }
    }
    Ok(())
}

/// The task-dependent faults of a call (DESIGN §2.5), given the options are valid.
struct Model<'a> {
    opts: &'a Options,
    classes: usize,
    logits: usize,
    losses: Option<usize>,
    grad: Option<usize>,
}

impl Model<'_> {
    /// Per-class α length and range, a losses buffer with a reduction, and output lengths.
    fn common(&self, f: &mut Vec<Error>, class_alpha_max: f32, elements: Option<usize>, rows: Option<usize>) {
        if let Some(ca) = &self.opts.class_alpha {
            if ca.len() != self.classes {
                f.push(Error::ClassAlphaLength { got: ca.len(), expected: self.classes });
            } else if let Some(class) = ca.iter().position(|&a| a > class_alpha_max) {
                f.push(Error::ClassAlpha { class });
            }
        }
        if let Some(got) = self.losses {
            if self.opts.reduction != Reduction::None {
                f.push(Error::LossesWithReduction);
            }
            if let Some(expected) = rows.filter(|&r| r != got) {
                f.push(Error::Length { buffer: Buffer::Losses, got, expected });
            }
        }
        if let Some(got) = self.grad {
            if let Some(expected) = elements.filter(|&e| e != got) {
                f.push(Error::Length { buffer: Buffer::Grad, got, expected });
            }
        }
    }

    /// Sigmoid (`per_row = false`) and target probabilities (`per_row = true`): targets as long
    /// as the logits, each finite in [0, 1].
    fn unit_targets(&self, targets: &[f32], per_row: bool) -> Vec<Error> {
        let mut f = Vec::new();
        let shape_ok =
            if self.classes == 0 { self.logits == 0 } else { self.logits.is_multiple_of(self.classes) };
        if !shape_ok {
            f.push(Error::Shape);
        }
        if targets.len() != self.logits {
            f.push(Error::Length { buffer: Buffer::Targets, got: targets.len(), expected: self.logits });
        }
        let rows = self.logits.checked_div(self.classes).unwrap_or(0);
        let (max, loss_len) = if per_row { (f32::MAX, rows) } else { (1.0, self.logits) };
        self.common(&mut f, max, Some(self.logits), Some(loss_len));
        if let Some(index) = targets.iter().position(|y| !(y.is_finite() && (0.0..=1.0).contains(y))) {
            f.push(Error::Target { index });
        }
        f
    }

    /// Class indices: one per row, in [0, classes) or the ignore index.
    fn indices(&self, targets: &[i64]) -> Vec<Error> {
        let mut f = Vec::new();
        let rows = targets.len();
        let elements = rows.checked_mul(self.classes);
        if (self.classes == 0 && rows > 0) || elements.is_none() {
            f.push(Error::Shape);
        }
        if let Some(expected) = elements.filter(|&e| e != self.logits) {
            f.push(Error::Length { buffer: Buffer::Logits, got: self.logits, expected });
        }
        self.common(&mut f, f32::MAX, elements, Some(rows));
        let valid =
            |t: i64| Some(t) == self.opts.ignore_index || (t >= 0 && (t as u128) < self.classes as u128);
        if let Some(index) = targets.iter().position(|&t| !valid(t)) {
            f.push(Error::Target { index });
        }
        f
    }
}

/// The buffer lengths of a batch for a task: (logits, targets, losses, grad).
fn lengths(b: &Batch, per_row_losses: bool) -> (usize, usize, Option<usize>, Option<usize>) {
    let elements = b.rows.checked_mul(b.classes);
    let logits = b.logits_len.resolve(elements);
    let targets = if per_row_losses {
        b.targets_len.resolve(Some(b.rows))
    } else {
        b.targets_len.resolve(Some(logits))
    };
    let losses = b.losses_len.map(|l| l.resolve(Some(if per_row_losses { b.rows } else { logits })));
    let grad = b.grad_len.map(|l| l.resolve(Some(logits)));
    (logits, targets, losses, grad)
}

/// Runs a separate-gradient call and checks it: the model, untouched on error, written on Ok.
fn run_separate(
    what: &str,
    call: &mut Call,
    faults: &[Error],
    f: impl FnOnce(&[f32], Out<'_>) -> Result<f32, Error>,
) -> Result<Result<f32, Error>, TestCaseError> {
    let logits_before = bits(&call.logits);
    let r = call.separate(f);
    check_result(what, &r, faults)?;
    prop_assert_eq!(bits(&call.logits), logits_before);
    if r.is_err() {
        prop_assert!(call.losses_untouched(), "{}: {:?} but the losses were written", what, r);
        prop_assert!(call.grad_untouched(), "{}: {:?} but the gradient was written", what, r);
    } else {
        prop_assert!(call.losses_written(), "{}: Ok but some losses were not written", what);
        prop_assert!(call.grad_written(), "{}: Ok but some gradients were not written", what);
    }
    Ok(r)
}

/// Runs an in-place call and checks it like [`run_separate`]; on success also that it agrees
/// bit for bit with the separate form given a gradient buffer.
fn run_in_place(
    what: &str,
    call: &mut Call,
    faults: &[Error],
    in_place: impl FnOnce(&mut [f32], Option<&mut [f32]>) -> Result<f32, Error>,
    separate: impl FnOnce(&[f32], Out<'_>) -> Result<f32, Error>,
) -> Result<(), TestCaseError> {
    let (r, buf) = call.in_place(in_place);
    check_result(what, &r, faults)?;
    if r.is_err() {
        prop_assert_eq!(bits(&buf), bits(&call.logits), "{}: {:?} but the logits were written over", what, r);
        prop_assert!(call.losses_untouched(), "{}: {:?} but the losses were written", what, r);
    } else {
        prop_assert!(call.losses_written(), "{}: Ok but some losses were not written", what);
        // The same batch with a separate gradient buffer gives the same bits.
        let losses_in_place = call.losses.clone();
        let mut twin =
            Call::new(call.logits.clone(), call.losses.as_ref().map(Vec::len), Some(call.logits.len()));
        let r2 = twin.separate(separate);
        prop_assert_eq!(
            r2.map(|t| bits(&[t])),
            r.map(|t| bits(&[t])),
            "{}: in place and separate differ",
            what
        );
        prop_assert_eq!(twin.grad.as_deref().map(bits), Some(bits(&buf)), "{}: gradients differ", what);
        prop_assert_eq!(
            twin.losses.as_deref().map(bits),
            losses_in_place.as_deref().map(bits),
            "{}: losses differ",
            what
        );
    }
    Ok(())
}

/// Builds the options; on a refusal checks it against the model and returns `None`.
fn built(opts: &Options) -> Result<Option<FocalLoss<'_>>, TestCaseError> {
    let faults = opts.faults();
    let r = opts.build();
    match &r {
        Ok(fl) => {
            prop_assert!(faults.is_empty(), "options accepted, but the design refuses them: {faults:?}");
            // A normalizer of 0 (or -0) is "off"; any other accepted one is kept.
            if opts.normalizer.is_some_and(|d| d == 0.0) {
                prop_assert_eq!(fl.normalizer(), None);
            } else {
                prop_assert_eq!(fl.normalizer().map(f32::to_bits), opts.normalizer.map(f32::to_bits));
            }
            prop_assert_eq!(fl.gamma().to_bits(), opts.gamma.to_bits());
        }
        Err(e) => {
            prop_assert!(faults.contains(e), "options refused with {e:?}, the design's faults are {faults:?}")
        }
    }
    Ok(r.ok())
}

// ---------------------------------------------------------------------------------------------
// The properties.

fn sigmoid_case(opts: &Options, b: &Batch, in_place: bool) -> Result<(), TestCaseError> {
    let opts = &opts.for_classes(b.classes);
    let Some(fl) = built(opts)? else { return Ok(()) };
    let (n, nt, losses, grad) = lengths(b, false);
    let targets = take(&b.values, nt);
    let mut call = Call::new(take(&b.logits, n), losses, if in_place { None } else { grad });
    let model = Model { opts, classes: b.classes, logits: n, losses, grad: call.grad.as_ref().map(Vec::len) };
    let faults = model.unit_targets(&targets, false);
    if in_place {
        run_in_place(
            "sigmoid_in_place",
            &mut call,
            &faults,
            |l, out| fl.sigmoid_in_place(l, &targets, b.classes, out),
            |l, out| fl.sigmoid(l, &targets, b.classes, out),
        )
    } else {
        run_separate("sigmoid", &mut call, &faults, |l, out| fl.sigmoid(l, &targets, b.classes, out))
            .map(|_| ())
    }
}

fn probs_case(opts: &Options, b: &Batch, in_place: bool) -> Result<(), TestCaseError> {
    let opts = &opts.for_classes(b.classes);
    let Some(fl) = built(opts)? else { return Ok(()) };
    let (n, _, losses, grad) = lengths(b, true);
    let nt = b.targets_len.resolve(Some(n));
    let targets = take(&b.values, nt);
    let mut call = Call::new(take(&b.logits, n), losses, if in_place { None } else { grad });
    let model = Model { opts, classes: b.classes, logits: n, losses, grad: call.grad.as_ref().map(Vec::len) };
    let faults = model.unit_targets(&targets, true);
    if in_place {
        run_in_place(
            "softmax_probs_in_place",
            &mut call,
            &faults,
            |l, out| fl.softmax_probs_in_place(l, &targets, b.classes, out),
            |l, out| fl.softmax_probs(l, &targets, b.classes, out),
        )
    } else {
        run_separate("softmax_probs", &mut call, &faults, |l, out| {
            fl.softmax_probs(l, &targets, b.classes, out)
        })
        .map(|_| ())
    }
}

/// One index type: the indices cast to `T` (wrapping), the model run on what `T` holds.
fn softmax_as<T: ClassIndex + core::fmt::Debug>(
    fl: &FocalLoss<'_>,
    opts: &Options,
    b: &Batch,
    in_place: bool,
    cast: impl Fn(i64) -> T,
) -> Result<(), TestCaseError> {
    let (n, nt, losses, grad) = lengths(b, true);
    let indices = take(&b.indices, nt).into_iter().zip(b.ignored.iter().cycle());
    let targets: Vec<T> =
        indices.map(|(t, &ignored)| cast(opts.ignore_index.filter(|_| ignored).unwrap_or(t))).collect();
    let as_i64: Vec<i64> = targets.iter().map(|t| t.to_i64()).collect();
    let mut call = Call::new(take(&b.logits, n), losses, if in_place { None } else { grad });
    let model = Model { opts, classes: b.classes, logits: n, losses, grad: call.grad.as_ref().map(Vec::len) };
    let faults = model.indices(&as_i64);
    let ty = core::any::type_name::<T>();
    if in_place {
        run_in_place(
            &format!("softmax_in_place::<{ty}>"),
            &mut call,
            &faults,
            |l, out| fl.softmax_in_place(l, &targets, b.classes, out),
            |l, out| fl.softmax(l, &targets, b.classes, out),
        )
    } else {
        run_separate(&format!("softmax::<{ty}>"), &mut call, &faults, |l, out| {
            fl.softmax(l, &targets, b.classes, out)
        })
        .map(|_| ())
    }
}

fn softmax_case(opts: &Options, b: &Batch, in_place: bool) -> Result<(), TestCaseError> {
    let opts = &opts.for_classes(b.classes);
    let Some(fl) = built(opts)? else { return Ok(()) };
    softmax_as(&fl, opts, b, in_place, |t| t)?;
    softmax_as(&fl, opts, b, in_place, |t| t as i32)?;
    softmax_as(&fl, opts, b, in_place, |t| t as u32)?;
    softmax_as(&fl, opts, b, in_place, |t| t as u16)?;
    softmax_as(&fl, opts, b, in_place, |t| t as u8)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn builder_never_panics_and_refuses_exactly_the_bad_options(opts in options()) {
        built(&opts)?;
    }

    #[test]
    fn sigmoid_never_panics_nor_writes_on_error(opts in options(), b in batch()) {
        sigmoid_case(&opts, &b, false)?;
    }

    #[test]
    fn sigmoid_in_place_never_panics_nor_writes_on_error(opts in options(), b in batch()) {
        sigmoid_case(&opts, &b, true)?;
    }

    #[test]
    fn softmax_never_panics_nor_writes_on_error(opts in options(), b in batch()) {
        softmax_case(&opts, &b, false)?;
    }

    #[test]
    fn softmax_in_place_never_panics_nor_writes_on_error(opts in options(), b in batch()) {
        softmax_case(&opts, &b, true)?;
    }

    #[test]
    fn softmax_probs_never_panics_nor_writes_on_error(opts in options(), b in batch()) {
        probs_case(&opts, &b, false)?;
    }

    #[test]
    fn softmax_probs_in_place_never_panics_nor_writes_on_error(opts in options(), b in batch()) {
        probs_case(&opts, &b, true)?;
    }
}
