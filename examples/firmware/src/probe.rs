//! The harness of the size probes (`src/bin/probe_*.rs`), which `cargo xtask size` measures.
//!
//! Each probe is a complete firmware image that calls one entry point once, with options and
//! buffers the optimiser cannot see through (`black_box`), so every option's code and every
//! length is kept. `probe-bare` calls nothing; `probe-build` only builds the options. The flash
//! an entry point costs is its probe's flash (vector table, code, read-only data and data
//! initialisers) less `probe-build`'s. The probes' panic handler does not format, as a
//! size-conscious firmware's would not (panic-halt).

use core::hint::black_box;

use focal_loss::{FocalLoss, Reduction};

/// The per-class α of the probes.
pub static CLASS_ALPHA: [f32; 4] = [0.25, 0.5, 0.75, 1.0];

/// Options built at run time from values the optimiser cannot see: every option's code is kept.
#[inline(never)]
pub fn options() -> FocalLoss<'static> {
    let built = FocalLoss::builder()
        .gamma(black_box(1.5))
        .alpha(black_box(0.25))
        .class_alpha(black_box(&CLASS_ALPHA))
        .label_smoothing(black_box(0.1))
        .reduction(black_box(Reduction::None))
        .normalizer(black_box(2.0))
        .ignore_index(black_box(-100))
        .build();
    black_box(built.unwrap_or_default())
}

/// Default options, opaque to the optimiser, without the builder (for `probe-bare`).
pub fn default_options() -> FocalLoss<'static> {
    black_box(FocalLoss::default())
}

/// Buffers whose contents and lengths are opaque to the optimiser.
pub struct Buffers {
    pub logits: [f32; 16],
    pub values: [f32; 16],
    pub indices: [u8; 4],
    pub losses: [f32; 16],
    pub grad: [f32; 16],
}

impl Buffers {
    pub fn new() -> Buffers {
        black_box(Buffers {
            logits: [0.0; 16],
            values: [0.0; 16],
            indices: [0; 4],
            losses: [0.0; 16],
            grad: [0.0; 16],
        })
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Buffers::new()
    }
}

/// A slice whose pointer and length the optimiser cannot see.
pub fn opaque<T>(s: &mut [T]) -> &mut [T] {
    black_box(s)
}

/// The class count, opaque to the optimiser.
pub fn classes() -> usize {
    black_box(4)
}

/// Keeps `value` alive and never returns.
pub fn keep<T>(value: T) -> ! {
    black_box(value);
    loop {
        cortex_m::asm::nop();
    }
}

/// A complete probe firmware: `size_probe!(|fl, b| expression)` calls the expression with the
/// opaque options `fl` and buffers `b`.
#[macro_export]
macro_rules! size_probe {
    (|$fl:ident, $b:ident| $call:expr) => {
        #[cortex_m_rt::entry]
        fn main() -> ! {
            #[allow(unused_mut)]
            let mut $b = $crate::probe::Buffers::new();
            let $fl = $crate::probe::options();
            let result = $call;
            $crate::probe::keep((result, $b))
        }

        #[panic_handler]
        fn panic(_: &core::panic::PanicInfo) -> ! {
            loop {
                cortex_m::asm::nop();
            }
        }
    };
}
