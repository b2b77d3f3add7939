//! `cargo +nightly fuzz run softmax_probs`: see `Target::SoftmaxProbs` in fuzz/src/lib.rs for what it checks.
#![no_main]

use focal_loss_fuzz::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    Target::SoftmaxProbs.run(data);
});
