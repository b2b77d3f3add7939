//! The C ABI target: the three entry points called from Rust as C would call them, with raw
//! pointers into one arena (so that buffers overlap at random, partly or exactly), NULL,
//! misaligned pointers, pointers that wrap around the address space, shapes that overflow or
//! could not exist, `struct_size` small, large, with or without nonzero extra bytes, and options
//! that are NULL, valid or not.
//!
//! The header documents the order of the checks and that the first refusal is returned, so a
//! model of DESIGN §4.2 written here predicts the exact status of every call. On a refusal the
//! arena is unchanged byte for byte. On success the arena equals, byte for byte, a copy of it on
//! which the same call was made through the Rust API (itself checked against the oracle by the
//! other targets): the C layer writes what the Rust API computes, where it should, and nowhere
//! else.
//!
//! Every pointer the harness passes keeps the caller's side of the pointer rules (it points to
//! as many values as the call may read or write, inside the arena), except the ones the library
//! must refuse before touching them: misaligned pointers and buffers that wrap around the
//! address space, which stay inside the arena or are never dereferenced by a correct library.

use std::ffi::CStr;

use arbitrary::{Result, Unstructured};
use focal_loss::{FocalLoss, Out, Reduction};
use focal_loss_capi::{
    fl_abi_version, fl_backend, fl_options_default, fl_sigmoid_focal, fl_softmax_focal,
    fl_softmax_focal_probs, fl_status_message, FlOptions, FL_ABI_VERSION, FL_ERR_ALIASING, FL_ERR_ALPHA,
    FL_ERR_GAMMA, FL_ERR_LABEL_SMOOTHING, FL_ERR_NORMALIZER, FL_ERR_NULL_POINTER, FL_ERR_REDUCTION,
    FL_ERR_SHAPE, FL_ERR_STRUCT_SIZE, FL_ERR_TARGET, FL_OK, FL_REDUCTION_MEAN, FL_REDUCTION_NONE,
    FL_REDUCTION_SUM,
};

use crate::case::Task;
use crate::input::{self, pick, rare, Stratum, TargetStyle};
use crate::model::{bad_label_smoothing, bad_normalizer, gamma_class, not_unit, Class};
use crate::Report;

/// The arena every data pointer points into: 2 KiB, 8-aligned (it is made of `u64`s).
const ARENA_WORDS: usize = 256;
const ARENA_BYTES: usize = ARENA_WORDS * 8;

/// `sizeof(FlOptions)` in this ABI version (on 64-bit targets).
const OPTIONS_SIZE: usize = std::mem::size_of::<FlOptions>();

/// The largest `struct_size` passed, and the storage behind `opts` (room for it at any of the 8
/// misalignments).
const MAX_STRUCT_SIZE: u32 = 128;
const OPTS_WORDS: usize = 17;

/// Every status, and its name for the census.
pub const STATUSES: [(i32, &str); 11] = [
    (FL_OK, "FL_OK"),
    (FL_ERR_NULL_POINTER, "FL_ERR_NULL_POINTER"),
    (FL_ERR_SHAPE, "FL_ERR_SHAPE"),
    (FL_ERR_GAMMA, "FL_ERR_GAMMA"),
    (FL_ERR_ALPHA, "FL_ERR_ALPHA"),
    (FL_ERR_LABEL_SMOOTHING, "FL_ERR_LABEL_SMOOTHING"),
    (FL_ERR_NORMALIZER, "FL_ERR_NORMALIZER"),
    (FL_ERR_REDUCTION, "FL_ERR_REDUCTION"),
    (FL_ERR_TARGET, "FL_ERR_TARGET"),
    (FL_ERR_STRUCT_SIZE, "FL_ERR_STRUCT_SIZE"),
    (FL_ERR_ALIASING, "FL_ERR_ALIASING"),
];

fn status_name(status: i32) -> &'static str {
    STATUSES.iter().find(|(s, _)| *s == status).map_or("unknown status", |(_, name)| name)
}

/// Where a pointer points, before the arena has an address.
#[derive(Clone, Copy, Debug)]
enum Ptr {
    Null,
    /// A byte offset into the arena (any alignment).
    Arena(usize),
    /// `usize::MAX - k`: far outside any allocation. Kept only where the library must refuse
    /// it before any access (misaligned, or wrapping around the address space for its length)
    /// or never touches it (length 0); otherwise it becomes NULL.
    Wild(usize),
}

