//! The exhaustive check of the sigmoid kernel: every finite float32 logit, for hard targets
//! y ∈ {0, 1}, γ ∈ {0, 0.5, 2} and α ∈ {off, 0.25}, on every backend this CPU runs, against the
//! float64 oracle, in units of the accuracy budget of DESIGN §3 (as `tests/accuracy.rs` measures
//! it). Opt-in and long: `cargo xtask exhaustive [options]`, or
//!
//! ```text
//! cargo run --release --example exhaustive -- [--stride K] [--backends scalar,avx512]
//!     [--gamma 0,0.5,2] [--alpha off,0.25] [--target 0,1] [--range LO..HI] [--threads N]
//!     [--progress SECS]
//! ```
//!
//! Logits are fed in buffers of [`BUFFER`] with reduction `none`, so that the kernels' vector
//! bodies run, not only their tails; both the per-element loss and the gradient are judged. The
//! bit patterns are split into units that the threads take in turn from a shared counter. One
//! job per γ runs all its (α, y) combinations over each buffer, and every backend is compared
//! with the same exact values.
//!
//! # One oracle evaluation per logit and γ
//!
//! The oracle costs about as much as the scalar backend, and several times the vector backends
//! together. So it runs once per logit and γ, with α off and y = 1, giving the loss L(x) and the
//! gradient G(x); the combinations of that γ derive from that one evaluation:
//!
//! - y = 1, α = a: the kernel is fed x; the exact loss is a·L(x), the gradient a·G(x) (α_t = a);
//! - y = 0, α = a: the kernel is fed −x; the exact loss is (1−a)·L(x), the gradient −(1−a)·G(x);
//! - α off: a factor 1 (α_t = 1).
//!
//! With a hard target, loss(x, y = 1) = a·σ(−x)^γ·softplus(−x) and loss(x, y = 0) =
//! (1−a)·σ(x)^γ·softplus(x), so loss(−x, 0) = ((1−a)/a)·loss(x, 1); the derivative in the fed
//! logit −x is minus that in x. S (|value| for a hard target) scales with the value and
//! κ = γ|x| = γ|−x| does not change; the budgets are computed from the derived values as before.
//!
//! The derivation is exact, not only in real arithmetic: the oracle evaluates y = 1 at x and
//! y = 0 at −x with the same float64 operations on the same operands (its pair (σ(x), σ(−x)) at
//! −x is the pair at x swapped, bit for bit; softplus, (1 − p_t)^γ and the quotient in r are the
//! same; r·ce and p − y' only change sign, which rounds symmetrically), and multiplies by α_t
//! last, as the derivation does. So the derived values are the direct calls' to the bit, up to the sign of a
//! zero. Before the sweep, and whatever the oracle has since become, a self-check proves it on a
//! fixed sample (4096 bit patterns spread over the whole range, ±0, ±1e-45, ±f32::MIN_POSITIVE,
//! ±1, ±f32::MAX, and the neighbours of ±16, ±88, ±88.72, ±103.97 and ±104): each selected
//! combination's derived values against a direct oracle call. A value more than 1e-12 relative
//! off (or a NaN, infinity or zero not matched exactly), or any κ that differs, fails the run.
//!
//! Coverage: −x ranges over every finite float32 as x does, so the whole range checks every
//! logit for every combination. A part of it (`--stride`, `--range`) checks, for y = 0, the
//! negations of the selected bit patterns (the pattern XOR 0x8000_0000), the mirror images of
//! y = 1's (where a kernel is mirror-symmetric too, as they are with α off, the y = 0 and y = 1
//! tables then match); the worst logits reported are those the kernel was fed. With `--target 0`
//! alone the oracle runs with y = 0 instead (the same derivation, the targets' roles swapped)
//! and the logits of the range are fed as they are, so that `--target 0 --range B..B+1`
//! re-checks the y = 0 logit with bit pattern B.
//!
//! It prints, per combination and backend, the worst loss and gradient errors in budgets and the
//! logit where each occurs, and the number of logits checked; per γ, the time; at the end, where
//! the CPU time went. It exits with failure if the self-check fails or any output is over one
//! budget (NaN, or an infinity that is not the exact answer, counts as an infinite error).

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use focal_loss::{Backend, FocalLoss, Out, Reduction};

/// Logits per library call. A multiple of four 16-lane vectors, so a full buffer never reaches
/// a kernel's tail, and large enough that the call overhead does not matter.
const BUFFER: usize = 4096;

/// How many finite float32 values there are: every bit pattern but the 2^24 whose exponent is
/// all ones (±∞ and the NaNs).
const FINITE: u64 = (1 << 32) - (1 << 24);

