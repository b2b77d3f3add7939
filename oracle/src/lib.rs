//! Float64 reference ("oracle") implementation of Focal Loss, used by the tests of `focal-loss`
//! to judge its float32 kernels.
//!
//! Every function here evaluates the formulas of DESIGN §2 literally, in `f64`, in a form free of
//! cancellation, so that its results are accurate to about 1e-12 relative wherever float32
//! answers are judged. Alongside each value it reports what the accuracy contract of DESIGN §3
//! needs: the magnitude `S` and the conditioning `κ`. [`budget`] and [`error_in_budgets`] apply
//! that contract.
//!
//! The oracle does not validate its inputs (the library does): shapes and ranges are assumed
//! valid and it may panic when they are not.

/// How per-element (sigmoid) or per-row (softmax) losses are combined (DESIGN §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// One loss per element (sigmoid) or per row (softmax); the gradient is that of their sum.
    None,
    /// One value, the sum; gradient of the sum.
    Sum,
    /// One value, the sum divided by D; gradient of that quotient.
    Mean,
}

/// The options of DESIGN §2 (unvalidated).
#[derive(Clone, Debug)]
pub struct Options {
    /// Focusing parameter γ ≥ 0.
    pub gamma: f64,
    /// Scalar α; `None` = off.
    pub alpha: Option<f64>,
    /// Per-class values; replace `alpha` when `Some`.
    pub class_alpha: Option<Vec<f64>>,
    /// Label smoothing in [0, 1).
    pub label_smoothing: f64,
    /// The reduction.
    pub reduction: Reduction,
    /// `Some(d)` with d > 0: `Mean` divides by d. `None` or `Some(d ≤ 0)`: off (as the C ABI's 0).
    pub normalizer: Option<f64>,
    /// Softmax with class indices only: rows whose target equals it are skipped.
    pub ignore_index: Option<i64>,
}

impl Default for Options {
    /// γ = 2, no α, no class α, no smoothing, `Mean`, no normalizer, no ignore_index.
    fn default() -> Self {
        Options {
            gamma: 2.0,
            alpha: None,
            class_alpha: None,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
            normalizer: None,
            ignore_index: None,
        }
    }
}

/// One exact output value with what the accuracy contract (DESIGN §3) needs to judge it.
#[derive(Clone, Copy, Debug)]
pub struct Exact {
    /// The exact value (±inf or NaN where DESIGN §2 says so).
    pub value: f64,
    /// S of DESIGN §3: |value| for losses and hard-target gradients; for gradients with soft
    /// targets (soft y, ls > 0, or probability targets) the sum of the magnitudes of the
    /// formula's terms (sigmoid α_t·m^γ·(γ·|r|·ce + m); softmax |w_k τ_k g_k| + p_k·Σ_j |w_j τ_j g_j|).
    /// Divided by D for `Mean`.
    pub scale: f64,
    /// κ of DESIGN §3: sigmoid element γ|x| (0 for an infinite or NaN x, whose output is a
    /// well-conditioned limit); softmax row (γ+1)(max − min of its finite logits) + 4·log2(C);
    /// a sum or mean: the largest κ of its terms; a gradient element: its element's or row's κ.
    pub kappa: f64,
}

/// The outputs of one call.
#[derive(Clone, Debug)]
pub struct Outputs {
    /// `Reduction::None`: rows·classes values (sigmoid) or rows values (softmax); else 1 value.
    pub loss: Vec<Exact>,
    /// rows·classes values: the gradient of the reduced loss (for `None`: of the sum).
    pub grad: Vec<Exact>,
}

/// `w · v` with the convention of DESIGN §2: a zero weight or mass contributes exactly 0,
/// whatever it multiplies (0 · ∞ = 0, 0 · NaN = 0).
fn mul0(w: f64, v: f64) -> f64 {
    if w == 0.0 {
        0.0
    } else {
        w * v
    }
}

/// softplus(z) = log(1 + e^z) in the stable form max(z, 0) + log1p(e^(−|z|)); exact limits at ±∞.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// (σ(x), σ(−x)), each computed directly (never as 1 − the other).
fn sigmoid_pair(x: f64) -> (f64, f64) {
    if x >= 0.0 {
        let e = (-x).exp();
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        let e = x.exp();
        (e / (1.0 + e), 1.0 / (1.0 + e))
    }
}

/// Sum with Neumaier compensation (error about one rounding of the result for same-sign terms).
/// Non-finite terms are added apart, so ∞ stays ∞ and NaN stays NaN.
fn sum<I: IntoIterator<Item = f64>>(values: I) -> f64 {
    let (mut s, mut c, mut special) = (0.0f64, 0.0f64, 0.0f64);
    for v in values {
        if !v.is_finite() {
            special += v;
            continue;
        }
        let t = s + v;
        c += if s.abs() >= v.abs() { (s - t) + v } else { (v - t) + s };
        s = t;
    }
    if special.is_nan() || special != 0.0 {
        special
    } else {
        s + c
    }
}

