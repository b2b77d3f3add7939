//! Runs the multi-class fused kernel (class indices, per-class α, γ = 2) in a loop, for
//! profilers (`perf record`), one class count at a time (the bench's case filter cannot tell
//! C = 10 from C = 1000).
//!
//! `cargo run --release --example profile_softmax -- [backend] [classes] [elements] [reps]`

#[path = "common/uniform.rs"]
mod uniform;

use focal_loss::{Backend, FocalLoss, Out};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = Backend::ALL.into_iter().find(|b| Some(b.name()) == args.get(1).map(String::as_str));
    let classes: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let n: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1 << 16);
    let reps: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rows = n / classes;
    let mut next = uniform::uniform();
    let logits: Vec<f32> = (0..rows * classes).map(|_| (next() - 0.5) * 12.0).collect();
    let targets: Vec<u32> =
        (0..rows).map(|_| ((next() * classes as f32) as u32).min(classes as u32 - 1)).collect();
    let weights: Vec<f32> =
        (0..classes).map(|j| 0.25 + 0.5 * j as f32 / (classes.max(2) - 1) as f32).collect();
    let mut grad = vec![0.0; rows * classes];
    let mut b = FocalLoss::builder().gamma(2.0).class_alpha(&weights);
    if let Some(backend) = backend {
        b = b.backend(backend);
    }
    let fl = b.build().expect("options");
    let mut total = 0.0;
    for _ in 0..reps {
        total += fl.softmax(&logits, &targets, classes, Out::new().grad(&mut grad)).expect("valid");
    }
    println!("{} rows of {classes} on {}: {total}", rows * reps, fl.backend());
}
