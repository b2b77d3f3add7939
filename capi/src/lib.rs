//! The C ABI of `focal_loss`, version 1 (DESIGN §4.2): the functions, `FlOptions` and the
//! constants declared in `include/focal_loss.h`, for runtimes written in C, C++, Python or
//! anything else with an FFI.
//!
//! `cargo xtask capi` builds this crate and installs it as `target/capi/libfocal_loss.so` and
//! `target/capi/libfocal_loss.a`. The header is written by hand; `tests/header.rs` parses it and
//! checks every constant, every field of `FlOptions` (order and type) and every function
//! signature against the definitions here, so the two cannot drift apart.
//!
//! Every entry point validates its arguments before it reads any buffer or writes anything, in
//! this order, and returns the first refusal it finds:
//!
//! 1. `opts` is NULL → [`FL_ERR_NULL_POINTER`]; `struct_size` is smaller than
//!    `sizeof(FlOptions)`, or larger with a nonzero byte past the known fields →
//!    [`FL_ERR_STRUCT_SIZE`];
//! 2. the options: reduction ([`FL_ERR_REDUCTION`]), γ ([`FL_ERR_GAMMA`]), α
//!    ([`FL_ERR_ALPHA`]), label smoothing ([`FL_ERR_LABEL_SMOOTHING`]), normalizer
//!    ([`FL_ERR_NORMALIZER`]);
//! 3. the shape: `classes == 0` with `rows > 0`, `rows * classes` overflowing, or a buffer whose
//!    size in bytes could not exist (more than `PTRDIFF_MAX`) → [`FL_ERR_SHAPE`];
//! 4. the pointers: `logits` or `targets` NULL while `rows * classes > 0`, or any buffer that is
//!    used and not aligned for its type (or that would wrap around the address space) →
//!    [`FL_ERR_NULL_POINTER`];
//! 5. overlaps: `grad` overlapping `logits` other than exactly (in place), `targets`, `loss` or
//!    `class_alpha`; `loss` overlapping `logits`, `targets` or `class_alpha` →
//!    [`FL_ERR_ALIASING`];
//! 6. what only the batch shows (by the Rust API, which also writes nothing on error): a
//!    `class_alpha` value out of range → [`FL_ERR_ALPHA`]; a target, probability or class index
//!    out of range → [`FL_ERR_TARGET`].
//!
//! Every function, called from Rust as C would call it:
//!
//! ```
//! use focal_loss_capi::*;
//! use std::ffi::CStr;
//!
//! assert_eq!(fl_abi_version(), FL_ABI_VERSION);
//! let mut opts = fl_options_default(); // γ = 2, mean, α off
//! opts.alpha = 0.25;
//!
//! // Binary: 4 rows, 1 class; the mean loss and its gradient.
//! let logits = [2.5f32, -1.0, 0.3, -4.0];
//! let targets = [1.0f32, 0.0, 1.0, 1.0];
//! let (mut loss, mut grad) = (0.0f32, [0.0f32; 4]);
//! // SAFETY: 4 logits and targets, one loss value, 4 gradient values.
//! let status = unsafe {
//!     fl_sigmoid_focal(logits.as_ptr(), targets.as_ptr(), 4, 1, &opts, &mut loss, grad.as_mut_ptr())
//! };
//! assert_eq!(status, FL_OK);
//! assert!(loss > 0.0 && grad[3] < 0.0);
//!
//! // Multi-class, 2 rows x 3 classes, per-row losses, the gradient in place over the logits.
//! opts.reduction = FL_REDUCTION_NONE;
//! let mut logits = [3.0f32, 1.0, 0.2, 0.5, 2.0, -1.0];
//! let mut losses = [0.0f32; 2];
//! let p = logits.as_mut_ptr();
//! // SAFETY: 6 logits, 2 class indices, 2 losses; `grad == logits` is the in-place form.
//! let status = unsafe { fl_softmax_focal(p, [0i64, 2].as_ptr(), 2, 3, &opts, losses.as_mut_ptr(), p) };
//! assert_eq!(status, FL_OK);
//! assert!(losses[1] > losses[0] && logits[0] < 0.0);
//!
//! // Target probabilities, forward only; then a refused call, which writes nothing.
//! let probs = [0.75f32, 0.25, 0.0];
//! let mut row_loss = [0.0f32];
//! // SAFETY: 3 logits and probabilities, 1 loss.
//! let status = unsafe {
//!     fl_softmax_focal_probs(logits.as_ptr(), probs.as_ptr(), 1, 3, &opts, row_loss.as_mut_ptr(), std::ptr::null_mut())
//! };
//! assert_eq!(status, FL_OK);
//! opts.gamma = -1.0;
//! // SAFETY: as above.
//! let status = unsafe {
//!     fl_softmax_focal_probs(logits.as_ptr(), probs.as_ptr(), 1, 3, &opts, row_loss.as_mut_ptr(), std::ptr::null_mut())
//! };
//! assert_eq!(status, FL_ERR_GAMMA);
//! // SAFETY: both return static NUL-terminated strings.
//! let (message, backend) = unsafe { (CStr::from_ptr(fl_status_message(status)), CStr::from_ptr(fl_backend())) };
//! assert_eq!(message.to_str(), Ok("gamma must be finite and >= 0"));
//! assert!(!backend.to_bytes().is_empty());
//! ```
//!
//! No function here panics: there is no `unwrap`, no indexing, no arithmetic that can overflow
//! on caller input, and the Rust API refuses every input it cannot handle. Should a panic happen
//! anyway (a bug), `extern "C"` turns it into an abort: it never unwinds into the caller.
//!
//! # Safety
//!
//! The pointer rules of every entry point, which the caller must keep (the library checks what
//! can be checked, listed above, and relies on the rest):
//!
//! - `opts`, when not NULL, points to `opts->struct_size` readable bytes, the first
//!   `sizeof(FlOptions)` of them an `FlOptions`.
//! - With `n = rows * classes`: `logits` points to `n` readable floats; `targets` to `n` floats
//!   (sigmoid, probabilities) or `rows` `int64_t` (class indices); `opts->class_alpha`, when
//!   not NULL, to `classes` floats; `loss`, when not NULL, to `n` (sigmoid) or `rows` (softmax)
//!   writable floats with `FL_REDUCTION_NONE`, else to one; `grad`, when not NULL and not
//!   `logits`, to `n` writable floats. Each is aligned for its type and stays valid, and is not
//!   written by another thread, for the duration of the call.
//! - With `n = 0` every data pointer may be NULL (a non-NULL `loss` still receives the one value
//!   of `sum` or `mean`).

