//! Size probe: the harness alone, default options, no call into focal-loss.
#![no_std]
#![no_main]

use focal_loss_firmware::probe;

#[cortex_m_rt::entry]
fn main() -> ! {
    let b = probe::Buffers::new();
    probe::keep((probe::default_options(), b))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::nop();
    }
}