impl Ptr {
    /// A pointer, sometimes `relative` to an earlier one (a few bytes before or after it, so
    /// that buffers overlap partly).
    fn decode(u: &mut Unstructured<'_>, relative: &[Ptr]) -> Result<Ptr> {
        Ok(match pick(u, 16)? {
            0 | 1 => Ptr::Null,
            2 => Ptr::Wild(u.int_in_range(0..=255)?),
            3..=5 if !relative.is_empty() => {
                let delta = u.int_in_range(-64isize..=64)?;
                match *u.choose(relative)? {
                    Ptr::Arena(off) => off.checked_add_signed(delta).map_or(Ptr::Null, Ptr::Arena),
                    other => other,
                }
            }
            6 => Ptr::Arena(u.int_in_range(0..=ARENA_BYTES - 1)?),
            7 => Ptr::Arena(4 * u.int_in_range(0..=ARENA_BYTES / 4 - 1)?),
            _ => Ptr::Arena(8 * u.int_in_range(0..=ARENA_WORDS - 1)?),
        })
    }

    /// The address for a buffer of `len` values of `size` bytes, aligned to `size`.
    fn resolve(self, base: usize, len: usize, size: usize) -> usize {
        match self {
            Ptr::Null => 0,
            Ptr::Arena(off) => {
                let fits = len
                    .checked_mul(size)
                    .and_then(|b| b.checked_add(off))
                    .is_some_and(|end| end <= ARENA_BYTES);
                if fits {
                    base + off
                } else {
                    0
                }
            }
            Ptr::Wild(k) => {
                let addr = usize::MAX - k;
                let wraps = len.checked_mul(size).and_then(|b| addr.checked_add(b)).is_none();
                if len == 0 || !addr.is_multiple_of(size) || wraps {
                    addr
                } else {
                    0
                }
            }
        }
    }
}

/// The gradient pointer: any pointer, or exactly the logits (in place).
#[derive(Clone, Copy, Debug)]
enum Grad {
    Ptr(Ptr),
    Logits,
}

/// One decoded call.
#[derive(Clone, Debug)]
struct CCase {
    task: Task,
    rows: usize,
    classes: usize,
    /// `None`: `opts` is NULL.
    opts: Option<OptsSpec>,
    logits: Ptr,
    targets: Ptr,
    loss: Ptr,
    grad: Grad,
    /// The arena's contents, one word per `u64`.
    arena: Vec<u64>,
    /// A status to ask `fl_status_message` about (any value: unknown ones too).
    any_status: i32,
}

/// The options struct and where it lies.
#[derive(Clone, Debug)]
struct OptsSpec {
    /// Bytes from an 8-aligned address (the library reads it unaligned).
    misalign: usize,
    struct_size: u32,
    /// A nonzero byte past the known fields, at this offset (when `struct_size` reaches it).
    extra: Option<(usize, u8)>,
    fields: FlOptions,
    class_alpha: Ptr,
}

fn dim(u: &mut Unstructured<'_>) -> Result<usize> {
    Ok(match pick(u, 16)? {
        0 => u.arbitrary()?,
        1 => *u.choose(&[usize::MAX, usize::MAX / 2 + 1, isize::MAX as usize / 4 + 1, 1 << 61, 1 << 32])?,
        2 => u.int_in_range(10..=300)?,
        3 => 0,
        _ => u.int_in_range(1..=9)?,
    })
}

