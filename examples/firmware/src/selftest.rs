//! The self-test: every task × reduction on fixed inputs, through every entry point (separate
//! gradient, in place, forward only; class indices as `i64` and, where they fit, `u8`), each
//! output compared with the float64 oracle's value within the accuracy budget of DESIGN §3.
//! `build.rs` computes the expected values on the host.

use focal_loss::{Error, FocalLoss, Out, Reduction};

/// One exact output and what DESIGN §3's budget needs: its magnitude `S` and conditioning `κ`.
pub struct Exact {
    pub value: f64,
    pub scale: f64,
    pub kappa: f64,
}

/// The targets of a case.
pub enum Targets {
    /// Sigmoid targets in [0, 1] (binary, multi-label).
    Values(&'static [f32]),
    /// Class indices (multi-class).
    Indices(&'static [i64]),
    /// Target probabilities (multi-class).
    Probs(&'static [f32]),
}

/// One fixed input with its options and exact outputs.
pub struct Case {
    pub name: &'static str,
    pub classes: usize,
    pub gamma: f32,
    pub alpha: Option<f32>,
    pub class_alpha: Option<&'static [f32]>,
    pub label_smoothing: f32,
    pub reduction: Reduction,
    pub normalizer: Option<f32>,
    pub ignore_index: Option<i64>,
    pub logits: &'static [f32],
    pub targets: Targets,
    /// The value every entry point returns (for `none`, the sum of the losses).
    pub total: &'static [Exact],
    /// The per-element or per-row losses (`none` only).
    pub losses: &'static [Exact],
    pub grad: &'static [Exact],
}

include!(concat!(env!("OUT_DIR"), "/selftest.rs"));

/// DESIGN §3: 2^-23 · (16 + 4κ) · max(S, 2^-126).
pub fn budget(e: &Exact) -> f64 {
    const ULP: f64 = 1.0 / (1u64 << 23) as f64;
    const MIN_NORMAL: f64 = f32::MIN_POSITIVE as f64;
    ULP * (16.0 + 4.0 * e.kappa) * e.scale.max(MIN_NORMAL)
}

/// |computed − exact| in units of [`budget`], with the oracle crate's conventions: a NaN or
/// infinite exact value must be matched exactly; a finite one that rounds to ±∞ in float32 may
/// be that infinity; any other non-finite result is infinitely wrong.
pub fn error_in_budgets(computed: f32, e: &Exact) -> f64 {
    let c = f64::from(computed);
    if e.value.is_nan() {
        return if c.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if e.value.is_infinite() {
        return if c == e.value { 0.0 } else { f64::INFINITY };
    }
    let rounded = e.value as f32;
    if rounded.is_infinite() && computed == rounded {
        return 0.0;
    }
    if !c.is_finite() {
        return f64::INFINITY;
    }
    let d = c - e.value;
    (if d < 0.0 { -d } else { d }) / budget(e)
}

/// How an entry point is called.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// `sigmoid` / `softmax` / `softmax_probs` with a gradient buffer.
    Separate,
    /// The `_in_place` form: the gradient over the logits.
    InPlace,
    /// No gradient.
    Forward,
    /// `softmax_in_place` with `u8` class indices.
    InPlaceU8,
}

/// One output out of budget.
pub struct Failure {
    pub case: &'static str,
    pub mode: Mode,
    /// "total", "loss" or "grad".
    pub output: &'static str,
    pub index: usize,
    pub computed: f32,
    pub exact: f64,
    pub error: f64,
}

/// What the self-test saw.
#[derive(Default)]
pub struct Report {
    pub cases: usize,
    pub calls: usize,
    pub values: usize,
    pub failures: usize,
    /// The worst error, in units of the budget.
    pub worst: f64,
}

const MAX: usize = 32;

/// Runs every case; calls `on_failure` for each output out of budget. An `Err` is a call the
/// library refused, which no case should be.
pub fn run(mut on_failure: impl FnMut(&Failure)) -> Result<Report, (&'static str, Error)> {
    let mut report = Report::default();
    for case in CASES {
        let fl = options(case).map_err(|e| (case.name, e))?;
        report.cases += 1;
        let modes: &[Mode] = match case.targets {
            Targets::Indices(t) if t.iter().all(|&t| (0..256).contains(&t)) => {
                &[Mode::Separate, Mode::InPlace, Mode::Forward, Mode::InPlaceU8]
            }
            _ => &[Mode::Separate, Mode::InPlace, Mode::Forward],
        };
        for &mode in modes {
            let n = case.logits.len();
            let (mut losses, mut grad) = ([0.0f32; MAX], [0.0f32; MAX]);
            let total = call(&fl, case, mode, &mut losses[..case.losses.len()], &mut grad[..n])
                .map_err(|e| (case.name, e))?;
            report.calls += 1;
            let mut check = |output, index, computed: f32, exact: &Exact| {
                let error = error_in_budgets(computed, exact);
                report.values += 1;
                if error > report.worst {
                    report.worst = error;
                }
                if error.is_nan() || error > 1.0 {
                    report.failures += 1;
                    on_failure(&Failure {
                        case: case.name,
                        mode,
                        output,
                        index,
                        computed,
                        exact: exact.value,
                        error,
                    });
                }
            };
            check("total", 0, total, &case.total[0]);
            for (i, e) in case.losses.iter().enumerate() {
                check("loss", i, losses[i], e);
            }
            if mode != Mode::Forward {
                for (i, e) in case.grad.iter().enumerate() {
                    check("grad", i, grad[i], e);
                }
            }
        }
    }
    Ok(report)
}

fn options(case: &Case) -> Result<FocalLoss<'static>, Error> {
    let mut b = FocalLoss::builder()
        .gamma(case.gamma)
        .label_smoothing(case.label_smoothing)
        .reduction(case.reduction);
    if let Some(a) = case.alpha {
        b = b.alpha(a);
    }
    if let Some(ca) = case.class_alpha {
        b = b.class_alpha(ca);
    }
    if let Some(d) = case.normalizer {
        b = b.normalizer(d);
    }
    if let Some(i) = case.ignore_index {
        b = b.ignore_index(i);
    }
    b.build()
}

/// Calls the case's entry point in `mode`; `losses` is empty unless the reduction is `none`,
/// `grad` is as long as the logits.
fn call(
    fl: &FocalLoss<'_>,
    case: &Case,
    mode: Mode,
    losses: &mut [f32],
    grad: &mut [f32],
) -> Result<f32, Error> {
    let c = case.classes;
    let losses = (!losses.is_empty()).then_some(losses);
    if matches!(mode, Mode::InPlace | Mode::InPlaceU8) {
        grad.copy_from_slice(case.logits);
    }
    match (&case.targets, mode) {
        (Targets::Values(t), Mode::InPlace) => fl.sigmoid_in_place(grad, t, c, losses),
        (Targets::Values(t), Mode::Separate) => fl.sigmoid(case.logits, t, c, out(losses, Some(grad))),
        (Targets::Values(t), _) => fl.sigmoid(case.logits, t, c, out(losses, None)),
        (Targets::Indices(t), Mode::InPlace) => fl.softmax_in_place(grad, t, c, losses),
        (Targets::Indices(t), Mode::InPlaceU8) => {
            let mut small = [0u8; MAX];
            for (s, &t) in small.iter_mut().zip(t.iter()) {
                *s = t as u8;
            }
            fl.softmax_in_place(grad, &small[..t.len()], c, losses)
        }
        (Targets::Indices(t), Mode::Separate) => fl.softmax(case.logits, t, c, out(losses, Some(grad))),
        (Targets::Indices(t), _) => fl.softmax(case.logits, t, c, out(losses, None)),
        (Targets::Probs(t), Mode::InPlace) => fl.softmax_probs_in_place(grad, t, c, losses),
        (Targets::Probs(t), Mode::Separate) => fl.softmax_probs(case.logits, t, c, out(losses, Some(grad))),
        (Targets::Probs(t), _) => fl.softmax_probs(case.logits, t, c, out(losses, None)),
    }
}

/// The outputs wanted.
fn out<'o>(losses: Option<&'o mut [f32]>, grad: Option<&'o mut [f32]>) -> Out<'o> {
    let mut out = Out::new();
    if let Some(l) = losses {
        out = out.losses(l);
    }
    if let Some(g) = grad {
        out = out.grad(g);
    }
    out
}
