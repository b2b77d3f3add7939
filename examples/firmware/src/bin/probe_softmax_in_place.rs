//! Size probe: `FocalLoss::softmax_in_place` with u8 class indices (losses), with every option.
#![no_std]
#![no_main]

use focal_loss_firmware::probe::{classes, opaque};

focal_loss_firmware::size_probe!(|fl, b| fl.softmax_in_place(
    opaque(&mut b.logits),
    opaque(&mut b.indices),
    classes(),
    Some(opaque(&mut b.losses))
));
