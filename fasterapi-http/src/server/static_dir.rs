//! Static directories: [`StaticDir`] and [`App::static_dir`].

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::app::files::FileResponse;
use crate::app::request::{percent_decode, Request};
use crate::app::{App, RouteMut};
use crate::http::response::{detail, Response, StatusCode};
use crate::server::sys;

/// Set once `openat2(2)` was found missing: every later open takes the fallback.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// A directory whose files are served as they are.
///
/// A request's path below the mount is percent-decoded, then refused (`404`) if it holds
/// a NUL or a backslash; `.` segments and empty ones are dropped and `..` removes the
/// segment before it, and a `..` that would climb above the directory is refused. What is
/// left is opened relative to the directory's descriptor with `openat2(2)` and
/// `RESOLVE_BENEATH`: the kernel refuses any resolution that leaves the directory, so a
/// symlink that points out of it (or any absolute symlink, even one pointing back in) is
/// answered `404`, as Starlette's `StaticFiles` does for symlinks leaving its directory.
/// Symlinks that stay inside (relative ones) are followed.
/// [`StaticDir::follow_symlinks`] lifts the check for symlinks (`..` in the request path
/// is still never allowed above the directory). On kernels without `openat2` (before 5.6)
/// the opened path is canonicalized and checked to be under the canonical directory
/// instead (a symlink swapped between the check and the open could still lead out there).
///
/// Opening a file happens on the I/O thread: `open` + `fstat` measured 0.7 µs (p50) for a
/// warm file and 2.5 µs (p50, 9 µs p99) for the first open of files nobody had read since
/// boot, on this project's machine (see benches/RESULTS.md), less than parsing and
/// answering a typical request costs, so no worker pool is used for it. A mount whose
/// files live on slow storage can move the opens to the worker pool with
/// [`RouteMut::blocking`]; the bytes themselves go out with `sendfile(2)`.
///
/// ```no_run
/// use fasterapi_http::{App, StaticDir};
///
/// let mut app = App::new();
/// app.static_dir("/static", StaticDir::new("public")?.html(true));
/// app.serve("127.0.0.1:8080")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct StaticDir {
    /// The directory, canonical.
    root: PathBuf,
    /// The directory, opened (`O_PATH`): files are opened relative to it.
    root_fd: OwnedFd,
    html: bool,
    follow_symlinks: bool,
}

/// What a request's path names under the directory.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// The path relative to the directory, `.` for the directory itself.
    relative: String,
    /// The request's path ends with `/` (or is the mount itself).
    directory_form: bool,
}