const USAGE: &str = "\
usage: cargo run --release --example exhaustive -- [options]

  --stride K        check every K-th bit pattern only (default 1: all of them)
  --backends LIST   comma-separated, of scalar, portable, avx2, avx512, neon, reference
                    (default: every backend this CPU runs, reference excluded)
  --gamma LIST      default 0,0.5,2
  --alpha LIST      `off` or a value in [0, 1]; default off,0.25
  --target LIST     0 and/or 1; default 0,1
  --range LO..HI    bit patterns LO (inclusive) to HI (exclusive), decimal or 0x-hex;
                    default 0..0x100000000 (every float32; NaN and ±inf are skipped).
                    With both targets, y = 0 is fed the negated logits (pattern XOR
                    0x80000000), its exact values derived from y = 1's (see the source)
  --threads N       default: the number of cores
  --progress SECS   seconds between progress lines on stderr (default 30)";

/// What to check.
struct Config {
    stride: u64,
    backends: Vec<Backend>,
    gammas: Vec<f32>,
    alphas: Vec<Option<f32>>,
    targets: Vec<f32>,
    /// Bit patterns `lo..hi` (u64, so that 2^32 can end the range).
    lo: u64,
    hi: u64,
    threads: usize,
    progress: Duration,
}

impl Config {
    fn parse(args: &[String]) -> Result<Config, String> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut cfg = Config {
            stride: 1,
            backends: Backend::ALL.into_iter().filter(|b| b.is_available()).collect(),
            gammas: vec![0.0, 0.5, 2.0],
            alphas: vec![None, Some(0.25)],
            targets: vec![0.0, 1.0],
            lo: 0,
            hi: 1 << 32,
            threads,
            progress: Duration::from_secs(30),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            // `--name value` or `--name=value`.
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            let mut value =
                || inline.clone().or_else(|| args.next().cloned()).ok_or(format!("{name} needs a value"));
            match name {
                "--stride" => {
                    cfg.stride = parse_int(&value()?)?;
                    if cfg.stride == 0 {
                        return Err("--stride must be at least 1".into());
                    }
                }
                "--backends" => cfg.backends = list(&value()?, parse_backend)?,
                "--gamma" => cfg.gammas = list(&value()?, |v| v.parse().map_err(|_| format!("bad γ {v:?}")))?,
                "--alpha" => {
                    cfg.alphas = list(&value()?, |v| match v {
                        "off" | "none" => Ok(None),
                        _ => v.parse().map(Some).map_err(|_| format!("bad α {v:?}")),
                    })?
                }
                "--target" => {
                    cfg.targets = list(&value()?, |v| match v {
                        "0" => Ok(0.0),
                        "1" => Ok(1.0),
                        _ => Err(format!("the exhaustive check takes hard targets, 0 or 1, not {v:?}")),
                    })?
                }
                "--range" => {
                    let v = value()?;
                    let (lo, hi) = v.split_once("..").ok_or(format!("--range wants LO..HI, not {v:?}"))?;
                    (cfg.lo, cfg.hi) = (parse_int(lo)?, parse_int(hi)?);
                    if cfg.lo >= cfg.hi || cfg.hi > 1 << 32 {
                        return Err(format!("--range {v}: want LO < HI ≤ 0x100000000"));
                    }
                }
                "--threads" => {
                    cfg.threads = parse_int(&value()?)? as usize;
                    if cfg.threads == 0 {
                        return Err("--threads must be at least 1".into());
                    }
                }
                "--progress" => {
                    let v = value()?;
                    let secs: f64 = v.parse().map_err(|_| format!("bad --progress {v:?}"))?;
                    cfg.progress =
                        Duration::try_from_secs_f64(secs).map_err(|e| format!("--progress: {e}"))?;
                }
                _ => return Err(format!("unexpected argument {arg:?}")),
            }
        }
        if cfg.backends.is_empty() || cfg.gammas.is_empty() || cfg.alphas.is_empty() || cfg.targets.is_empty()
        {
            return Err("an empty list leaves nothing to check".into());
        }
        Ok(cfg)
    }

    /// The number of bit patterns visited (finite or not).
    fn patterns(&self) -> u64 {
        (self.hi - self.lo).div_ceil(self.stride)
    }

    /// The target of the one oracle evaluation: 1, or 0 when 1 is not checked.
    fn base_target(&self) -> f32 {
        if self.targets.contains(&1.0) {
            1.0
        } else {
            0.0
        }
    }

    /// The combinations of one γ, in the order of the lists (α varies slower than y), each with
    /// how it derives from the oracle's evaluation at α off and [`Config::base_target`].
    fn variants(&self, gamma: f32) -> Vec<Variant> {
        let base = self.base_target();
        let mut v = Vec::new();
        for &alpha in &self.alphas {
            for &y in &self.targets {
                let combination = Combination { gamma, alpha, y };
                v.push(Variant { combination, factor: alpha_t(alpha, y), negated: y != base });
            }
        }
        v
    }

    /// How many combinations there are.
    fn combinations(&self) -> usize {
        self.gammas.len() * self.alphas.len() * self.targets.len()
    }
}

