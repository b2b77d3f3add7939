//! The budgeted kernel call alone (fused binary, γ = 2, α = 0.25, hard targets, mean, in place,
//! 1024 elements), then exit: a short run whose QEMU execution trace gives a per-instruction
//! profile of the scalar kernel. See `tools/qemu_profile.py`.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use focal_loss::{FocalLoss, Reduction};
use focal_loss_firmware::bench;

#[entry]
fn main() -> ! {
    let options = FocalLoss::builder().gamma(2.0).alpha(0.25).reduction(Reduction::Mean).build();
    let mut logits = bench::LOGITS;
    let ok = options.is_ok_and(|fl| {
        black_box(&fl)
            .sigmoid_in_place(black_box(&mut logits[..]), black_box(&bench::TARGETS[..]), 1, None)
            .is_ok()
    });
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::nop();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::nop();
    }
}
