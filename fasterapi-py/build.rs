//! Links tests and binaries that embed Python with an rpath to the libpython pyo3 was
//! configured with: without it the loader may pick another library of the same SONAME
//! (Debian's libpython3.11 next to a pyenv build, say). Also records that interpreter's
//! path for `PyConfig.executable` when no virtualenv is active.

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
    let config = pyo3_build_config::get();
    if let Some(exe) = config.executable() {
        println!("cargo:rustc-env=FASTERAPI_PY_BUILD_PYTHON={exe}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