fn parse_int(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => s.replace('_', "").parse(),
    }
    .map_err(|_| format!("bad number {s:?}"))
}

fn list<T>(s: &str, item: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    s.split(',').map(str::trim).filter(|v| !v.is_empty()).map(item).collect()
}

fn parse_backend(name: &str) -> Result<Backend, String> {
    let backend = Backend::ALL
        .into_iter()
        .chain([Backend::Reference])
        .find(|b| b.name() == name)
        .ok_or(format!("unknown backend {name:?}"))?;
    if backend.is_available() {
        Ok(backend)
    } else {
        Err(format!("this CPU cannot run the {name} backend"))
    }
}

/// One set of options of the sweep.
#[derive(Clone, Copy, Debug)]
struct Combination {
    gamma: f32,
    alpha: Option<f32>,
    y: f32,
}

impl std::fmt::Display for Combination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.alpha {
            Some(a) => write!(f, "γ={} α={a} y={}", self.gamma, self.y),
            None => write!(f, "γ={} α=off y={}", self.gamma, self.y),
        }
    }
}

/// One combination of a γ job and how its exact values derive from the job's one oracle
/// evaluation (α off, the base target): the value times `factor`, negated for the gradient
/// when `negated` (then the kernel is fed the negated logits).
#[derive(Clone, Copy, Debug)]
struct Variant {
    combination: Combination,
    /// α_t of the combination.
    factor: f64,
    /// Whether y is not the base target: the kernel is fed −x for each logit x of the buffer.
    negated: bool,
}

/// α_t of a hard target y ∈ {0, 1} without smoothing, computed as the oracle computes it
/// (a·y' + (1−a)(1−y'), with y' = y): a for y = 1, 1 − a for y = 0, 1 with α off.
fn alpha_t(alpha: Option<f32>, y: f32) -> f64 {
    let y = f64::from(y);
    match alpha {
        Some(a) => f64::from(a) * y + (1.0 - f64::from(a)) * (1.0 - y),
        None => 1.0,
    }
}

/// `w · v` with the oracle's convention: a zero weight gives exactly 0, whatever `v` is.
fn mul0(w: f64, v: f64) -> f64 {
    if w == 0.0 {
        0.0
    } else {
        w * v
    }
}

impl Variant {
    /// The exact loss of this combination from the base evaluation's loss at the same logit x.
    fn loss(&self, base: &oracle::Exact) -> oracle::Exact {
        oracle::Exact {
            value: mul0(self.factor, base.value),
            scale: mul0(self.factor, base.scale),
            kappa: base.kappa,
        }
    }

    /// The exact gradient element of this combination from the base evaluation's one at x
    /// (with respect to the logit fed, −x when `negated`: hence the sign).
    fn grad(&self, base: &oracle::Exact) -> oracle::Exact {
        let value = mul0(self.factor, base.value);
        oracle::Exact {
            value: if self.negated { -value } else { value },
            scale: mul0(self.factor, base.scale),
            kappa: base.kappa,
        }
    }

    /// The oracle's options for a direct evaluation of this combination (the self-check).
    fn oracle_options(&self) -> oracle::Options {
        oracle::Options {
            gamma: f64::from(self.combination.gamma),
            alpha: self.combination.alpha.map(f64::from),
            reduction: oracle::Reduction::None,
            ..oracle::Options::default()
        }
    }
}

/// The oracle's options of a γ job's one evaluation: α off, reduction none.
fn base_options(gamma: f32) -> oracle::Options {
    oracle::Options {
        gamma: f64::from(gamma),
        alpha: None,
        reduction: oracle::Reduction::None,
        ..oracle::Options::default()
    }
}

/// The worst error seen and the logit (bit pattern) where it occurs.
#[derive(Clone, Copy, Debug)]
struct Worst {
    err: f64,
    bits: u32,
}

impl Worst {
    const NONE: Worst = Worst { err: f64::NEG_INFINITY, bits: u32::MAX };

    /// Ties go to the lower bit pattern, so that the report does not depend on which thread
    /// took which unit.
    #[inline]
    fn see(&mut self, err: f64, bits: u32) {
        if err > self.err || (err == self.err && bits < self.bits) {
            *self = Worst { err, bits };
        }
    }

    fn logit(self) -> f32 {
        f32::from_bits(self.bits)
    }
}

/// What one backend did on one combination.
#[derive(Clone, Copy, Debug)]
struct Tally {
    loss: Worst,
    grad: Worst,
    /// Outputs (losses and gradients) over one budget.
    over: u64,
    /// Of those, outputs that are NaN or an infinity the exact value is not.
    non_finite: u64,
}

impl Tally {
    const ZERO: Tally = Tally { loss: Worst::NONE, grad: Worst::NONE, over: 0, non_finite: 0 };

