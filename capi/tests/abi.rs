//! The C ABI called from Rust with what a C caller can pass and the C test cannot (misaligned
//! pointers, pointers at the end of the address space, odd `struct_size` layouts) and with
//! random hostile arguments: every call returns a known status, never panics, and writes nothing
//! when it refuses. The C test (`tests/c/test_capi.c`, run by `cargo xtask capi`) covers the
//! values and every refusal of DESIGN §2.5 from C.

use std::ffi::CStr;
use std::mem::size_of;
use std::ptr::{null, null_mut};

use focal_loss_capi::*;

const SENTINEL: f32 = f32::from_bits(0x7fc0_1234);

const STATUSES: [i32; 11] = [
    FL_OK,
    FL_ERR_NULL_POINTER,
    FL_ERR_SHAPE,
    FL_ERR_GAMMA,
    FL_ERR_ALPHA,
    FL_ERR_LABEL_SMOOTHING,
    FL_ERR_NORMALIZER,
    FL_ERR_REDUCTION,
    FL_ERR_TARGET,
    FL_ERR_STRUCT_SIZE,
    FL_ERR_ALIASING,
];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn defaults_and_messages() {
    let o = fl_options_default();
    assert_eq!(o.struct_size as usize, size_of::<FlOptions>());
    if cfg!(target_pointer_width = "64") {
        assert_eq!(o.struct_size, 40);
    }
    assert_eq!((o.reduction, o.gamma, o.label_smoothing, o.normalizer), (FL_REDUCTION_MEAN, 2.0, 0.0, 0.0));
    assert!(o.alpha.is_nan() && o.class_alpha.is_null());
    assert_eq!(o.ignore_index, -100);
    assert_eq!(fl_abi_version(), FL_ABI_VERSION);

    let text = |s: i32| {
        // SAFETY: fl_status_message returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(fl_status_message(s)) }.to_str().unwrap().to_string()
    };
    let unknown = text(-11);
    assert_eq!(unknown, "unknown status");
    let mut seen = std::collections::BTreeSet::new();
    for s in STATUSES {
        let m = text(s);
        assert!(!m.is_empty() && m != unknown && seen.insert(m), "status {s}");
    }
    for s in [1, -11, i32::MIN, i32::MAX] {
        assert_eq!(text(s), unknown);
    }
    // SAFETY: fl_backend returns a static NUL-terminated string.
    let backend = unsafe { CStr::from_ptr(fl_backend()) }.to_str().unwrap();
    assert!(["avx512", "avx2", "neon", "portable", "scalar"].contains(&backend), "{backend}");
}

/// A sigmoid call on 2 × 3 elements with the given pointers; the logits and targets are valid.
///
/// # Safety
///
/// The pointers follow the pointer rules for 6 elements (or are refused before use).
unsafe fn sigmoid(
    logits: *const f32,
    targets: *const f32,
    opts: *const FlOptions,
    loss: *mut f32,
    grad: *mut f32,
) -> i32 {
    // SAFETY: the caller's guarantee.
    unsafe { fl_sigmoid_focal(logits, targets, 2, 3, opts, loss, grad) }
}

#[test]
fn misaligned_pointers_are_refused() {
    // Room for 6 floats at a misaligned address inside each buffer.
    let mut buf = vec![0.5f32; 64];
    let base = buf.as_mut_ptr();
    let o = fl_options_default();
    let mut class_alpha_opts = o;
    // Every offset below stays inside `buf`.
    let at = |i: usize| base.wrapping_add(i);
    let odd = |i: usize| base.wrapping_add(i).wrapping_byte_add(1);
    class_alpha_opts.class_alpha = odd(40);
    let cases: [(&str, *const f32, *const f32, *const FlOptions, *mut f32, *mut f32); 5] = [
        ("logits", odd(0), at(16), &o, null_mut(), at(32)),
        ("targets", at(0), odd(16), &o, null_mut(), at(32)),
        ("loss", at(0), at(16), &o, odd(48), null_mut()),
        ("grad", at(0), at(16), &o, null_mut(), odd(32)),
        ("class_alpha", at(0), at(16), &class_alpha_opts, null_mut(), at(32)),
    ];
    for (name, logits, targets, opts, loss, grad) in cases {
        let before = bits(&buf);
        // SAFETY: every pointer is inside `buf` with room for 6 floats; misaligned ones are
        // refused before use.
        let status = unsafe { sigmoid(logits, targets, opts, loss, grad) };
        assert_eq!(status, FL_ERR_NULL_POINTER, "misaligned {name}");
        assert_eq!(bits(&buf), before, "misaligned {name}: written");
    }
    // The same call, aligned, is fine.
    class_alpha_opts.class_alpha = at(40);
    // SAFETY: as above, all aligned.
    let status = unsafe { sigmoid(at(0), at(16), &class_alpha_opts, at(48), at(32)) };
    assert_eq!(status, FL_OK);
}

