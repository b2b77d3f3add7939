//! Size probe: `FocalLoss::sigmoid` (losses and gradient), with every option.
#![no_std]
#![no_main]

use focal_loss::Out;
use focal_loss_firmware::probe::{classes, opaque};

focal_loss_firmware::size_probe!(|fl, b| fl.sigmoid(
    opaque(&mut b.logits),
    opaque(&mut b.values),
    classes(),
    Out::new().losses(opaque(&mut b.losses)).grad(opaque(&mut b.grad))
));