    #[inline]
    fn see(&mut self, loss_err: f64, grad_err: f64, bits: u32) {
        self.loss.see(loss_err, bits);
        self.grad.see(grad_err, bits);
        for err in [loss_err, grad_err] {
            if err > 1.0 {
                self.over += 1;
                self.non_finite += (err == f64::INFINITY) as u64;
            }
        }
    }

    /// Errors below this change nothing: they are neither a worst (or a tie) nor over 1.
    fn cut(&self) -> f64 {
        self.loss.err.min(self.grad.err).min(1.0)
    }

    fn merge(&mut self, other: &Tally) {
        self.loss.see(other.loss.err, other.loss.bits);
        self.grad.see(other.grad.err, other.grad.bits);
        self.over += other.over;
        self.non_finite += other.non_finite;
    }
}

/// One thread's (or, merged, one γ job's, or the whole run's) results and where its time went.
#[derive(Clone, Debug)]
struct Partial {
    /// Logits through the oracle (once per logit and γ).
    evaluated: u64,
    /// Logit·combinations checked (each logit once per combination of its job).
    checked: u64,
    /// Per combination of the job and backend, combination-major (empty for the whole run).
    tallies: Vec<Tally>,
    /// Thread wall time in the oracle, in deriving the combinations' exact values and budgets
    /// from it, in each backend's calls, and in the comparisons.
    oracle: Duration,
    derive: Duration,
    backends: Vec<Duration>,
    compare: Duration,
    /// The threads' wall time and CPU time: their ratio is the share of a core the threads
    /// had (the machine may be shared), by which the parts' wall times are scaled to CPU time.
    wall: Duration,
    cpu: Duration,
}

impl Partial {
    fn new(tallies: usize, backends: usize) -> Partial {
        Partial {
            evaluated: 0,
            checked: 0,
            tallies: vec![Tally::ZERO; tallies],
            oracle: Duration::ZERO,
            derive: Duration::ZERO,
            backends: vec![Duration::ZERO; backends],
            compare: Duration::ZERO,
            wall: Duration::ZERO,
            cpu: Duration::ZERO,
        }
    }

    fn merge(&mut self, other: &Partial) {
        self.evaluated += other.evaluated;
        self.checked += other.checked;
        for (t, o) in self.tallies.iter_mut().zip(&other.tallies) {
            t.merge(o);
        }
        self.oracle += other.oracle;
        self.derive += other.derive;
        for (t, o) in self.backends.iter_mut().zip(&other.backends) {
            *t += *o;
        }
        self.compare += other.compare;
        self.wall += other.wall;
        self.cpu += other.cpu;
    }

    /// The share of a core the threads had, 1 where there is no CPU clock.
    fn cpu_share(&self) -> f64 {
        (self.cpu.as_secs_f64() / self.wall.as_secs_f64()).min(1.0)
    }
}

/// One γ and its combinations, shared by the threads.
struct Job<'a> {
    cfg: &'a Config,
    gamma: f32,
    variants: Vec<Variant>,
    /// Per variant, the options of each backend of `cfg.backends`, reduction `none`.
    focal_losses: Vec<Vec<FocalLoss<'static>>>,
    /// The one evaluation per logit: α off, the base target.
    oracle: oracle::Options,
    base_target: f32,
    /// Bit-pattern indices (pattern = lo + index·stride) per unit of work.
    unit: u64,
    units: u64,
    next_unit: AtomicU64,
    /// Indices done, and when progress was last printed.
    done: AtomicU64,
    started: Instant,
    last_progress: Mutex<Instant>,
}

/// A thread's buffers, allocated once.
struct Workspace {
    /// The buffer's logits x, and −x for the variants fed the negations.
    logits: Vec<f32>,
    negated: Vec<f32>,
    wide_logits: Vec<f64>,
    wide_targets: Vec<f64>,
    /// Hard targets 0 and 1, for the kernels.
    zeros: Vec<f32>,
    ones: Vec<f32>,
    losses: Vec<f32>,
    grad: Vec<f32>,
    /// The oracle's losses and gradient elements (α off, the base target) at x.
    base: oracle::Outputs,
    /// One variant's exact values derived from them, prepared for [`Judged::error`].
    loss_ref: Vec<Judged>,
    grad_ref: Vec<Judged>,
}

/// An exact value and its budget, computed once per logit and combination and used for every
/// backend.
#[derive(Clone, Copy, Debug)]
struct Judged {
    exact: oracle::Exact,
    /// [`oracle::budget`], or NaN where the exact value is not finite or rounds to ±inf in
    /// float32 (the special cases of [`oracle::error_in_budgets`]).
    budget: f64,
}

impl Judged {
    fn new(exact: oracle::Exact) -> Judged {
        let ordinary = exact.value.is_finite() && (exact.value as f32).is_finite();
        Judged { exact, budget: if ordinary { oracle::budget(&exact) } else { f64::NAN } }
    }