/// The largest κ (ignoring NaN).
fn max_kappa<I: IntoIterator<Item = f64>>(kappas: I) -> f64 {
    kappas.into_iter().fold(0.0, f64::max)
}

/// One loss (value, κ) and one gradient element (value, S, κ) before reduction.
type LossTerm = (f64, f64);
type GradTerm = (f64, f64, f64);

/// Applies the reduction of DESIGN §2.4 to per-element/per-row losses and the gradient of their
/// sum; `count` is D unless `opts.normalizer` is `Some(d > 0)`.
fn reduce(opts: &Options, losses: Vec<LossTerm>, grads: Vec<GradTerm>, count: usize) -> Outputs {
    let exact = |(value, scale, kappa): GradTerm| Exact { value, scale, kappa };
    let loss_exact = |(value, kappa): LossTerm| Exact { value, scale: value.abs(), kappa };
    let total = || sum(losses.iter().map(|l| l.0));
    let kappa = max_kappa(losses.iter().map(|l| l.1));
    match opts.reduction {
        Reduction::None => Outputs {
            loss: losses.iter().copied().map(loss_exact).collect(),
            grad: grads.into_iter().map(exact).collect(),
        },
        Reduction::Sum => {
            Outputs { loss: vec![loss_exact((total(), kappa))], grad: grads.into_iter().map(exact).collect() }
        }
        Reduction::Mean => {
            let d = match opts.normalizer {
                Some(d) if d > 0.0 => d,
                _ => count as f64,
            };
            if d == 0.0 {
                let zero = Exact { value: 0.0, scale: 0.0, kappa: 0.0 };
                return Outputs { loss: vec![zero], grad: vec![zero; grads.len()] };
            }
            Outputs {
                loss: vec![loss_exact((total() / d, kappa))],
                grad: grads.into_iter().map(|(v, s, k)| exact((v / d, s / d, k))).collect(),
            }
        }
    }
}

/// `m^γ` for `m` in [0, 1], given also `1 − m` formed without cancellation: through
/// `log1p(−(1 − m))` above 1/2, where `m` itself may have rounded to 1 in float64 and a huge γ
/// would turn the lost `1 − m` into a factor of 1 where it is `e^(−γ·(1 − m))` (a fuzz finding:
/// γ = 3.5e18 with label smoothing 2.8e-17 at x = +∞). `0^0 = 1`, as Rust's `powf` has it.
fn pow_given_complement(m: f64, one_minus_m: f64, gamma: f64) -> f64 {
    if m > 0.5 {
        (gamma * (-one_minus_m).ln_1p()).exp()
    } else {
        m.powf(gamma)
    }
}

/// One sigmoid element (DESIGN §2.1): logit `x`, target `y`, α source `a` (class α or α), returns
/// its loss, gradient, the gradient's S, and κ.
fn sigmoid_element(x: f64, y: f64, a: Option<f64>, ls: f64, gamma: f64) -> (f64, f64, f64, f64) {
    if x.is_nan() {
        return (f64::NAN, f64::NAN, f64::NAN, 0.0);
    }
    let yp = y * (1.0 - ls) + ls / 2.0; // y'
    let ny = (1.0 - y) * (1.0 - ls) + ls / 2.0; // 1 − y'
    let (p, q) = sigmoid_pair(x); // σ(x), σ(−x)
    let m = p * ny + q * yp; // 1 − p_t, both terms ≥ 0
    let ce = mul0(yp, softplus(-x)) + mul0(ny, softplus(x));
    let alpha_t = match a {
        Some(a) => a * yp + (1.0 - a) * ny,
        None => 1.0,
    };
    let mg = pow_given_complement(m, p * yp + q * ny, gamma);

    // m^γ may underflow even float64 (a huge γ) where m > 0; against an infinite ce (x = ±∞)
    // the product's limit is still +∞.
    let focused = if ce == f64::INFINITY && m > 0.0 { ce } else { mul0(mg, ce) };
    let loss = mul0(alpha_t, focused);

    // r·ce with r = p(1−p)(1−2y')/m. pq/m is evaluated as p/((1−y')e^x + y') for x ≥ 0 and
    // q/((1−y') + y'e^(−x)) for x < 0, finite even when m underflows. At x = ±∞ the limit of
    // r·ce is 0 (p_t·ce → 0, and pq·x → 0).
    let rce = if x.is_infinite() {
        0.0
    } else {
        let pq_over_m = if x >= 0.0 { p / (mul0(ny, x.exp()) + yp) } else { q / (ny + mul0(yp, (-x).exp())) };
        (1.0 - 2.0 * y) * (1.0 - ls) * pq_over_m * ce
    };
    let p_minus_y = p * ny - q * yp; // = p − y' without cancellation when both are near 0 or 1
    let grad = mul0(alpha_t, mg * (gamma * rce + p_minus_y));
    let hard = ls == 0.0 && (y == 0.0 || y == 1.0);
    let scale = if hard { grad.abs() } else { mul0(alpha_t, mg * (gamma * rce.abs() + m)) };
    let kappa = if x.is_finite() { gamma * x.abs() } else { 0.0 };
    (loss, grad, scale, kappa)
}

