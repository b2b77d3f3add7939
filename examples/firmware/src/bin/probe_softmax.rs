//! Size probe: `FocalLoss::softmax` with u8 class indices (losses and gradient), with every option.
#![no_std]
#![no_main]

use focal_loss::Out;
use focal_loss_firmware::probe::{classes, opaque};

focal_loss_firmware::size_probe!(|fl, b| fl.softmax(
    opaque(&mut b.logits),
    opaque(&mut b.indices),
    classes(),
    Out::new().losses(opaque(&mut b.losses)).grad(opaque(&mut b.grad))
));
