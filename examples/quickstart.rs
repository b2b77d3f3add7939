//! The three tasks of the original PyTorch `FocalLoss` class, on a batch of 16 samples.
//!
//! Run with `cargo run --release --example quickstart`.

use focal_loss::{Error, FocalLoss, Out, Reduction};

/// A small deterministic generator, so the example prints the same numbers everywhere.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Roughly normal, mean 0 and standard deviation `sd` (sum of uniforms).
    fn normal(&mut self, sd: f32) -> f32 {
        ((0..12).map(|_| self.next()).sum::<f32>() - 6.0) * sd
    }
}

fn show(task: &str, loss: f32, grad: &[f32]) {
    let head: Vec<String> = grad.iter().take(4).map(|g| format!("{g:+.6}")).collect();
    println!("{task:<12} loss = {loss:.6}   grad[..4] = [{}]", head.join(", "));
}

fn main() -> Result<(), Error> {
    let mut rng = Lcg(2017);
    let batch = 16;

    // Binary: FocalLoss(gamma=2, alpha=0.25, task_type='binary')
    let logits: Vec<f32> = (0..batch).map(|_| rng.normal(3.0)).collect();
    let targets: Vec<f32> = (0..batch).map(|_| (rng.next() < 0.5) as u8 as f32).collect();
    let binary = FocalLoss::builder().gamma(2.0).alpha(0.25).build()?;
    let mut grad = vec![0.0; batch];
    let loss = binary.sigmoid(&logits, &targets, 1, Out::new().grad(&mut grad))?;
    show("binary", loss, &grad);

    // Multi-class: FocalLoss(gamma=2, alpha=[...], task_type='multi-class', num_classes=5)
    let classes = 5;
    let weights = [0.25, 0.375, 0.5, 0.625, 0.75];
    let logits: Vec<f32> = (0..batch * classes).map(|_| rng.normal(3.0)).collect();
    let class_targets: Vec<i64> = (0..batch).map(|_| (rng.next() * classes as f32) as i64).collect();
    let multi_class = FocalLoss::builder().gamma(2.0).class_alpha(&weights).build()?;
    let mut grad = vec![0.0; batch * classes];
    let loss = multi_class.softmax(&logits, &class_targets, classes, Out::new().grad(&mut grad))?;
    show("multi-class", loss, &grad);

    // Multi-label: FocalLoss(gamma=2, alpha=0.25, task_type='multi-label')
    let logits: Vec<f32> = (0..batch * classes).map(|_| rng.normal(3.0)).collect();
    let targets: Vec<f32> = (0..batch * classes).map(|_| (rng.next() < 0.2) as u8 as f32).collect();
    let multi_label = FocalLoss::builder().gamma(2.0).alpha(0.25).build()?;
    let mut grad = vec![0.0; batch * classes];
    let loss = multi_label.sigmoid(&logits, &targets, classes, Out::new().grad(&mut grad))?;
    show("multi-label", loss, &grad);

    // Per-sample losses (reduction='none'), gradient written over the logits in place.
    let per_sample = FocalLoss::builder().gamma(2.0).reduction(Reduction::None).build()?;
    let mut logits: Vec<f32> = (0..batch * classes).map(|_| rng.normal(3.0)).collect();
    let mut losses = vec![0.0; batch];
    let total = per_sample.softmax_in_place(&mut logits, &class_targets, classes, Some(&mut losses))?;
    println!("{:<12} sum = {total:.6}   losses[..4] = {:?}", "none", &losses[..4]);

    // What the original class gets wrong: a logit gap of 1000 (NaN there), γ = 0.5 at saturation.
    let exact = FocalLoss::builder().gamma(0.5).build()?;
    let mut grad = [0.0; 3];
    let loss = exact.softmax(&[1000.0, 0.0, -3.0], &[1u8], 3, Out::new().grad(&mut grad))?;
    println!("{:<12} loss = {loss} grad = {grad:?}", "gap 1000");
    Ok(())
}
