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
//! The oracle is evaluated once per logit and combination, and every backend is compared with
//! that one evaluation: it costs about as much as the scalar backend, and several times the
//! vector backends together. Logits are fed in
//! buffers of [`BUFFER`] with reduction `none`, so that the kernels' vector bodies run, not only
//! their tails; both the per-element loss and the gradient are judged. The bit patterns are
//! split into units that the threads take in turn from a shared counter.
//!
//! It prints, per combination and backend, the worst loss and gradient errors in budgets and the
//! logit where each occurs, the number of logits checked and the time, and exits with failure if
//! any output is over one budget (NaN, or an infinity that is not the exact answer, counts as an
//! infinite error).

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
                    default 0..0x100000000 (every float32; NaN and ±inf are skipped)
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

    /// The combinations, in the order of the lists (the first list varies slowest).
    fn combinations(&self) -> Vec<Combination> {
        let mut v = Vec::new();
        for &gamma in &self.gammas {
            for &alpha in &self.alphas {
                for &y in &self.targets {
                    v.push(Combination { gamma, alpha, y });
                }
            }
        }
        v
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

/// One thread's (or, merged, one combination's) results and where its time went.
#[derive(Clone, Debug)]
struct Partial {
    checked: u64,
    tallies: Vec<Tally>,
    /// Thread wall time in the oracle, in each backend's call, and in the comparisons.
    oracle: Duration,
    backends: Vec<Duration>,
    compare: Duration,
    /// The threads' wall time and CPU time: their ratio is the share of a core the threads
    /// had (the machine may be shared), by which the parts' wall times are scaled to CPU time.
    wall: Duration,
    cpu: Duration,
}

impl Partial {
    fn new(backends: usize) -> Partial {
        Partial {
            checked: 0,
            tallies: vec![Tally::ZERO; backends],
            oracle: Duration::ZERO,
            backends: vec![Duration::ZERO; backends],
            compare: Duration::ZERO,
            wall: Duration::ZERO,
            cpu: Duration::ZERO,
        }
    }

    fn merge(&mut self, other: &Partial) {
        self.checked += other.checked;
        for (t, o) in self.tallies.iter_mut().zip(&other.tallies) {
            t.merge(o);
        }
        self.oracle += other.oracle;
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

/// One combination, shared by the threads.
struct Job<'a> {
    cfg: &'a Config,
    combination: Combination,
    /// The options, one per backend of `cfg.backends`, reduction `none`.
    focal_losses: Vec<FocalLoss<'static>>,
    oracle: oracle::Options,
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
    logits: Vec<f32>,
    wide_logits: Vec<f64>,
    targets: Vec<f32>,
    wide_targets: Vec<f64>,
    losses: Vec<f32>,
    grad: Vec<f32>,
    /// The oracle's losses and gradient elements, prepared for [`Judged::error`].
    loss_ref: Vec<Judged>,
    grad_ref: Vec<Judged>,
}

/// An exact value and its budget, computed once per logit and used for every backend.
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
        let y = self.combination.y;
        let mut ws = Workspace {
            logits: Vec::with_capacity(BUFFER),
            wide_logits: Vec::with_capacity(BUFFER),
            targets: vec![y; BUFFER],
            wide_targets: vec![f64::from(y); BUFFER],
            losses: vec![0.0; BUFFER],
            grad: vec![0.0; BUFFER],
            loss_ref: Vec::with_capacity(BUFFER),
            grad_ref: Vec::with_capacity(BUFFER),
        };
        let mut partial = Partial::new(self.focal_losses.len());
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

    /// Checks one buffer of logits on every backend.
    fn check(&self, ws: &mut Workspace, partial: &mut Partial) {
        let n = ws.logits.len();
        let t = Instant::now();
        ws.wide_logits.clear();
        ws.wide_logits.extend(ws.logits.iter().map(|&x| f64::from(x)));
        let exact = oracle::sigmoid(&self.oracle, &ws.wide_logits, &ws.wide_targets[..n], 1);
        ws.loss_ref.clear();
        ws.loss_ref.extend(exact.loss.into_iter().map(Judged::new));
        ws.grad_ref.clear();
        ws.grad_ref.extend(exact.grad.into_iter().map(Judged::new));
        partial.oracle += t.elapsed();
        partial.checked += n as u64;

        for (k, fl) in self.focal_losses.iter().enumerate() {
            // NaN first: an element a backend failed to write must not pass on the previous
            // backend's value.
            ws.losses[..n].fill(f32::NAN);
            ws.grad[..n].fill(f32::NAN);
            let t = Instant::now();
            let out = Out::new().losses(&mut ws.losses[..n]).grad(&mut ws.grad[..n]);
            fl.sigmoid(&ws.logits, &ws.targets[..n], 1, out).expect("valid inputs");
            let t_compare = Instant::now();
            partial.backends[k] += t_compare - t;

            let tally = &mut partial.tallies[k];
            // Most outputs cannot change the tally (not over 1, not a new worst): skip their
            // divisions, which would cost more than the vector backends themselves.
            let mut cut = tally.cut();
            for i in 0..n {
                let (loss, grad) = (&ws.loss_ref[i], &ws.grad_ref[i]);
                if loss.below(ws.losses[i], cut) && grad.below(ws.grad[i], cut) {
                    continue;
                }
                tally.see(loss.error(ws.losses[i]), grad.error(ws.grad[i]), ws.logits[i].to_bits());
                cut = tally.cut();
            }
            partial.compare += t_compare.elapsed();
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
            "  {}: {:5.1} % of the bit patterns, {:.1} M patterns/s, {} left",
            self.combination,
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

/// Runs one combination over the whole range on `cfg.threads` threads.
fn sweep(cfg: &Config, combination: Combination) -> Result<(Partial, Duration), String> {
    let mut focal_losses = Vec::new();
    for &backend in &cfg.backends {
        let mut b = FocalLoss::builder().gamma(combination.gamma).reduction(Reduction::None).backend(backend);
        if let Some(a) = combination.alpha {
            b = b.alpha(a);
        }
        focal_losses.push(b.build().map_err(|e| format!("{combination} on {backend}: {e}"))?);
    }
    let oracle = oracle::Options {
        gamma: f64::from(combination.gamma),
        alpha: combination.alpha.map(f64::from),
        reduction: oracle::Reduction::None,
        ..oracle::Options::default()
    };
    // Units of about 1/64 of a thread's share: enough for the threads to end together, and no
    // more than 2^20 patterns, so that progress is seen. Whole buffers where possible.
    let patterns = cfg.patterns();
    let unit = (patterns / (cfg.threads as u64 * 64)).clamp(BUFFER as u64, 1 << 20);
    let started = Instant::now();
    let job = Job {
        cfg,
        combination,
        focal_losses,
        oracle,
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
    let mut total = Partial::new(cfg.backends.len());
    for p in &partials {
        total.merge(p);
    }
    Ok((total, started.elapsed()))
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
        cfg.combinations().len(),
        cfg.threads
    );
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut overall = Partial::new(cfg.backends.len());
    let mut estimate = (0.0, 0.0);
    let mut complete = true;
    for combination in cfg.combinations() {
        eprintln!("{combination} …");
        let (result, elapsed) = match sweep(&cfg, combination) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("exhaustive: {e}");
                return ExitCode::FAILURE;
            }
        };
        let all = if result.checked == FINITE { " (every finite float32)" } else { "" };
        complete &= result.checked == FINITE;
        println!(
            "\n{combination}: {} logits checked{all} in {} ({:.2} M logits/s)",
            result.checked,
            duration(elapsed.as_secs_f64()),
            result.checked as f64 / elapsed.as_secs_f64() / 1e6
        );
        println!(
            "  {:<9} {:<44} {:<44} over 1",
            "backend", "worst loss error (budgets)", "worst gradient error"
        );
        for (backend, tally) in cfg.backends.iter().zip(&result.tallies) {
            let verdict = if tally.over == 0 {
                "0".to_string()
            } else {
                failures.push(format!("{combination} on {backend}"));
                format!("{} FAIL ({} NaN or unexpected ±inf)", tally.over, tally.non_finite)
            };
            println!("  {:<9} {:<44} {:<44} {verdict}", backend.name(), at(tally.loss), at(tally.grad));
        }
        // Extrapolated to every finite logit: at this run's pace, and with whole cores.
        let scale = FINITE as f64 / result.checked.max(1) as f64;
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
    // CPU time per logit: what each part costs one core, whatever else the machine ran.
    let rate = |cpu: f64| {
        let per = cpu / overall.checked.max(1) as f64;
        format!("{:6.1} ns/logit ({:7.1} M logits/s)", per * 1e9, 1e-6 / per)
    };
    let part = |wall: Duration| rate(wall.as_secs_f64() * share);
    println!("CPU time per logit, one core:");
    println!("  oracle    {}", part(overall.oracle));
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