impl CCase {
    fn decode(u: &mut Unstructured<'_>) -> Result<CCase> {
        let task: Task = u.arbitrary()?;
        let (rows, classes) = (dim(u)?, dim(u)?);
        let opts = if rare(u, 1, 32)? { None } else { Some(OptsSpec::decode(u)?) };
        let logits = Ptr::decode(u, &[])?;
        let targets = Ptr::decode(u, &[logits])?;
        let class_alpha = opts.as_ref().map_or(Ptr::Null, |o| o.class_alpha);
        let loss = Ptr::decode(u, &[logits, targets, class_alpha])?;
        let grad = match pick(u, 4)? {
            0 => Grad::Logits,
            _ => Grad::Ptr(Ptr::decode(u, &[logits, targets, class_alpha, loss])?),
        };
        // The arena: a pool of words repeated, each two logits, two values in [0, 1] (or not), or
        // a class index (so that pointers anywhere find plausible values of their type).
        let stratum: Stratum = u.arbitrary()?;
        let style: TargetStyle = u.arbitrary()?;
        let arena = input::filled(u, ARENA_WORDS, 32, 0x3f00_0000_3f00_0000, |u| {
            let pair = |a: f32, b: f32| u64::from(a.to_bits()) | u64::from(b.to_bits()) << 32;
            Ok(match pick(u, 8)? {
                0..=3 => pair(input::logit(u, stratum)?, input::logit(u, stratum)?),
                4 | 5 => pair(input::unit(u, style)?, input::unit(u, style)?),
                _ => match pick(u, 8)? {
                    0 => -100i64 as u64,
                    1 => u.arbitrary()?,
                    _ => u.int_in_range(0..=9)?,
                },
            })
        })?;
        let any_status = u.arbitrary()?;
        Ok(CCase { task, rows, classes, opts, logits, targets, loss, grad, arena, any_status })
    }
}

impl OptsSpec {
    fn decode(u: &mut Unstructured<'_>) -> Result<OptsSpec> {
        let misalign = if rare(u, 1, 4)? { u.int_in_range(1..=7)? } else { 0 };
        let struct_size = match pick(u, 16)? {
            0 => u.int_in_range(0..=OPTIONS_SIZE as u32 - 1)?,
            1 | 2 => u.int_in_range(OPTIONS_SIZE as u32 + 1..=MAX_STRUCT_SIZE)?,
            _ => OPTIONS_SIZE as u32,
        };
        let extra = if rare(u, 1, 2)? {
            Some((u.int_in_range(OPTIONS_SIZE..=MAX_STRUCT_SIZE as usize - 1)?, u.int_in_range(1..=255)?))
        } else {
            None
        };
        let mut fields = fl_options_default();
        fields.reduction = match pick(u, 16)? {
            0 => u.arbitrary()?,
            1 => *u.choose(&[-1, 3, i32::MIN, i32::MAX])?,
            _ => *u.choose(&[FL_REDUCTION_NONE, FL_REDUCTION_SUM, FL_REDUCTION_MEAN])?,
        };
        fields.gamma = match pick(u, 4)? {
            0 => input::option_value(u, 0.0, 5.0)?,
            _ => *u.choose(&[0.0, 0.5, 1.0, 2.0, 2.0])?,
        };
        fields.alpha = match pick(u, 4)? {
            0 | 1 => f32::NAN,
            _ => input::option_value(u, 0.0, 1.0)?,
        };
        fields.label_smoothing = match pick(u, 4)? {
            0 => input::option_value(u, 0.0, 1.0)?,
            1 => 0.1,
            _ => 0.0,
        };
        fields.normalizer = match pick(u, 4)? {
            0 => input::option_value(u, 1e-3, 1e3)?,
            _ => 0.0,
        };
        fields.ignore_index = match pick(u, 4)? {
            0 => u.arbitrary()?,
            1 => u.int_in_range(-1..=9)?,
            _ => -100,
        };
        let class_alpha = if rare(u, 1, 3)? { Ptr::decode(u, &[])? } else { Ptr::Null };
        Ok(OptsSpec { misalign, struct_size, extra, fields, class_alpha })
    }
}

/// A buffer of one call: its address and its length in values of `size` bytes.
#[derive(Clone, Copy, Debug)]
struct Span {
    addr: usize,
    len: usize,
    size: usize,
}

impl Span {
    fn used(&self) -> bool {
        self.addr != 0 && self.len != 0
    }

    /// One past its last byte; `None` when that wraps around.
    fn end(&self) -> Option<usize> {
        self.len.checked_mul(self.size).and_then(|b| self.addr.checked_add(b))
    }

    fn overlaps(&self, other: &Span) -> bool {
        match (self.used() && other.used(), self.end(), other.end()) {
            (true, Some(end), Some(other_end)) => self.addr < other_end && other.addr < end,
            _ => false,
        }
    }
}

/// The buffers of one call, resolved against the arena's address.
#[derive(Clone, Copy, Debug)]
struct Spans {
    logits: Span,
    targets: Span,
    class_alpha: Span,
    loss: Span,
    grad: Span,
}