#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

use core::ffi::{c_char, CStr};
use core::mem::{align_of, size_of};

use focal_loss::{Backend, Error, FocalLoss, Out, Reduction};

/// The version of this ABI, which [`fl_abi_version`] returns.
pub const FL_ABI_VERSION: u32 = 1;

/// `FlOptions::reduction`: one loss per element (sigmoid) or per row (softmax).
pub const FL_REDUCTION_NONE: i32 = 0;
/// `FlOptions::reduction`: one value, the sum of the losses.
pub const FL_REDUCTION_SUM: i32 = 1;
/// `FlOptions::reduction`: one value, the sum divided by D (DESIGN §2.4). The default.
pub const FL_REDUCTION_MEAN: i32 = 2;

/// Success.
pub const FL_OK: i32 = 0;
/// A data pointer is NULL while `rows * classes > 0` (or not aligned for its type), or `opts` is
/// NULL.
pub const FL_ERR_NULL_POINTER: i32 = -1;
/// `rows * classes` overflows (or a buffer's size in bytes could not exist), or `classes == 0`
/// with `rows > 0`.
pub const FL_ERR_SHAPE: i32 = -2;
/// γ is negative or not finite.
pub const FL_ERR_GAMMA: i32 = -3;
/// α or a `class_alpha` value is out of range.
pub const FL_ERR_ALPHA: i32 = -4;
/// Label smoothing is outside [0, 1).
pub const FL_ERR_LABEL_SMOOTHING: i32 = -5;
/// The normalizer is NaN, negative or infinite.
pub const FL_ERR_NORMALIZER: i32 = -6;
/// The reduction is not one of `FL_REDUCTION_*`.
pub const FL_ERR_REDUCTION: i32 = -7;
/// A target, target probability or class index is out of range.
pub const FL_ERR_TARGET: i32 = -8;
/// `struct_size` is smaller than `sizeof(FlOptions)`, or larger with nonzero extra bytes.
pub const FL_ERR_STRUCT_SIZE: i32 = -9;
/// `grad` overlaps `logits` (other than exactly), `targets` or `loss`, or `loss` overlaps an
/// input.
pub const FL_ERR_ALIASING: i32 = -10;

