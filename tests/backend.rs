//! Which backend runs: detection agrees with the CPU, unavailable backends are refused, and
//! every backend this CPU can run meets the accuracy budget when forced. On aarch64 (`cargo
//! xtask test-aarch64`, under qemu-aarch64) the detected backend, the one every other test
//! runs, must be NEON.

use focal_loss::{Backend, Error, FocalLoss, Out, Reduction};

#[test]
fn default_options_run_the_detected_backend() {
    let detected = Backend::detect();
    assert!(detected.is_available(), "{detected} was detected but is not available");
    assert_eq!(FocalLoss::default().backend(), detected);
    assert_eq!(Backend::detect(), detected, "detection must be stable");
    println!("detected backend: {detected}");
}

#[cfg(target_arch = "aarch64")]
#[test]
fn aarch64_runs_neon() {
    assert!(std::arch::is_aarch64_feature_detected!("neon"));
    assert_eq!(Backend::detect(), Backend::Neon);
    assert_eq!(FocalLoss::default().backend(), Backend::Neon);
    assert!(Backend::Neon.is_available());
    assert!(!Backend::Avx2.is_available() && !Backend::Avx512.is_available());
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x86_64_detection_matches_the_cpu() {
    let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    let avx512 = avx2 && is_x86_feature_detected!("avx512f");
    assert_eq!(Backend::Avx2.is_available(), avx2);
    assert_eq!(Backend::Avx512.is_available(), avx512);
    assert!(!Backend::Neon.is_available());
    let expected = if avx512 {
        Backend::Avx512
    } else if avx2 {
        Backend::Avx2
    } else {
        Backend::Portable
    };
    assert_eq!(Backend::detect(), expected);
}

/// A forced backend is refused where it cannot run, and where it can, it is the one that runs
/// and it meets the accuracy budget on a small binary batch (loss and gradient).
#[test]
fn every_backend_is_refused_or_meets_the_budget() {
    let logits: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 0.9).collect();
    let targets: Vec<f32> = (0..37).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let opts =
        oracle::Options { alpha: Some(0.25), reduction: oracle::Reduction::Mean, ..Default::default() };
    let x: Vec<f64> = logits.iter().map(|&v| v.into()).collect();
    let y: Vec<f64> = targets.iter().map(|&v| v.into()).collect();
    let exact = oracle::sigmoid(&opts, &x, &y, 1);
    for backend in Backend::ALL {
        let built =
            FocalLoss::builder().gamma(2.0).alpha(0.25).reduction(Reduction::Mean).backend(backend).build();
        if !backend.is_available() {
            assert_eq!(built, Err(Error::BackendUnavailable { backend }));
            continue;
        }
        let fl = built.expect("an available backend is accepted");
        assert_eq!(fl.backend(), backend);
        let mut grad = vec![0.0; logits.len()];
        let loss = fl.sigmoid(&logits, &targets, 1, Out::new().grad(&mut grad)).expect("valid input");
        let worst = std::iter::once(oracle::error_in_budgets(loss, &exact.loss[0]))
            .chain(grad.iter().zip(&exact.grad).map(|(&g, e)| oracle::error_in_budgets(g, e)))
            .fold(0.0, f64::max);
        println!("{backend}: worst error {worst:.3} of the budget");
        assert!(worst <= 1.0, "{backend}: worst error {worst} budgets");
    }
}

/// `cargo xtask test-x86-levels` runs this suite on QEMU CPU models with fewer features than the
/// host (`-cpu Haswell`: AVX2, `-cpu Nehalem`: no AVX) and names, in `FOCAL_LOSS_EXPECT_BACKEND`,
/// the backend detection must choose there. Without the variable there is nothing to check.
#[test]
fn expected_backend_is_detected() {
    let Ok(expected) = std::env::var("FOCAL_LOSS_EXPECT_BACKEND") else {
        println!("FOCAL_LOSS_EXPECT_BACKEND is not set: nothing to check");
        return;
    };
    assert_eq!(Backend::detect().name(), expected, "detected backend");
    assert_eq!(FocalLoss::default().backend().name(), expected, "backend of the default options");
    println!("detected backend: {expected}, as expected");
}

