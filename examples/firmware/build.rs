//! Host-side preparation of the firmware, all written into OUT_DIR:
//!
//! - `memory.x`: the board's memory map (cortex-m-rt's `link.x` includes it);
//! - `selftest.rs`: fixed inputs for every task × reduction and their exact outputs, computed by
//!   the project's float64 oracle, which the firmware compares with within DESIGN §3's budget;
//! - `bench.rs`: the 1024 logits and hard targets of the kernel cost measurement;
//! - `digits.rs`: the optical-digits data set of the fine-tuning demo, as flash arrays.

use std::fmt::Write as _;
use std::path::PathBuf;

use oracle::{Exact, Options, Outputs, Reduction};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // A memory.x beside Cargo.toml would win silently through the linker's search path: the
    // board file has its own name and is copied here.
    std::fs::copy("mps2-an386.x", out.join("memory.x")).expect("copy mps2-an386.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=mps2-an386.x");
    println!("cargo:rerun-if-changed=data/optdigits.txt");
    println!("cargo:rerun-if-changed=build.rs");

    std::fs::write(out.join("selftest.rs"), selftest()).expect("write selftest.rs");
    std::fs::write(out.join("bench.rs"), bench()).expect("write bench.rs");
    std::fs::write(out.join("digits.rs"), digits()).expect("write digits.rs");
}

/// A deterministic generator of uniforms in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f32 {
        (lo + (hi - lo) * self.next()) as f32
    }

    /// A standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (1.0 - self.next(), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn f32_lit(v: f32) -> String {
    if v.is_nan() {
        "f32::NAN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "f32::INFINITY" } else { "f32::NEG_INFINITY" }.into()
    } else {
        format!("{v:?}")
    }
}

fn f64_lit(v: f64) -> String {
    if v.is_nan() {
        "f64::NAN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "f64::INFINITY" } else { "f64::NEG_INFINITY" }.into()
    } else {
        format!("{v:?}")
    }
}

fn list<T>(values: &[T], lit: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = values.iter().map(lit).collect();
    format!("&[{}]", items.join(", "))
}