#[test]
fn buffers_that_wrap_around_the_address_space_are_refused() {
    let logits = [0.5f32; 6];
    let targets = [1.0f32; 6];
    let o = fl_options_default();
    // Aligned, 8 bytes below the top of the address space: 6 floats would wrap.
    let top = (usize::MAX - 7) & !3;
    let wrapping = std::ptr::without_provenance_mut::<f32>(top);
    // SAFETY: the wrapping pointers are refused before use; the others are valid.
    unsafe {
        assert_eq!(sigmoid(wrapping, targets.as_ptr(), &o, null_mut(), null_mut()), FL_ERR_NULL_POINTER);
        assert_eq!(sigmoid(logits.as_ptr(), wrapping, &o, null_mut(), null_mut()), FL_ERR_NULL_POINTER);
        assert_eq!(sigmoid(logits.as_ptr(), targets.as_ptr(), &o, null_mut(), wrapping), FL_ERR_NULL_POINTER);
    }
}

#[test]
fn struct_size_and_extra_bytes() {
    let logits = [0.5f32; 6];
    let targets = [1.0f32; 6];
    let size = size_of::<FlOptions>();
    // A newer caller's struct: the known fields, then 24 bytes of options this version lacks,
    // in 8-byte aligned storage.
    let mut storage = [0u64; 8];
    let call = |storage: &[u64; 8]| {
        // SAFETY: `storage` holds an FlOptions followed by zeros: `struct_size` (at most 64)
        // readable bytes.
        unsafe { sigmoid(logits.as_ptr(), targets.as_ptr(), storage.as_ptr().cast(), null_mut(), null_mut()) }
    };
    let write = |storage: &mut [u64; 8], struct_size: usize, extra: Option<usize>| {
        *storage = [0; 8];
        let mut o = fl_options_default();
        o.struct_size = struct_size as u32;
        // SAFETY: `storage` is 64 bytes, 8-aligned, larger than an FlOptions.
        unsafe { storage.as_mut_ptr().cast::<FlOptions>().write(o) };
        if let Some(i) = extra {
            // SAFETY: `i` < 64.
            unsafe { storage.as_mut_ptr().cast::<u8>().add(i).write(1) };
        }
    };
    write(&mut storage, size, None);
    assert_eq!(call(&storage), FL_OK);
    write(&mut storage, 64, None);
    assert_eq!(call(&storage), FL_OK, "larger, extra bytes zero");
    for i in size..64 {
        write(&mut storage, 64, Some(i));
        assert_eq!(call(&storage), FL_ERR_STRUCT_SIZE, "nonzero extra byte {i}");
        // A nonzero byte past struct_size is not the library's business.
        write(&mut storage, i, Some(i));
        assert_eq!(call(&storage), FL_OK, "a nonzero byte just past struct_size {i}");
    }
    for s in [0, 1, 4, size - 1] {
        write(&mut storage, s, None);
        assert_eq!(call(&storage), FL_ERR_STRUCT_SIZE, "struct_size {s}");
    }
    // An FlOptions at an odd address is read without assuming alignment.
    let mut bytes = [0u8; 64];
    let o = fl_options_default();
    // SAFETY: bytes 1..1+size are inside `bytes`; an unaligned write.
    unsafe { bytes.as_mut_ptr().add(1).cast::<FlOptions>().write_unaligned(o) };
    // SAFETY: 40 readable bytes at an odd address, which the library reads unaligned.
    let status = unsafe {
        sigmoid(logits.as_ptr(), targets.as_ptr(), bytes.as_ptr().add(1).cast(), null_mut(), null_mut())
    };
    assert_eq!(status, FL_OK);
}

/// A deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
    /// Mostly ordinary values, sometimes special or arbitrary bit patterns.
    fn float(&mut self, ordinary: f32) -> f32 {
        match self.below(8) {
            0 => f32::from_bits(self.next() as u32 ^ (self.next() as u32) << 16),
            1 => self.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0, 1.0, -1.0, f32::MAX]),
            2 => (self.below(2001) as f32 - 1000.0) / 100.0,
            _ => ordinary,
        }
    }
}