/// The loss buffer's length: the per-element or per-row losses with `none` (an invalid
/// reduction counts as `none`: it is refused before anything is touched), else one value.
fn loss_len(task: Task, reduction: i32, rows: usize, n: usize) -> usize {
    match (reduction == FL_REDUCTION_MEAN || reduction == FL_REDUCTION_SUM, task) {
        (true, _) => 1,
        (false, Task::Sigmoid) => n,
        (false, _) => rows,
    }
}

impl Spans {
    fn new(c: &CCase, base: usize) -> Spans {
        // Lengths as the ABI defines them; with an overflowing shape nothing can be used, so the
        // lengths only need to keep the arena check from passing (saturate).
        let n = c.rows.saturating_mul(c.classes);
        let reduction = c.opts.as_ref().map_or(FL_REDUCTION_MEAN, |o| o.fields.reduction);
        let (targets_len, targets_size) = if c.task == Task::Softmax { (c.rows, 8) } else { (n, 4) };
        let class_alpha = c.opts.as_ref().map_or(Ptr::Null, |o| o.class_alpha);
        let span = |p: Ptr, len: usize, size: usize| Span { addr: p.resolve(base, len, size), len, size };
        let logits = span(c.logits, n, 4);
        let loss_len = loss_len(c.task, reduction, c.rows, n);
        let grad = match c.grad {
            Grad::Logits => Span { addr: logits.addr, len: n, size: 4 },
            Grad::Ptr(p) => span(p, n, 4),
        };
        Spans {
            logits,
            targets: span(c.targets, targets_len, targets_size),
            class_alpha: span(class_alpha, c.classes, 4),
            loss: span(c.loss, loss_len, 4),
            grad,
        }
    }
}

/// The model's answer: the status, and the classes of refused input that explain it.
struct Expected {
    status: i32,
    classes: Vec<Class>,
}

/// The first failing group of checks, in the header's order, decides the status; every fault of
/// that group with that status explains it.
fn first(groups: Vec<Vec<(Class, i32)>>) -> Expected {
    for group in groups {
        if let Some(&(_, status)) = group.first() {
            let classes = group.iter().filter(|(_, s)| *s == status).map(|(c, _)| *c).collect();
            return Expected { status, classes };
        }
    }
    Expected { status: FL_OK, classes: Vec::new() }
}