/// What the output buffers and the guards around every slice hold: a NaN with a payload no
/// computation produces.
const SENTINEL: f32 = f32::from_bits(0x7fc0_1234);

/// Lanes per vector of a backend's kernel for `task` (1 for the scalar one): two or four of the
/// backend's vectors in lockstep where `src/kernel/dispatch.rs` pairs them.
fn lanes(backend: Backend, task: Task) -> usize {
    match (backend, task) {
        (Backend::Avx512, Task::Sigmoid) => 64,
        (Backend::Avx2, Task::Sigmoid) => 32,
        (Backend::Avx512, _) | (Backend::Portable | Backend::Avx2, _) => 16,
        (Backend::Neon, _) => 4,
        _ => 1,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    Sigmoid,
    Softmax,
    Probs,
}

/// `v` at offset `off` of a buffer with `off` guard values before it and 8 after.
fn padded<T: Copy>(v: &[T], off: usize, guard: T) -> Vec<T> {
    let mut buf = vec![guard; off + v.len() + 8];
    buf[off..off + v.len()].copy_from_slice(v);
    buf
}

/// Whether everything outside `off..off + n` still holds the guard.
fn guards_intact(buf: &[f32], off: usize, n: usize) -> bool {
    buf[..off].iter().chain(&buf[off + n..]).all(|x| x.to_bits() == SENTINEL.to_bits())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// What a batch was, formatted only when an assertion fails: under Miri formatting costs about as
/// much as a call.
struct Label<'a, 'b> {
    fl: &'a FocalLoss<'b>,
    task: Task,
    rows: usize,
    classes: usize,
}

impl core::fmt::Display for Label<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let fl = self.fl;
        write!(f, "{} {:?} {}×{}", fl.backend(), self.task, self.rows, self.classes)?;
        write!(f, " γ={} {:?}", fl.gamma(), fl.reduction())
    }
}

