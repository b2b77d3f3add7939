//! Turning the fuzzer's bytes into values: floats from a mixture that reaches both the valid
//! inputs (so that the kernels run and are checked) and every refused one (so that validation
//! is), lengths that are right or off, and pools of values that fill a buffer of any length from
//! a few bytes.
//!
//! Every function reads from an [`Unstructured`], which answers with its smallest choice once
//! the bytes run out: decoding never fails for lack of data, and a short input is a small,
//! ordinary call.

use arbitrary::{Result, Unstructured};
use oracle::SPECIAL_F32;

/// A choice among `n`, the last one once the bytes run out (the matches below list the ordinary
/// choice last, so that a short input is an ordinary call).
pub fn pick(u: &mut Unstructured<'_>, n: usize) -> Result<usize> {
    Ok(n - 1 - u.choose_index(n)?)
}

/// True with probability `num / den`; false once the bytes run out, so that a short input makes
/// the ordinary choice (`Unstructured::ratio` answers true then).
pub fn rare(u: &mut Unstructured<'_>, num: u8, den: u8) -> Result<bool> {
    Ok(!u.ratio(den - num, den)?)
}

/// Any float32 bit pattern.
pub fn raw(u: &mut Unstructured<'_>) -> Result<f32> {
    Ok(f32::from_bits(u.arbitrary()?))
}

/// One of [`SPECIAL_F32`].
pub fn special(u: &mut Unstructured<'_>) -> Result<f32> {
    Ok(*u.choose(&SPECIAL_F32)?)
}

/// A value in [lo, hi), with 24 random bits.
pub fn uniform(u: &mut Unstructured<'_>, lo: f32, hi: f32) -> Result<f32> {
    let t = (u.arbitrary::<u32>()? >> 8) as f32 / (1u32 << 24) as f32;
    Ok(lo + (hi - lo) * t)
}

/// ±0, a subnormal or a value below 1e-30 in magnitude.
fn tiny(u: &mut Unstructured<'_>) -> Result<f32> {
    Ok(match pick(u, 3)? {
        0 => f32::from_bits(u.arbitrary::<u32>()? & 0x807f_ffff),
        1 => uniform(u, -1e-30, 1e-30)?,
        _ => *u.choose(&[0.0f32, -0.0])?,
    })
}

/// A finite value of magnitude at least 2^10 (up to f32::MAX).
fn huge(u: &mut Unstructured<'_>) -> Result<f32> {
    let bits: u32 = u.arbitrary()?;
    let exponent = u.int_in_range(137u32..=254)?;
    Ok(f32::from_bits((bits & 0x807f_ffff) | (exponent << 23)))
}

/// How the logits of one call are drawn (as the strata of `tests/accuracy.rs`, plus any bit
/// pattern), chosen once per call so that a whole row can be ordinary.
#[derive(Clone, Copy, Debug, arbitrary::Arbitrary)]
pub enum Stratum {
    /// |x| < 8.
    Ordinary,
    /// |x| < 100.
    Wide,
    /// ±0, subnormals, |x| < 1e-30.
    Tiny,
    /// Any of the above, special values, huge values, any bit pattern (NaN included).
    Mixed,
}

/// A logit of the given stratum.
pub fn logit(u: &mut Unstructured<'_>, stratum: Stratum) -> Result<f32> {
    match stratum {
        Stratum::Ordinary => uniform(u, -8.0, 8.0),
        Stratum::Wide => uniform(u, -100.0, 100.0),
        Stratum::Tiny => tiny(u),
        Stratum::Mixed => match pick(u, 8)? {
            0 => raw(u),
            1 => special(u),
            2 => tiny(u),
            3 => huge(u),
            4 | 5 => uniform(u, -8.0, 8.0),
            _ => uniform(u, -100.0, 100.0),
        },
    }
}

/// How the targets (sigmoid) or target probabilities of one call are drawn.
#[derive(Clone, Copy, Debug, arbitrary::Arbitrary)]
pub enum TargetStyle {
    /// 0 or 1 (and −0): the hard-target form of the kernels.
    Hard,
    /// Anything in [0, 1].
    Soft,
    /// Mostly in [0, 1], sometimes any bit pattern or a special value (refused unless in [0, 1]).
    Mixed,
}

/// A target value in the given style.
pub fn unit(u: &mut Unstructured<'_>, style: TargetStyle) -> Result<f32> {
    let in_range = |u: &mut Unstructured<'_>| -> Result<f32> {
        Ok(match pick(u, 4)? {
            0 => *u.choose(&[0.0f32, 1.0, -0.0])?,
            _ => uniform(u, 0.0, 1.0)?,
        })
    };
    match style {
        TargetStyle::Hard => Ok(*u.choose(&[0.0f32, 1.0, 1.0, 0.0, -0.0])?),
        TargetStyle::Soft => in_range(u),
        TargetStyle::Mixed => match pick(u, 8)? {
            0 => raw(u),
            1 => special(u),
            _ => in_range(u),
        },
    }
}

/// A value for an option whose valid range is [lo, hi): mostly in it, sometimes a special value
/// or any bit pattern.
pub fn option_value(u: &mut Unstructured<'_>, lo: f32, hi: f32) -> Result<f32> {
    Ok(match pick(u, 8)? {
        0 => raw(u)?,
        1 | 2 => special(u)?,
        _ => uniform(u, lo, hi)?,
    })
}

/// A buffer length relative to the one the batch needs.
#[derive(Clone, Copy, Debug)]
pub enum Len {
    /// The right length.
    Right,
    /// The right length plus −2..=2 (saturating at 0).
    Near(i8),
    /// Any length in 0..=70.
    Any(usize),
}

impl Len {
    /// Right three times in four.
    pub fn decode(u: &mut Unstructured<'_>) -> Result<Len> {
        Ok(match pick(u, 8)? {
            0 => Len::Near(u.int_in_range(-2i8..=2)?),
            1 => Len::Any(u.int_in_range(0usize..=70)?),
            _ => Len::Right,
        })
    }

    /// The length, for a batch that needs `right` (`None` or too large to allocate: some small
    /// length instead, which is then wrong).
    pub fn resolve(self, right: Option<usize>) -> usize {
        let right = right.filter(|&n| n <= MAX_ELEMENTS);
        match (self, right) {
            (Len::Right, Some(n)) => n,
            (Len::Right, None) => 3,
            (Len::Near(d), Some(n)) => n.saturating_add_signed(d as isize),
            (Len::Near(d), None) => d.unsigned_abs() as usize,
            (Len::Any(n), _) => n,
        }
    }
}

/// The largest buffer a decoded call allocates (a few thousand elements: enough for the large
/// class counts and the batched small-row paths, small enough to keep the fuzzer fast).
pub const MAX_ELEMENTS: usize = 4096;

/// Up to `max_pool` values drawn with `draw` (as many as the fuzzer chooses), then repeated to
/// fill `n`; `fallback` when it chose none.
pub fn filled<T: Copy>(
    u: &mut Unstructured<'_>,
    n: usize,
    max_pool: usize,
    fallback: T,
    mut draw: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let pool_len = u.int_in_range(0..=n.min(max_pool))?;
    let mut pool = Vec::with_capacity(pool_len);
    for _ in 0..pool_len {
        pool.push(draw(u)?);
    }
    if pool.is_empty() {
        pool.push(fallback);
    }
    Ok(pool.iter().copied().cycle().take(n).collect())
}