    /// `oracle::error_in_budgets(computed, exact)`, the same arithmetic, with the budget
    /// computed once for all backends: the comparisons would otherwise cost about as much as the
    /// oracle. A NaN quotient (a special exact value, or a NaN computed one) takes the oracle's
    /// own path; an infinite computed value against a finite exact one gives +inf, as there.
    #[inline]
    fn error(&self, computed: f32) -> f64 {
        let err = (f64::from(computed) - self.exact.value).abs() / self.budget;
        if err.is_nan() {
            oracle::error_in_budgets(computed, &self.exact)
        } else {
            err
        }
    }

    /// Whether the error of `computed` is certainly below `cut` (> 0), without the division
    /// (the margin covers the roundings of both sides). False for NaN and the special cases.
    #[inline]
    fn below(&self, computed: f32, cut: f64) -> bool {
        (f64::from(computed) - self.exact.value).abs() < cut * self.budget * (1.0 - 1e-12)
    }
}

impl Job<'_> {
    fn worker(&self) -> Partial {
        let mut ws = Workspace {
            logits: Vec::with_capacity(BUFFER),
            negated: Vec::with_capacity(BUFFER),
            wide_logits: Vec::with_capacity(BUFFER),
            wide_targets: vec![f64::from(self.base_target); BUFFER],
            zeros: vec![0.0; BUFFER],
            ones: vec![1.0; BUFFER],
            losses: vec![0.0; BUFFER],
            grad: vec![0.0; BUFFER],
            base: oracle::Outputs { loss: Vec::new(), grad: Vec::new() },
            loss_ref: Vec::with_capacity(BUFFER),
            grad_ref: Vec::with_capacity(BUFFER),
        };
        let backends = self.cfg.backends.len();
        let mut partial = Partial::new(self.variants.len() * backends, backends);
        let (lo, stride, patterns) = (self.cfg.lo, self.cfg.stride, self.cfg.patterns());
        let (wall, cpu) = (Instant::now(), cpu_time());
        loop {
            let unit = self.next_unit.fetch_add(1, Ordering::Relaxed);
            if unit >= self.units {
                partial.wall += wall.elapsed();
                partial.cpu += cpu_time() - cpu;
                return partial;
            }
            let end = ((unit + 1) * self.unit).min(patterns);
            let mut index = unit * self.unit;
            while index < end {
                ws.logits.clear();
                while ws.logits.len() < BUFFER && index < end {
                    let x = f32::from_bits((lo + index * stride) as u32);
                    index += 1;
                    if x.is_finite() {
                        ws.logits.push(x);
                    }
                }
                if !ws.logits.is_empty() {
                    self.check(&mut ws, &mut partial);
                }
            }
            self.done.fetch_add(end - unit * self.unit, Ordering::Relaxed);
            self.report_progress();
        }
    }

    /// Checks one buffer of logits on every combination of the job and every backend.
    fn check(&self, ws: &mut Workspace, partial: &mut Partial) {
        let n = ws.logits.len();
        let t = Instant::now();
        ws.wide_logits.clear();
        ws.wide_logits.extend(ws.logits.iter().map(|&x| f64::from(x)));
        ws.base = oracle::sigmoid(&self.oracle, &ws.wide_logits, &ws.wide_targets[..n], 1);
        let t_derive = Instant::now();
        partial.oracle += t_derive - t;
        partial.evaluated += n as u64;
        if self.variants.iter().any(|v| v.negated) {
            ws.negated.clear();
            ws.negated.extend(ws.logits.iter().map(|&x| -x));
        }
        partial.derive += t_derive.elapsed();

        let backends = self.cfg.backends.len();
        for (j, variant) in self.variants.iter().enumerate() {
            let t = Instant::now();
            ws.loss_ref.clear();
            ws.loss_ref.extend(ws.base.loss.iter().map(|e| Judged::new(variant.loss(e))));
            ws.grad_ref.clear();
            ws.grad_ref.extend(ws.base.grad.iter().map(|e| Judged::new(variant.grad(e))));
            partial.derive += t.elapsed();
            partial.checked += n as u64;

            let logits = if variant.negated { &ws.negated[..n] } else { &ws.logits[..n] };
            let targets = if variant.combination.y == 1.0 { &ws.ones[..n] } else { &ws.zeros[..n] };
            for (k, fl) in self.focal_losses[j].iter().enumerate() {
                // NaN first: an element a backend failed to write must not pass on the previous
                // backend's (or combination's) value.
                ws.losses[..n].fill(f32::NAN);
                ws.grad[..n].fill(f32::NAN);
                let t = Instant::now();
                let out = Out::new().losses(&mut ws.losses[..n]).grad(&mut ws.grad[..n]);
                fl.sigmoid(logits, targets, 1, out).expect("valid inputs");
                let t_compare = Instant::now();
                partial.backends[k] += t_compare - t;

                let tally = &mut partial.tallies[j * backends + k];
                // Most outputs cannot change the tally (not over 1, not a new worst): skip their
                // divisions, which would cost more than the vector backends themselves.
                let mut cut = tally.cut();
                let exact = ws.loss_ref.iter().zip(&ws.grad_ref);
                let computed = ws.losses[..n].iter().zip(&ws.grad[..n]);
                for (((loss, grad), (&l, &g)), x) in exact.zip(computed).zip(logits) {
                    if loss.below(l, cut) && grad.below(g, cut) {
                        continue;
                    }
                    tally.see(loss.error(l), grad.error(g), x.to_bits());
                    cut = tally.cut();
                }
                partial.compare += t_compare.elapsed();
            }
        }
    }

    /// A progress line on stderr, at most every `cfg.progress` (whichever thread gets there).
    fn report_progress(&self) {
        let Ok(mut last) = self.last_progress.try_lock() else { return };
        if last.elapsed() < self.cfg.progress {
            return;
        }
        *last = Instant::now();
        let done = self.done.load(Ordering::Relaxed) as f64;
        let total = self.cfg.patterns() as f64;
        let secs = self.started.elapsed().as_secs_f64();
        let eta = secs * (total - done) / done.max(1.0);
        eprintln!(
            "  γ={} ({} combinations): {:5.1} % of the bit patterns, {:.1} M patterns/s, {} left",
            self.gamma,
            self.variants.len(),
            100.0 * done / total,
            done / secs / 1e6,
            duration(eta)
        );
    }
}