/// One batch of `task` (`rows` × `classes`) through every form of its entry point on `fl`, with
/// every buffer at its own odd offset inside a larger one: the separate gradient, forward only
/// and in place agree bit for bit, nothing is written outside the slices, and the losses (or the
/// reduced loss) and the gradient are within the budget of the float64 oracle.
fn check_batch(fl: &FocalLoss<'_>, task: Task, rows: usize, classes: usize) {
    let label = Label { fl, task, rows, classes };
    let n = rows * classes;
    let logits: Vec<f32> = (0..n).map(|i| ((i * 37 + n * 11) % 97) as f32 / 6.0 - 8.0).collect();
    // Hard targets for half the lengths, soft ones for the others (the kernels specialise both).
    let hard = n % 4 < 2;
    let values: Vec<f32> = match task {
        Task::Sigmoid if hard => (0..n).map(|i| (i % 3 == 0) as u8 as f32).collect(),
        Task::Sigmoid => (0..n).map(|i| (i % 5) as f32 / 4.0).collect(),
        // One row of probabilities: most of the mass on one class, the rest spread evenly.
        _ => (0..n)
            .map(|i| {
                let (row, k) = (i / classes, i % classes);
                let spread = 0.25 / classes as f32;
                if k == row % classes {
                    0.75 + spread
                } else {
                    spread
                }
            })
            .collect(),
    };
    let indices: Vec<i64> =
        // Rows ignored only after the first batch of rows (a vector's lanes), so that the
        // kernels' batches run whole as well as sent back to the row loop.
        (0..rows)
            .map(|r| if r % 5 == 4 && r >= lanes(fl.backend(), task) { -100 } else { ((r * 7) % classes.max(1)) as i64 })
            .collect();
    let per_row = task != Task::Sigmoid;
    let reduction = fl.reduction();
    let losses_len = if reduction != Reduction::None {
        None
    } else if per_row {
        Some(rows)
    } else {
        Some(n)
    };

    // Odd offsets, different for each buffer.
    let (lo, to, go, so) = (1, 3, 5, 7);
    let logits_buf = padded(&logits, lo, SENTINEL);
    let values_buf = padded(&values, to, SENTINEL);
    let indices_buf = padded(&indices, to, i64::MIN);
    let call = |x: &[f32], out: Out<'_>| match task {
        Task::Sigmoid => fl.sigmoid(x, &values_buf[to..to + n], classes, out),
        Task::Softmax => fl.softmax(x, &indices_buf[to..to + rows], classes, out),
        Task::Probs => fl.softmax_probs(x, &values_buf[to..to + n], classes, out),
    };
    let x = &logits_buf[lo..lo + n];

    // The gradient in its own buffer.
    let mut grad_buf = vec![SENTINEL; go + n + 8];
    let mut losses_buf = vec![SENTINEL; so + losses_len.unwrap_or(0) + 8];
    let mut out = Out::new().grad(&mut grad_buf[go..go + n]);
    if let Some(l) = losses_len {
        out = out.losses(&mut losses_buf[so..so + l]);
    }
    let total = call(x, out).unwrap_or_else(|e| panic!("{label}: {e}"));
    let grad = &grad_buf[go..go + n];
    let losses = &losses_buf[so..so + losses_len.unwrap_or(0)];
    assert!(guards_intact(&grad_buf, go, n), "{label}: written outside the gradient");
    assert!(guards_intact(&losses_buf, so, losses.len()), "{label}: written outside the losses");
    assert!(grad.iter().chain(losses).all(|g| g.to_bits() != SENTINEL.to_bits()), "{label}: not all written");

    // Forward only.
    let mut forward_losses = padded(&vec![SENTINEL; losses.len()], so, SENTINEL);
    let mut out = Out::new();
    if let Some(l) = losses_len {
        out = out.losses(&mut forward_losses[so..so + l]);
    }
    let forward = call(x, out).unwrap();
    assert_eq!(forward.to_bits(), total.to_bits(), "{label}: forward-only total");
    assert_eq!(bits(&forward_losses[so..so + losses.len()]), bits(losses), "{label}: forward-only losses");
    assert!(guards_intact(&forward_losses, so, losses.len()), "{label}: forward-only wrote outside");

    // In place, over the logits at their odd offset.
    let mut in_place = logits_buf.clone();
    let mut in_place_losses = padded(&vec![SENTINEL; losses.len()], so, SENTINEL);
    let l = losses_len.map(|l| &mut in_place_losses[so..so + l]);
    let buf = &mut in_place[lo..lo + n];
    let t = match task {
        Task::Sigmoid => fl.sigmoid_in_place(buf, &values_buf[to..to + n], classes, l),
        Task::Softmax => fl.softmax_in_place(buf, &indices_buf[to..to + rows], classes, l),
        Task::Probs => fl.softmax_probs_in_place(buf, &values_buf[to..to + n], classes, l),
    }
    .unwrap();
    assert_eq!(t.to_bits(), total.to_bits(), "{label}: in-place total");
    assert_eq!(bits(&in_place[lo..lo + n]), bits(grad), "{label}: in-place gradient");
    assert_eq!(bits(&in_place_losses[so..so + losses.len()]), bits(losses), "{label}: in-place losses");
    assert!(guards_intact(&in_place, lo, n), "{label}: in place wrote outside the logits");
    assert!(guards_intact(&in_place_losses, so, losses.len()), "{label}: in place wrote outside");

    // Against the oracle.
    let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let opts = oracle::Options {
        gamma: fl.gamma() as f64,
        alpha: fl.alpha().map(f64::from),
        reduction: match reduction {
            Reduction::None => oracle::Reduction::None,
            Reduction::Sum => oracle::Reduction::Sum,
            _ => oracle::Reduction::Mean,
        },
        ignore_index: Some(-100),
        ..Default::default()
    };
    let exact = match task {
        Task::Sigmoid => oracle::sigmoid(&opts, &wide(&logits), &wide(&values), classes),
        Task::Softmax => oracle::softmax(&opts, &wide(&logits), &indices, classes),
        Task::Probs => oracle::softmax_probs(&opts, &wide(&logits), &wide(&values), classes),
    };
    let computed_losses = if losses_len.is_some() { losses.to_vec() } else { vec![total] };
    for (what, computed, exact) in [("loss", &computed_losses[..], &exact.loss), ("grad", grad, &exact.grad)]
    {
        assert_eq!(computed.len(), exact.len(), "{label}: {what} length");
        for (i, (&c, e)) in computed.iter().zip(exact).enumerate() {
            let err = oracle::error_in_budgets(c, e);
            assert!(err <= 1.0, "{label}: {what}[{i}] = {c:e}, exact {:e}: {err:.2} budgets", e.value);
        }
    }
}

