//! One table: ns/element per case and backend, and the speed-up over the naive scalar code,
//! measured in the same run (the machine is shared and noisy: ratios hold, times drift).
//!
//! `cargo bench --bench summary [-- N]` with N the elements per case (default 2^16); or
//! `cargo xtask bench`. Each figure is the median of 7 timed runs of at least 20 ms each.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{cases, Problem};
use focal_loss::Backend;

/// Median ns per element of `f` over 7 runs.
fn time(elements: usize, mut f: impl FnMut() -> f32) -> f64 {
    let mut reps = 1;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            black_box(f());
        }
        if t.elapsed().as_secs_f64() > 0.02 {
            break;
        }
        reps *= 2;
    }
    let mut runs: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                black_box(f());
            }
            t.elapsed().as_secs_f64() * 1e9 / (reps * elements) as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[3]
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1 << 16);
    // FOCAL_BENCH_BACKEND and FOCAL_BENCH_CASE narrow the table (for profiling).
    let only_backend = std::env::var("FOCAL_BENCH_BACKEND").ok();
    let only_case = std::env::var("FOCAL_BENCH_CASE").ok();
    let backends: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|b| b.is_available() && only_backend.as_deref().is_none_or(|o| o == b.name()))
        .collect();
    let auto = focal_loss::FocalLoss::default().backend();
    println!("N = {n} elements, fused forward+backward, reduction mean (auto backend: {auto})");
    print!("{:<18} {:>8}", "case", "naive");
    for b in &backends {
        print!(" {:>16}", b.name());
    }
    println!("   (ns/element, ×speed-up over naive)");
    for task in cases().into_iter().filter(|t| only_case.as_deref().is_none_or(|o| t.name().contains(o))) {
        let mut p = Problem::new(task, n);
        let e = p.elements();
        let naive = time(e, || p.run_naive(true));
        print!("{:<18} {:>8.3}", task.name(), naive);
        for &b in &backends {
            let t = time(e, || p.run(b, true));
            print!(" {:>7.3} ({:>5.1}×)", t, naive / t);
        }
        println!();
    }
}