/// The arena's bytes (native order, as the library reads them).
fn arena_bytes(arena: &[u64]) -> Vec<u8> {
    arena.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// Values of a span that lies in the arena (the model reads them only once the span has passed
/// the pointer checks, which the harness's pointers pass only inside the arena).
fn read<const N: usize>(bytes: &[u8], base: usize, span: &Span) -> Vec<[u8; N]> {
    if !span.used() {
        return Vec::new();
    }
    let off = span.addr - base;
    bytes[off..off + span.len * N].chunks_exact(N).map(|c| c.try_into().expect("N bytes")).collect()
}

/// The model of DESIGN §4.2 and of the header's order of checks.
fn expected(c: &CCase, s: &Spans, bytes: &[u8], base: usize) -> Expected {
    let Some(o) = &c.opts else { return first(vec![vec![(Class::OptionsNull, FL_ERR_NULL_POINTER)]]) };
    let size = o.struct_size as usize;
    let extra_nonzero = o.extra.is_some_and(|(at, _)| at < size);
    if size < OPTIONS_SIZE || extra_nonzero {
        return first(vec![vec![(Class::StructSize, FL_ERR_STRUCT_SIZE)]]);
    }
    let f = &o.fields;
    let mut options = Vec::new();
    if !matches!(f.reduction, FL_REDUCTION_NONE | FL_REDUCTION_SUM | FL_REDUCTION_MEAN) {
        options.push((Class::Reduction, FL_ERR_REDUCTION));
    }
    if let Some(class) = gamma_class(f.gamma) {
        options.push((class, FL_ERR_GAMMA));
    }
    if !f.alpha.is_nan() && not_unit(f.alpha) {
        options.push((Class::AlphaOutOfRange, FL_ERR_ALPHA));
    }
    if bad_label_smoothing(f.label_smoothing) {
        options.push((Class::LabelSmoothing, FL_ERR_LABEL_SMOOTHING));
    }
    if bad_normalizer(f.normalizer) {
        options.push((Class::Normalizer, FL_ERR_NORMALIZER));
    }
    // Only the first of the option checks counts: they are ordered.
    options.truncate(1);

    let mut shape = Vec::new();
    if c.classes == 0 && c.rows > 0 {
        shape.push((Class::ZeroClassesWithRows, FL_ERR_SHAPE));
    }
    let n = c.rows.checked_mul(c.classes);
    if n.is_none() {
        shape.push((Class::RowsTimesClassesOverflow, FL_ERR_SHAPE));
    }
    let fits = |count: usize, size: usize| count.checked_mul(size).is_some_and(|b| b <= isize::MAX as usize);
    let n = n.unwrap_or(0);
    let too_large = !fits(n, 4)
        || (s.class_alpha.addr != 0 && !fits(c.classes, 4))
        || (c.task == Task::Softmax && !fits(c.rows, 8));
    if shape.is_empty() && too_large {
        shape.push((Class::SizeTooLarge, FL_ERR_SHAPE));
    }

    let mut pointers = Vec::new();
    if n > 0 && (s.logits.addr == 0 || s.targets.addr == 0) {
        pointers.push((Class::NullPointer, FL_ERR_NULL_POINTER));
    }
    for span in [s.logits, s.targets, s.class_alpha, s.loss, s.grad] {
        if span.used() && !span.addr.is_multiple_of(span.size) {
            pointers.push((Class::Misaligned, FL_ERR_NULL_POINTER));
        }
        if span.used() && span.end().is_none() {
            pointers.push((Class::WrapsAround, FL_ERR_NULL_POINTER));
        }
    }

    let mut overlaps = Vec::new();
    let in_place = s.grad.used() && s.grad.addr == s.logits.addr;
    for (other, class) in [
        (s.logits, Class::GradOverlapsLogits),
        (s.targets, Class::GradOverlapsTargets),
        (s.loss, Class::GradOverlapsLoss),
        (s.class_alpha, Class::GradOverlapsClassAlpha),
    ] {
        let exactly_in_place = in_place && class == Class::GradOverlapsLogits;
        if !exactly_in_place && s.grad.overlaps(&other) {
            overlaps.push((class, FL_ERR_ALIASING));
        }
    }
    if [s.logits, s.targets, s.class_alpha].iter().any(|input| s.loss.overlaps(input)) {
        overlaps.push((Class::LossOverlapsInput, FL_ERR_ALIASING));
    }

    // The values are read only when every check above has passed (`first` stops earlier).
    let groups_before = [options.clone(), shape.clone(), pointers.clone(), overlaps.clone()];
    if groups_before.iter().any(|g| !g.is_empty()) {
        return first(groups_before.to_vec());
    }
    let mut class_alpha = Vec::new();
    let weights: Vec<f32> =
        read::<4>(bytes, base, &s.class_alpha).into_iter().map(f32::from_ne_bytes).collect();
    if weights.iter().any(|a| !(a.is_finite() && *a >= 0.0)) {
        class_alpha.push((Class::ClassAlphaNegativeOrNotFinite, FL_ERR_ALPHA));
    } else if c.task == Task::Sigmoid && weights.iter().any(|&a| a > 1.0) {
        class_alpha.push((Class::ClassAlphaAboveOneSigmoid, FL_ERR_ALPHA));
    }
    let mut targets = Vec::new();
    match c.task {
        Task::Softmax => {
            let valid = |t: i64| t == f.ignore_index || (t >= 0 && (t as u128) < c.classes as u128);
            if read::<8>(bytes, base, &s.targets).into_iter().map(i64::from_ne_bytes).any(|t| !valid(t)) {
                targets.push((Class::ClassIndex, FL_ERR_TARGET));
            }
        }
        _ => {
            if read::<4>(bytes, base, &s.targets).into_iter().map(f32::from_ne_bytes).any(not_unit) {
                let class =
                    if c.task == Task::Sigmoid { Class::SigmoidTarget } else { Class::TargetProbability };
                targets.push((class, FL_ERR_TARGET));
            }
        }
    }
    first(vec![class_alpha, targets])
}

/// # Safety
///
/// `addr` is 0 or points to `len` valid, aligned values of `T` that no `&mut` overlaps.
unsafe fn slice<'a, T>(addr: usize, len: usize) -> &'a [T] {
    if addr == 0 || len == 0 {
        &[]
    } else {
        // SAFETY: the caller's guarantee.
        unsafe { std::slice::from_raw_parts(addr as *const T, len) }
    }
}

/// # Safety
///
/// `addr` is 0 or points to `len` valid, aligned values of `T` that nothing else refers to.
unsafe fn slice_mut<'a, T>(addr: usize, len: usize) -> &'a mut [T] {
    if addr == 0 || len == 0 {
        &mut []
    } else {
        // SAFETY: the caller's guarantee.
        unsafe { std::slice::from_raw_parts_mut(addr as *mut T, len) }
    }
}

/// The same call through the Rust API, on `arena` (a copy of the arena before the call), with
/// the header's rules for what is written where. Only called for calls the C ABI accepted, whose
/// spans are therefore aligned, inside the arena (or unused) and free of forbidden overlaps.
fn replicate(c: &CCase, arena: &mut [u64], s: &Spans, resolved_base: usize) {
    let o = c.opts.as_ref().expect("accepted calls have options");
    let f = &o.fields;
    let base = arena.as_mut_ptr() as usize;
    // The same offset in the copy as in the arena the spans were resolved against.
    let rebase = |span: Span| if span.used() { span.addr - resolved_base + base } else { 0 };
    let reduction = match f.reduction {
        FL_REDUCTION_NONE => Reduction::None,
        FL_REDUCTION_SUM => Reduction::Sum,
        _ => Reduction::Mean,
    };
    let mut b = FocalLoss::builder()
        .reduction(reduction)
        .gamma(f.gamma)
        .label_smoothing(f.label_smoothing)
        .normalizer(f.normalizer);
    if !f.alpha.is_nan() {
        b = b.alpha(f.alpha);
    }
    if c.task == Task::Softmax {
        b = b.ignore_index(f.ignore_index);
    }
    // SAFETY (here and below): the spans passed the library's checks, so each used one is
    // aligned and lies in the arena (the harness makes no other kind of pointer that passes
    // them), and the written ones (grad, loss) overlap nothing else.
    let weights: &[f32] = unsafe { slice(rebase(s.class_alpha), s.class_alpha.len) };
    if s.class_alpha.addr != 0 {
        b = b.class_alpha(weights);
    }
    let fl = b.build().expect("accepted options");
    let n = s.logits.len;
    let none = reduction == Reduction::None;
    let losses: Option<&mut [f32]> =
        if none && s.loss.used() { Some(unsafe { slice_mut(rebase(s.loss), s.loss.len) }) } else { None };
    let in_place = s.grad.used() && s.grad.addr == s.logits.addr;
    let targets_f32: &[f32] =
        if c.task == Task::Softmax { &[] } else { unsafe { slice(rebase(s.targets), n) } };
    let targets_i64: &[i64] =
        if c.task == Task::Softmax { unsafe { slice(rebase(s.targets), s.targets.len) } } else { &[] };
    let result = if in_place {
        let x: &mut [f32] = unsafe { slice_mut(rebase(s.grad), n) };
        match c.task {
            Task::Sigmoid => fl.sigmoid_in_place(x, targets_f32, c.classes, losses),
            Task::Softmax => fl.softmax_in_place(x, targets_i64, c.classes, losses),
            Task::Probs => fl.softmax_probs_in_place(x, targets_f32, c.classes, losses),
        }
    } else {
        let x: &[f32] = unsafe { slice(rebase(s.logits), n) };
        let mut out = Out::new();
        if s.grad.used() {
            out = out.grad(unsafe { slice_mut(rebase(s.grad), n) });
        }
        if let Some(l) = losses {
            out = out.losses(l);
        }
        match c.task {
            Task::Sigmoid => fl.sigmoid(x, targets_f32, c.classes, out),
            Task::Softmax => fl.softmax(x, targets_i64, c.classes, out),
            Task::Probs => fl.softmax_probs(x, targets_f32, c.classes, out),
        }
    };
    let reduced =
        result.unwrap_or_else(|e| panic!("the C ABI accepted it, the Rust API refuses it: {e:?}\n{c:?}"));
    if !none && s.loss.addr != 0 {
        // SAFETY: one float, aligned, in the arena, overlapping no input or gradient.
        unsafe { *(rebase(Span { len: 1, ..s.loss }) as *mut f32) = reduced };
    }
}

/// The C ABI target.
pub fn run(data: &[u8]) -> Report {
    let Ok(c) = CCase::decode(&mut Unstructured::new(data)) else { return Report::undecodable() };
    check_constant_functions(c.any_status);

    let mut arena = c.arena.clone();
    let base = arena.as_mut_ptr() as usize;
    let spans = Spans::new(&c, base);
    let before = arena.clone();
    let want = expected(&c, &spans, &arena_bytes(&before), base);

    // The options, at their misalignment, followed by zeros and perhaps a nonzero byte.
    let mut storage = [0u64; OPTS_WORDS];
    let opts: *const FlOptions = match &c.opts {
        None => std::ptr::null(),
        Some(o) => {
            let mut fields = o.fields;
            fields.struct_size = o.struct_size;
            fields.class_alpha = spans.class_alpha.addr as *const f32;
            let p = storage.as_mut_ptr().cast::<u8>();
            // SAFETY: the storage holds 136 bytes: the 40 of the struct at offset ≤ 7, and the
            // extra byte below 128 + 7.
            unsafe {
                p.add(o.misalign).cast::<FlOptions>().write_unaligned(fields);
                if let Some((at, byte)) = o.extra {
                    p.add(o.misalign + at).write(byte);
                }
                p.add(o.misalign).cast::<FlOptions>()
            }
        }
    };

    let (x, y, l) = (spans.logits.addr as *const f32, spans.targets.addr, spans.loss.addr as *mut f32);
    let g = spans.grad.addr as *mut f32;
    // SAFETY: every pointer is NULL, inside the arena with room for its length, or one the
    // library must refuse before any access (see `Ptr::Wild`); `opts` is NULL or points to
    // `struct_size` bytes of `storage`.
    let status = unsafe {
        match c.task {
            Task::Sigmoid => fl_sigmoid_focal(x, y as *const f32, c.rows, c.classes, opts, l, g),
            Task::Softmax => fl_softmax_focal(x, y as *const i64, c.rows, c.classes, opts, l, g),
            Task::Probs => fl_softmax_focal_probs(x, y as *const f32, c.rows, c.classes, opts, l, g),
        }
    };
    assert_eq!(
        status_name(status),
        status_name(want.status),
        "status {status}, the model expects {} ({:?})\n{spans:x?}\n{c:?}",
        want.status,
        want.classes
    );
    if status == FL_OK {
        let mut replica = before.clone();
        replicate(&c, &mut replica, &spans, base);
        if arena != replica {
            let diff: Vec<usize> = (0..ARENA_WORDS).filter(|&i| arena[i] != replica[i]).collect();
            panic!("the C ABI wrote other bytes than the Rust API would (words {diff:?})\n{spans:x?}\n{c:?}");
        }
    } else {
        assert!(
            arena == before,
            "status {}: refused, but the arena was written\n{spans:x?}\n{c:?}",
            status_name(status)
        );
    }
    Report { outcome: status_name(status).to_string(), classes: want.classes, known: Vec::new() }
}

/// The functions without arguments that matter, and the status messages.
fn check_constant_functions(any_status: i32) {
    assert_eq!(fl_abi_version(), FL_ABI_VERSION);
    let d = fl_options_default();
    assert!(d.struct_size as usize == OPTIONS_SIZE && d.reduction == FL_REDUCTION_MEAN && d.alpha.is_nan());
    // SAFETY: both return static NUL-terminated strings (or the test fails on NULL first).
    unsafe {
        let backend = fl_backend();
        assert!(!backend.is_null());
        let name = CStr::from_ptr(backend).to_str().expect("ASCII");
        assert!(["avx512", "avx2", "neon", "portable", "scalar"].contains(&name), "fl_backend() = {name:?}");
        for status in [any_status, any_status.wrapping_neg()] {
            let message = fl_status_message(status);
            assert!(!message.is_null());
            assert!(!CStr::from_ptr(message).to_bytes().is_empty(), "empty message for status {status}");
        }
    }
}
