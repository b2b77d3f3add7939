//! Criterion benches of the kernels: every case of the bench configuration (DESIGN §6), forward
//! only and fused forward+backward, on every backend this CPU runs and on the naive libm code,
//! at N = 2^16 and 2^20 elements (and 2^24 with `FOCAL_BENCH_LARGE=1`), reported as elements/s.
//!
//! ```sh
//! cargo bench --bench kernels                              # everything, a few minutes
//! cargo bench --bench kernels -- 'multi-class_C80/fused'   # one group (a regex filter)
//! FOCAL_BENCH_LARGE=1 cargo bench --bench kernels          # also N = 2^24 (about 200 MB)
//! ```
//!
//! Benchmark ids read `case/mode/implementation/N`, e.g. `binary_gamma2/fused/avx512/65536`.
//! Measurement is kept short (0.5 s warm-up, 1 s, 10 samples) so that the whole suite runs in a
//! few minutes; `--measurement-time` and `--sample-size` on the command line override it. For one
//! table of ns/element and speed-ups, `cargo xtask bench` (benches/summary.rs) is quicker.

mod common;

use std::time::Duration;

use common::{cases, Problem, Task};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use focal_loss::Backend;

/// Short measurements: the suite is 6 cases × 2 modes × (backends + naive) × 2 or 3 sizes.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10)
}

/// A group name without spaces or Greek letters, so that a regex filter is easy to type.
fn slug(task: Task) -> String {
    match task {
        Task::Binary { gamma } => format!("binary_gamma{gamma}"),
        Task::MultiLabel { classes } => format!("multi-label_C{classes}"),
        Task::MultiLabelPerClass { classes } => format!("multi-label-alpha-per-class_C{classes}"),
        Task::MultiClass { classes } => format!("multi-class_C{classes}"),
    }
}

/// The problem sizes of one case, in elements (logits); each is rounded down to whole rows.
/// The multi-label case also runs the issue's shape, 2^14 rows × 80 labels.
fn sizes(task: Task) -> Vec<usize> {
    let mut sizes = vec![1 << 16, 1 << 20];
    if std::env::var("FOCAL_BENCH_LARGE").is_ok_and(|v| v == "1") {
        sizes.push(1 << 24);
    }
    if let Task::MultiLabel { classes } = task {
        sizes.push((1 << 14) * classes);
    }
    sizes
}

fn kernels(c: &mut Criterion) {
    let backends: Vec<Backend> = Backend::ALL.into_iter().filter(|b| b.is_available()).collect();
    for task in cases() {
        for (mode, fused) in [("forward", false), ("fused", true)] {
            let mut group = c.benchmark_group(format!("{}/{mode}", slug(task)));
            for n in sizes(task) {
                let mut p = Problem::new(task, n);
                let elements = p.elements();
                group.throughput(Throughput::Elements(elements as u64));
                // The naive and scalar code take 20–30 ms per call at 2^20: ten equal samples
                // fit the time where criterion's growing ones would not.
                group.sampling_mode(if n >= 1 << 20 { SamplingMode::Flat } else { SamplingMode::Auto });
                group.bench_function(BenchmarkId::new("naive", elements), |b| b.iter(|| p.run_naive(fused)));
                for &backend in &backends {
                    group.bench_function(BenchmarkId::new(backend.name(), elements), |b| {
                        b.iter(|| p.run(backend, fused))
                    });
                }
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = kernels
}
criterion_main!(benches);
