//! Generates `tests/c/expected.h`, the fixed inputs and the float64 oracle's values that the C
//! test (`tests/c/test_capi.c`) checks the C ABI against, and fails when the committed file
//! differs from what the oracle gives now (drift). After a deliberate change, regenerate it with
//!
//! ```text
//! FL_BLESS=1 cargo test -p focal-loss-capi --test expected
//! ```
//!
//! Each input set is run with each reduction. Alongside every exact value the file holds its
//! error budget from DESIGN §3 (`oracle::budget`: 2^-23 · (16 + 4κ) · max(S, 2^-126)), which the C
//! test asserts, so the C side applies the same accuracy contract as the Rust tests.

use std::fmt::Write as _;

use oracle::{Exact, Options, Outputs, Reduction};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/c/expected.h");

/// A small deterministic generator, so the file is the same everywhere.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly normal, mean 0 and standard deviation `sd` (sum of uniforms).
    fn normal(&mut self, sd: f32) -> f32 {
        ((0..12).map(|_| self.uniform()).sum::<f32>() - 6.0) * sd
    }
}

enum Targets {
    /// Sigmoid targets in [0, 1].
    Values(Vec<f32>),
    /// Class indices (the ignore index included).
    Classes(Vec<i64>),
    /// Target probabilities.
    Probs(Vec<f32>),
}

struct Inputs {
    name: &'static str,
    rows: usize,
    classes: usize,
    gamma: f32,
    alpha: Option<f32>,
    label_smoothing: f32,
    normalizer: f32,
    ignore_index: i64,
    class_alpha: Option<Vec<f32>>,
    logits: Vec<f32>,
    targets: Targets,
}

impl Inputs {
    fn new(name: &'static str, rows: usize, classes: usize, targets: Targets, rng: &mut Lcg) -> Inputs {
        Inputs {
            name,
            rows,
            classes,
            gamma: 2.0,
            alpha: None,
            label_smoothing: 0.0,
            normalizer: 0.0,
            ignore_index: -100,
            class_alpha: None,
            logits: (0..rows * classes).map(|_| rng.normal(3.0)).collect(),
            targets,
        }
    }

    fn exact(&self, reduction: Reduction) -> Outputs {
        let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        let opts = Options {
            gamma: self.gamma.into(),
            alpha: self.alpha.map(f64::from),
            class_alpha: self.class_alpha.as_deref().map(wide),
            label_smoothing: self.label_smoothing.into(),
            reduction,
            normalizer: Some(self.normalizer.into()),
            ignore_index: Some(self.ignore_index),
        };
        let logits = wide(&self.logits);
        match &self.targets {
            Targets::Values(t) => oracle::sigmoid(&opts, &logits, &wide(t), self.classes),
            Targets::Classes(t) => oracle::softmax(&opts, &logits, t, self.classes),
            Targets::Probs(t) => oracle::softmax_probs(&opts, &logits, &wide(t), self.classes),
        }
    }
}