/// The options of every call (`FlOptions` in C). Start from [`fl_options_default`] and change
/// what you need; its `struct_size` tells the library which version of the struct the caller
/// knows.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FlOptions {
    /// `sizeof(FlOptions)` as the caller knows it; set by [`fl_options_default`].
    pub struct_size: u32,
    /// One of `FL_REDUCTION_*`; default [`FL_REDUCTION_MEAN`].
    pub reduction: i32,
    /// γ ≥ 0, finite; default 2.
    pub gamma: f32,
    /// α in [0, 1], or NaN for off (the default).
    pub alpha: f32,
    /// Label smoothing in [0, 1); default 0.
    pub label_smoothing: f32,
    /// When > 0, `mean` divides by it instead of its count; 0 = off (the default).
    pub normalizer: f32,
    /// Rows of `fl_softmax_focal` whose class index equals it are skipped; default -100.
    pub ignore_index: i64,
    /// NULL (the default) or `classes` values, which replace `alpha`.
    pub class_alpha: *const f32,
}

/// `sizeof(FlOptions)`: the smallest `struct_size` accepted (40 on 64-bit targets).
const OPTIONS_SIZE: usize = size_of::<FlOptions>();

/// Returns [`FL_ABI_VERSION`].
#[no_mangle]
pub extern "C" fn fl_abi_version() -> u32 {
    FL_ABI_VERSION
}

/// The default options: `struct_size = sizeof(FlOptions)`, mean reduction, γ = 2, α off (NaN),
/// no label smoothing, no normalizer, ignore index -100, no `class_alpha`.
#[no_mangle]
pub extern "C" fn fl_options_default() -> FlOptions {
    FlOptions {
        // 40: a u32 cannot be too small for it.
        struct_size: OPTIONS_SIZE as u32,
        reduction: FL_REDUCTION_MEAN,
        gamma: 2.0,
        alpha: f32::NAN,
        label_smoothing: 0.0,
        normalizer: 0.0,
        ignore_index: -100,
        class_alpha: core::ptr::null(),
    }
}

/// Binary (`classes = 1`) and multi-label focal loss (DESIGN §2.1): `logits` and `targets` are
/// `rows × classes`, row-major; each target is in [0, 1].
///
/// `loss` (may be NULL) receives the `rows * classes` per-element losses with
/// `FL_REDUCTION_NONE`, else the one reduced value; `grad` (may be NULL, or exactly `logits` for
/// in place) receives the `rows * classes` gradient values. Returns [`FL_OK`] or a negative
/// status, and writes nothing on error.
///
/// # Safety
///
/// The pointer rules of the [crate documentation](crate#safety): `logits` and `targets` point to
/// `rows * classes` floats, `opts` to an `FlOptions` of `opts->struct_size` bytes, and the
/// output buffers to as many floats as they receive; NULL is allowed where stated.
#[no_mangle]
pub unsafe extern "C" fn fl_sigmoid_focal(
    logits: *const f32,
    targets: *const f32,
    rows: usize,
    classes: usize,
    opts: *const FlOptions,
    loss: *mut f32,
    grad: *mut f32,
) -> i32 {
    let args = Args { logits, targets: Targets::Values(targets), rows, classes, opts, loss, grad };
    // SAFETY: the caller keeps the pointer rules, which `call` requires.
    status(unsafe { call(args) })
}

