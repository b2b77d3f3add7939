//! The outputs of a valid call against the float64 oracle, within the accuracy budget of
//! DESIGN §3, exactly as `tests/accuracy.rs` judges them: `oracle::error_in_budgets ≤ 1` for
//! every output of every backend (the reference included). A NaN where no input it depends on is
//! NaN, an infinity where the exact value is finite, or a value not written at all (it would
//! still hold the NaN sentinel) all fail that test; they are named apart, and the NaN rule is
//! also checked on its own, without the oracle.
//!
//! Beyond what the tests judge: the value returned with `Reduction::None` (the sum of the
//! losses) is held to the budget of a sum, and where the oracle's own float64 underflows (a
//! sigmoid logit of ±∞ with a large γ, see `infinite_sigmoid_limits`) the design's limit
//! replaces its answer. Violations that are open findings ([`known`]) are counted, not fatal.

use focal_loss::{Backend, Reduction};

use crate::case::{backends, bits, Case, Outputs, Task};
use crate::known;

/// The exact outputs of a case with its reduction, and the exact sum of its losses (what the
/// returned value is for `Reduction::None`).
struct Exact {
    outputs: oracle::Outputs,
    sum: oracle::Exact,
}

fn exact(case: &Case) -> Exact {
    let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    let (x, c) = (wide(&case.logits), case.classes);
    let run = |reduction| {
        let o = case.options.oracle(reduction);
        match case.task {
            Task::Sigmoid => oracle::sigmoid(&o, &x, &wide(&case.values), c),
            Task::Softmax => oracle::softmax(&o, &x, &case.indices.to_i64(), c),
            Task::Probs => oracle::softmax_probs(&o, &x, &wide(&case.values), c),
        }
    };
    let mut outputs = run(case.options.reduction);
    let mut sum =
        if case.options.reduction == Reduction::None { run(Reduction::Sum).loss[0] } else { outputs.loss[0] };
    // Where the oracle's own float64 underflows, the design's limit replaces its answer.
    let infinite = infinite_sigmoid_limits(case);
    if infinite.iter().any(|&i| i) {
        let to_infinity = |e: &mut oracle::Exact| {
            if !e.value.is_nan() {
                *e = oracle::Exact { value: f64::INFINITY, scale: f64::INFINITY, kappa: 0.0 };
            }
        };
        if case.options.reduction == Reduction::None {
            for (e, _) in outputs.loss.iter_mut().zip(&infinite).filter(|(_, &inf)| inf) {
                to_infinity(e);
            }
        } else {
            to_infinity(&mut outputs.loss[0]);
        }
        to_infinity(&mut sum);
    }
    Exact { outputs, sum }
}

/// The sigmoid elements whose exact loss is +∞ although the oracle says 0: a logit of ±∞ whose
/// target puts mass on the side where the cross-entropy is infinite, with α_t > 0 (DESIGN §2.1:
/// "Logits of ±∞ give the limits: loss 0 or +∞"). The limit of α_t·m^γ·ce is then +∞, since
/// m tends to that mass, which is positive; but the oracle evaluates m^γ in float64, which
/// underflows to 0 once γ·log2(1/m) > 1074, and then takes 0·∞ as 0.
fn infinite_sigmoid_limits(case: &Case) -> Vec<bool> {
    if case.task != Task::Sigmoid {
        return Vec::new();
    }
    let o = &case.options;
    let ls = f64::from(o.label_smoothing);
    let gamma = f64::from(o.gamma);
    case.logits
        .iter()
        .zip(&case.values)
        .enumerate()
        .map(|(i, (&x, &y))| {
            let (y, c) = (f64::from(y), i % case.classes.max(1));
            let yp = y * (1.0 - ls) + ls / 2.0;
            let ny = (1.0 - y) * (1.0 - ls) + ls / 2.0;
            let a = match (&o.class_alpha, o.alpha) {
                (Some(ca), _) => Some(f64::from(ca[c])),
                (None, a) => a.map(f64::from),
            };
            let alpha_t = a.map_or(1.0, |a| a * yp + (1.0 - a) * ny);
            // The mass on the infinite side, which is also the limit of m.
            let mass = if x == f32::NEG_INFINITY {
                yp
            } else if x == f32::INFINITY {
                ny
            } else {
                return false;
            };
            mass > 0.0 && alpha_t > 0.0 && mass.powf(gamma) == 0.0
        })
        .collect()
}

