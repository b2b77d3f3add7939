//! x86_64 backends written with `core::arch`: `wide` cannot use AVX2 or AVX-512 chosen at run
//! time, since it picks its instructions when it is compiled.

pub(crate) mod avx2;
pub(crate) mod avx512;
