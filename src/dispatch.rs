//! Which backend runs: detected once at run time (also in `no_std`), or forced by the caller.
//!
//! Detection uses `cpufeatures` (CPUID + XGETBV on x86_64, the OS on aarch64), which caches its
//! answer in an atomic and answers at compile time when the features are already enabled
//! (`-C target-cpu=native`). Targets without detection (thumb, riscv) choose at compile time.

use core::fmt;

/// A set of kernels: one generic algorithm instantiated for one instruction set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// One lane, plain float32 with the project's own polynomials: microcontrollers, and the
    /// reference every other backend is compared with.
    Scalar,
    /// Eight lanes of the `wide` crate: SSE2 on x86_64, NEON on aarch64 (compiled on x86,
    /// x86_64 and aarch64 only).
    Portable,
    /// x86_64 AVX2 with FMA, eight lanes.
    Avx2,
    /// x86_64 AVX-512F, sixteen lanes.
    Avx512,
    /// aarch64 NEON, four lanes.
    Neon,
    /// The readable float64 twin of the specification (`src/reference`, with libm): slow, the
    /// yardstick of the tests, and the wide path every backend takes for inputs beyond float32's
    /// range. Forcing it needs the `reference` feature.
    #[cfg(feature = "reference")]
    Reference,
}

impl Backend {
    /// Every backend, slowest first.
    pub const ALL: [Backend; 5] =
        [Backend::Scalar, Backend::Portable, Backend::Neon, Backend::Avx2, Backend::Avx512];

    /// Its name, as `fl_backend()` reports it: `"scalar"`, `"portable"`, `"avx2"`, `"avx512"`,
    /// `"neon"`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Portable => "portable",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
            Backend::Neon => "neon",
            #[cfg(feature = "reference")]
            Backend::Reference => "reference",
        }
    }

    /// Whether this CPU can run it.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Scalar => true,
            // Elsewhere `wide` has no vector registers to use, and its float64 accumulator would
            // be software: the portable backend is not even compiled there.
            Backend::Portable => {
                cfg!(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))
            }
            #[cfg(feature = "reference")]
            Backend::Reference => true,
            Backend::Avx2 => has_avx2(),
            Backend::Avx512 => has_avx512(),
            Backend::Neon => has_neon(),
        }
    }

    /// Whether this is the reference (which runs the wide path's code).
    pub(crate) fn is_reference(self) -> bool {
        #[cfg(feature = "reference")]
        return self == Backend::Reference;
        #[cfg(not(feature = "reference"))]
        false
    }

    /// The fastest backend this CPU can run (detected once, then cached).
    pub fn detect() -> Backend {
        if has_avx512() {
            Backend::Avx512
        } else if has_avx2() {
            Backend::Avx2
        } else if has_neon() {
            Backend::Neon
        } else if cfg!(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")) {
            Backend::Portable
        } else {
            // Without vector registers, `wide`'s four lanes are four scalar operations.
            Backend::Scalar
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(target_arch = "x86_64")]
cpufeatures::new!(avx2_fma, "avx2", "fma");
#[cfg(target_arch = "x86_64")]
cpufeatures::new!(avx512f, "avx512f");
#[cfg(target_arch = "aarch64")]
cpufeatures::new!(neon, "neon");

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return avx2_fma::get();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    return avx512f::get() && avx2_fma::get();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

fn has_neon() -> bool {
    #[cfg(target_arch = "aarch64")]
    return neon::get();
    #[cfg(not(target_arch = "aarch64"))]
    false
}
