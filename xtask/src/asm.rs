//! `cargo xtask asm`: the codegen guard (STYLE.md, "Guard the codegen"). A kernel that falls
//! back to 128-bit code, or that is not inlined into its `#[target_feature]` wrapper, passes every
//! correctness test; this task reads the machine code instead.
//!
//! It builds the `summary` bench with the release profile (the code users get, no
//! `target-cpu`), disassembles it with `objdump -d --no-show-raw-insn -C`, finds every
//! monomorphised copy of the kernel instances (`instance`) of the six x86_64 wrappers of
//! `src/kernel/dispatch.rs` and checks each:
//!
//! - AVX2 (`sigmoid_avx2`, `softmax_avx2`): at least [`MIN_WIDE_FMAS`] packed FMAs on `ymm`
//!   registers; no packed FMA on `xmm` registers; nothing of AVX-512 (a `zmm` or `k` register,
//!   `xmm16`–`ymm31`, an embedded broadcast), which would fault on an AVX2-only CPU.
//! - AVX-512 (`sigmoid_avx512`, `softmax_avx512`): at least [`MIN_WIDE_FMAS`] packed FMAs on
//!   `zmm` registers; no packed FMA on `xmm` registers.
//! - Portable (`sigmoid_portable`, `softmax_portable`): no `ymm` or `zmm` register at all (it is
//!   the backend of CPUs without AVX); no FMA count, as the default target has no FMA.
//! - All: no call to an intrinsic (a function of `core::core_arch`, or named `_mm…`), to a lane
//!   operation of `focal_loss::simd` or of `wide`, nor to `core::array`'s `map`. Such a call
//!   means the kernel was not inlined into the wrapper (closures did that here once; an
//!   `array::map` in `portable`'s accumulator, once, cost its sigmoid 11 % of its instructions)
//!   and runs as a chain of calls.
//!
//! A packed FMA is any `vf[n]m{add,sub}[sub|add]{132,213,231}p{s,d}`; its width is that of the
//! widest vector register among its operands. The scalar forms (`…ss`, `…sd`: the scalar tails
//! and per-row terms) are counted, not limited. Calls through the GOT (`call *…(%rip)`) are
//! resolved with the relocations of `objdump -R`, calls through a register with the load that
//! last wrote it; the calls left unresolved are counted on each line (none so far). A missing
//! wrapper fails. Elsewhere than on x86_64 the task is skipped with a message.
//!
//! The out-of-line helpers the wrappers call (`#[cold]`, `#[inline(never)]` paths such as
//! `fix_lanes` and `limits`, for tail lanes and non-finite logits) are compiled without the
//! wrappers' target features, so their lane operations become calls to intrinsics: they are
//! listed as warnings, not failures, as they run on rare lanes only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Result;

/// Where the wrappers live (`src/kernel/dispatch.rs`).
const DISPATCH: &str = "focal_loss::kernel::dispatch::";

/// The fewest wide FMAs a kernel instance may hold: its exp and log1p polynomials alone take
/// more.
const MIN_WIDE_FMAS: usize = 10;

/// The vector registers a wrapper's FMAs must use (`Xmm`: no FMA asked for, and no wider
/// register allowed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Width {
    Xmm,
    Ymm,
    Zmm,
}

/// The six wrappers, and the width of their FMAs.
const WRAPPERS: [(&str, Width); 6] = [
    ("sigmoid_portable", Width::Xmm),
    ("softmax_portable", Width::Xmm),
    ("sigmoid_avx2", Width::Ymm),
    ("softmax_avx2", Width::Ymm),
    ("sigmoid_avx512", Width::Zmm),
    ("softmax_avx512", Width::Zmm),
];