/// Multi-class focal loss with one class index per row (DESIGN §2.2): `logits` is
/// `rows × classes`, row-major; `targets` holds `rows` indices in `[0, classes)` or equal to
/// `opts->ignore_index` (the row is skipped).
///
/// `loss` (may be NULL) receives the `rows` per-row losses with `FL_REDUCTION_NONE`, else the one
/// reduced value; `grad` (may be NULL, or exactly `logits`) receives `rows * classes` values.
/// Returns [`FL_OK`] or a negative status, and writes nothing on error.
///
/// # Safety
///
/// The pointer rules of the [crate documentation](crate#safety): `logits` points to
/// `rows * classes` floats, `targets` to `rows` `int64_t`, `opts` to an `FlOptions` of
/// `opts->struct_size` bytes, and the output buffers to as many floats as they receive; NULL is
/// allowed where stated.
#[no_mangle]
pub unsafe extern "C" fn fl_softmax_focal(
    logits: *const f32,
    targets: *const i64,
    rows: usize,
    classes: usize,
    opts: *const FlOptions,
    loss: *mut f32,
    grad: *mut f32,
) -> i32 {
    let args = Args { logits, targets: Targets::Classes(targets), rows, classes, opts, loss, grad };
    // SAFETY: the caller keeps the pointer rules, which `call` requires.
    status(unsafe { call(args) })
}

/// Multi-class focal loss with a row of target probabilities per row (DESIGN §2.3): `logits`
/// and `target_probs` are `rows × classes`, row-major; each probability is in [0, 1] (rows are
/// not renormalised). `ignore_index` does not apply.
///
/// `loss` (may be NULL) receives the `rows` per-row losses with `FL_REDUCTION_NONE`, else the one
/// reduced value; `grad` (may be NULL, or exactly `logits`) receives `rows * classes` values.
/// Returns [`FL_OK`] or a negative status, and writes nothing on error.
///
/// # Safety
///
/// The pointer rules of the [crate documentation](crate#safety): `logits` and `target_probs`
/// point to `rows * classes` floats, `opts` to an `FlOptions` of `opts->struct_size` bytes, and
/// the output buffers to as many floats as they receive; NULL is allowed where stated.
#[no_mangle]
pub unsafe extern "C" fn fl_softmax_focal_probs(
    logits: *const f32,
    target_probs: *const f32,
    rows: usize,
    classes: usize,
    opts: *const FlOptions,
    loss: *mut f32,
    grad: *mut f32,
) -> i32 {
    let args = Args { logits, targets: Targets::Probs(target_probs), rows, classes, opts, loss, grad };
    // SAFETY: the caller keeps the pointer rules, which `call` requires.
    status(unsafe { call(args) })
}

/// A static, NUL-terminated English description of `status`, for every value: unknown values
/// get `"unknown status"`. Never NULL; the caller must not free it.
#[no_mangle]
pub extern "C" fn fl_status_message(status: i32) -> *const c_char {
    status_text(status).as_ptr()
}

/// The name of the backend that runs the kernels on this CPU: `"avx512"`, `"avx2"`, `"neon"`,
/// `"portable"` or `"scalar"` (static, NUL-terminated, never NULL).
#[no_mangle]
pub extern "C" fn fl_backend() -> *const c_char {
    backend_name(Backend::detect()).as_ptr()
}