/// The CPU time of the calling thread where the platform gives it (64-bit Linux), else wall
/// time. Read twice per thread and combination only: it is a system call (about 0.6 µs here),
/// too slow to time each part of each buffer with.
fn cpu_time() -> Duration {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    {
        /// `struct timespec` on 64-bit Linux.
        #[repr(C)]
        struct Timespec {
            tv_sec: i64,
            tv_nsec: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
        }
        const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
        let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: the C library's clock_gettime writes one timespec through a valid pointer.
        if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// The oracle allocates its outputs (a few hundred KiB per buffer) and frees them. glibc gives
/// the freed top of a heap back to the kernel each time (its trim threshold is 128 KiB) and gets
/// it back through page faults for the next buffer: 10–15 % of the run went to the kernel. Keep
/// freed memory instead (the environment's `MALLOC_TRIM_THRESHOLD_` would do the same).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        // SAFETY: mallopt only sets an allocator parameter; no other thread runs yet.
        unsafe { mallopt(M_TRIM_THRESHOLD, i32::MAX) };
    }
}

/// Runs one γ, all its combinations, over the whole range on `cfg.threads` threads.
fn sweep(cfg: &Config, gamma: f32) -> Result<(Job<'_>, Partial, Duration), String> {
    let variants = cfg.variants(gamma);
    let mut focal_losses = Vec::new();
    for variant in &variants {
        let combination = variant.combination;
        let mut per_backend = Vec::new();
        for &backend in &cfg.backends {
            let mut b = FocalLoss::builder().gamma(gamma).reduction(Reduction::None).backend(backend);
            if let Some(a) = combination.alpha {
                b = b.alpha(a);
            }
            per_backend.push(b.build().map_err(|e| format!("{combination} on {backend}: {e}"))?);
        }
        focal_losses.push(per_backend);
    }
    // Units of about 1/64 of a thread's share: enough for the threads to end together, and no
    // more than 2^20 patterns, so that progress is seen. Whole buffers where possible.
    let patterns = cfg.patterns();
    let unit = (patterns / (cfg.threads as u64 * 64)).clamp(BUFFER as u64, 1 << 20);
    let started = Instant::now();
    let job = Job {
        cfg,
        gamma,
        variants,
        focal_losses,
        oracle: base_options(gamma),
        base_target: cfg.base_target(),
        unit,
        units: patterns.div_ceil(unit),
        next_unit: AtomicU64::new(0),
        done: AtomicU64::new(0),
        started,
        last_progress: Mutex::new(started),
    };
    let partials: Vec<Partial> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cfg.threads).map(|_| scope.spawn(|| job.worker())).collect();
        handles.into_iter().map(|h| h.join().expect("a worker panicked")).collect()
    });
    let mut total = Partial::new(job.variants.len() * cfg.backends.len(), cfg.backends.len());
    for p in &partials {
        total.merge(p);
    }
    let elapsed = started.elapsed();
    Ok((job, total, elapsed))
}

