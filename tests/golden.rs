//! Golden literals: losses and gradients computed independently in high precision
//! (`golden/golden.py`, mpmath) and stored in `golden/cases.txt`.
//!
//! Each output must be within the accuracy budget of DESIGN §3 of the literal; the oracle's own
//! values must agree with the literals far more closely (which checks the oracle too).

mod common;

use common::bits;
use focal_loss::{ClassIndex, FocalLoss, Out, Reduction};

#[derive(Debug, Default)]
struct Case {
    name: String,
    task: String,
    classes: usize,
    gamma: f32,
    alpha: Option<f32>,
    class_alpha: Option<Vec<f32>>,
    label_smoothing: f32,
    reduction: Option<Reduction>,
    normalizer: Option<f32>,
    ignore_index: Option<i64>,
    logits: Vec<f32>,
    targets: Vec<String>,
    loss: Vec<f64>,
    grad: Vec<f64>,
}

fn f32s(words: &[&str]) -> Vec<f32> {
    words.iter().map(|w| w.parse().unwrap_or_else(|_| panic!("not a float32: {w}"))).collect()
}

fn optional<T: std::str::FromStr>(words: &[&str]) -> Option<T> {
    match words {
        ["off"] => None,
        [w] => Some(w.parse().ok().expect("a value")),
        _ => panic!("one value expected: {words:?}"),
    }
}

fn parse(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut case = Case::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let mut words = line.split_whitespace();
        let key = words.next().unwrap();
        let rest: Vec<&str> = words.collect();
        match key {
            "case" => case = Case { name: rest[0].to_string(), ..Case::default() },
            "task" => case.task = rest[0].to_string(),
            "classes" => case.classes = rest[0].parse().unwrap(),
            "gamma" => case.gamma = rest[0].parse().unwrap(),
            "alpha" => case.alpha = optional(&rest),
            "class_alpha" => case.class_alpha = (rest != ["off"]).then(|| f32s(&rest)),
            "label_smoothing" => case.label_smoothing = rest[0].parse().unwrap(),
            "reduction" => {
                case.reduction = Some(match rest[0] {
                    "none" => Reduction::None,
                    "sum" => Reduction::Sum,
                    "mean" => Reduction::Mean,
                    r => panic!("unknown reduction {r}"),
                })
            }
            "normalizer" => case.normalizer = optional(&rest),
            "ignore_index" => case.ignore_index = optional(&rest),
            "logits" => case.logits = f32s(&rest),
            "targets" => case.targets = rest.iter().map(|w| w.to_string()).collect(),
            "loss" => case.loss = rest.iter().map(|w| w.parse().unwrap()).collect(),
            "grad" => case.grad = rest.iter().map(|w| w.parse().unwrap()).collect(),
            "end" => cases.push(std::mem::take(&mut case)),
            k => panic!("unknown key {k}"),
        }
    }
    cases
}

fn options(case: &Case) -> FocalLoss<'_> {
    let mut b = FocalLoss::builder()
        .gamma(case.gamma)
        .label_smoothing(case.label_smoothing)
        .reduction(case.reduction.unwrap());
    if let Some(a) = case.alpha {
        b = b.alpha(a);
    }
    if let Some(ca) = &case.class_alpha {
        b = b.class_alpha(ca);
    }
    if let Some(d) = case.normalizer {
        b = b.normalizer(d);
    }
    if let Some(i) = case.ignore_index {
        b = b.ignore_index(i);
    }
    b.build().unwrap()
}