fn exacts(values: &[Exact]) -> String {
    list(values, |e| {
        format!(
            "Exact {{ value: {}, scale: {}, kappa: {} }}",
            f64_lit(e.value),
            f64_lit(e.scale),
            f64_lit(e.kappa)
        )
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Task {
    Binary,
    MultiLabel,
    MultiClass,
    Probs,
}

/// The options of one case in both worlds: the oracle's, and the Rust source of the firmware's.
struct CaseOptions {
    name: String,
    oracle: Options,
    class_alpha: Option<Vec<f32>>,
}

/// Variant 0: γ = 2, α = 0.25, hard targets, saturated logits, an ignored row and a masked class
/// (softmax). Variant 1: γ = 1.5, per-class α, label smoothing 0.1, soft targets, a normalizer.
/// Variant 2: γ = 0 (cross-entropy), no α.
fn case_options(task: Task, reduction: Reduction, variant: usize, classes: usize) -> CaseOptions {
    let task_name = match task {
        Task::Binary => "binary",
        Task::MultiLabel => "multi-label",
        Task::MultiClass => "multi-class",
        Task::Probs => "probabilities",
    };
    let red = match reduction {
        Reduction::None => "none",
        Reduction::Sum => "sum",
        Reduction::Mean => "mean",
    };
    let mut o = Options { reduction, ..Options::default() };
    let mut class_alpha = None;
    let what = match variant {
        0 => {
            o.alpha = Some(0.25);
            if task == Task::MultiClass {
                o.ignore_index = Some(-100);
            }
            "gamma 2, alpha 0.25"
        }
        1 => {
            o.gamma = 1.5;
            o.label_smoothing = f64::from(0.1f32);
            o.normalizer = Some(2.5);
            let ca: Vec<f32> = match task {
                Task::Binary | Task::MultiLabel => [0.2, 0.5, 0.9][..classes].to_vec(),
                Task::MultiClass | Task::Probs => [0.25, 0.5, 1.0, 2.0][..classes].to_vec(),
            };
            o.class_alpha = Some(ca.iter().map(|&a| f64::from(a)).collect());
            class_alpha = Some(ca);
            "gamma 1.5, class alpha, smoothing 0.1, normalizer 2.5"
        }
        _ => {
            o.gamma = 0.0;
            "gamma 0"
        }
    };
    CaseOptions { name: format!("{task_name} {red}: {what}"), oracle: o, class_alpha }
}

fn selftest() -> String {
    let mut rng = Lcg(0x5eed_f0ca_1105);
    let mut src = String::from("// Generated by build.rs from the float64 oracle: do not edit.\n\n");
    src.push_str("pub static CASES: &[Case] = &[\n");
    let mut count = 0;
    for task in [Task::Binary, Task::MultiLabel, Task::MultiClass, Task::Probs] {
        for reduction in [Reduction::None, Reduction::Sum, Reduction::Mean] {
            let variants: &[usize] = if reduction == Reduction::Mean { &[0, 1, 2] } else { &[0, 1] };
            for &variant in variants {
                let (rows, classes) = match task {
                    Task::Binary => (8, 1),
                    Task::MultiLabel => (4, 3),
                    Task::MultiClass => (5, 4),
                    Task::Probs => (4, 4),
                };
                let opts = case_options(task, reduction, variant, classes);
                let n = rows * classes;
                let mut logits: Vec<f32> = (0..n).map(|_| rng.range(-6.0, 6.0)).collect();
                let (targets_src, out, total) = match task {
                    Task::Binary | Task::MultiLabel => {
                        let targets: Vec<f32> = (0..n)
                            .map(|_| {
                                if variant == 1 {
                                    rng.range(0.0, 1.0)
                                } else {
                                    (rng.next() < 0.3) as u8 as f32
                                }
                            })
                            .collect();
                        if variant == 0 {
                            logits[0] = 20.0; // saturated, κ = 40
                            logits[1] = -17.5;
                        }
                        let x: Vec<f64> = logits.iter().map(|&v| v.into()).collect();
                        let y: Vec<f64> = targets.iter().map(|&v| v.into()).collect();
                        let run = |o: &Options| oracle::sigmoid(o, &x, &y, classes);
                        let (out, total) = with_total(&opts.oracle, run);
                        (format!("Targets::Values({})", list(&targets, |v| f32_lit(*v))), out, total)
                    }
                    Task::MultiClass => {
                        let mut targets: Vec<i64> =
                            (0..rows).map(|_| (rng.next() * classes as f64) as i64).collect();
                        if variant == 0 {
                            targets[2] = -100; // ignored
                            let masked = (targets[0] as usize + 1) % classes;
                            logits[masked] = f32::NEG_INFINITY; // a masked class without target mass
                            logits[classes + 1] = 40.0; // a wide row
                        }
                        let x: Vec<f64> = logits.iter().map(|&v| v.into()).collect();
                        let run = |o: &Options| oracle::softmax(o, &x, &targets, classes);
                        let (out, total) = with_total(&opts.oracle, run);
                        (format!("Targets::Indices({})", list(&targets, |v| v.to_string())), out, total)
                    }
                    Task::Probs => {
                        let mut probs = Vec::with_capacity(n);
                        for _ in 0..rows {
                            let raw: Vec<f64> = (0..classes).map(|_| rng.next()).collect();
                            let s: f64 = raw.iter().sum();
                            probs.extend(raw.iter().map(|r| (r / s) as f32));
                        }
                        let x: Vec<f64> = logits.iter().map(|&v| v.into()).collect();
                        let r: Vec<f64> = probs.iter().map(|&v| v.into()).collect();
                        let run = |o: &Options| oracle::softmax_probs(o, &x, &r, classes);
                        let (out, total) = with_total(&opts.oracle, run);
                        (format!("Targets::Probs({})", list(&probs, |v| f32_lit(*v))), out, total)
                    }
                };
                let o = &opts.oracle;
                let opt_f32 =
                    |v: Option<f64>| v.map_or("None".into(), |v| format!("Some({})", f32_lit(v as f32)));
                let _ = write!(
                    src,
                    "    Case {{\n        name: {:?},\n        classes: {classes},\n        gamma: {},\n        \
                     alpha: {},\n        class_alpha: {},\n        label_smoothing: {},\n        \
                     reduction: Reduction::{:?},\n        normalizer: {},\n        ignore_index: {:?},\n        \
                     logits: {},\n        targets: {targets_src},\n        total: {},\n        losses: {},\n        \
                     grad: {},\n    }},\n",
                    opts.name,
                    f32_lit(o.gamma as f32),
                    opt_f32(o.alpha),
                    opts.class_alpha.as_ref().map_or("None".into(), |ca| format!("Some({})", list(ca, |v| f32_lit(*v)))),
                    f32_lit(o.label_smoothing as f32),
                    o.reduction,
                    opt_f32(o.normalizer),
                    o.ignore_index,
                    list(&logits, |v| f32_lit(*v)),
                    exacts(&[total]),
                    exacts(if reduction == Reduction::None { &out.loss } else { &[] }),
                    exacts(&out.grad),
                );
                count += 1;
            }
        }
    }
    src.push_str("];\n");
    let _ = writeln!(src, "\n/// How many cases: every task × reduction, in 2 or 3 variants.\npub const CASE_COUNT: usize = {count};");
    src
}

/// The oracle's outputs, and the value every entry point returns: the reduced loss, or for
/// `none` the sum of the losses (the oracle's `Sum`).
fn with_total(o: &Options, run: impl Fn(&Options) -> Outputs) -> (Outputs, Exact) {
    let out = run(o);
    let total = match o.reduction {
        Reduction::None => run(&Options { reduction: Reduction::Sum, ..o.clone() }).loss[0],
        _ => out.loss[0],
    };
    (out, total)
}

/// DESIGN §6's bench configuration for the binary task: logits ~ N(0, 3²), hard targets
/// Bernoulli(0.5).
fn bench() -> String {
    let mut rng = Lcg(0xbe9c_1024);
    let logits: Vec<f32> = (0..1024).map(|_| (3.0 * rng.normal()) as f32).collect();
    let targets: Vec<f32> = (0..1024).map(|_| (rng.next() < 0.5) as u8 as f32).collect();
    format!(
        "// Generated by build.rs: do not edit.\n\n\
         /// Logits ~ N(0, 3²).\npub static LOGITS: [f32; 1024] = [{}];\n\n\
         /// Hard targets, Bernoulli(0.5).\npub static TARGETS: [f32; 1024] = [{}];\n",
        logits.iter().map(|v| f32_lit(*v)).collect::<Vec<_>>().join(", "),
        targets.iter().map(|v| f32_lit(*v)).collect::<Vec<_>>().join(", "),
    )
}

/// `data/optdigits.txt` as `PIXELS: [[u8; 64]; N]` and `LABELS: [u8; N]`.
fn digits() -> String {
    let text = std::fs::read_to_string("data/optdigits.txt").expect("read data/optdigits.txt");
    let (mut pixels, mut labels) = (String::new(), String::new());
    let mut n = 0;
    for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.starts_with('#') && !l.is_empty()) {
        let bad = || -> String { format!("data/optdigits.txt:{}: malformed", line_no + 1) };
        let (label, px) = line.split_once(' ').unwrap_or_else(|| panic!("{}", bad()));
        let label: u8 = label.parse().unwrap_or_else(|_| panic!("{}", bad()));
        let px: Vec<u32> =
            px.chars().map(|c| c.to_digit(17).unwrap_or_else(|| panic!("{}", bad()))).collect();
        assert!(px.len() == 64 && label <= 9, "{}", bad());
        let _ = writeln!(pixels, "    {:?},", px);
        let _ = write!(labels, "{label}, ");
        n += 1;
    }
    format!(
        "// Generated by build.rs from data/optdigits.txt: do not edit.\n\n\
         /// Samples.\npub const N: usize = {n};\n\n\
         /// 8 × 8 counts of on-pixels (0..=16), row by row.\npub static PIXELS: [[u8; 64]; N] = [\n{pixels}];\n\n\
         /// The digit of each sample.\npub static LABELS: [u8; N] = [{labels}];\n"
    )
}
