//! Embedding: initializing Python inside a Rust program and mounting a Python app's
//! routes into a Rust [`App`].

use std::ffi::CString;
use std::fmt;
use std::sync::Mutex;

use fasterapi_http::App;
use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

// `PACKAGE_MODULES`: every module of the `fasterapi` package's Python code, compiled into
// the binary (by build.rs), so that an embedding program works whether or not the package
// is installed, and always with the matching native module.
include!(concat!(env!("OUT_DIR"), "/package_sources.rs"));

/// The import finder of the embedded package: first on `sys.meta_path`, it serves the
/// modules of `PACKAGE_MODULES` (`fasterapi`, `fasterapi.responses`, ...) from their
/// compiled-in sources, under their source paths for tracebacks.
const FINDER_SOURCE: &str = r#"
import importlib.abc
import importlib.util


class EmbeddedPackage(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, modules):
        self.modules = modules  # name -> (is_package, path, source)

    def find_spec(self, name, path=None, target=None):
        entry = self.modules.get(name)
        if entry is None:
            return None
        return importlib.util.spec_from_loader(name, self, origin=entry[1], is_package=entry[0])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        _is_package, path, source = self.modules[module.__name__]
        module.__file__ = path
        exec(compile(source, path, "exec"), module.__dict__)

    def get_source(self, name):
        return self.modules[name][2]
"#;

/// Why Python could not be started or an app not mounted.
#[derive(Debug)]
pub struct MountError {
    message: String,
}

impl MountError {
    fn new(message: impl Into<String>) -> MountError {
        MountError {
            message: message.into(),
        }
    }

    fn python(py: Python<'_>, context: &str, e: PyErr) -> MountError {
        let traceback = e
            .traceback(py)
            .and_then(|tb| tb.format().ok())
            .unwrap_or_default();
        MountError::new(format!("{context}: {traceback}{e}"))
    }
}

impl fmt::Display for MountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MountError {}

/// The interpreter a program embeds: the active virtualenv's `python` when
/// `VIRTUAL_ENV` is set, else the one this crate was built against.
fn executable() -> Option<String> {
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        let exe = std::path::Path::new(&venv).join("bin").join("python");
        if exe.exists() {
            return exe.to_str().map(str::to_owned);
        }
    }
    option_env!("FASTERAPI_PY_BUILD_PYTHON").map(str::to_owned)
}

/// Fails with the status's message if `status` is an error.
///
/// # Safety
/// `status` must come from a `PyConfig_*`/`Py_InitializeFromConfig` call.
unsafe fn check(status: ffi::PyStatus, what: &str) -> Result<(), MountError> {
    // SAFETY: reading a status returned by CPython (the caller's contract).
    if unsafe { ffi::PyStatus_Exception(status) } == 0 {
        return Ok(());
    }
    let msg = if status.err_msg.is_null() {
        String::from("unknown error")
    } else {
        // SAFETY: a non-null `err_msg` of a PyStatus is a static NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(status.err_msg) }
            .to_string_lossy()
            .into_owned()
    };
    Err(MountError::new(format!("{what}: {msg}")))
}

static INIT: Mutex<bool> = Mutex::new(false);

/// Starts the embedded interpreter once per process (later calls do nothing), with
/// `PyConfig.executable` set (see [`MountPython`]) so that `sys.prefix`, the standard
/// library and site-packages are those of the virtualenv or installation, and installs
/// the `fasterapi` package from the copy compiled into this binary.
///
/// Python installs no signal handlers: SIGINT and SIGTERM stay with the Rust server. The
/// calling thread does not keep the GIL.
pub fn initialize() -> Result<(), MountError> {
    let mut done = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return Ok(());
    }
    // SAFETY: checked under the lock; `Py_IsInitialized` may be called at any time.
    if unsafe { ffi::Py_IsInitialized() } != 0 {
        // Someone else started Python (a host interpreter): just add the package.
        Python::attach(install_package)?;
        *done = true;
        return Ok(());
    }
    let exe = executable();
    let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
    // SAFETY: `PyConfig_InitPythonConfig` fills the whole struct; every later call gets a
    // pointer to that initialized struct, `PyConfig_Clear` frees what it owns once,
    // and the interpreter is initialized at most once (under `INIT`).
    unsafe {
        ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
        let config = config.assume_init_mut();
        config.install_signal_handlers = 0;
        let result = (|| {
            if let Some(exe) = &exe {
                let wide: Vec<libc::wchar_t> = exe
                    .chars()
                    .map(|c| c as libc::wchar_t)
                    .chain(std::iter::once(0))
                    .collect();
                check(
                    ffi::PyConfig_SetString(config, &mut config.executable, wide.as_ptr()),
                    "setting PyConfig.executable",
                )?;
            }
            check(ffi::Py_InitializeFromConfig(config), "initializing Python")
        })();
        ffi::PyConfig_Clear(config);
        result?;
    }
    let installed = Python::attach(install_package);
    // SAFETY: this thread holds the GIL since initialization; release it (keeping this
    // thread's state) so the server's threads can attach.
    unsafe {
        ffi::PyEval_SaveThread();
    }
    installed?;
    *done = true;
    Ok(())
}