/// Sigmoid focal loss (binary: `classes = 1`; multi-label otherwise), DESIGN §2.1.
///
/// `logits` and `targets` are `rows × classes` row-major; a target is a real in [0, 1]. Per
/// element: loss = α_t·m^γ·ce with y' = y(1−ls)+ls/2, m = 1 − p_t = p(1−y') + (1−p)y',
/// ce = y'·softplus(−x) + (1−y')·softplus(x), α_t = a·y' + (1−a)(1−y') (a = `class_alpha[c]`, else
/// alpha; α_t = 1 when neither); gradient α_t·m^γ·(γ·r·ce + p − y'), r = p(1−p)(1−2y')/m.
/// Mean divides by rows·classes (or the normalizer).
pub fn sigmoid(opts: &Options, logits: &[f64], targets: &[f64], classes: usize) -> Outputs {
    assert_eq!(logits.len(), targets.len(), "logits and targets differ in length");
    let mut losses = Vec::with_capacity(logits.len());
    let mut grads = Vec::with_capacity(logits.len());
    for (i, (&x, &y)) in logits.iter().zip(targets).enumerate() {
        let a = match &opts.class_alpha {
            Some(ca) => Some(ca[i % classes]),
            None => opts.alpha,
        };
        let (loss, grad, scale, kappa) = sigmoid_element(x, y, a, opts.label_smoothing, opts.gamma);
        losses.push((loss, kappa));
        grads.push((grad, scale, kappa));
    }
    reduce(opts, losses, grads, logits.len())
}

/// The class weight w_j of DESIGN §2.2: class_alpha[j], else alpha (a pure scale), else 1.
fn class_weight(opts: &Options, j: usize) -> f64 {
    match (&opts.class_alpha, opts.alpha) {
        (Some(ca), _) => ca[j],
        (None, Some(a)) => a,
        (None, None) => 1.0,
    }
}

/// κ of a softmax row: (γ+1)(max − min of its finite logits) + 4·log2(C).
fn row_kappa(x: &[f64], gamma: f64) -> f64 {
    let finite = x.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let spread = if hi >= lo { hi - lo } else { 0.0 };
    (gamma + 1.0) * spread + 4.0 * (x.len() as f64).log2()
}

/// One softmax row (DESIGN §2.2/§2.3) with coefficients c_j = w_j·τ_j. `hard_target` is the
/// target class when the target is a class index and ls = 0 (then the target's gradient is
/// computed as w_t·g_t·(1 − p_t) and S = |value|). Returns the row loss and (gradient, S) per class.
fn softmax_row(x: &[f64], c: &[f64], hard_target: Option<usize>, gamma: f64) -> (f64, Vec<(f64, f64)>) {
    let n = x.len();
    if x.iter().any(|v| v.is_nan() || *v == f64::INFINITY) {
        return (f64::NAN, vec![(f64::NAN, f64::NAN); n]);
    }
    // The arg-max among finite logits (the first on ties).
    let Some(am) =
        (0..n).filter(|&j| x[j].is_finite()).reduce(|best, j| if x[j] > x[best] { j } else { best })
    else {
        // Every class masked: p_j = 0, l_j = −∞, g_j = −1.
        let loss = if c.iter().any(|&cj| cj > 0.0) { f64::INFINITY } else { 0.0 };
        return (loss, c.iter().map(|&cj| (-cj, cj.abs())).collect());
    };
    let mx = x[am];
    let e: Vec<f64> = x.iter().map(|&v| (v - mx).exp()).collect(); // e_am = 1, masked 0
    let s = sum((0..n).filter(|&j| j != am).map(|j| e[j])); // the others' exponentials
    let log1p_s = s.ln_1p();
    let z = 1.0 + s;

    let mut p = vec![0.0; n]; // p_j
    let mut q = vec![0.0; n]; // 1 − p_j
    let mut loss_terms = vec![0.0; n];
    let mut cg = vec![0.0; n]; // c_j·g_j (all ≤ 0)
    for j in 0..n {
        // (p_j, 1 − p_j, l_j, p_j·l_j/(1 − p_j))
        let (pj, qj, lj, pl_over_q) = if j == am {
            let ratio = if s == 0.0 { -1.0 } else { -log1p_s / s }; // → −1 as p → 1
            (1.0 / z, s / z, -log1p_s, ratio)
        } else if x[j] == f64::NEG_INFINITY {
            (0.0, 1.0, f64::NEG_INFINITY, 0.0) // masked: p·l = 0
        } else {
            let pj = e[j] / z; // ≤ 1/2, so 1 − p_j does not cancel
            let lj = (x[j] - mx) - log1p_s;
            (pj, 1.0 - pj, lj, pj * lj / (1.0 - pj))
        };
        let qg = pow_given_complement(qj, pj, gamma);
        p[j] = pj;
        q[j] = qj;
        loss_terms[j] = mul0(c[j], -(qg * lj));
        cg[j] = c[j] * (qg * (gamma * pl_over_q - 1.0));
    }
    let loss = sum(loss_terms);
    let g_sum = sum(cg.iter().copied()); // Σ_j w_j τ_j g_j ≤ 0
    let grads = (0..n)
        .map(|k| match hard_target {
            Some(t) => {
                let v = if k == t { cg[t] * q[t] } else { -p[k] * g_sum };
                (v, v.abs())
            }
            None => (cg[k] - p[k] * g_sum, cg[k].abs() + p[k] * g_sum.abs()),
        })
        .collect();
    (loss, grads)
}