/// The text of [`fl_status_message`].
fn status_text(status: i32) -> &'static CStr {
    match status {
        FL_OK => c"ok",
        FL_ERR_NULL_POINTER => {
            c"a data pointer is NULL (or misaligned) while rows*classes > 0, or opts is NULL"
        }
        FL_ERR_SHAPE => c"impossible shape: rows*classes overflows, or classes is 0 with rows > 0",
        FL_ERR_GAMMA => c"gamma must be finite and >= 0",
        FL_ERR_ALPHA => c"alpha or a class_alpha value is out of range",
        FL_ERR_LABEL_SMOOTHING => c"label smoothing must be in [0, 1)",
        FL_ERR_NORMALIZER => c"normalizer must be finite and >= 0",
        FL_ERR_REDUCTION => c"reduction must be FL_REDUCTION_NONE, FL_REDUCTION_SUM or FL_REDUCTION_MEAN",
        FL_ERR_TARGET => c"a target, target probability or class index is out of range",
        FL_ERR_STRUCT_SIZE => {
            c"struct_size is smaller than sizeof(FlOptions), or larger with nonzero extra bytes"
        }
        FL_ERR_ALIASING => {
            c"grad overlaps logits (other than exactly), targets or loss, or loss overlaps an input"
        }
        _ => c"unknown status",
    }
}

/// The name of [`fl_backend`], NUL-terminated.
fn backend_name(backend: Backend) -> &'static CStr {
    match backend.name() {
        "avx512" => c"avx512",
        "avx2" => c"avx2",
        "neon" => c"neon",
        "portable" => c"portable",
        "scalar" => c"scalar",
        // A backend added to the Rust API without a name here (a test checks that all have one).
        _ => c"unknown",
    }
}

/// The status of a Rust [`Error`]. The C layer has already refused what the Rust API reports as
/// `Length` (it derives every length from `rows` and `classes`), `LossesWithReduction` (it passes
/// a losses buffer only with `none`) and `BackendUnavailable` (it forces no backend); they map to
/// the nearest status all the same.
fn error_status(e: Error) -> i32 {
    match e {
        Error::Gamma => FL_ERR_GAMMA,
        Error::Alpha | Error::ClassAlpha { .. } | Error::ClassAlphaLength { .. } => FL_ERR_ALPHA,
        Error::LabelSmoothing => FL_ERR_LABEL_SMOOTHING,
        Error::Normalizer => FL_ERR_NORMALIZER,
        Error::Target { .. } => FL_ERR_TARGET,
        Error::Aliasing => FL_ERR_ALIASING,
        Error::LossesWithReduction => FL_ERR_REDUCTION,
        Error::Length { .. } | Error::Shape => FL_ERR_SHAPE,
        // `BackendUnavailable`, and variants added later: the call as given cannot run.
        _ => FL_ERR_SHAPE,
    }
}

fn status(result: Result<(), i32>) -> i32 {
    match result {
        Ok(()) => FL_OK,
        Err(status) => status,
    }
}

/// The targets of one call, by task.
#[derive(Clone, Copy)]
enum Targets {
    /// Sigmoid: `rows * classes` values in [0, 1].
    Values(*const f32),
    /// Softmax: `rows` class indices.
    Classes(*const i64),
    /// Softmax: `rows * classes` probabilities.
    Probs(*const f32),
}

/// The arguments of one entry point.
struct Args {
    logits: *const f32,
    targets: Targets,
    rows: usize,
    classes: usize,
    opts: *const FlOptions,
    loss: *mut f32,
    grad: *mut f32,
}

/// A buffer as the C caller passed it: a pointer and a number of elements of `size` bytes.
#[derive(Clone, Copy)]
struct Span {
    addr: usize,
    len: usize,
    size: usize,
    align: usize,
}

impl Span {
    fn new<T>(ptr: *const T, len: usize) -> Span {
        Span { addr: ptr as usize, len, size: size_of::<T>(), align: align_of::<T>() }
    }

    /// Whether the buffer is read or written at all.
    fn used(&self) -> bool {
        self.addr != 0 && self.len != 0
    }

    /// One past its last byte, `None` when that wraps around the address space (the caller has
    /// already checked that `len * size` does not overflow).
    fn end(&self) -> Option<usize> {
        self.addr.checked_add(self.len.wrapping_mul(self.size))
    }

    /// A used buffer must be aligned and must not wrap around the address space.
    fn check(&self) -> Result<(), i32> {
        if self.used() && (!self.addr.is_multiple_of(self.align) || self.end().is_none()) {
            return Err(FL_ERR_NULL_POINTER);
        }
        Ok(())
    }