/// Random hostile calls of every entry point: garbage options and struct sizes, shapes that are
/// fine, empty, zero-class or overflowing, and output pointers that are NULL, in place, or land
/// anywhere in one arena (so that they overlap the inputs and each other at random). Each call
/// returns one of the statuses, and a refused one leaves the arena as it was.
#[test]
fn hostile_arguments() {
    const ARENA: usize = 512;
    let mut rng = Lcg(0x5eed);
    let mut arena = vec![0f32; ARENA];
    let mut classes_buf = vec![0i64; 64];
    let mut counts = std::collections::BTreeMap::new();
    // Under Miri each iteration costs about 0.4 s (mostly filling and comparing the arena):
    // 100 still bring up every status (all have come up by the 80th).
    let iterations = if cfg!(miri) { 100 } else { 20_000 };
    for _ in 0..iterations {
        for x in arena.iter_mut() {
            let ordinary = rng.below(1001) as f32 / 1000.0;
            *x = if rng.below(4) == 0 { SENTINEL } else { rng.float(ordinary) };
        }
        let (rows, classes) = match rng.below(10) {
            0 => (0, rng.below(5) as usize),
            1 => (rng.below(5) as usize, 0),
            2 => (usize::MAX / rng.pick(&[1, 2, 3]), rng.pick(&[2, 5, usize::MAX])),
            _ => (1 + rng.below(8) as usize, 1 + rng.below(8) as usize),
        };
        let huge = rows.checked_mul(classes).is_none_or(|n| n > 64);
        for c in classes_buf.iter_mut() {
            *c = match rng.below(6) {
                0 => rng.pick(&[-100, -1, i64::MIN, i64::MAX]),
                _ => rng.below(classes.clamp(1, 10) as u64 + 1) as i64,
            };
        }
        let mut o = fl_options_default();
        o.reduction = match rng.below(6) {
            0 => rng.pick(&[-1, 3, 99, i32::MIN]),
            _ => rng.below(3) as i32,
        };
        o.gamma = rng.float(2.0);
        let alpha = rng.pick(&[f32::NAN, 0.25]);
        o.alpha = rng.float(alpha);
        let label_smoothing = rng.pick(&[0.0, 0.1]);
        o.label_smoothing = rng.float(label_smoothing);
        let normalizer = rng.pick(&[0.0, 4.0]);
        o.normalizer = rng.float(normalizer);
        o.ignore_index = rng.pick(&[-100, -1, 0, 2]);
        o.struct_size = match rng.below(10) {
            0 => rng.pick(&[0, 1, 39, 41, 48]),
            _ => 40,
        };
        let before = bits(&arena);
        let base = arena.as_mut_ptr();
        // Offsets below 256 + 64 floats stay in the arena.
        let at = |i: usize| base.wrapping_add(i);
        let place = |rng: &mut Lcg| match rng.below(8) {
            0 => null_mut(),
            _ => at(rng.below(256) as usize),
        };
        let logits = place(&mut rng);
        let targets = place(&mut rng);
        let loss = place(&mut rng);
        let grad = match rng.below(4) {
            0 => logits,
            _ => place(&mut rng),
        };
        // class_alpha holds `classes` values: only within the arena's room.
        o.class_alpha =
            if classes <= 64 && rng.below(3) == 0 { at(256 + rng.below(64) as usize) } else { null() };
        // Large shapes only with NULL inputs, or overflowing: both refused before any read.
        let (logits, targets) = if huge && rows.checked_mul(classes).is_some() {
            (null_mut(), null_mut())
        } else {
            (logits, targets)
        };
        // struct_size beyond 40: the storage behind `o` must hold it.
        let mut storage = [0u64; 8];
        let opts = if o.struct_size > 40 {
            // SAFETY: 64 bytes of 8-aligned storage.
            unsafe { storage.as_mut_ptr().cast::<FlOptions>().write(o) };
            storage.as_ptr().cast::<FlOptions>()
        } else if rng.below(50) == 0 {
            null()
        } else {
            &o as *const FlOptions
        };
        let classes_ptr = if targets.is_null() { null() } else { classes_buf.as_ptr() };
        let task = rng.below(3);
        let classes_before = classes_buf.clone();
        // SAFETY: every non-NULL pointer points into the arena with room for 64 floats, or to
        // 64 class indices; larger shapes pass NULL inputs or overflow, so they are refused
        // before anything is read; `opts` points to `struct_size` bytes.
        let status = unsafe {
            match task {
                0 => fl_sigmoid_focal(logits, targets, rows, classes, opts, loss, grad),
                1 => fl_softmax_focal(logits, classes_ptr, rows, classes, opts, loss, grad),
                _ => fl_softmax_focal_probs(logits, targets, rows, classes, opts, loss, grad),
            }
        };
        assert!(STATUSES.contains(&status), "unknown status {status}");
        if status != FL_OK {
            assert_eq!(bits(&arena), before, "status {status}: refused, but the arena was written");
        }
        assert_eq!(classes_buf, classes_before);
        *counts.entry(status).or_insert(0) += 1;
    }
    eprintln!("hostile_arguments: statuses {counts:?}");
    // Every status came up, so the generator reaches every check.
    for s in STATUSES {
        assert!(counts.contains_key(&s), "status {s} never came up: {counts:?}");
    }
}
