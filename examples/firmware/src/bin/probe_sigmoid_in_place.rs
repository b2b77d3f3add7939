//! Size probe: `FocalLoss::sigmoid_in_place` (losses), with every option.
#![no_std]
#![no_main]

use focal_loss_firmware::probe::{classes, opaque};

focal_loss_firmware::size_probe!(|fl, b| fl.sigmoid_in_place(
    opaque(&mut b.logits),
    opaque(&mut b.values),
    classes(),
    Some(opaque(&mut b.losses))
));