    /// Whether two buffers share a byte (unused buffers share none).
    fn overlaps(&self, other: &Span) -> bool {
        match (self.used() && other.used(), self.end(), other.end()) {
            (true, Some(end), Some(other_end)) => self.addr < other_end && other.addr < end,
            _ => false,
        }
    }
}

/// Whether `count` elements of `T` have a size in bytes that a buffer can have.
fn fits<T>(count: usize) -> bool {
    count.checked_mul(size_of::<T>()).is_some_and(|bytes| bytes <= isize::MAX as usize)
}

/// Reads `*opts` after checking it is there and its `struct_size`.
///
/// # Safety
///
/// `opts` is NULL or points to `opts->struct_size` readable bytes (at least its first four).
unsafe fn read_options(opts: *const FlOptions) -> Result<FlOptions, i32> {
    if opts.is_null() {
        return Err(FL_ERR_NULL_POINTER);
    }
    // SAFETY: `opts` is not NULL and its first four bytes (`struct_size`) are readable; an
    // unaligned read assumes no alignment.
    let size = unsafe { opts.cast::<u32>().read_unaligned() } as usize;
    if size < OPTIONS_SIZE || !fits::<u8>(size) {
        return Err(FL_ERR_STRUCT_SIZE);
    }
    if (opts as usize).checked_add(size).is_none() {
        return Err(FL_ERR_NULL_POINTER);
    }
    // SAFETY: the caller guarantees `size` readable bytes at `opts`, which do not wrap around
    // the address space (checked) and are fewer than isize::MAX (checked); bytes have no
    // alignment and every value is valid.
    let bytes = unsafe { core::slice::from_raw_parts(opts.cast::<u8>(), size) };
    if bytes.iter().skip(OPTIONS_SIZE).any(|&b| b != 0) {
        return Err(FL_ERR_STRUCT_SIZE);
    }
    // SAFETY: at least `sizeof(FlOptions)` bytes are readable (checked above); every bit
    // pattern is a valid `FlOptions` (integers, floats and a raw pointer); unaligned read.
    Ok(unsafe { opts.read_unaligned() })
}

/// The builder for the scalar options (everything but `class_alpha`), validated.
fn scalar_options<'a>(o: &FlOptions, ignore_index: bool) -> Result<focal_loss::Builder<'a>, i32> {
    let reduction = match o.reduction {
        FL_REDUCTION_NONE => Reduction::None,
        FL_REDUCTION_SUM => Reduction::Sum,
        FL_REDUCTION_MEAN => Reduction::Mean,
        _ => return Err(FL_ERR_REDUCTION),
    };
    let mut builder = FocalLoss::builder()
        .reduction(reduction)
        .gamma(o.gamma)
        .label_smoothing(o.label_smoothing)
        // The builder takes 0 as off, as the C ABI does.
        .normalizer(o.normalizer);
    if !o.alpha.is_nan() {
        builder = builder.alpha(o.alpha);
    }
    if ignore_index {
        builder = builder.ignore_index(o.ignore_index);
    }
    builder.build().map_err(error_status)?;
    Ok(builder)
}

/// `len` elements at `ptr`, or an empty slice when there are none (`ptr` may then be NULL).
///
/// # Safety
///
/// When `len > 0`, `ptr` is aligned and points to `len` readable values of `T` that nothing
/// writes while the slice lives.
unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller's guarantee.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

/// `len` elements at `ptr`, or an empty slice when there are none (`ptr` may then be NULL).
///
/// # Safety
///
/// When `len > 0`, `ptr` is aligned and points to `len` writable values of `T` that nothing else
/// reads or writes while the slice lives.
unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 {
        &mut []
    } else {
        // SAFETY: the caller's guarantee.
        unsafe { core::slice::from_raw_parts_mut(ptr, len) }
    }
}

