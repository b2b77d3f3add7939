//! The census of a corpus: replays every input of every target's corpus directory through the
//! same decoding and checks as the fuzz targets (`Target::run`), and prints, per target, how
//! many inputs reached each outcome (Ok, each error variant or C status) and how many were
//! refused for each class of input of DESIGN §2.5 (and of the interface's own refusals). Fails
//! when an outcome or a class a target can reach never comes up, or when an input fails a check.
//!
//! `cargo run --release --manifest-path fuzz/Cargo.toml --example census -- [CORPUS_DIR]`
//! (default: fuzz/corpus; one subdirectory per target).
//!
//! An example, not a binary: `cargo fuzz build` builds every binary of the crate with the
//! fuzzer's instrumentation and its `main`.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use focal_loss_fuzz::model::Class;
use focal_loss_fuzz::Target;

fn main() -> ExitCode {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let mut problems = Vec::new();
    let mut produced: BTreeMap<Class, usize> = BTreeMap::new();
    let mut known: BTreeMap<&str, usize> = BTreeMap::new();
    println!("census of {}", root.display());
    for target in Target::ALL {
        let dir = root.join(target.name());
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
            Err(e) => {
                problems.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        files.sort();
        let mut outcomes: BTreeMap<String, usize> =
            target.expected_outcomes().into_iter().map(|o| (o, 0)).collect();
        let mut classes: BTreeMap<Class, usize> =
            target.expected_classes().into_iter().map(|c| (c, 0)).collect();
        for file in &files {
            let data = match std::fs::read(file) {
                Ok(data) => data,
                Err(e) => {
                    problems.push(format!("{}: {e}", file.display()));
                    continue;
                }
            };
            match catch_unwind(AssertUnwindSafe(|| target.run(&data))) {
                Ok(report) => {
                    *outcomes.entry(report.outcome).or_default() += 1;
                    for test in report.known {
                        *known.entry(test).or_default() += 1;
                    }
                    for class in report.classes {
                        *classes.entry(class).or_default() += 1;
                        *produced.entry(class).or_default() += 1;
                    }
                }
                Err(_) => problems.push(format!(
                    "{}: {} fails a check (see the panic above)",
                    file.display(),
                    target.name()
                )),
            }
        }

        println!("\n{} ({} inputs)", target.name(), files.len());
        println!("  {:<48} {:>7}", "outcome", "inputs");
        for (outcome, count) in &outcomes {
            println!("  {outcome:<48} {count:>7}");
        }
        println!("  {:<48} {:>7}", "refused for (class of input)", "inputs");
        for (class, count) in &classes {
            let design = if Class::DESIGN.contains(class) { "§2.5 " } else { "" };
            println!("  {:<48} {count:>7}", format!("{design}{}", class.describe()));
        }
        for (outcome, count) in &outcomes {
            if *count == 0 && target.expected_outcomes().contains(outcome) {
                problems.push(format!("{}: no input returns {outcome}", target.name()));
            }
        }
        for (class, count) in &classes {
            if *count == 0 {
                problems.push(format!("{}: no input is refused for {}", target.name(), class.describe()));
            }
        }
    }

    println!("\nDESIGN §2.5, every class over all targets:");
    for class in Class::DESIGN {
        let count = produced.get(&class).copied().unwrap_or(0);
        println!("  {:<48} {count:>7}", class.describe());
        if count == 0 {
            problems.push(format!("no target produces {}", class.describe()));
        }
    }
    println!("\nopen findings (fuzz/src/known.rs) hit, by regression test:");
    for k in &focal_loss_fuzz::known::KNOWN {
        println!("  {:<60} {:>7}", k.test, known.get(k.test).copied().unwrap_or(0));
    }
    if problems.is_empty() {
        println!("\ncensus: every outcome and every class of refused input is reached");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("census: {p}");
        }
        ExitCode::FAILURE
    }
}