impl StaticDir {
    /// The directory at `dir`. It must exist (`NotFound`) and be a directory
    /// (`InvalidInput`); it is opened now, so a later rename of the path does not change
    /// what is served.
    pub fn new(dir: impl AsRef<Path>) -> io::Result<StaticDir> {
        let root = std::fs::canonicalize(dir.as_ref()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("static directory {}: {e}", dir.as_ref().display()),
            )
        })?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("static directory {}: not a directory", root.display()),
            ));
        }
        let root_fd: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(&root)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("static directory {}: {e}", root.display()),
                )
            })?
            .into();
        Ok(StaticDir {
            root,
            root_fd,
            html: false,
            follow_symlinks: false,
        })
    }

    /// HTML mode (Starlette's `html=True`): a directory's `index.html` answers for it (a
    /// request without the trailing slash is redirected to it first, `307`), and a
    /// `404.html` at the top of the directory is the body of `404` answers.
    pub fn html(mut self, on: bool) -> StaticDir {
        self.html = on;
        self
    }

    /// Follow symlinks wherever they point (Starlette's `follow_symlink=True`). Off by
    /// default: a symlink leading out of the directory answers `404`.
    pub fn follow_symlinks(mut self, on: bool) -> StaticDir {
        self.follow_symlinks = on;
        self
    }

    /// The directory served (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The answer to `req`, whose path below the mount is `rest` (still percent-encoded).
    pub fn serve(&self, req: &Request<'_>, rest: &str) -> Response {
        let Some(target) = target(&percent_decode(rest, false)) else {
            return self.not_found(req);
        };
        let file = match self.open(&target.relative) {
            Ok(file) => file,
            Err(e) => return self.open_failed(req, &e),
        };
        let meta = match file.metadata() {
            Ok(meta) => meta,
            Err(e) => return self.open_failed(req, &e),
        };
        if meta.is_file() {
            return match FileResponse::with_metadata(file, &meta, Path::new(&target.relative)) {
                Ok(f) => f.respond(req),
                Err(e) => self.open_failed(req, &e),
            };
        }
        if !(meta.is_dir() && self.html) {
            return self.not_found(req);
        }
        let index = match target.relative.as_str() {
            "." => "index.html".to_owned(),
            dir => format!("{dir}/index.html"),
        };
        match self.open(&index) {
            Ok(file) if !target.directory_form => {
                drop(file);
                // As Starlette: directory URLs end in '/', so relative links in the page
                // resolve under it.
                let mut location = format!("{}/", req.path());
                if let Some(query) = req.query_string() {
                    location.push('?');
                    location.push_str(query);
                }
                Response::new(StatusCode::TEMPORARY_REDIRECT).with_header("Location", location)
            }
            Ok(file) => match FileResponse::from_file(file, &index) {
                Ok(f) => f.respond(req),
                Err(_) => self.not_found(req),
            },
            Err(_) => self.not_found(req),
        }
    }

    /// Opens `relative` (normalized: no `..`, no NUL) under the directory, refusing
    /// symlinks that lead out unless [`StaticDir::follow_symlinks`].
    fn open(&self, relative: &str) -> io::Result<File> {
        let path =
            CString::new(relative).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            match sys::open_under(&self.root_fd, &path, !self.follow_symlinks) {
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        let full = self.root.join(relative);
        let full = if self.follow_symlinks {
            full
        } else {
            let canonical = std::fs::canonicalize(&full)?;
            if !canonical.starts_with(&self.root) {
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
            canonical
        };
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(full)
    }

    /// `404`, or `403` for a file the server may not read.
    fn open_failed(&self, req: &Request<'_>, e: &io::Error) -> Response {
        match e.kind() {
            io::ErrorKind::PermissionDenied => detail(StatusCode::FORBIDDEN, "Forbidden"),
            _ => self.not_found(req),
        }
    }

    /// `404 {"detail":"Not Found"}`, or the directory's `404.html` in HTML mode.
    fn not_found(&self, req: &Request<'_>) -> Response {
        if self.html {
            if let Ok(page) = self
                .open("404.html")
                .and_then(|f| FileResponse::from_file(f, "404.html"))
            {
                return page.with_status(StatusCode::NOT_FOUND).respond(req);
            }
        }
        detail(StatusCode::NOT_FOUND, "Not Found")
    }
}

/// The file a decoded request path names: `None` for a path that holds a NUL or a
/// backslash, or whose `..` segments climb above the directory.
fn target(decoded: &str) -> Option<Target> {
    if decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    let relative = if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    };
    Some(Target {
        relative,
        directory_form: decoded.is_empty() || decoded.ends_with('/'),
    })
}

impl App {
    /// Serves the files of `dir` under `prefix` (`GET` and `HEAD`; other methods `405`):
    /// `/static/css/site.css` is `css/site.css` in the directory. See [`StaticDir`] for
    /// what is answered and what is refused.
    ///
    /// ```no_run
    /// use fasterapi_http::{App, StaticDir};
    ///
    /// let mut app = App::new();
    /// app.static_dir("/static", StaticDir::new("public")?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn static_dir(&mut self, prefix: &str, dir: StaticDir) -> RouteMut<'_> {
        let pattern = format!("{}/{{*path}}", prefix.trim_end_matches('/'));
        let dir = Arc::new(dir);
        self.get(&pattern, move |req: &Request<'_>| {
            let rest = req.param_str("path").unwrap_or("");
            dir.serve(req, rest)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_are_normalized_or_refused() {
        let t = |p: &str| target(p).map(|t| (t.relative, t.directory_form));
        assert_eq!(t(""), Some((".".into(), true)));
        assert_eq!(t("a.txt"), Some(("a.txt".into(), false)));
        assert_eq!(t("sub/"), Some(("sub".into(), true)));
        assert_eq!(t("./sub//b.txt"), Some(("sub/b.txt".into(), false)));
        assert_eq!(t("sub/../a.txt"), Some(("a.txt".into(), false)));
        assert_eq!(t("/etc/passwd"), Some(("etc/passwd".into(), false)));
        assert_eq!(t(".."), None);
        assert_eq!(t("../a.txt"), None);
        assert_eq!(t("sub/../../a.txt"), None);
        assert_eq!(t("a\0.txt"), None);
        assert_eq!(t("..\\a.txt"), None);
        assert_eq!(t("sub\\a.txt"), None);
    }
}