/// Which inputs may make outputs NaN (DESIGN §3: "No output is NaN unless an input is NaN (or a
/// softmax row holds +∞)"), per element (sigmoid) or per row (softmax).
struct NanInputs {
    /// Per sigmoid element, or per softmax row: its outputs may be NaN.
    unit: Vec<bool>,
}

impl NanInputs {
    fn new(case: &Case) -> NanInputs {
        let unit = match case.task {
            Task::Sigmoid => case.logits.iter().map(|x| x.is_nan()).collect(),
            _ => {
                let indices = case.indices.to_i64();
                // Ignored rows output 0 whatever their logits.
                let ignored =
                    |r: usize| case.task == Task::Softmax && Some(indices[r]) == case.options.ignore_index;
                case.logits
                    .chunks(case.classes.max(1))
                    .enumerate()
                    .map(|(r, row)| !ignored(r) && row.iter().any(|x| x.is_nan() || *x == f32::INFINITY))
                    .collect()
            }
        };
        NanInputs { unit }
    }

    /// Whether the gradient at element `i` may be NaN.
    fn grad(&self, case: &Case, i: usize) -> bool {
        match case.task {
            Task::Sigmoid => self.unit[i],
            _ => self.unit[i / case.classes.max(1)],
        }
    }

    /// Whether a per-element or per-row loss may be NaN.
    fn loss(&self, i: usize) -> bool {
        self.unit[i]
    }

    /// Whether a reduced value may be NaN.
    fn any(&self) -> bool {
        self.unit.iter().any(|&b| b)
    }
}

/// Why an output breaks the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// NaN, and no input it depends on is NaN.
    NanWithoutNanInput,
    /// NaN where the exact value is not (a NaN input, but not one that makes this output NaN).
    NanWhereExactIsNot,
    /// ±∞ where the exact value is finite and within float32's range.
    InfiniteWhereExactIsFinite,
    /// Finite, but farther from the exact value than the budget.
    Budget,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::NanWithoutNanInput => "NaN, but no input it depends on is NaN (DESIGN §3)",
            Why::NanWhereExactIsNot => "NaN where the exact value is not",
            Why::InfiniteWhereExactIsFinite => {
                "infinite, but the exact value is finite (DESIGN §3 allows ±∞ only beyond f32::MAX)"
            }
            Why::Budget => "outside the accuracy budget of DESIGN §3",
        })
    }
}

/// Which output of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The returned value (for `Reduction::None`, the sum of the losses).
    Returned,
    /// A per-element (sigmoid) or per-row (softmax) loss of `Reduction::None`.
    Loss(usize),
    /// A gradient element.
    Grad(usize),
}

/// An output that breaks the accuracy contract.
#[derive(Clone, Debug)]
pub struct Violation {
    pub backend: Backend,
    pub output: Output,
    pub computed: f32,
    pub exact: oracle::Exact,
    /// The error in units of the budget.
    pub err: f64,
    pub why: Why,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.exact;
        write!(
            f,
            "{}: {:?} = {:e}, exact {:e} (S {:e}, κ {}): {:.3} budgets: {}",
            self.backend, self.output, self.computed, e.value, e.scale, e.kappa, self.err, self.why
        )
    }
}

