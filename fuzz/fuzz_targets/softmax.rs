//! `cargo +nightly fuzz run softmax`: see `Target::Softmax` in fuzz/src/lib.rs for what it checks.
#![no_main]

use focal_loss_fuzz::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    Target::Softmax.run(data);
});
