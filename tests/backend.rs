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