/// One output against its exact value.
fn judge(
    backend: Backend,
    output: Output,
    computed: f32,
    e: &oracle::Exact,
    nan_allowed: bool,
) -> Option<Violation> {
    let err = oracle::error_in_budgets(computed, e);
    let why = if computed.is_nan() && !nan_allowed {
        Why::NanWithoutNanInput
    } else if err <= 1.0 {
        return None;
    } else if computed.is_nan() {
        Why::NanWhereExactIsNot
    } else if computed.is_infinite() && e.value.is_finite() {
        Why::InfiniteWhereExactIsFinite
    } else {
        Why::Budget
    };
    Some(Violation { backend, output, computed, exact: *e, err, why })
}

/// Every output of a valid case on every backend against the oracle: the outputs that break
/// the contract, and each backend's fused call.
pub fn violations(case: &Case) -> (Vec<Violation>, Vec<(Backend, Outputs)>) {
    let exact = exact(case);
    let nan = NanInputs::new(case);
    let none = case.options.reduction == Reduction::None;
    let mut found = Vec::new();
    let mut calls = Vec::new();
    for backend in backends() {
        let fl = case.options.build(Some(backend)).expect("options that built once build on every backend");
        let full = case.call(&fl, none.then(|| case.losses_right()), Some(case.logits.len()));
        let total = *full.result.as_ref().expect("a valid call is valid on every backend");
        let (losses, grad) = (full.losses.as_deref().unwrap_or(&[]), full.grad.as_deref().unwrap_or(&[]));
        found.extend(judge(backend, Output::Returned, total, &exact.sum, nan.any()));
        if none {
            assert_eq!(losses.len(), exact.outputs.loss.len());
            for (i, (&c, e)) in losses.iter().zip(&exact.outputs.loss).enumerate() {
                found.extend(judge(backend, Output::Loss(i), c, e, nan.loss(i)));
            }
        }
        assert_eq!(grad.len(), exact.outputs.grad.len());
        for (i, (&c, e)) in grad.iter().zip(&exact.outputs.grad).enumerate() {
            found.extend(judge(backend, Output::Grad(i), c, e, nan.grad(case, i)));
        }
        calls.push((backend, full));
    }
    (found, calls)
}

/// A valid case on every backend, with every output it has, against the oracle; and the call
/// under test (`tested`, made on `tested_backend` with the case's own output buffers) against
/// the fused call on the same backend, bit for bit (forward-only and fused calls must agree).
/// Returns the open findings ([`known`]) the case hits; panics on any other violation.
pub fn check_backends(case: &Case, tested_backend: Backend, tested: &Outputs) -> Vec<&'static str> {
    let (found, calls) = violations(case);
    let mut known_hits = Vec::new();
    let mut unknown = Vec::new();
    for v in &found {
        match known::classify(case, v) {
            Some(k) => known_hits.push(k.test),
            None => unknown.push(v),
        }
    }
    if let Some(v) = unknown.first() {
        let all: Vec<String> = unknown.iter().map(|v| v.to_string()).collect();
        panic!("{v}\n({} violations: {})\n{case:?}", unknown.len(), all.join("; "));
    }
    known_hits.sort_unstable();
    known_hits.dedup();

    let (backend, full) =
        calls.iter().find(|(b, _)| *b == tested_backend).expect("the tested backend is available");
    let tested_total = *tested.result.as_ref().expect("the tested call succeeded");
    let total = *full.result.as_ref().expect("valid");
    assert_eq!(
        tested_total.to_bits(),
        total.to_bits(),
        "{backend}: returned {tested_total:e}, fused call {total:e}\n{case:?}"
    );
    if let Some(l) = &tested.losses {
        assert_eq!(
            Some(bits(l)),
            full.losses.as_deref().map(bits),
            "{backend}: losses differ from the fused call's\n{case:?}"
        );
    }
    if let Some(g) = &tested.grad {
        assert_eq!(
            Some(bits(g)),
            full.grad.as_deref().map(bits),
            "{backend}: gradient differs from the fused call's\n{case:?}"
        );
    }
    known_hits
}
