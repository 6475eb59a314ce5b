//! Links tests and binaries that embed Python with an rpath to the libpython pyo3 was
//! configured with: without it the loader may pick another library of the same SONAME
//! (Debian's libpython3.11 next to a pyenv build, say). Also records that interpreter's
//! path for `PyConfig.executable` when no virtualenv is active, and lists every module of
//! the `fasterapi` Python package for `embed.rs` to compile into the binary.

use std::path::{Path, PathBuf};

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
    let config = pyo3_build_config::get();
    if let Some(exe) = config.executable() {
        println!("cargo:rustc-env=FASTERAPI_PY_BUILD_PYTHON={exe}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    package_sources();
}

/// Writes `$OUT_DIR/package_sources.rs`: `PACKAGE_MODULES`, one
/// `(module name, is a package, path, source)` per `.py` file of `python/fasterapi`.
fn package_sources() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("python").join("fasterapi");
    // A directory: cargo reruns this script when any file under it changes.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect_py(&root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every module of the `fasterapi` package: (module name, is a package, path, source).\n\
         pub(crate) const PACKAGE_MODULES: &[(&str, bool, &str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under the package root");
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let last = parts.pop().expect("a file name");
        let is_package = last == "__init__.py";
        if !is_package {
            parts.push(last.trim_end_matches(".py").to_owned());
        }
        let name = std::iter::once("fasterapi".to_owned())
            .chain(parts)
            .collect::<Vec<_>>()
            .join(".");
        let path = file.to_str().expect("a UTF-8 path");
        out.push_str(&format!(
            "    ({name:?}, {is_package}, {path:?}, include_str!({path:?})),\n"
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(dest.join("package_sources.rs"), out).expect("writing package_sources.rs");
}

/// The `.py` files under `dir`, recursively (`__pycache__` and the like have none).
fn collect_py(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect_py(&path, out);
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}
