//! `cargo xtask capi`: builds the C ABI (DESIGN §4.2) and tests it from C, C++ and Python.
//!
//! 1. `cargo build --release -p focal-loss-capi`, then copies the libraries to
//!    `target/capi/libfocal_loss.so` and `target/capi/libfocal_loss.a`;
//! 2. compiles `tests/c/header_check.c`, which includes only `include/focal_loss.h`, with
//!    `gcc -std=c99 -Wall -Wextra -pedantic -Werror` and with `g++ -std=c++17` (same warnings),
//!    links both against the shared library and runs them (the C++ one links only if the
//!    declarations are `extern "C"`);
//! 3. compiles `tests/c/test_capi.c` (C99, warnings as errors) against the static and against
//!    the shared library and runs both;
//! 4. checks with `nm -D --defined-only` that the shared library exports exactly the `fl_`
//!    functions the header declares, and nothing else;
//! 5. runs the Python ctypes example `examples/python/ctypes_example.py` on the shared library
//!    (numpy optional).
//!
//! The compilers are `$CC` and `$CXX` when set, else `gcc` and `g++`. The header's drift check
//! against the Rust definitions is `capi/tests/header.rs`, run by `cargo test`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, root, Result};

/// What a program linked against the static library needs on Linux besides it
/// (`rustc --print native-static-libs`).
const STATIC_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

/// The warnings of acceptance 1, as errors.
const WARNINGS: &[&str] = &["-Wall", "-Wextra", "-pedantic", "-Werror"];

pub fn run() -> Result {
    let root = root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let target = if target.is_absolute() { target } else { root.join(target) };
    let out = target.join("capi");

    // 1. The libraries.
    cargo(&["build", "--release", "--package", "focal-loss-capi"], &[])?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let shared = out.join("libfocal_loss.so");
    let static_lib = out.join("libfocal_loss.a");
    copy(&target.join("release/libfocal_loss_capi.so"), &shared)?;
    copy(&target.join("release/libfocal_loss_capi.a"), &static_lib)?;

    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    let include = format!("-I{}", root.join("include").display());
    let tests = root.join("tests/c");
    let link_shared =
        [format!("-L{}", out.display()), "-lfocal_loss".into(), format!("-Wl,-rpath,{}", out.display())];
    let path = |p: &Path| p.display().to_string();

    // 2. The header alone, as C99 and as C++17.
    let header_check = path(&tests.join("header_check.c"));
    let c_check = path(&out.join("header_check_c"));
    let cpp_check = path(&out.join("header_check_cpp"));
    let mut args = vec!["-std=c99", &include, &header_check, "-o", &c_check];
    args.extend(WARNINGS);
    args.extend(link_shared.iter().map(String::as_str));
    run_tool(&cc, &args)?;
    run_tool(&c_check, &[])?;
    let mut args = vec!["-std=c++17", &include, "-x", "c++", &header_check, "-x", "none", "-o", &cpp_check];
    args.extend(WARNINGS);
    args.extend(link_shared.iter().map(String::as_str));
    run_tool(&cxx, &args)?;
    run_tool(&cpp_check, &[])?;

    // 3. The C test, against each library.
    let test_c = path(&tests.join("test_capi.c"));
    let include_tests = format!("-I{}", tests.display());
    let c_flags =
        [vec!["-std=c99", "-O2"], WARNINGS.to_vec(), vec![&include, &include_tests, &test_c]].concat();
    let test_static = path(&out.join("test_capi_static"));
    let static_path = path(&static_lib);
    let mut args = c_flags.clone();
    args.extend(["-o", &test_static, &static_path]);
    args.extend(STATIC_LIBS);
    run_tool(&cc, &args)?;
    run_tool(&test_static, &[])?;
    let test_shared = path(&out.join("test_capi_shared"));
    let mut args = c_flags;
    args.extend(["-o", &test_shared]);
    args.extend(link_shared.iter().map(String::as_str));
    args.push("-lm");
    run_tool(&cc, &args)?;
    run_tool(&test_shared, &[])?;

    // 4. The shared library's exports are the header's functions.
    check_exports(&shared, &root.join("include/focal_loss.h"))?;

    // 5. Python.
    let example = path(&root.join("examples/python/ctypes_example.py"));
    eprintln!("$ FOCAL_LOSS_LIB={} python3 {example}", shared.display());
    let status = Command::new("python3")
        .arg(&example)
        .env("FOCAL_LOSS_LIB", &shared)
        .status()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !status.success() {
        return Err(format!("the ctypes example failed ({status})"));
    }

    eprintln!("xtask capi: {} and {} built and tested", shared.display(), static_lib.display());
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Runs a program and fails unless it succeeds.
fn run_tool(program: &str, args: &[&str]) -> Result {
    eprintln!("$ {program} {}", args.join(" "));
    let status =
        Command::new(program).args(args).status().map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program}` failed ({status})"))
    }
}

/// `nm -D --defined-only` of the shared library must list exactly the functions the header
/// declares (every name followed by `(` that starts with `fl_`).
fn check_exports(shared: &Path, header: &Path) -> Result {
    eprintln!("$ nm -D --defined-only {}", shared.display());
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(shared)
        .output()
        .map_err(|e| format!("cannot run nm: {e}"))?;
    if !output.status.success() {
        return Err(format!("nm failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let exported: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().last().map(str::to_string))
        .collect();

    let text = std::fs::read_to_string(header).map_err(|e| format!("{}: {e}", header.display()))?;
    let mut declared = BTreeSet::new();
    for (start, _) in text.match_indices("fl_") {
        let boundary =
            text[..start].chars().next_back().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let rest = &text[start..];
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if boundary && rest[len..].trim_start().starts_with('(') {
            declared.insert(rest[..len].to_string());
        }
    }
    if declared.len() != 7 {
        return Err(format!("expected the 7 functions of ABI version 1 in the header, found {declared:?}"));
    }
    if exported != declared {
        let extra: Vec<_> = exported.difference(&declared).collect();
        let missing: Vec<_> = declared.difference(&exported).collect();
        return Err(format!("the shared library exports {extra:?} not in the header and misses {missing:?}"));
    }
    eprintln!("exports: exactly the header's {} functions: {exported:?}", exported.len());
    Ok(())
}