/// Collects softmax rows given each row's coefficients (`None` = ignored row) and reduces them.
fn softmax_rows<F>(opts: &Options, logits: &[f64], classes: usize, rows: usize, mut coeffs: F) -> Outputs
where
    F: FnMut(usize) -> Option<(Vec<f64>, Option<usize>)>,
{
    assert_eq!(logits.len(), rows * classes, "logits length is not rows * classes");
    let mut losses = Vec::with_capacity(rows);
    let mut grads = Vec::with_capacity(rows * classes);
    let mut counted = 0;
    for r in 0..rows {
        let x = &logits[r * classes..(r + 1) * classes];
        match coeffs(r) {
            None => {
                losses.push((0.0, 0.0));
                grads.extend(std::iter::repeat_n((0.0, 0.0, 0.0), classes));
            }
            Some((c, hard)) => {
                counted += 1;
                let kappa = row_kappa(x, opts.gamma);
                let (loss, g) = softmax_row(x, &c, hard, opts.gamma);
                losses.push((loss, kappa));
                grads.extend(g.into_iter().map(|(v, s)| (v, s, kappa)));
            }
        }
    }
    reduce(opts, losses, grads, counted)
}

/// Softmax focal loss with class indices (DESIGN §2.2). `logits` is `rows × classes`, rows =
/// `targets.len()`. Per row: loss = −Σ_j w_j τ_j (1 − p_j)^γ l_j with l = log-softmax(x),
/// τ_j = (1−ls)[j = t] + ls/C; gradient w_k τ_k g_k − p_k Σ_j w_j τ_j g_j,
/// g_j = (1 − p_j)^γ (γ p_j l_j/(1 − p_j) − 1). Rows with target == ignore_index give loss 0 and
/// gradient 0 whatever their logits, and do not count in mean's D.
pub fn softmax(opts: &Options, logits: &[f64], targets: &[i64], classes: usize) -> Outputs {
    let ls = opts.label_smoothing;
    softmax_rows(opts, logits, classes, targets.len(), |r| {
        let t = targets[r];
        if opts.ignore_index == Some(t) {
            return None;
        }
        let t = usize::try_from(t).expect("class index out of range");
        assert!(t < classes, "class index out of range");
        let c = (0..classes)
            .map(|j| {
                let tau = if j == t { 1.0 - ls } else { 0.0 } + ls / classes as f64;
                class_weight(opts, j) * tau
            })
            .collect();
        Some((c, (ls == 0.0).then_some(t)))
    })
}

/// Softmax focal loss with target probabilities (DESIGN §2.3): as [`softmax`] with
/// τ_j = (1 − ls)·r_j + ls/C for the given rows r (not renormalised). `probs` is `rows × classes`.
/// No rows are ignored; mean's D is rows (or the normalizer).
pub fn softmax_probs(opts: &Options, logits: &[f64], probs: &[f64], classes: usize) -> Outputs {
    let ls = opts.label_smoothing;
    let rows = probs.len().checked_div(classes).unwrap_or(0);
    assert_eq!(probs.len(), rows * classes, "probs length is not rows * classes");
    softmax_rows(opts, logits, classes, rows, |r| {
        let c = (0..classes)
            .map(|j| class_weight(opts, j) * ((1.0 - ls) * probs[r * classes + j] + ls / classes as f64))
            .collect();
        Some((c, None))
    })
}