/// The self-check's logits: 4096 bit patterns spread over the whole range (one per 2^20, at an
/// offset within it that varies with a multiplicative hash, so that the mantissas vary), and
/// the places where the kernels or the oracle change regime, with their neighbours, both signs.
fn self_check_logits() -> Vec<f32> {
    let mut logits: Vec<f32> = (0..4096u32)
        .map(|i| f32::from_bits((i << 20) | (i.wrapping_mul(0x9e37_79b9) >> 12)))
        .filter(|x| x.is_finite())
        .collect();
    let anchors = [0.0, 1e-45, f32::MIN_POSITIVE, 1.0, 16.0, 88.0, 88.72284, 103.97208, 104.0, f32::MAX];
    for a in anchors {
        for x in [a, a.next_down(), a.next_up()] {
            if x.is_finite() {
                logits.extend([x, -x]);
            }
        }
    }
    logits
}

/// Whether a derived value agrees with the direct one: within 1e-12 relative, or, where either
/// is NaN, infinite or zero, exactly (0 = −0). Returns the relative difference, None if not.
fn agreement(derived: f64, direct: f64) -> Option<f64> {
    let ordinary = derived.is_finite() && direct.is_finite() && derived != 0.0 && direct != 0.0;
    if ordinary {
        let rel = (derived - direct).abs() / direct.abs();
        (rel <= 1e-12).then_some(rel)
    } else {
        (derived == direct || (derived.is_nan() && direct.is_nan())).then_some(0.0)
    }
}

/// Proves the derivation of the combinations' exact values (see the top of the file) against
/// the oracle as it is now: for every combination of the run, on [`self_check_logits`], the
/// derived losses and gradient elements against a direct oracle call at the logits the kernel
/// is fed. Returns a summary line, or the differences.
fn self_check(cfg: &Config) -> Result<String, String> {
    let logits = self_check_logits();
    let n = logits.len();
    let x: Vec<f64> = logits.iter().map(|&v| f64::from(v)).collect();
    let minus_x: Vec<f64> = logits.iter().map(|&v| f64::from(-v)).collect();
    let (mut compared, mut identical, mut worst) = (0u64, 0u64, 0.0f64);
    let mut differences = Vec::new();
    for &gamma in &cfg.gammas {
        let base = oracle::sigmoid(&base_options(gamma), &x, &vec![f64::from(cfg.base_target()); n], 1);
        for variant in cfg.variants(gamma) {
            let fed = if variant.negated { &minus_x } else { &x };
            let y = vec![f64::from(variant.combination.y); n];
            let direct = oracle::sigmoid(&variant.oracle_options(), fed, &y, 1);
            let derived: [(&str, Vec<oracle::Exact>, &[oracle::Exact]); 2] = [
                ("loss", base.loss.iter().map(|e| variant.loss(e)).collect(), &direct.loss),
                ("gradient", base.grad.iter().map(|e| variant.grad(e)).collect(), &direct.grad),
            ];
            for (what, derived, direct) in derived {
                for (i, (d, e)) in derived.iter().zip(direct).enumerate() {
                    compared += 1;
                    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || a == b;
                    identical +=
                        (same(d.value, e.value) && same(d.scale, e.scale) && same(d.kappa, e.kappa)) as u64;
                    let value = agreement(d.value, e.value);
                    let scale = agreement(d.scale, e.scale);
                    let kappa = d.kappa == e.kappa || (d.kappa.is_nan() && e.kappa.is_nan());
                    match (value, scale) {
                        (Some(v), Some(s)) if kappa => worst = worst.max(v).max(s),
                        _ => differences.push(format!(
                            "  {} {what} at logit {:e} (0x{:08x}): derived {d:?}, direct {e:?}",
                            variant.combination,
                            fed[i] as f32,
                            (fed[i] as f32).to_bits()
                        )),
                    }
                }
            }
        }
    }
    if differences.is_empty() {
        Ok(format!(
            "self-check: the derived exact values agree with direct oracle calls ({} logits, {} values; \
             {} bit-identical up to the sign of zero, largest relative difference {:e})",
            n, compared, identical, worst
        ))
    } else {
        let shown = differences.len().min(10);
        Err(format!(
            "self-check FAILED: {} of {} derived exact values differ from direct oracle calls by more \
             than 1e-12 relative (or in κ, or in a NaN, infinity or zero): the reuse of one oracle \
             evaluation per logit and γ is not valid for this oracle\n{}{}",
            differences.len(),
            compared,
            differences[..shown].join("\n"),
            if differences.len() > shown { "\n  …" } else { "" }
        ))
    }
}

/// `1h02m03s`, `4m05s`, `6.7s`.
fn duration(secs: f64) -> String {
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    }
}

