//! Build script of the `fasterapi` facade: with the `python` feature, its examples and
//! tests embed Python, so they get an rpath to the libpython pyo3 was configured with
//! (see fasterapi-py/build.rs).

fn main() {
    #[cfg(feature = "python")]
    pyo3_build_config::add_libpython_rpath_link_args();
    println!("cargo:rerun-if-changed=build.rs");
}
