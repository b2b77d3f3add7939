//! Size probe: builds the options (every option set), calls no entry point. The baseline of
//! every entry point's probe.
#![no_std]
#![no_main]

focal_loss_firmware::size_probe!(|fl, b| fl);