/// Every entry point (sigmoid, softmax, target probabilities; separate gradient, forward only, in
/// place) on every backend this CPU runs, at every length from 0 to 2·lanes + 1 of the widest of
/// them (empty, partial and full vectors, and a partial one after two full ones), with every
/// buffer at an odd offset inside a larger one. Sigmoid runs `n` binary elements, up to 4·lanes + 1
/// of its kernel (the four blocks of the unrolled loop, then a tail; 2·lanes + 1 under Miri);
/// softmax and target probabilities run one row of `n` classes (blocks along a row) and `n` rows
/// of 3 classes (several short rows per vector; under Miri for class indices only), of 9 to 32
/// (class indices). Under Miri
/// this is the test that walks the vector paths' loads and stores at every length and alignment.
#[test]
fn every_entry_point_at_every_length_and_odd_offset() {
    let available: Vec<Backend> = Backend::ALL.into_iter().filter(|b| b.is_available()).collect();
    let mut calls = 0;
    for &backend in &available {
        let blocks = if cfg!(miri) { 2 } else { 4 };
        let longest = blocks * lanes(backend, Task::Sigmoid).max(2) + 1;
        for n in 0..=longest {
            // γ = 2 (a specialised kernel), 1.5 (the run-time one's half-integer form, a square
            // root on vector backends) and 1.25 (its general form); each reduction in turn.
            let gamma = [2.0, 1.5, 2.0, 1.25][n % 4];
            let reduction = [Reduction::None, Reduction::Sum, Reduction::Mean][n % 3];
            let fl = FocalLoss::builder()
                .backend(backend)
                .gamma(gamma)
                .alpha(0.25)
                .reduction(reduction)
                .ignore_index(-100)
                .build()
                .unwrap();
            check_batch(&fl, Task::Sigmoid, n, 1);
            calls += 1;
            if n > 2 * lanes(backend, Task::Softmax).max(2) + 1 {
                continue;
            }
            for task in [Task::Softmax, Task::Probs] {
                // One row of n classes (zero classes, no rows, for n = 0); n rows of 3 classes.
                check_batch(&fl, task, usize::from(n > 0), n);
                calls += 1;
                // Under Miri, which interprets each element thousands of times more slowly, the
                // short rows of class indices only (the batched path; probabilities take the
                // row loop that one row of n already walks).
                if task == Task::Softmax || !cfg!(miri) {
                    check_batch(&fl, task, n, 3);
                    calls += 1;
                }
                // And rows of 9 to 32 classes: one row per lane with two vectors per row part
                // (AVX2's transposes read and write every row in a part below 8 classes and one
                // from 8: the second part partial, then full), and from 17 classes a second
                // group of sixteen columns (its first part partial or full, its second absent,
                // partial or full, the last row's store ending at the batch's end or not; its
                // stores go first, and may write over the next row's first classes).
                if task == Task::Softmax && !cfg!(miri) {
                    for classes in [9, 16, 17, 24, 25, 32] {
                        check_batch(&fl, task, n, classes);
                        calls += 1;
                    }
                }
                // And n rows of 40 classes (rows of several vectors, batched too), and once 17
                // rows of 300.
                if task == Task::Softmax && !cfg!(miri) {
                    check_batch(&fl, task, n, 40);
                    calls += 1;
                    if n == 17 {
                        check_batch(&fl, task, n, 300);
                        calls += 1;
                    }
                }
            }
        }
    }
    println!("{calls} batches × 3 forms on {available:?}");
}