/// Validates one call (see the crate documentation for the order) and runs it.
///
/// # Safety
///
/// The pointer rules of the [crate documentation](crate#safety).
unsafe fn call(a: Args) -> Result<(), i32> {
    // 1. The options struct.
    // SAFETY: the caller's rule for `opts`.
    let o = unsafe { read_options(a.opts) }?;

    // 2. The scalar options.
    let builder = scalar_options(&o, matches!(a.targets, Targets::Classes(_)))?;
    let none = o.reduction == FL_REDUCTION_NONE;

    // 3. The shape, and every buffer's length.
    if a.classes == 0 && a.rows > 0 {
        return Err(FL_ERR_SHAPE);
    }
    let n = a.rows.checked_mul(a.classes).ok_or(FL_ERR_SHAPE)?;
    let (targets, targets_len) = match a.targets {
        Targets::Values(p) | Targets::Probs(p) => (Span::new(p, n), n),
        Targets::Classes(p) => (Span::new(p, a.rows), a.rows),
    };
    let loss_len = match (none, a.targets) {
        (true, Targets::Values(_)) => n,
        (true, _) => a.rows,
        (false, _) => 1,
    };
    let class_alpha_len = if o.class_alpha.is_null() { 0 } else { a.classes };
    let sizes_fit = fits::<f32>(n)
        && fits::<f32>(class_alpha_len)
        && match a.targets {
            Targets::Classes(_) => fits::<i64>(a.rows),
            _ => true,
        };
    if !sizes_fit {
        return Err(FL_ERR_SHAPE);
    }

    // 4. The pointers.
    if n > 0 && (a.logits.is_null() || targets.addr == 0) {
        return Err(FL_ERR_NULL_POINTER);
    }
    let logits = Span::new(a.logits, n);
    let class_alpha = Span::new(o.class_alpha, class_alpha_len);
    let loss = Span::new(a.loss, loss_len);
    let grad = Span::new(a.grad, n);
    for span in [&logits, &targets, &class_alpha, &loss, &grad] {
        span.check()?;
    }

    // 5. Overlaps. `grad == logits` is the in-place form; otherwise `grad` shares no byte with
    // anything else, and `loss` none with an input.
    let in_place = grad.used() && grad.addr == logits.addr;
    let grad_clashes = if in_place {
        [&targets, &loss, &class_alpha].into_iter().any(|s| grad.overlaps(s))
    } else {
        [&logits, &targets, &loss, &class_alpha].into_iter().any(|s| grad.overlaps(s))
    };
    if grad_clashes || [&logits, &targets, &class_alpha].into_iter().any(|s| loss.overlaps(s)) {
        return Err(FL_ERR_ALIASING);
    }

    // 6. Everything the Rust API checks (class_alpha's range, the targets), then the kernels.
    // Every pointer below was checked to be non-NULL when its length is not 0, aligned and not
    // to wrap around; the caller guarantees that it points to that many values. The mutable
    // slices (`grad`, or the logits in place, and the losses) share no byte with any other slice
    // (checked above), and nothing else touches them during the call.
    let fl = if o.class_alpha.is_null() {
        builder.build()
    } else {
        // SAFETY: `classes` readable floats (see above).
        builder.class_alpha(unsafe { slice(o.class_alpha, class_alpha_len) }).build()
    }
    .map_err(error_status)?;
    let losses = if none && loss.used() {
        // SAFETY: `loss_len` writable floats that no other slice overlaps (see above).
        Some(unsafe { slice_mut(a.loss, loss_len) })
    } else {
        None
    };
    let io = if in_place {
        // SAFETY: `n` readable and writable floats, the logits, that no other slice overlaps.
        Io::InPlace(unsafe { slice_mut(a.grad, n) })
    } else {
        let grad = if grad.used() {
            // SAFETY: `n` writable floats that no other slice overlaps (see above).
            Some(unsafe { slice_mut(a.grad, n) })
        } else {
            None
        };
        // SAFETY: `n` readable floats, overlapped by no mutable slice (see above).
        Io::Separate(unsafe { slice(a.logits, n) }, grad)
    };
    let targets = match a.targets {
        // SAFETY: `targets_len` readable floats, overlapped by no mutable slice (see above).
        Targets::Values(p) => Task::Sigmoid(unsafe { slice(p, targets_len) }),
        // SAFETY: `targets_len` readable int64_t, overlapped by no mutable slice (see above).
        Targets::Classes(p) => Task::Softmax(unsafe { slice(p, targets_len) }),
        // SAFETY: `targets_len` readable floats, overlapped by no mutable slice (see above).
        Targets::Probs(p) => Task::Probs(unsafe { slice(p, targets_len) }),
    };
    let reduced = run(&fl, targets, a.classes, io, losses).map_err(error_status)?;
    if !none && !a.loss.is_null() {
        // SAFETY: `loss` is not NULL, aligned (checked), and points to one writable float that no
        // slice above covers (it overlaps no input, and `grad` does not overlap it).
        unsafe { a.loss.write(reduced) };
    }
    Ok(())
}