fn inputs() -> Vec<Inputs> {
    let mut rng = Lcg(0x00f0_ca11_0055);
    let mut sets = Vec::new();

    let hard = |n: usize, rng: &mut Lcg| (0..n).map(|_| f32::from(rng.uniform() < 0.4)).collect();
    let t = hard(8, &mut rng);
    sets.push(Inputs { alpha: Some(0.25), ..Inputs::new("binary", 8, 1, Targets::Values(t), &mut rng) });

    let t = (0..6).map(|_| rng.uniform()).collect();
    sets.push(Inputs {
        gamma: 1.5,
        label_smoothing: 0.1,
        ..Inputs::new("binary_soft_smoothed", 6, 1, Targets::Values(t), &mut rng)
    });

    let t = hard(12, &mut rng);
    sets.push(Inputs {
        class_alpha: Some(vec![0.1, 0.25, 0.5, 0.9]),
        normalizer: 5.0,
        ..Inputs::new("multilabel_class_alpha_normalizer", 3, 4, Targets::Values(t), &mut rng)
    });

    sets.push(Inputs {
        class_alpha: Some(vec![0.25, 0.5, 0.75, 1.0]),
        ..Inputs::new(
            "softmax_class_alpha_ignored_row",
            5,
            4,
            Targets::Classes(vec![0, 3, -100, 1, 2]),
            &mut rng,
        )
    });

    sets.push(Inputs {
        gamma: 0.5,
        alpha: Some(0.5),
        label_smoothing: 0.1,
        ignore_index: 2,
        ..Inputs::new("softmax_smoothed_ignore_index_2", 4, 3, Targets::Classes(vec![0, 1, 2, 1]), &mut rng)
    });

    sets.push(Inputs {
        gamma: 0.0,
        ..Inputs::new("softmax_cross_entropy", 3, 10, Targets::Classes(vec![9, 0, 4]), &mut rng)
    });

    let probs = |rows: usize, classes: usize, rng: &mut Lcg| -> Vec<f32> {
        (0..rows)
            .flat_map(|_| {
                let raw: Vec<f32> = (0..classes).map(|_| rng.uniform()).collect();
                let total: f32 = raw.iter().sum();
                raw.into_iter().map(move |r| r / total).collect::<Vec<f32>>()
            })
            .collect()
    };
    let p = probs(3, 5, &mut rng);
    sets.push(Inputs {
        normalizer: 2.0,
        ..Inputs::new("probs_normalizer", 3, 5, Targets::Probs(p), &mut rng)
    });

    let p = probs(2, 3, &mut rng);
    sets.push(Inputs {
        gamma: 1.0,
        label_smoothing: 0.05,
        class_alpha: Some(vec![1.0, 2.0, 0.5]),
        ..Inputs::new("probs_class_alpha_smoothed", 2, 3, Targets::Probs(p), &mut rng)
    });
    sets
}

fn f32s(v: &[f32]) -> String {
    v.iter().map(|x| format!("{x:?}f")).collect::<Vec<_>>().join(", ")
}

fn f64s(v: impl Iterator<Item = f64>) -> String {
    v.map(|x| {
        assert!(x.is_finite(), "the C test's expected values are finite");
        format!("{x:?}")
    })
    .collect::<Vec<_>>()
    .join(", ")
}

fn values(e: &[Exact]) -> String {
    f64s(e.iter().map(|e| e.value))
}

fn budgets(e: &[Exact]) -> String {
    f64s(e.iter().map(oracle::budget))
}

