//! Gives the shared library the name it is installed under (`libfocal_loss.so`, see
//! `cargo xtask capi`), so that programs linked against it look for that name at run time.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libfocal_loss.so");
    }
}
