//! Thin `#[target_feature]` wrappers that instantiate the kernels per backend, and the match that
//! picks one.
//!
//! Each kernel instance is a function compiled for its instruction set that does nothing but
//! call the generic kernel, so the compiler inlines the whole kernel (every helper is
//! `#[inline(always)]`) inside it. Vector backends get an instance for γ = 2 and one for every
//! other γ; the scalar backend gets one kernel with γ decided at run time, to stay small on
//! microcontrollers.

#![cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")),
    expect(unused, reason = "the per-γ kernels serve the vector backends only")
)]

use super::focus::{Focus, Runtime, Two};
use super::{sigmoid, softmax, Hard, Soft, TargetForm};
use crate::io::Io;
use crate::math::Focus as Dynamic;
use crate::simd::pair::Pair;
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
use crate::simd::portable::Portable;
use crate::simd::scalar::Scalar;
use crate::sum::Wide;
use crate::Backend;

/// Calls `$instance` (one kernel instance) with the focus form and the target form as types:
/// γ = 2, the common choice, has instances of its own; every other γ shares the run-time form
/// (whose `m^γ` branches once per block, the same way every time). `$hard` is the type of the
/// hard-target form: [`Soft`] where targets are never hard, so that no dead instance is built.
macro_rules! specialised {
    ($instance:ident, $s:expr, $focus:expr, $hard:expr, $hard_form:expr, $($arg:expr),*) => {
        match ($focus, $hard) {
            (Dynamic::Two, true) => $instance($s, Two, $hard_form, $($arg),*),
            (Dynamic::Two, false) => $instance($s, Two, Soft, $($arg),*),
            (f, true) => $instance($s, Runtime::new(f), $hard_form, $($arg),*),
            (f, false) => $instance($s, Runtime::new(f), Soft, $($arg),*),
        }
    };
}

/// Calls the one kernel instance whose γ and target form are decided at run time (the scalar
/// backend).
macro_rules! dynamic {
    ($instance:ident, $s:expr, $focus:expr, $hard:expr, $hard_form:expr, $($arg:expr),*) => {
        $instance($s, Runtime::new($focus), $hard, $($arg),*)
    };
}

/// A kernel's lanes made of two of the backend's vectors in lockstep ([`Pair`]): the out-of-order
/// core then has a second dependency chain beside each long one, and twice the lanes to batch
/// short softmax rows in. Kept where it measured faster (`src/simd/pair.rs`).
macro_rules! paired {
    ($s:expr) => {
        Pair($s)
    };
}

/// Four of the backend's vectors in lockstep (a pair of pairs): the sigmoid, whose chains are
/// long enough that two interleaved still wait on latency. Measured (fused, ns/element):
/// - AVX-512 on Zen 4 (alternated 3×), pairs → four: binary γ=2 0.70 → 0.63, γ=1.5 1.04 →
///   0.89–0.95, multi-label 0.71 → 0.63–0.65; eight vectors spill (binary 0.73–1.04);
/// - AVX2 on Zen 3 (the CPUs that run it have no AVX-512), eight → four: binary γ=2 2.27–2.72
///   → 1.76–1.99 (medians of 40 interleaved runs; pairs 2.00 beside four's 1.99), γ=1.5
///   2.69–3.78 → 2.17–2.43, multi-label 1.91–2.85 → 1.41–2.06 (6 alternated runs each): eight
///   vectors spill up to 4 KiB of stack slots and re-broadcast their constants. Zen 4, forced to
///   AVX2, had measured the other way (pairs → four → eight: 1.19–1.24 → 1.08–1.11 → 1.01–1.05).
#[cfg(target_arch = "x86_64")]
macro_rules! quad {
    ($s:expr) => {
        Pair(Pair($s))
    };
}

/// A kernel's lanes as one of the backend's vectors: the AVX-512 softmax (its 16 lanes already
/// batch sixteen rows, and its per-row buffers hold 16 lanes; pairs are not measured there), NEON
/// (not measured on hardware) and the scalar backend (pairs would double the microcontrollers'
/// code).
macro_rules! single {
    ($s:expr) => {
        $s
    };
}