/// `cargo xtask asm`.
pub fn run() -> Result {
    if !cfg!(target_arch = "x86_64") {
        println!("xtask asm: skipped: the AVX2 and AVX-512 wrappers exist on x86_64 only");
        return Ok(());
    }
    let exe =
        cargo_executables(&["bench", "--package", "focal-loss", "--bench", "summary", "--no-run"], &[])?
            .into_iter()
            .find(|e| e.name == "summary")
            .ok_or("cargo built no `summary` bench executable")?
            .path;
    let disassembly = objdump(&["-d", "--no-show-raw-insn", "-C"], &exe)?;
    let relocations = objdump(&["-R"], &exe)?;
    let program = Program::parse(&disassembly, &relocations);
    println!("codegen of the x86_64 wrappers in {} (release profile):", exe.display());

    let mut failures = Vec::new();
    let mut helpers: BTreeMap<u64, usize> = BTreeMap::new();
    for (wrapper, width) in WRAPPERS {
        // The kernel instances: each wrapper's `instance`, one copy per γ form, target form and
        // buffer shape.
        let name = format!("{DISPATCH}{wrapper}::instance");
        // Legacy mangling demangles every copy to the same name; v0 adds `::<…>`.
        let copies: Vec<&Function> = program
            .functions
            .iter()
            .filter(|f| f.name == name || f.name.starts_with(&format!("{name}::<")))
            .collect();
        if copies.is_empty() {
            failures.push(format!("{name} not found in the disassembly (renamed, or never instantiated?)"));
            println!("FAIL  {wrapper:<15} missing");
            continue;
        }
        let mut callees: BTreeMap<String, usize> = BTreeMap::new();
        for (k, f) in copies.iter().enumerate() {
            let stats = program.stats(f);
            let mut problems = Vec::new();
            let wide = match width {
                Width::Xmm => MIN_WIDE_FMAS,
                Width::Ymm => stats.packed_ymm,
                Width::Zmm => stats.packed_zmm,
            };
            if wide < MIN_WIDE_FMAS {
                problems.push(format!("{wide} packed FMAs on {width:?} registers (need ≥ {MIN_WIDE_FMAS})"));
            }
            if width != Width::Xmm && stats.packed_xmm > 0 {
                problems.push(format!("{} packed FMAs on xmm registers", stats.packed_xmm));
            }
            if width == Width::Xmm && stats.ymm + stats.avx512 > 0 {
                problems.push(format!("{} instructions use ymm or zmm registers", stats.ymm + stats.avx512));
            }
            if width == Width::Ymm && stats.avx512 > 0 {
                problems.push(format!("{} instructions use AVX-512 state", stats.avx512));
            }
            if !stats.intrinsic_calls.is_empty() {
                problems.push(format!("calls {}", stats.intrinsic_calls.join(", ")));
            }
            println!(
                "{}  {wrapper:<15} copy {}/{} @{:x}: {} insns; packed FMAs ymm {}, zmm {}, xmm {}; \
                 scalar FMAs {}; calls {} (intrinsics/lane ops {}, unresolved {})",
                if problems.is_empty() { "ok  " } else { "FAIL" },
                k + 1,
                copies.len(),
                f.addr,
                f.insns.len(),
                stats.packed_ymm,
                stats.packed_zmm,
                stats.packed_xmm,
                stats.scalar,
                stats.calls,
                stats.intrinsic_calls.len(),
                stats.unresolved,
            );
            for p in problems {
                failures.push(format!("{wrapper} copy {} @{:x}: {p}", k + 1, f.addr));
            }
            for (target, n) in stats.callees {
                if let Callee::Function(addr) = target {
                    if program.name(addr).contains("focal_loss::") {
                        *helpers.entry(addr).or_default() += n;
                    }
                }
                *callees.entry(program.describe(target)).or_default() += n;
            }
        }
        let list: Vec<String> = callees.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        println!(
            "      calls from {wrapper}: {}",
            if list.is_empty() { "none".into() } else { list.join(", ") }
        );
    }

    // The out-of-line helpers, and what they call in turn: per helper name, its copies that
    // call intrinsics and the intrinsics they call.
    let mut seen = HashSet::new();
    let mut queue: Vec<u64> = helpers.keys().copied().collect();
    let mut warnings: BTreeMap<String, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
    while let Some(addr) = queue.pop() {
        if !seen.insert(addr) {
            continue;
        }
        let Some(f) = program.function_at(addr) else { continue };
        let stats = program.stats(f);
        if !stats.intrinsic_calls.is_empty() {
            let (copies, calls, intrinsics) = warnings.entry(f.name.clone()).or_default();
            *copies += 1;
            *calls += stats.intrinsic_calls.len();
            for c in &stats.intrinsic_calls {
                *intrinsics.entry(c.rsplit("::").next().unwrap_or(c).to_string()).or_default() += 1;
            }
        }
        for (target, _) in stats.callees {
            if let Callee::Function(a) = target {
                if program.name(a).contains("focal_loss::") {
                    queue.push(a);
                }
            }
        }
    }

    for (helper, (copies, calls, intrinsics)) in &warnings {
        let list: Vec<&str> = intrinsics.keys().map(String::as_str).collect();
        println!(
            "warn  {helper}: {copies} copies out of line (without the wrappers' target features) make \
             {calls} intrinsic calls: {}",
            list.join(" ")
        );
    }
    if failures.is_empty() {
        println!(
            "xtask asm: the portable wrappers run without ymm, the AVX2 wrappers on ymm, the AVX-512 wrappers on zmm, with no intrinsic calls"
        );
        Ok(())
    } else {
        Err(format!("codegen guard:\n  {}", failures.join("\n  ")))
    }
}

