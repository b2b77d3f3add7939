//! Runs the binary fused kernel (γ=2 unless given, α = 0.25) in a loop, for profilers (`perf
//! stat`, `perf record`, `valgrind --tool=callgrind`); or with `classes`, the multi-label one
//! with that many columns and per-class α.
//!
//! `cargo run --release --example profile_binary -- [backend] [n] [reps] [gamma] [classes]`

#[path = "common/uniform.rs"]
mod uniform;

use focal_loss::{Backend, FocalLoss, Out};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = Backend::ALL.into_iter().find(|b| Some(b.name()) == args.get(1).map(String::as_str));
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1 << 16);
    let reps: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let gamma: f32 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let classes: Option<usize> = args.get(5).and_then(|a| a.parse().ok()).filter(|&c| c > 0);
    let columns = classes.unwrap_or(1);
    let n = n / columns * columns;
    let class_alpha: Vec<f32> = (0..columns).map(|j| 0.25 + 0.5 * j as f32 / columns as f32).collect();
    let mut next = uniform::uniform();
    let logits: Vec<f32> = (0..n).map(|_| (next() - 0.5) * 12.0).collect();
    let targets: Vec<f32> = (0..n).map(|_| (next() < 0.5) as u8 as f32).collect();
    let mut grad = vec![0.0; n];
    let mut b = FocalLoss::builder().gamma(gamma);
    b = if classes.is_some() { b.class_alpha(&class_alpha) } else { b.alpha(0.25) };
    if let Some(backend) = backend {
        b = b.backend(backend);
    }
    let fl = b.build().expect("options");
    let mut total = 0.0;
    for _ in 0..reps {
        total += fl.sigmoid(&logits, &targets, columns, Out::new().grad(&mut grad)).expect("valid");
    }
    println!("{} on {}: {total}", n * reps, fl.backend());
}
