//! The targets of the Rust API: one per task, and the in-place forms.

use arbitrary::Unstructured;
use focal_loss::Error;

use crate::case::{backends, bits, untouched, Case, Outputs, Task};
use crate::model::{self, judge};
use crate::{accuracy, Report};

/// One call of `task` through the Rust API: the builder and the call answer as the model of
/// DESIGN §2.5 says; a refused call leaves its output buffers untouched bit for bit; a valid one
/// meets the accuracy contract on every backend, and agrees bit for bit with the fused call.
pub fn task(data: &[u8], task: Task) -> Report {
    let Ok(case) = Case::decode(&mut Unstructured::new(data), task) else { return Report::undecodable() };
    let fl = match case.options.build(case.options.backend) {
        Ok(fl) => fl,
        Err(e) => {
            let classes = judge("build", &Err(e), &model::option_faults(&case.options), &case);
            return Report::refused(&e, classes);
        }
    };
    judge("build", &Ok(0.0), &model::option_faults(&case.options), &case);

    let faults = model::call_faults(&case, case.losses, case.grad);
    let out = case.call(&fl, case.losses, case.grad);
    let classes = judge("call", &out.result, &faults, &case);
    if let Err(e) = out.result {
        check_untouched(&case, &out, &e);
        return Report::refused(&e, classes);
    }
    let known = accuracy::check_backends(&case, fl.backend(), &out);
    Report { known, ..Report::ok() }
}

fn check_untouched(case: &Case, out: &Outputs, e: &Error) {
    assert!(untouched(out.losses.as_ref()), "refused with {e:?}, but the losses were written\n{case:?}");
    assert!(untouched(out.grad.as_ref()), "refused with {e:?}, but the gradient was written\n{case:?}");
}

/// The in-place form of a task against the separate one, on every backend: the same answer,
/// bit for bit (the gradient written over the logits equals the separate gradient; the losses
/// and the returned value are the same), or the same error with the logits and the losses
/// untouched.
pub fn in_place(data: &[u8]) -> Report {
    let mut u = Unstructured::new(data);
    let Ok(task) = u.arbitrary::<Task>() else { return Report::undecodable() };
    let Ok(case) = Case::decode(&mut u, task) else { return Report::undecodable() };
    if let Err(e) = case.options.build(None) {
        let classes = judge("build", &Err(e), &model::option_faults(&case.options), &case);
        return Report::refused(&e, classes);
    }
    // The separate form with a gradient as long as the logits: the in-place form's own shape.
    let grad = Some(case.logits.len());
    let faults = model::call_faults(&case, case.losses, grad);
    let mut report = None;
    for backend in backends() {
        let fl = case.options.build(Some(backend)).expect("options that built once build on every backend");
        let separate = case.call(&fl, case.losses, grad);
        let in_place = case.call_in_place(&fl, case.losses);
        match (&separate.result, &in_place.result) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{backend}: in place returned {b:e}, separate {a:e}\n{case:?}"
                );
                assert_eq!(
                    in_place.losses.as_deref().map(bits),
                    separate.losses.as_deref().map(bits),
                    "{backend}: in-place losses differ\n{case:?}"
                );
                assert_eq!(
                    in_place.grad.as_deref().map(bits),
                    separate.grad.as_deref().map(bits),
                    "{backend}: the in-place gradient differs from the separate one\n{case:?}"
                );
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "{backend}: in place refused with {b:?}, separate with {a:?}\n{case:?}");
                check_untouched(&case, &separate, a);
                assert!(
                    untouched(in_place.losses.as_ref()),
                    "{backend}: refused, but the losses were written"
                );
                assert_eq!(
                    in_place.grad.as_deref().map(bits),
                    Some(bits(&case.logits)),
                    "{backend}: refused with {b:?}, but the logits were written over\n{case:?}"
                );
            }
            (a, b) => panic!("{backend}: in place {b:?}, separate {a:?}\n{case:?}"),
        }
        report.get_or_insert_with(|| {
            let classes = judge("in place", &in_place.result, &faults, &case);
            match in_place.result {
                Ok(_) => Report::ok(),
                Err(e) => Report::refused(&e, classes),
            }
        });
    }
    report.expect("the scalar backend runs everywhere")
}