/// Batched rows read their class indices a batch at a time: with every index type, an ignore
/// index that is itself a class (its rows skipped, not read as that class), and none, every
/// backend this CPU runs meets the budget on every row's loss and gradient.
#[test]
fn batched_rows_read_every_index_type_and_skip_ignored_classes() {
    fn run<T: focal_loss::ClassIndex>(
        fl: &FocalLoss<'_>,
        x: &[f32],
        t: &[T],
        c: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (mut losses, mut grad) = (vec![f32::NAN; t.len()], vec![f32::NAN; x.len()]);
        fl.softmax(x, t, c, Out::new().grad(&mut grad).losses(&mut losses)).unwrap();
        (losses, grad)
    }
    // A batch of sixteen rows (the most lanes of any backend) and more, fewer under Miri.
    let rows = if cfg!(miri) { 17 } else { 37 };
    for backend in Backend::ALL.into_iter().filter(|b| b.is_available()) {
        // Rows in lanes (up to 32 classes where the backend reads columns, in groups of 16),
        // and rows of 40 classes each in its own vectors.
        for classes in [3, 10, 20, 40] {
            let logits: Vec<f32> = (0..rows * classes).map(|i| ((i * 37) % 23) as f32 * 0.4 - 4.0).collect();
            let indices: Vec<i64> = (0..rows).map(|r| ((r * 7) % classes) as i64).collect();
            for ignore in [Some(2), None] {
                let mut b = FocalLoss::builder().backend(backend).reduction(Reduction::None);
                if let Some(i) = ignore {
                    b = b.ignore_index(i);
                }
                let fl = b.build().unwrap();
                let opts = oracle::Options {
                    reduction: oracle::Reduction::None,
                    ignore_index: ignore,
                    ..Default::default()
                };
                let x: Vec<f64> = logits.iter().map(|&v| v.into()).collect();
                let exact = oracle::softmax(&opts, &x, &indices, classes);
                let results = [
                    run(&fl, &logits, &indices.iter().map(|&i| i as u8).collect::<Vec<_>>(), classes),
                    run(&fl, &logits, &indices.iter().map(|&i| i as u16).collect::<Vec<_>>(), classes),
                    run(&fl, &logits, &indices.iter().map(|&i| i as u32).collect::<Vec<_>>(), classes),
                    run(&fl, &logits, &indices.iter().map(|&i| i as i32).collect::<Vec<_>>(), classes),
                    run(&fl, &logits, &indices, classes),
                ];
                for (ty, (losses, grad)) in ["u8", "u16", "u32", "i32", "i64"].iter().zip(&results) {
                    let label = format!("{backend} C={classes} ignore {ignore:?} {ty}");
                    for (what, computed, exact) in
                        [("loss", losses, &exact.loss), ("grad", grad, &exact.grad)]
                    {
                        for (i, (&c, e)) in computed.iter().zip(exact).enumerate() {
                            let err = oracle::error_in_budgets(c, e);
                            assert!(
                                err <= 1.0,
                                "{label}: {what}[{i}] = {c:e}, exact {:e}: {err:.2} budgets",
                                e.value
                            );
                        }
                    }
                }
                if ignore.is_some() {
                    assert!(results[4].0.contains(&0.0), "some rows are ignored");
                }
            }
        }
    }
}