/// Runs the library: (losses as reported, gradient).
fn run(case: &Case) -> (Vec<f32>, Vec<f32>) {
    let fl = options(case);
    let rows = if case.task == "softmax" { case.targets.len() } else { case.logits.len() / case.classes };
    let per = if case.task == "sigmoid" { rows * case.classes } else { rows };
    let none = case.reduction == Some(Reduction::None);
    let mut losses = vec![f32::NAN; if none { per } else { 0 }];
    let mut grad = vec![f32::NAN; case.logits.len()];
    let out = if none { Out::new().losses(&mut losses).grad(&mut grad) } else { Out::new().grad(&mut grad) };
    let total = match case.task.as_str() {
        "sigmoid" => fl.sigmoid(&case.logits, &f32s(&strs(&case.targets)), case.classes, out),
        "softmax_probs" => fl.softmax_probs(&case.logits, &f32s(&strs(&case.targets)), case.classes, out),
        "softmax" => {
            let idx: Vec<i64> = case.targets.iter().map(|w| w.parse().unwrap()).collect();
            let total = fl.softmax(&case.logits, &idx, case.classes, out);
            check_index_types(case, &fl, &idx, total.unwrap());
            total
        }
        t => panic!("unknown task {t}"),
    }
    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    if none {
        (losses, grad)
    } else {
        (vec![total], grad)
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Every index type that can hold the targets gives the same bits as `i64`.
fn check_index_types(case: &Case, fl: &FocalLoss<'_>, idx: &[i64], total: f32) {
    fn with<T: ClassIndex + TryFrom<i64>>(case: &Case, fl: &FocalLoss<'_>, idx: &[i64], total: f32) {
        let Ok(narrow) = idx.iter().map(|&i| T::try_from(i)).collect::<Result<Vec<T>, _>>() else { return };
        let got = fl.softmax(&case.logits, &narrow, case.classes, Out::new()).unwrap();
        assert_eq!(bits(&[got]), bits(&[total]), "{}: index type {}", case.name, std::any::type_name::<T>());
    }
    with::<u8>(case, fl, idx, total);
    with::<u16>(case, fl, idx, total);
    with::<u32>(case, fl, idx, total);
    with::<i32>(case, fl, idx, total);
}

fn oracle_outputs(case: &Case) -> oracle::Outputs {
    let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let opts = oracle::Options {
        gamma: case.gamma as f64,
        alpha: case.alpha.map(f64::from),
        class_alpha: case.class_alpha.as_deref().map(wide),
        label_smoothing: case.label_smoothing as f64,
        reduction: match case.reduction.unwrap() {
            Reduction::None => oracle::Reduction::None,
            Reduction::Sum => oracle::Reduction::Sum,
            _ => oracle::Reduction::Mean,
        },
        normalizer: case.normalizer.map(f64::from),
        ignore_index: case.ignore_index,
    };
    let logits = wide(&case.logits);
    let values = || case.targets.iter().map(|w| w.parse::<f64>().unwrap()).collect::<Vec<_>>();
    match case.task.as_str() {
        "sigmoid" => oracle::sigmoid(&opts, &logits, &values(), case.classes),
        "softmax_probs" => oracle::softmax_probs(&opts, &logits, &values(), case.classes),
        _ => {
            let idx: Vec<i64> = case.targets.iter().map(|w| w.parse().unwrap()).collect();
            oracle::softmax(&opts, &logits, &idx, case.classes)
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "parsing the 20 KB of literals takes 27 of its 36 s under Miri; refused.rs runs NaN and \
              infinite logits through every entry point there"
)]
fn golden_cases() {
    let cases = parse(include_str!("../golden/cases.txt"));
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let (mut worst, mut checked) = (0.0f64, 0);
    for case in &cases {
        let (losses, grad) = run(case);
        let exact = oracle_outputs(case);
        for (what, got, literal, judged) in
            [("loss", &losses, &case.loss, &exact.loss), ("grad", &grad, &case.grad, &exact.grad)]
        {
            assert_eq!(got.len(), literal.len(), "{}: {what} length", case.name);
            for (i, ((&c, &lit), e)) in got.iter().zip(literal).zip(judged).enumerate() {
                // The literal is the exact value; the oracle supplies κ and S.
                let golden = oracle::Exact { value: lit, ..*e };
                let oracle_err = if lit.is_nan() || lit.is_infinite() || e.value.is_nan() {
                    if lit.is_nan() == e.value.is_nan() && (lit.is_nan() || lit == e.value) {
                        0.0
                    } else {
                        f64::INFINITY
                    }
                } else {
                    (e.value - lit).abs() / oracle::budget(&golden)
                };
                assert!(
                    oracle_err < 1e-6,
                    "{}: oracle {what}[{i}] = {:e}, literal {lit:e}",
                    case.name,
                    e.value
                );
                let err = oracle::error_in_budgets(c, &golden);
                assert!(err <= 1.0, "{}: {what}[{i}] = {c:e}, literal {lit:e}: {err:.2} budgets", case.name);
                worst = worst.max(err);
                checked += 1;
            }
        }
    }
    println!("golden: {} cases, {checked} outputs, worst error {worst:.3} budgets", cases.len());
}