/// An executable that cargo built.
pub(crate) struct Executable {
    /// The target's name (`summary`, `accuracy`, `focal_loss` for the library's unit tests).
    pub name: String,
    /// Whether it is a test harness (`cargo test` builds examples too).
    pub test: bool,
    pub path: PathBuf,
}

/// Runs `cargo args… --message-format=json-render-diagnostics` at the workspace root (the
/// compiler's messages still go to the terminal) and returns the executables it reports.
pub(crate) fn cargo_executables(args: &[&str], env: &[(&str, &str)]) -> Result<Vec<Executable>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let output = Command::new(cargo)
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .envs(env.iter().copied())
        .current_dir(crate::root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("`cargo {}` failed ({})", args.join(" "), output.status));
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if !line.contains(r#""reason":"compiler-artifact""#) {
            continue;
        }
        let Some(path) = json_string(line, "executable") else { continue };
        let target = &line[line.find(r#""target":{"#).unwrap_or(0)..];
        let profile = &line[line.find(r#""profile":{"#).unwrap_or(0)..];
        let profile = &profile[..profile.find('}').unwrap_or(profile.len())];
        found.push(Executable {
            name: json_string(target, "name").unwrap_or_default(),
            test: profile.contains(r#""test":true"#),
            path: PathBuf::from(path),
        });
    }
    Ok(found)
}

/// The first string value of `"key":"…"` in a line of JSON, unescaped (enough for paths and
/// target names).
fn json_string(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

fn objdump(args: &[&str], exe: &Path) -> Result<String> {
    let output = Command::new("objdump")
        .args(args)
        .arg(exe)
        .output()
        .map_err(|e| format!("cannot run objdump (Debian's binutils; .ci/run installs it): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "objdump {} {} failed: {}",
            args.join(" "),
            exe.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The disassembly: functions in address order, and the GOT slots' targets.
struct Program {
    functions: Vec<Function>,
    by_addr: HashMap<u64, usize>,
    got: HashMap<u64, Callee>,
}

struct Function {
    addr: u64,
    name: String,
    insns: Vec<Insn>,
}

struct Insn {
    mnemonic: String,
    operands: String,
    /// What objdump says a rip-relative operand points to: `14a750 <memcpy@GLIBC_2.14>`.
    comment: Option<String>,
}

/// What a call reaches.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Callee {
    /// A function of this binary, by address.
    Function(u64),
    /// A symbol of a shared library (`memcpy@GLIBC_2.14`) or one objdump named.
    Symbol(String),
    /// Through a register or memory that the scan cannot follow.
    Unresolved,
}

/// What the guard counts in one function.
#[derive(Default)]
struct Stats {
    packed_xmm: usize,
    packed_ymm: usize,
    packed_zmm: usize,
    scalar: usize,
    /// Instructions with a `ymm` register (of the first sixteen) among their operands.
    ymm: usize,
    avx512: usize,
    calls: usize,
    unresolved: usize,
    /// The names of the intrinsics and lane operations it calls, one entry per call.
    intrinsic_calls: Vec<String>,
    callees: BTreeMap<Callee, usize>,
}

/// Instruction prefixes objdump prints before the mnemonic.
const PREFIXES: &[&str] =
    &["notrack", "bnd", "lock", "rep", "repz", "repnz", "repe", "repne", "data16", "cs", "ds"];

impl Program {
    fn parse(disassembly: &str, relocations: &str) -> Program {
        let mut functions: Vec<Function> = Vec::new();
        for line in disassembly.lines() {
            // `0000000000058e20 <focal_loss::kernel::dispatch::sigmoid_avx2>:`
            if let Some((addr, rest)) = line.split_once(" <") {
                if let (Ok(addr), Some(name)) = (u64::from_str_radix(addr, 16), rest.strip_suffix(">:")) {
                    functions.push(Function { addr, name: name.to_string(), insns: Vec::new() });
                    continue;
                }
            }
            // `   f5ddc:\tcall   f2d60 <core::core_arch::x86::avx::_mm256_storeu_ps>`
            let (Some(f), Some((_, text))) = (functions.last_mut(), line.split_once(":\t")) else { continue };
            let (code, comment) = match text.split_once('#') {
                Some((code, comment)) => (code, Some(comment.trim().to_string())),
                None => (text, None),
            };
            let mut words = code.split_whitespace().skip_while(|w| PREFIXES.contains(w));
            let Some(mnemonic) = words.next() else { continue };
            let operands: String = words.collect::<Vec<_>>().join(" ");
            f.insns.push(Insn { mnemonic: mnemonic.to_string(), operands, comment });
        }
        let by_addr = functions.iter().enumerate().map(|(i, f)| (f.addr, i)).collect();
        // `000000000014a768 R_X86_64_RELATIVE  *ABS*+0x00000000001411e0`
        // `000000000014a750 R_X86_64_GLOB_DAT  memcpy@GLIBC_2.14`
        let mut got = HashMap::new();
        for line in relocations.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [slot, kind, value] = fields[..] else { continue };
            let Ok(slot) = u64::from_str_radix(slot, 16) else { continue };
            let callee = if let Some(addend) = value.strip_prefix("*ABS*+0x") {
                match u64::from_str_radix(addend, 16) {
                    Ok(a) => Callee::Function(a),
                    Err(_) => continue,
                }
            } else if kind.starts_with("R_X86_64_") {
                Callee::Symbol(value.split('+').next().unwrap_or(value).to_string())
            } else {
                continue;
            };
            got.insert(slot, callee);
        }
        Program { functions, by_addr, got }
    }

    fn function_at(&self, addr: u64) -> Option<&Function> {
        self.by_addr.get(&addr).map(|&i| &self.functions[i])
    }

    fn name(&self, addr: u64) -> &str {
        self.function_at(addr).map_or("", |f| f.name.as_str())
    }

    fn describe(&self, callee: Callee) -> String {
        match callee {
            Callee::Function(a) => match self.function_at(a) {
                Some(f) => f.name.clone(),
                None => format!("{a:#x}"),
            },
            Callee::Symbol(s) => s,
            Callee::Unresolved => "(unresolved)".into(),
        }
    }

    /// The address in a comment such as `14a750 <memcpy@GLIBC_2.14>`.
    fn comment_addr(insn: &Insn) -> Option<u64> {
        let c = insn.comment.as_deref()?;
        u64::from_str_radix(c.split_whitespace().next()?, 16).ok()
    }

    fn stats(&self, f: &Function) -> Stats {
        let mut stats = Stats::default();
        // What each general register was last loaded with: a GOT slot's target (`mov
        // 0x…(%rip),%r14`) or a function's address (`lea 0x…(%rip),%r14`).
        let mut registers: HashMap<String, Callee> = HashMap::new();
        for insn in &f.insns {
            let m = insn.mnemonic.as_str();
            let ops = insn.operands.as_str();
            // Registers only: not the `<_mm256_…>` of a call's target.
            let regs = ops.split('<').next().unwrap_or(ops);
            if regs.contains("%zmm")
                || regs.contains("%k")
                || regs.contains("{1to")
                || (16..32).any(|r| regs.contains(&format!("%xmm{r}")) || regs.contains(&format!("%ymm{r}")))
            {
                stats.avx512 += 1;
            } else if regs.contains("%ymm") {
                stats.ymm += 1;
            }
            if is_fma(m) {
                if m.ends_with("ss") || m.ends_with("sd") {
                    stats.scalar += 1;
                } else if ops.contains("%zmm") {
                    stats.packed_zmm += 1;
                } else if ops.contains("%ymm") {
                    stats.packed_ymm += 1;
                } else {
                    stats.packed_xmm += 1;
                }
            }
            if m.starts_with("call") {
                stats.calls += 1;
                let callee = self.call_target(insn, &registers);
                if callee == Callee::Unresolved {
                    stats.unresolved += 1;
                }
                let name = self.describe(callee.clone());
                if is_intrinsic(&name) {
                    stats.intrinsic_calls.push(name);
                }
                *stats.callees.entry(callee).or_default() += 1;
                // The System V caller-saved registers hold something else afterwards.
                for r in ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"] {
                    registers.remove(r);
                }
                continue;
            }
            // AT&T syntax: the destination is the last operand.
            if let Some(dest) = last_operand(ops).and_then(gpr) {
                let loaded = match (m, ops.contains("(%rip)"), Self::comment_addr(insn)) {
                    ("mov", true, Some(slot)) => self.got.get(&slot).cloned(),
                    ("lea", true, Some(addr)) if self.by_addr.contains_key(&addr) => {
                        Some(Callee::Function(addr))
                    }
                    _ => None,
                };
                match loaded {
                    Some(c) => registers.insert(dest, c),
                    None => registers.remove(&dest),
                };
            }
        }
        stats
    }

    fn call_target(&self, insn: &Insn, registers: &HashMap<String, Callee>) -> Callee {
        let ops = insn.operands.as_str();
        if let Some(target) = ops.strip_prefix('*') {
            if target.ends_with("(%rip)") {
                // `call *0x127ba4(%rip)  # 14a770 <_DYNAMIC+0x260>`: a GOT slot.
                return Self::comment_addr(insn)
                    .and_then(|slot| self.got.get(&slot).cloned())
                    .unwrap_or(Callee::Unresolved);
            }
            return gpr(target).and_then(|r| registers.get(&r).cloned()).unwrap_or(Callee::Unresolved);
        }
        // `call f2d60 <core::core_arch::x86::avx::_mm256_storeu_ps>`
        let addr = ops.split_whitespace().next().and_then(|a| u64::from_str_radix(a, 16).ok());
        match addr {
            Some(a) if self.by_addr.contains_key(&a) => Callee::Function(a),
            _ => match ops.split_once('<') {
                Some((_, name)) => Callee::Symbol(name.trim_end_matches('>').to_string()),
                None => Callee::Unresolved,
            },
        }
    }
}

/// `vfmadd231ps`, `vfnmsub213ss`, `vfmaddsub132ps`, …
fn is_fma(mnemonic: &str) -> bool {
    let Some(rest) = mnemonic.strip_prefix("vf").map(|r| r.strip_prefix('n').unwrap_or(r)) else {
        return false;
    };
    (rest.starts_with("madd") || rest.starts_with("msub"))
        && ["ps", "pd", "ss", "sd"].iter().any(|s| rest.ends_with(s))
}

/// An intrinsic (`core::core_arch::…`, `_mm256_…`), a lane operation of the crate or of `wide`,
/// or `core::array`'s `map`: none may be called from a wrapper, where it should have been
/// inlined. The scalar backend's shared copies of the rare math (`simd::scalar::shared_*`,
/// behind `Simd::ln` and its siblings) are out of line by design: the wrappers' per-row scalar
/// work (row statistics, the target's terms) calls them.
fn is_intrinsic(name: &str) -> bool {
    let last = name.rsplit("::").next().unwrap_or(name);
    name.contains("core_arch")
        || name.contains("core::arch::")
        || last.starts_with("_mm")
        || name.starts_with("wide::")
        || name.contains("<wide::")
        || name.starts_with("core::array::")
        || (name.contains("focal_loss::simd::") && !name.contains("focal_loss::simd::scalar::shared_"))
}

/// The last operand of an AT&T operand list (commas inside parentheses do not split).
fn last_operand(ops: &str) -> Option<&str> {
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in ops.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => start = i + 1,
            _ => {}
        }
    }
    let last = ops[start..].trim();
    (!last.is_empty()).then_some(last)
}

/// The 64-bit general register that `%reg` is part of (`%r14d` is `r14`, `%eax` is `rax`).
fn gpr(reg: &str) -> Option<String> {
    let r = reg.strip_prefix('%')?;
    if let Some(n) = r.strip_prefix('r') {
        let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            return Some(format!("r{digits}"));
        }
    }
    let family = match r {
        "rax" | "eax" | "ax" | "al" | "ah" => "rax",
        "rbx" | "ebx" | "bx" | "bl" | "bh" => "rbx",
        "rcx" | "ecx" | "cx" | "cl" | "ch" => "rcx",
        "rdx" | "edx" | "dx" | "dl" | "dh" => "rdx",
        "rsi" | "esi" | "si" | "sil" => "rsi",
        "rdi" | "edi" | "di" | "dil" => "rdi",
        "rbp" | "ebp" | "bp" | "bpl" => "rbp",
        _ => return None,
    };
    Some(family.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISASSEMBLY: &str = "\
0000000000001000 <focal_loss::kernel::dispatch::sigmoid_avx2>:
    1000:\tvfmadd213ps %ymm1,%ymm2,%ymm3
    1005:\tvfnmadd231ps (%rax),%ymm2,%ymm3
    100a:\tvfmadd231ss %xmm1,%xmm2,%xmm3
    100f:\tvfmadd132ps %xmm1,%xmm2,%xmm3
    1014:\tmov    0x10(%rip),%r14        # 3000 <_DYNAMIC+0x10>
    101b:\tcall   *%r14
    101e:\tcall   *0x20(%rip)        # 3008 <_DYNAMIC+0x18>
    1025:\tcall   2000 <core::core_arch::x86::avx::_mm256_storeu_ps>
    102a:\tcall   *%rax

0000000000002000 <core::core_arch::x86::avx::_mm256_storeu_ps>:
    2000:\tvmovups %ymm0,(%rdi)
";
    const RELOCATIONS: &str = "\
0000000000003000 R_X86_64_GLOB_DAT  memcpy@GLIBC_2.14
0000000000003008 R_X86_64_RELATIVE  *ABS*+0x0000000000002000
";

    #[test]
    fn counts_fmas_and_resolves_calls() {
        let p = Program::parse(DISASSEMBLY, RELOCATIONS);
        assert_eq!(p.functions.len(), 2);
        let s = p.stats(&p.functions[0]);
        assert_eq!((s.packed_ymm, s.packed_xmm, s.packed_zmm, s.scalar), (2, 1, 0, 1));
        assert_eq!(s.calls, 4);
        assert_eq!(s.unresolved, 1);
        assert_eq!(s.callees.get(&Callee::Symbol("memcpy@GLIBC_2.14".into())), Some(&1));
        assert_eq!(s.intrinsic_calls.len(), 2, "{:?}", s.intrinsic_calls);
        assert_eq!(s.avx512, 0);
    }

    #[test]
    fn names() {
        assert!(is_fma("vfmadd231ps") && is_fma("vfnmsub213ss") && is_fma("vfmaddsub132pd"));
        assert!(!is_fma("vfixupimmps") && !is_fma("vmulps"));
        assert!(is_intrinsic("core::core_arch::x86::avx512f::_mm512_fmadd_ps"));
        assert!(is_intrinsic("<focal_loss::simd::x86_64::avx2::Avx2 as focal_loss::simd::Simd>::fma"));
        assert!(!is_intrinsic("focal_loss::kernel::sigmoid::fix_lanes"));
        assert!(!is_intrinsic("focal_loss::simd::scalar::shared_ln"));
        assert!(is_intrinsic("core::array::<impl [T; N]>::try_map"));
        assert!(is_intrinsic("<wide::f32x8 as core::ops::arith::Mul>::mul"));
        assert!(!is_intrinsic("core::slice::index::slice_end_index_len_fail"));
        assert_eq!(last_operand("0x0(,%r13,4),%rdx"), Some("%rdx"));
        assert_eq!(gpr("%r14d").as_deref(), Some("r14"));
        assert_eq!(gpr("%esi").as_deref(), Some("rsi"));
        assert_eq!(
            json_string(r#"{"a":1,"executable":"/x/\"y\""}"#, "executable").as_deref(),
            Some("/x/\"y\"")
        );
    }
}
