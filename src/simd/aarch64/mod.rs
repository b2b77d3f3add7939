//! aarch64 backend written with `core::arch`.

pub(crate) mod neon;