/// Defines `$sigmoid` and `$softmax`, the entries of one backend: the kernels instantiated with
/// `$how` (per-γ or one dynamic instance) on the lanes that `$sigmoid_lanes` and `$softmax_lanes`
/// (`single`, `paired` or `quad`) make of the token, as functions named `instance` with
/// the attributes `$sigmoid_instance` and `$softmax_instance`.
///
/// Vector backends keep each kernel instance a function of its own (`inline(never)`), so the
/// compiler optimises many mid-sized functions, spread over codegen units that build in
/// parallel, rather than one giant function per backend. The scalar backend has one instance per
/// kernel, chosen by what the Cortex-M4F measured (`cargo xtask firmware`): the sigmoid's out of
/// line (inlined, its entry's frame grew with the wide path's call beside it: stack 496 → 472
/// bytes, 155.9 → 143.9 instructions per element), the softmax's inlined (out of line: stack
/// 688 → 792 bytes).
macro_rules! wrappers {
    (
        $(#[$attr:meta])* $token:ty,
        $sigmoid:ident,
        $softmax:ident,
        $how:ident,
        $sigmoid_lanes:ident,
        $softmax_lanes:ident,
        $sigmoid_instance:meta,
        $softmax_instance:meta
    ) => {
        $(#[$attr])*
        fn $sigmoid<I: Io>(
            s: $token,
            focus: Dynamic,
            hard: bool,
            args: &sigmoid::Args<'_>,
            io: &mut I,
            losses: Option<&mut [f32]>,
        ) -> Wide {
            $(#[$attr])*
            #[$sigmoid_instance]
            fn instance<F: Focus, H: TargetForm, I: Io>(
                s: $token,
                focus: F,
                form: H,
                args: &sigmoid::Args<'_>,
                io: &mut I,
                losses: Option<&mut [f32]>,
            ) -> Wide {
                sigmoid::run($sigmoid_lanes!(s), focus, form, args, io, losses)
            }
            $how!(instance, s, focus, hard, Hard, args, io, losses)
        }

        $(#[$attr])*
        fn $softmax<'t, I: Io, R: softmax::RowTargets<'t>>(
            s: $token,
            focus: Dynamic,
            hard: bool,
            args: &softmax::Args<'_, R>,
            io: &mut I,
            losses: Option<&mut [f32]>,
        ) -> Wide {
            $(#[$attr])*
            #[$softmax_instance]
            fn instance<'t, F: Focus, H: TargetForm, I: Io, R: softmax::RowTargets<'t>>(
                s: $token,
                focus: F,
                form: H,
                args: &softmax::Args<'_, R>,
                io: &mut I,
                losses: Option<&mut [f32]>,
            ) -> Wide {
                softmax::run($softmax_lanes!(s), focus, form, args, io, losses)
            }
            $how!(instance, s, focus, hard, R::HARD_FORM, args, io, losses)
        }
    };
}

wrappers!(Scalar, sigmoid_scalar, softmax_scalar, dynamic, single, single, inline(never), inline(always));
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
wrappers!(
    Portable,
    sigmoid_portable,
    softmax_portable,
    specialised,
    paired,
    paired,
    inline(never),
    inline(never)
);
#[cfg(target_arch = "x86_64")]
wrappers!(
    #[target_feature(enable = "avx2,fma")]
    crate::simd::x86_64::avx2::Avx2,
    sigmoid_avx2,
    softmax_avx2,
    specialised,
    quad,
    paired,
    inline(never),
    inline(never)
);
#[cfg(target_arch = "x86_64")]
wrappers!(
    #[target_feature(enable = "avx512f,avx2,fma")]
    crate::simd::x86_64::avx512::Avx512,
    sigmoid_avx512,
    softmax_avx512,
    specialised,
    quad,
    single,
    inline(never),
    inline(never)
);
#[cfg(target_arch = "aarch64")]
wrappers!(
    #[target_feature(enable = "neon")]
    crate::simd::aarch64::neon::Neon,
    sigmoid_neon,
    softmax_neon,
    specialised,
    single,
    single,
    inline(never),
    inline(never)
);

/// Calls the wrapper of `$backend` among `[$avx512, $avx2, $neon, $portable, $scalar]` with the
/// backend's token and `$arg`s; a backend that is not compiled for this target, or whose token
/// cannot be made, falls back to the scalar one.
macro_rules! route {
    ($backend:expr, [$avx512:ident, $avx2:ident, $neon:ident, $portable:ident, $scalar:ident], $($arg:expr),*) => {{
        match $backend {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => {
                if let Some(s) = crate::simd::x86_64::avx512::Avx512::new() {
                    // SAFETY: the token exists, so the CPU runs AVX-512F, AVX2 and FMA.
                    return unsafe { $avx512(s, $($arg),*) };
                }
            }
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => {
                if let Some(s) = crate::simd::x86_64::avx2::Avx2::new() {
                    // SAFETY: the token exists, so the CPU runs AVX2 and FMA.
                    return unsafe { $avx2(s, $($arg),*) };
                }
            }
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => {
                if let Some(s) = crate::simd::aarch64::neon::Neon::new() {
                    // SAFETY: the token exists, so the CPU runs NEON.
                    return unsafe { $neon(s, $($arg),*) };
                }
            }
            #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
            Backend::Portable => return $portable(Portable, $($arg),*),
            _ => {}
        }
        $scalar(Scalar, $($arg),*)
    }};
}

/// Runs the sigmoid kernel on `backend` (which the caller has checked is available).
pub(crate) fn sigmoid<I: Io>(
    backend: Backend,
    focus: Dynamic,
    hard: bool,
    args: &sigmoid::Args<'_>,
    io: &mut I,
    losses: Option<&mut [f32]>,
) -> Wide {
    route!(
        backend,
        [sigmoid_avx512, sigmoid_avx2, sigmoid_neon, sigmoid_portable, sigmoid_scalar],
        focus,
        hard,
        args,
        io,
        losses
    )
}

/// Runs the softmax kernel on `backend` (which the caller has checked is available).
pub(crate) fn softmax<'t, I: Io, R: softmax::RowTargets<'t>>(
    backend: Backend,
    focus: Dynamic,
    hard: bool,
    args: &softmax::Args<'_, R>,
    io: &mut I,
    losses: Option<&mut [f32]>,
) -> Wide {
    route!(
        backend,
        [softmax_avx512, softmax_avx2, softmax_neon, softmax_portable, softmax_scalar],
        focus,
        hard,
        args,
        io,
        losses
    )
}