/// Puts the native module into `sys.modules` and the finder of the embedded `fasterapi`
/// package first on `sys.meta_path`, then imports the package (its submodules are imported
/// from the embedded sources as they are asked for).
fn install_package(py: Python<'_>) -> Result<(), MountError> {
    let fail = |e| MountError::python(py, "installing the fasterapi package", e);
    let result = (|| -> PyResult<()> {
        let sys = py.import("sys")?;
        let modules = sys.getattr("modules")?.cast_into::<PyDict>()?;
        if modules.contains("fasterapi")? {
            // A host interpreter imported the installed package already: keep it, so
            // that its apps and ours share one set of classes.
            return Ok(());
        }
        let sources = PyDict::new(py);
        for &(name, is_package, path, source) in PACKAGE_MODULES {
            sources.set_item(name, (is_package, path, source))?;
        }
        let scope = PyDict::new(py);
        py.run(&CString::new(FINDER_SOURCE)?, Some(&scope), None)?;
        let finder = scope
            .get_item("EmbeddedPackage")?
            .ok_or_else(|| PyRuntimeError::new_err("the embedded finder did not load"))?
            .call1((sources,))?;
        let meta_path = sys.getattr("meta_path")?;
        meta_path.call_method1("insert", (0, &finder))?;
        let native = PyModule::new(py, "fasterapi._fasterapi")?;
        crate::populate(&native)?;
        modules.set_item("fasterapi._fasterapi", &native)?;
        if let Err(e) = py.import("fasterapi") {
            meta_path.call_method1("remove", (&finder,))?;
            for name in modules.keys() {
                let name: String = name.extract()?;
                if name == "fasterapi" || name.starts_with("fasterapi.") {
                    modules.del_item(name)?;
                }
            }
            return Err(e);
        }
        Ok(())
    })();
    result.map_err(fail)
}

/// Mounting a Python app's routes into a Rust [`App`].
pub trait MountPython {
    /// Loads the Python app named by `target` and adds each of its routes to this app,
    /// its OpenAPI document and docs pages included (unless the app turns them off with
    /// `openapi_url=None`); returns how many were added.
    ///
    /// `target` is `FILE.py[:NAME]` or `package.module[:NAME]`, `NAME` defaulting to
    /// `app` (a `fasterapi.FasterAPI`). A file's directory is put first on `sys.path` so
    /// it can import its neighbours. Python is started first if needed
    /// ([`initialize`]): with `VIRTUAL_ENV` set (an activated virtualenv) its packages
    /// are importable; from a plain shell, those of the interpreter this crate was built
    /// against.
    ///
    /// The routes run as under `app.run()`: each I/O thread drives an asyncio event loop
    /// of its own, on which `async def` handlers run (a coroutine that suspends waits
    /// there while the thread serves other connections), and `def` handlers run on the
    /// worker pool or, once their calls prove fast, inline (see the Python package's
    /// docs). With several I/O threads (`config.threads != 1`) every `def` route stays on
    /// the worker pool, so that no I/O thread waits for the GIL while a handler runs on
    /// another (`config.workers` sizes the pool).
    fn mount_python(&mut self, target: &str) -> Result<usize, MountError>;
}

impl MountPython for App {
    fn mount_python(&mut self, target: &str) -> Result<usize, MountError> {
        initialize()?;
        let all_defs_on_pool = self.config_mut().threads != 1;
        let (module, attr) = match target.rsplit_once(':') {
            Some((m, a)) if !a.is_empty() && !a.contains(['/', '\\']) => (m, a),
            _ => (target, "app"),
        };
        Python::attach(|py| {
            let fail = |e| MountError::python(py, &format!("mounting {target}"), e);
            let app = load(py, module)
                .and_then(|m| m.getattr(attr))
                .map_err(fail)?;
            let spec = app.call_method0("_spec").map_err(fail)?;
            crate::serve::add_routes(self, &spec, all_defs_on_pool).map_err(fail)
        })
    }
}

/// Imports a module by dotted name, or loads a `.py` file.
fn load<'py>(py: Python<'py>, module: &str) -> PyResult<Bound<'py, PyAny>> {
    if !module.ends_with(".py") {
        return Ok(py.import(module)?.into_any());
    }
    let path = std::path::Path::new(module);
    let path = std::fs::canonicalize(path)
        .map_err(|e| pyo3::exceptions::PyFileNotFoundError::new_err(format!("{module}: {e}")))?;
    let dir = path
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into());
    let sys_path = py.import("sys")?.getattr("path")?;
    if !sys_path.contains(&dir)? {
        sys_path.call_method1("insert", (0, &dir))?;
    }
    let util = py.import("importlib.util")?;
    let spec = util.call_method1(
        "spec_from_file_location",
        (&name, path.to_string_lossy().as_ref()),
    )?;
    let module = util.call_method1("module_from_spec", (&spec,))?;
    py.import("sys")?
        .getattr("modules")?
        .set_item(&name, &module)?;
    spec.getattr("loader")?
        .call_method1("exec_module", (&module,))?;
    Ok(module)
}