/// The error budget of DESIGN §3: 2^-23 · (16 + 4κ) · max(S, 2^-126).
pub fn budget(e: &Exact) -> f64 {
    2f64.powi(-23) * (16.0 + 4.0 * e.kappa) * e.scale.max(2f64.powi(-126))
}

/// |computed − exact| in units of [`budget`]. Exact NaN: 0 if computed is NaN, else +inf. Exact
/// ±inf: 0 if computed is the same infinity, else +inf. Exact finite but rounding to ±inf in
/// float32: 0 if computed is that infinity, else the ordinary formula. Computed NaN or infinite
/// where that is not the exact answer: +inf.
pub fn error_in_budgets(computed: f32, e: &Exact) -> f64 {
    let c = f64::from(computed);
    if e.value.is_nan() {
        return if c.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if e.value.is_infinite() {
        return if c == e.value { 0.0 } else { f64::INFINITY };
    }
    let rounded = e.value as f32; // round to nearest: ±inf beyond f32::MAX + half an ulp
    if rounded.is_infinite() && computed == rounded {
        return 0.0;
    }
    if !c.is_finite() {
        return f64::INFINITY;
    }
    (c - e.value).abs() / budget(e)
}

/// Boundary float32 values every hostile-input test draws from (the fuzz targets of `fuzz/`,
/// `tests/no_panic.rs`): the edges of every accepted range, signed zeros, the extremes, the
/// non-finite values and the neighbours of 1.
///
/// The fuzzers pick one by its index among all of them: a change of order or length makes the
/// inputs stored in `fuzz/corpus/` decode to other calls than the ones they were kept for.
pub const SPECIAL_F32: [f32; 19] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    1e-45,
    -1e-45,
    f32::MIN_POSITIVE,
    f32::MAX,
    f32::MIN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    // A negative NaN with a payload: NaN is refused whatever its sign or bits.
    f32::from_bits(0xffc0_0001),
    0.999_999_94,
    1.000_000_1,
    100.0,
    1e30,
];

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    /// A small deterministic generator of uniforms in [0, 1).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.next()
        }
    }

    fn opts(gamma: f64, ls: f64, reduction: Reduction) -> Options {
        Options { gamma, label_smoothing: ls, reduction, ..Options::default() }
    }

    /// Checks every gradient element of `f` against a central difference of its `Sum` loss.
    fn check_fd(o: &Options, logits: &[f64], f: &dyn Fn(&Options, &[f64]) -> Outputs) {
        let o = Options { reduction: Reduction::Sum, ..o.clone() };
        let out = f(&o, logits);
        let total = out.loss[0].value;
        for (i, g) in out.grad.iter().enumerate() {
            let h = 1e-5 * logits[i].abs().max(1.0);
            let mut x = logits.to_vec();
            x[i] = logits[i] + h;
            let up = f(&o, &x).loss[0].value;
            x[i] = logits[i] - h;
            let down = f(&o, &x).loss[0].value;
            let fd = (up - down) / (2.0 * h);
            let tol = 1e-6 * g.scale.max(g.value.abs()) + 1e-10 * total.abs().max(1.0);
            assert!((fd - g.value).abs() <= tol, "{o:?} x={logits:?} i={i}: fd {fd} vs {g:?}");
        }
    }

    const GAMMAS: [f64; 5] = [0.0, 0.5, 1.0, 2.0, 3.5];

    #[test]
    fn sigmoid_gradient_matches_finite_differences() {
        let mut rng = Lcg(1);
        let classes = 3;
        for &gamma in &GAMMAS {
            for ls in [0.0, 0.1] {
                for alpha in [(None, None), (Some(0.25), None), (None, Some(vec![0.1, 0.6, 1.0]))] {
                    for soft in [false, true] {
                        let n = 4 * classes;
                        let x: Vec<f64> = (0..n).map(|_| rng.range(-7.0, 7.0)).collect();
                        let y: Vec<f64> = (0..n)
                            .map(|_| if soft { rng.next() } else { (rng.next() < 0.5) as u8 as f64 })
                            .collect();
                        let o = Options {
                            alpha: alpha.0,
                            class_alpha: alpha.1.clone(),
                            ..opts(gamma, ls, Reduction::Sum)
                        };
                        check_fd(&o, &x, &|o, x| sigmoid(o, x, &y, classes));
                    }
                }
            }
        }
    }

    #[test]
    fn softmax_gradient_matches_finite_differences() {
        let mut rng = Lcg(2);
        for classes in [1usize, 2, 5] {
            for &gamma in &GAMMAS {
                for ls in [0.0, 0.1] {
                    let weights = [None, Some(vec![0.3, 1.5, 0.0, 2.0, 0.7][..classes].to_vec())];
                    for (w, alpha) in weights.into_iter().zip([Some(0.25), None]) {
                        let rows = 4;
                        let x: Vec<f64> = (0..rows * classes).map(|_| rng.range(-6.0, 6.0)).collect();
                        let t: Vec<i64> = (0..rows).map(|_| (rng.next() * classes as f64) as i64).collect();
                        let mut r: Vec<f64> = (0..rows * classes).map(|_| rng.next()).collect();
                        r[0] = 0.0;
                        let o = Options { alpha, class_alpha: w, ..opts(gamma, ls, Reduction::Sum) };
                        check_fd(&o, &x, &|o, x| softmax(o, x, &t, classes));
                        check_fd(&o, &x, &|o, x| softmax_probs(o, x, &r, classes));
                    }
                }
            }
        }
    }

    #[test]
    fn gamma_zero_is_binary_cross_entropy() {
        let x = [-5.0, -1.2, 0.0, 0.4, 3.0, 9.0];
        let y = [0.0, 1.0, 0.3, 1.0, 0.0, 0.8];
        for ls in [0.0, 0.2] {
            let out = sigmoid(&opts(0.0, ls, Reduction::None), &x, &y, 2);
            for i in 0..x.len() {
                let p = 1.0 / (1.0 + (-x[i]).exp());
                let yp = y[i] * (1.0 - ls) + ls / 2.0;
                let bce = -(yp * p.ln() + (1.0 - yp) * (1.0 - p).ln());
                assert!((out.loss[i].value - bce).abs() <= 1e-12 * bce, "{i}");
                assert!((out.grad[i].value - (p - yp)).abs() <= 1e-12, "{i}");
            }
        }
    }

    #[test]
    fn gamma_zero_is_categorical_cross_entropy() {
        let x = [1.0, -2.0, 0.5, 3.0, 0.0, -1.0, 2.0, 2.0, -4.0];
        let t = [2i64, 0, 1];
        let r = [0.2, 0.5, 0.3, 1.0, 0.0, 0.0, 0.1, 0.1, 0.8];
        for ls in [0.0, 0.3] {
            let o = opts(0.0, ls, Reduction::None);
            let hard = softmax(&o, &x, &t, 3);
            let soft = softmax_probs(&o, &x, &r, 3);
            for row in 0..3 {
                let xs = &x[row * 3..row * 3 + 3];
                let lse = xs.iter().map(|v| v.exp()).sum::<f64>().ln();
                let ce = |tau: &dyn Fn(usize) -> f64| -(0..3).map(|j| tau(j) * (xs[j] - lse)).sum::<f64>();
                let want_hard = ce(&|j| (1.0 - ls) * ((j as i64 == t[row]) as u8 as f64) + ls / 3.0);
                let want_soft = ce(&|j| (1.0 - ls) * r[row * 3 + j] + ls / 3.0);
                assert!((hard.loss[row].value - want_hard).abs() <= 1e-12 * want_hard);
                assert!((soft.loss[row].value - want_soft).abs() <= 1e-12 * want_soft);
            }
        }
    }

    #[test]
    fn saturated_values_keep_relative_accuracy() {
        // Sigmoid x = 40, y = 1, γ = 2: m = σ(−40), loss = m²·log1p(e^−40), grad = −m²(2·p_t·ce + m).
        let out = sigmoid(&opts(2.0, 0.0, Reduction::None), &[40.0, -40.0], &[1.0, 0.0], 1);
        let e = (-40f64).exp();
        let m = e / (1.0 + e);
        let ce = e.ln_1p();
        let (loss, grad) = (m * m * ce, -m * m * (2.0 * (1.0 / (1.0 + e)) * ce + m));
        assert!((out.loss[0].value - loss).abs() <= 1e-14 * loss);
        assert!((out.grad[0].value - grad).abs() <= 1e-14 * grad.abs());
        assert!((out.loss[1].value - loss).abs() <= 1e-14 * loss);
        assert!((out.grad[1].value + grad).abs() <= 1e-14 * grad.abs());
        // Softmax [40, 0, 0], t = 0, γ = 2: s = 2e^−40, loss = (s/(1+s))²·log1p(s) ≈ s³.
        let out = softmax(&opts(2.0, 0.0, Reduction::None), &[40.0, 0.0, 0.0], &[0], 3);
        let s = 2.0 * e;
        assert!((out.loss[0].value - s.powi(3)).abs() <= 1e-13 * s.powi(3));
        let row: f64 = out.grad.iter().map(|g| g.value).sum();
        assert!(row.abs() <= 1e-15 * out.grad[1].value.abs());
        // The target's gradient ≈ −3s² (γ = 2: g_t ≈ −q²(γ + 1)), times 1 − p_t = s.
        let want = -3.0 * s * s * s;
        assert!((out.grad[0].value - want).abs() <= 1e-9 * want.abs());
    }

    #[test]
    fn sigmoid_special_values() {
        let none = opts(2.0, 0.0, Reduction::None);
        let x = [INF, INF, -INF, INF, -INF, f64::NAN, 1.0];
        let y = [1.0, 0.0, 1.0, 0.3, 0.0, 1.0, 1.0];
        let out = sigmoid(&none, &x, &y, 1);
        let l: Vec<f64> = out.loss.iter().map(|e| e.value).collect();
        let g: Vec<f64> = out.grad.iter().map(|e| e.value).collect();
        assert_eq!(&l[..5], &[0.0, INF, INF, INF, 0.0]);
        assert_eq!((&g[..3], g[4]), (&[0.0, 1.0, -1.0][..], 0.0));
        // 0.7² is formed as e^(2·log1p(−0.3)) (m > 1/2): a few float64 roundings.
        assert!((g[3] - 0.7f64.powi(3)).abs() <= 4.0 * f64::EPSILON * 0.343, "{}", g[3]);
        assert!(l[5].is_nan() && g[5].is_nan() && l[6].is_finite() && g[6].is_finite());
        // γ = 0 at x = +∞, y = 0.3: 0^0 = 1 is not involved, gradient p − y' = 0.7; y = 1: 0.
        let out = sigmoid(&opts(0.0, 0.0, Reduction::None), &[INF, INF], &[0.3, 1.0], 1);
        assert_eq!((out.grad[0].value, out.grad[1].value), (0.7, 0.0));
        assert_eq!(out.loss[1].value, 0.0);
        // Zero weight: α = 1 with y = 0 gives α_t = 0, so loss 0 and gradient 0 even at +∞.
        let o = Options { alpha: Some(1.0), ..none.clone() };
        let out = sigmoid(&o, &[INF], &[0.0], 1);
        assert_eq!((out.loss[0].value, out.grad[0].value), (0.0, 0.0));
        // A NaN element makes the sum NaN; the other gradients stay finite.
        let out = sigmoid(&opts(2.0, 0.0, Reduction::Sum), &[f64::NAN, 1.0], &[0.0, 1.0], 2);
        assert!(out.loss[0].value.is_nan() && out.grad[1].value.is_finite());
        // D = 0: empty mean is 0.
        let out = sigmoid(&Options::default(), &[], &[], 1);
        assert_eq!(out.loss[0].value, 0.0);
    }

    #[test]
    fn softmax_special_values() {
        let none = opts(2.0, 0.0, Reduction::None);
        // A masked class changes nothing for the others and has gradient 0.
        let a = softmax(&none, &[0.0, -INF, 1.0], &[0], 3);
        let b = softmax(&none, &[0.0, 1.0], &[0], 2);
        assert!((a.loss[0].value - b.loss[0].value).abs() <= 1e-15);
        assert_eq!(a.grad[1].value, 0.0);
        assert!((a.grad[0].value - b.grad[0].value).abs() <= 1e-15);
        assert!((a.grad[2].value - b.grad[1].value).abs() <= 1e-15);
        // Masked target: loss +∞, gradient −w on it, p_k·w on the others.
        let o = Options { alpha: Some(0.5), ..none.clone() };
        let a = softmax(&o, &[0.0, -INF, 0.0], &[1], 3);
        assert_eq!(a.loss[0].value, INF);
        let g: Vec<f64> = a.grad.iter().map(|e| e.value).collect();
        assert_eq!(g, vec![0.25, -0.5, 0.25]);
        // With smoothing a masked class carries mass: loss +∞, finite gradient.
        let a = softmax(&opts(2.0, 0.1, Reduction::None), &[0.0, -INF], &[0], 2);
        assert_eq!(a.loss[0].value, INF);
        assert!(a.grad.iter().all(|e| e.value.is_finite()));
        // +∞ or NaN in a row: that row NaN, the other rows untouched.
        let a = softmax(&none, &[INF, 0.0, 1.0, 2.0, f64::NAN, 0.0], &[1, 0, 1], 2);
        assert!(a.loss[0].value.is_nan() && a.grad[0].value.is_nan() && a.grad[1].value.is_nan());
        assert!(a.loss[1].value.is_finite() && a.grad[2].value.is_finite());
        assert!(a.loss[2].value.is_nan() && a.grad[5].value.is_nan());
        // All −∞: loss +∞ if mass, gradient −w_k τ_k; without mass loss 0.
        let a = softmax(&none, &[-INF, -INF, -INF], &[0], 3);
        assert_eq!(a.loss[0].value, INF);
        assert_eq!(a.grad.iter().map(|e| e.value).collect::<Vec<_>>(), vec![-1.0, 0.0, 0.0]);
        let a = softmax_probs(&none, &[-INF, -INF], &[0.0, 0.0], 2);
        assert_eq!((a.loss[0].value, a.grad[0].value), (0.0, 0.0));
        // C = 1: loss 0, gradient 0, for γ = 0 and γ > 0.
        for gamma in [0.0, 2.0] {
            let a = softmax(&opts(gamma, 0.0, Reduction::Sum), &[3.0, -7.0], &[0, 0], 1);
            assert_eq!(a.loss[0].value, 0.0);
            assert!(a.grad.iter().all(|e| e.value == 0.0));
        }
    }

    #[test]
    fn ignored_rows_normalizer_and_empty_mean() {
        let x = [1.0, 2.0, 0.0, f64::NAN, 5.0, -1.0, 0.5, 0.5, 0.0];
        let t = [1i64, -100, 2];
        let ignore = Options { ignore_index: Some(-100), ..Options::default() };
        let mean = softmax(&ignore, &x, &t, 3);
        let kept_x = [1.0, 2.0, 0.0, 0.5, 0.5, 0.0];
        let kept = softmax(&Options::default(), &kept_x, &[1, 2], 3);
        assert!((mean.loss[0].value - kept.loss[0].value).abs() <= 1e-15);
        assert!(mean.grad[3..6].iter().all(|e| e.value == 0.0));
        assert!((mean.grad[7].value - kept.grad[4].value).abs() <= 1e-15);
        let none = softmax(&Options { reduction: Reduction::None, ..ignore.clone() }, &x, &t, 3);
        assert_eq!(none.loss[1].value, 0.0);
        // The normalizer replaces D.
        let sum = softmax(&Options { reduction: Reduction::Sum, ..ignore.clone() }, &x, &t, 3);
        let norm = softmax(&Options { normalizer: Some(4.0), ..ignore.clone() }, &x, &t, 3);
        assert!((norm.loss[0].value - sum.loss[0].value / 4.0).abs() <= 1e-15);
        // Every row ignored: D = 0 gives 0, never NaN.
        let all = softmax(&ignore, &x[..6], &[-100, -100], 3);
        assert_eq!(all.loss[0].value, 0.0);
        assert!(all.grad.iter().all(|e| e.value == 0.0));
    }

    #[test]
    fn finite_inputs_give_finite_outputs() {
        let xs = [0.0, 1e-40, 1.0, 20.0, 100.0, 800.0, 1e30, 3.4e38];
        let xs: Vec<f64> = xs.iter().flat_map(|&x| [x, -x]).collect();
        for &gamma in &GAMMAS {
            for ls in [0.0, 0.1] {
                let o = opts(gamma, ls, Reduction::None);
                for y in [0.0, 1.0, 0.5, 1e-7, 1.0 - 1e-7] {
                    let out = sigmoid(&o, &xs, &vec![y; xs.len()], 1);
                    for e in out.loss.iter().chain(&out.grad) {
                        assert!(e.value.is_finite() && e.scale >= e.value.abs(), "{gamma} {ls} {y} {e:?}");
                    }
                }
                let pairs: Vec<f64> =
                    xs.iter().flat_map(|&a| xs.iter().flat_map(move |&b| [a, b, 0.5])).collect();
                let rows = pairs.len() / 3;
                for t in 0..3 {
                    let out = softmax(&o, &pairs, &vec![t; rows], 3);
                    let probs: Vec<f64> = (0..rows).flat_map(|_| [0.25, 0.0, 0.75]).collect();
                    let soft = softmax_probs(&o, &pairs, &probs, 3);
                    for e in out.loss.iter().chain(&out.grad).chain(&soft.loss).chain(&soft.grad) {
                        assert!(e.value.is_finite() && e.scale >= e.value.abs(), "{gamma} {ls} {t} {e:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn error_in_budgets_special_cases() {
        let e = |value| Exact { value, scale: f64::abs(value), kappa: 0.0 };
        assert_eq!(error_in_budgets(f32::NAN, &e(f64::NAN)), 0.0);
        assert_eq!(error_in_budgets(1.0, &e(f64::NAN)), INF);
        assert_eq!(error_in_budgets(f32::INFINITY, &e(INF)), 0.0);
        assert_eq!(error_in_budgets(f32::NEG_INFINITY, &e(INF)), INF);
        assert_eq!(error_in_budgets(f32::INFINITY, &e(1e39)), 0.0);
        assert!(error_in_budgets(f32::MAX, &e(1e39)) < INF);
        assert_eq!(error_in_budgets(f32::INFINITY, &e(1.0)), INF);
        assert_eq!(error_in_budgets(f32::NAN, &e(1.0)), INF);
        assert_eq!(error_in_budgets(1.0, &e(1.0)), 0.0);
        // One float32 ulp of 1 (2^-23) is 1/16 of the κ = 0 budget.
        let one_ulp = error_in_budgets(1.0 + f32::EPSILON, &e(1.0));
        assert!((one_ulp - 1.0 / 16.0).abs() < 1e-12);
    }
}
