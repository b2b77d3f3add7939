//! The profiling examples' inputs: a reproducible stream of uniform floats.

/// Uniform floats in [0, 1) from a fixed xorshift64 seed.
pub fn uniform() -> impl FnMut() -> f32 {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    }
}
