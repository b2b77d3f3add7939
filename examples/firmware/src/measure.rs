//! Costs on the emulated Cortex-M4F: instruction counts and stack peaks.
//!
//! QEMU does not emulate the DWT cycle counter, but with `-icount shift=0` its virtual clock
//! advances exactly 1 ns per instruction, and the SysTick timer (25 MHz on the MPS2 boards)
//! follows that clock: one tick is 40 instructions. [`Counter`] checks that ratio on a loop of
//! known length before it counts anything, so a run without `-icount` is refused rather than
//! reported. The counts are instructions, not cycles, and the same on every run.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicUsize, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// SysTick's counter is 24 bits wide.
const MASK: u32 = 0x00ff_ffff;

/// Counts instructions with SysTick.
pub struct Counter {
    _syst: SYST,
    /// Instructions per SysTick tick, calibrated.
    per_tick: f32,
    /// Instructions [`Counter::instructions`] counts for an empty closure.
    overhead: u32,
}

impl Counter {
    /// Starts SysTick free-running from the core clock (no interrupt) and calibrates it.
    pub fn new(mut syst: SYST) -> Counter {
        syst.disable_interrupt();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(MASK);
        syst.clear_current();
        syst.enable_counter();
        let mut c = Counter { _syst: syst, per_tick: 1.0, overhead: 0 };
        // `spin(n)` runs 2n instructions plus a constant: the difference of two lengths cancels
        // the constant.
        const N: u32 = 100_000;
        let short = c.ticks(|| spin(N));
        let long = c.ticks(|| spin(2 * N));
        c.per_tick = (2 * N) as f32 / long.saturating_sub(short).max(1) as f32;
        c.overhead = (c.ticks(|| {}) as f32 * c.per_tick) as u32;
        c
    }

    /// Instructions per tick as calibrated: 40 under `-icount shift=0` on the MPS2 boards.
    pub fn per_tick(&self) -> f32 {
        self.per_tick
    }

    /// Whether the calibration shows a deterministic instruction clock (`-icount shift=0`).
    pub fn is_instruction_clock(&self) -> bool {
        (self.per_tick - 40.0).abs() < 0.5
    }

    fn ticks(&mut self, f: impl FnOnce()) -> u32 {
        let start = SYST::get_current();
        f();
        let end = SYST::get_current();
        start.wrapping_sub(end) & MASK
    }

    /// Instructions `f` runs (±1 tick, 40 instructions), less the counter's own overhead.
    pub fn instructions(&mut self, f: impl FnOnce()) -> u32 {
        let total = (self.ticks(f) as f32 * self.per_tick) as u32;
        total.saturating_sub(self.overhead)
    }
}

/// A loop of exactly `2·n` instructions (`subs` and `bne` per turn), plus a few to enter it.
#[inline(never)]
pub fn spin(n: u32) {
    // SAFETY: registers only: counts `n` down to 0.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {0}, {0}, #1",
            "bne 2b",
            inout(reg) n => _,
            options(nomem, nostack),
        );
    }
}

/// How deep below the caller's stack pointer [`stack_peak`] paints.
pub const PAINTED: usize = 4096;

const PAINT: u32 = 0xa5a5_a5a5;

/// The stack pointer [`mark_call`] saw last (0: none since [`stack_peak`] began).
static CALL_SP: AtomicUsize = AtomicUsize::new(0);

/// Records the stack pointer just before the call [`stack_peak`] measures: the call's peak is
/// then taken below it, so that the harness's own frames (the closures between `stack_peak` and
/// the call) do not count. The caller's frame is complete here (its prologue has run), and the
/// call passes its arguments in registers or in that frame.
#[inline(always)]
pub fn mark_call() {
    let sp: usize;
    // SAFETY: reads the stack pointer.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    CALL_SP.store(sp, Ordering::Relaxed);
}

/// The peak stack use of `f`, in bytes: paints [`PAINTED`] bytes below the current stack
/// pointer, calls `f`, and finds the lowest word no longer painted. Measured from the stack
/// pointer [`mark_call`] recorded inside `f` if it did (the marked call's own use), else from
/// this function's (the closure's frame included); a result that reaches the painted bottom
/// means "at least that much". The marked call must stay a call (not inlined into `f`).
///
/// Nothing else may use the stack meanwhile: the firmware enables no interrupt.
#[inline(never)]
pub fn stack_peak(f: &mut dyn FnMut()) -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    let sp = sp & !3;
    let bottom = sp - PAINTED;
    for a in (bottom..sp).step_by(4) {
        // SAFETY: the free stack below the stack pointer, which no one uses while this runs (no
        // interrupts); cortex-m-rt's stack is the top of the 4 MiB RAM, far above `PAINTED`.
        unsafe { write_volatile(a as *mut u32, PAINT) };
    }
    CALL_SP.store(0, Ordering::Relaxed);
    f();
    let top = match CALL_SP.load(Ordering::Relaxed) {
        0 => sp,
        marked => marked & !3,
    };
    let mut a = bottom;
    // SAFETY: the same words, now possibly written by `f`.
    while a < top && unsafe { read_volatile(a as *const u32) } == PAINT {
        a += 4;
    }
    top - a
}