fn generate() -> String {
    let mut arrays = String::new();
    let mut cases = String::new();
    for (i, s) in inputs().iter().enumerate() {
        let p = format!("in{i}");
        let w = &mut arrays;
        writeln!(w, "/* {}: {} x {} */", s.name, s.rows, s.classes).unwrap();
        writeln!(w, "static const float {p}_logits[] = {{{}}};", f32s(&s.logits)).unwrap();
        let (task, targets, class_targets) = match &s.targets {
            Targets::Values(t) | Targets::Probs(t) => {
                writeln!(w, "static const float {p}_targets[] = {{{}}};", f32s(t)).unwrap();
                let task = if matches!(s.targets, Targets::Values(_)) {
                    "EXPECTED_SIGMOID"
                } else {
                    "EXPECTED_PROBS"
                };
                (task, format!("{p}_targets"), "NULL".to_string())
            }
            Targets::Classes(t) => {
                let t: Vec<String> = t.iter().map(i64::to_string).collect();
                writeln!(w, "static const int64_t {p}_classes[] = {{{}}};", t.join(", ")).unwrap();
                ("EXPECTED_SOFTMAX", "NULL".to_string(), format!("{p}_classes"))
            }
        };
        let class_alpha = match &s.class_alpha {
            Some(a) => {
                writeln!(w, "static const float {p}_class_alpha[] = {{{}}};", f32s(a)).unwrap();
                format!("{p}_class_alpha")
            }
            None => "NULL".to_string(),
        };
        for (reduction, tag, c_reduction) in [
            (Reduction::None, "none", "FL_REDUCTION_NONE"),
            (Reduction::Sum, "sum", "FL_REDUCTION_SUM"),
            (Reduction::Mean, "mean", "FL_REDUCTION_MEAN"),
        ] {
            let out = s.exact(reduction);
            let q = format!("{p}_{tag}");
            writeln!(w, "static const double {q}_loss[] = {{{}}};", values(&out.loss)).unwrap();
            writeln!(w, "static const double {q}_loss_budget[] = {{{}}};", budgets(&out.loss)).unwrap();
            writeln!(w, "static const double {q}_grad[] = {{{}}};", values(&out.grad)).unwrap();
            writeln!(w, "static const double {q}_grad_budget[] = {{{}}};", budgets(&out.grad)).unwrap();
            let alpha = s.alpha.map_or("NAN".to_string(), |a| format!("{a:?}f"));
            writeln!(
                cases,
                "    {{\"{name}/{tag}\", {task}, {rows}, {classes}, {c_reduction}, {gamma:?}f, {alpha}, {ls:?}f, \
                 {norm:?}f, {ignore}, {class_alpha},\n     {p}_logits, {targets}, {class_targets}, {n_loss}, \
                 {q}_loss, {q}_loss_budget, {q}_grad, {q}_grad_budget}},",
                name = s.name,
                rows = s.rows,
                classes = s.classes,
                gamma = s.gamma,
                ls = s.label_smoothing,
                norm = s.normalizer,
                ignore = s.ignore_index,
                n_loss = out.loss.len(),
            )
            .unwrap();
        }
        arrays.push('\n');
    }
    format!(
        "/* Generated by capi/tests/expected.rs from the float64 oracle (oracle/): do not edit.\n \
         * Regenerate with FL_BLESS=1 cargo test -p focal-loss-capi --test expected. */\n\
         #ifndef FOCAL_LOSS_EXPECTED_H\n\
         #define FOCAL_LOSS_EXPECTED_H\n\n\
         #include <math.h>\n\
         #include <stddef.h>\n\
         #include <stdint.h>\n\n\
         #include \"focal_loss.h\"\n\n\
         enum {{ EXPECTED_SIGMOID, EXPECTED_SOFTMAX, EXPECTED_PROBS }};\n\n\
         /* One call: its inputs and options, and per output value the exact value and its error\n   \
         budget (DESIGN 3: 2^-23 * (16 + 4 kappa) * max(S, 2^-126)). */\n\
         typedef struct ExpectedCase {{\n    \
             const char *name;\n    \
             int task;\n    \
             size_t rows, classes;\n    \
             int32_t reduction;\n    \
             float gamma, alpha, label_smoothing, normalizer;\n    \
             int64_t ignore_index;\n    \
             const float *class_alpha;       /* NULL or classes values */\n    \
             const float *logits;            /* rows * classes */\n    \
             const float *targets;           /* sigmoid and probabilities: rows * classes; else NULL */\n    \
             const int64_t *class_targets;   /* class indices: rows; else NULL */\n    \
             size_t n_loss;                  /* values the loss buffer receives */\n    \
             const double *loss, *loss_budget;\n    \
             const double *grad, *grad_budget; /* rows * classes */\n\
         }} ExpectedCase;\n\n\
         {arrays}\
         static const ExpectedCase EXPECTED[] = {{\n{cases}}};\n\n\
         #define EXPECTED_COUNT (sizeof EXPECTED / sizeof EXPECTED[0])\n\n\
         #endif /* FOCAL_LOSS_EXPECTED_H */\n"
    )
}

#[test]
#[cfg_attr(miri, ignore = "reads tests/c/expected.h, which Miri's isolation refuses; oracle values only")]
fn expected_values_are_current() {
    let text = generate();
    if std::env::var_os("FL_BLESS").is_some() {
        std::fs::write(PATH, &text).unwrap_or_else(|e| panic!("{PATH}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_else(|e| panic!("{PATH}: {e}"));
    assert!(
        committed == text,
        "{PATH} differs from what the oracle gives now; regenerate it with \
         FL_BLESS=1 cargo test -p focal-loss-capi --test expected"
    );
}
