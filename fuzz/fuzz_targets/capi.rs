//! `cargo +nightly fuzz run capi`: see `Target::Capi` in fuzz/src/lib.rs for what it checks.
#![no_main]

use focal_loss_fuzz::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    Target::Capi.run(data);
});