fn at(w: Worst) -> String {
    format!("{:.4} at {:e} (0x{:08x})", w.err, w.logit(), w.bits)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let cfg = match Config::parse(&args) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("exhaustive: {e}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    keep_freed_memory();
    let names: Vec<&str> = cfg.backends.iter().map(|b| b.name()).collect();
    println!(
        "sigmoid kernel, hard targets, reduction none, buffers of {BUFFER}: bit patterns \
         0x{:x}..0x{:x} with stride {}, backends {}, {} combinations, {} thread(s)",
        cfg.lo,
        cfg.hi,
        cfg.stride,
        names.join(", "),
        cfg.combinations(),
        cfg.threads
    );
    let base = cfg.base_target();
    let other = 1.0 - base;
    println!(
        "one oracle evaluation per logit and γ (α off, y={base}), every combination derived from it; \
         {}",
        if cfg.targets.contains(&other) {
            format!("y={other} is fed the negated logits −x (bit pattern XOR 0x80000000)")
        } else {
            format!("y={base} is fed the logits as they are")
        }
    );
    match self_check(&cfg) {
        Ok(summary) => println!("{summary}"),
        Err(e) => {
            eprintln!("exhaustive: {e}");
            return ExitCode::FAILURE;
        }
    }
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut overall = Partial::new(0, cfg.backends.len());
    let mut estimate = (0.0, 0.0);
    let mut complete = true;
    for &gamma in &cfg.gammas {
        eprintln!("γ={gamma} …");
        let (job, result, elapsed) = match sweep(&cfg, gamma) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("exhaustive: {e}");
                return ExitCode::FAILURE;
            }
        };
        let logits = result.evaluated;
        let all = if logits == FINITE { " (every finite float32)" } else { "" };
        complete &= logits == FINITE;
        println!(
            "\nγ={gamma}: {} combination(s) of {} logits each in {} ({:.2} M logits/s, {:.2} M \
             logit·combinations/s)",
            job.variants.len(),
            logits,
            duration(elapsed.as_secs_f64()),
            logits as f64 / elapsed.as_secs_f64() / 1e6,
            result.checked as f64 / elapsed.as_secs_f64() / 1e6
        );
        let backends = cfg.backends.len();
        for (j, variant) in job.variants.iter().enumerate() {
            let combination = variant.combination;
            println!("\n{combination}: {logits} logits checked{all}");
            println!(
                "  {:<9} {:<44} {:<44} over 1",
                "backend", "worst loss error (budgets)", "worst gradient error"
            );
            let tallies = &result.tallies[j * backends..(j + 1) * backends];
            for (backend, tally) in cfg.backends.iter().zip(tallies) {
                let verdict = if tally.over == 0 {
                    "0".to_string()
                } else {
                    failures.push(format!("{combination} on {backend}"));
                    format!("{} FAIL ({} NaN or unexpected ±inf)", tally.over, tally.non_finite)
                };
                println!("  {:<9} {:<44} {:<44} {verdict}", backend.name(), at(tally.loss), at(tally.grad));
            }
        }
        // Extrapolated to every finite logit: at this run's pace, and with whole cores.
        let scale = FINITE as f64 / logits.max(1) as f64;
        estimate.0 += elapsed.as_secs_f64() * scale;
        estimate.1 += result.cpu.as_secs_f64() * scale / cfg.threads as f64;
        overall.merge(&result);
    }

    let wall = started.elapsed().as_secs_f64();
    let share = overall.cpu_share();
    println!(
        "\n{} logit·combinations checked in {} ({} thread(s), which had {:.0} % of a core each)",
        overall.checked,
        duration(wall),
        cfg.threads,
        100.0 * share
    );
    // CPU time per logit and combination: what each part costs one core, whatever else the
    // machine ran.
    let rate = |cpu: f64| {
        let per = cpu / overall.checked.max(1) as f64;
        format!("{:6.1} ns/logit ({:7.1} M logits/s)", per * 1e9, 1e-6 / per)
    };
    let part = |wall: Duration| rate(wall.as_secs_f64() * share);
    println!("CPU time per logit and combination, one core:");
    println!(
        "  oracle    {} ({:.1} ns per evaluation, one per logit and γ)",
        part(overall.oracle),
        overall.oracle.as_secs_f64() * share / overall.evaluated.max(1) as f64 * 1e9
    );
    println!("  derive    {} (exact values and budgets of each combination)", part(overall.derive));
    for (backend, &t) in cfg.backends.iter().zip(&overall.backends) {
        println!("  {:<9} {}", backend.name(), part(t));
    }
    println!("  compare   {} (all backends)", part(overall.compare));
    println!("  total     {} (all parts, buffers included)", rate(overall.cpu.as_secs_f64()));
    // Only for the whole range: a part of it need not be typical.
    if !complete && cfg.lo == 0 && cfg.hi == 1 << 32 {
        println!(
            "estimated time for every finite logit, these combinations and backends: {} at this \
             run's pace, {} on {} idle cores",
            duration(estimate.0),
            duration(estimate.1),
            cfg.threads
        );
    }
    if failures.is_empty() {
        println!("every output within 1 budget");
        ExitCode::SUCCESS
    } else {
        println!("over budget: {}", failures.join("; "));
        ExitCode::FAILURE
    }
}