/// The targets of a call, as slices.
enum Task<'a> {
    Sigmoid(&'a [f32]),
    Softmax(&'a [i64]),
    Probs(&'a [f32]),
}

/// The logits and the gradient of a call.
enum Io<'a> {
    /// The logits, and the gradient when it is wanted.
    Separate(&'a [f32], Option<&'a mut [f32]>),
    /// The logits, overwritten by the gradient.
    InPlace(&'a mut [f32]),
}

/// The outputs the Rust API writes besides the reduced loss.
fn out<'o>(grad: Option<&'o mut [f32]>, losses: Option<&'o mut [f32]>) -> Out<'o> {
    let mut out = Out::new();
    if let Some(grad) = grad {
        out = out.grad(grad);
    }
    if let Some(losses) = losses {
        out = out.losses(losses);
    }
    out
}

/// Runs a validated call through the Rust API (which validates the batch once more).
fn run(
    fl: &FocalLoss<'_>,
    task: Task<'_>,
    classes: usize,
    io: Io<'_>,
    losses: Option<&mut [f32]>,
) -> Result<f32, Error> {
    match (task, io) {
        (Task::Sigmoid(t), Io::Separate(x, g)) => fl.sigmoid(x, t, classes, out(g, losses)),
        (Task::Sigmoid(t), Io::InPlace(x)) => fl.sigmoid_in_place(x, t, classes, losses),
        (Task::Softmax(t), Io::Separate(x, g)) => fl.softmax(x, t, classes, out(g, losses)),
        (Task::Softmax(t), Io::InPlace(x)) => fl.softmax_in_place(x, t, classes, losses),
        (Task::Probs(t), Io::Separate(x, g)) => fl.softmax_probs(x, t, classes, out(g, losses)),
        (Task::Probs(t), Io::InPlace(x)) => fl.softmax_probs_in_place(x, t, classes, losses),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_has_a_name() {
        for backend in Backend::ALL {
            assert_eq!(backend_name(backend).to_str(), Ok(backend.name()));
        }
    }

    #[test]
    fn every_error_has_its_status() {
        use focal_loss::Buffer;
        let cases = [
            (Error::Gamma, FL_ERR_GAMMA),
            (Error::Alpha, FL_ERR_ALPHA),
            (Error::ClassAlpha { class: 3 }, FL_ERR_ALPHA),
            (Error::ClassAlphaLength { got: 1, expected: 2 }, FL_ERR_ALPHA),
            (Error::LabelSmoothing, FL_ERR_LABEL_SMOOTHING),
            (Error::Normalizer, FL_ERR_NORMALIZER),
            (Error::Length { buffer: Buffer::Grad, got: 1, expected: 2 }, FL_ERR_SHAPE),
            (Error::Shape, FL_ERR_SHAPE),
            (Error::Target { index: 0 }, FL_ERR_TARGET),
            (Error::LossesWithReduction, FL_ERR_REDUCTION),
            (Error::Aliasing, FL_ERR_ALIASING),
        ];
        for (error, status) in cases {
            assert_eq!(error_status(error), status, "{error:?}");
        }
    }
}
