//! Files and static directories over real sockets: sendfile bodies, validators and
//! conditional requests, ranges, HEAD, pipelining behind a file, traversal attempts,
//! symlinks, HTML mode, and curl as a user would run it.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{connect, read_response, roundtrip, Resp};
use fasterapi_http::{App, Error, FileResponse, Request, Response, RunningServer, StaticDir};

/// A directory tree for one test: removed when dropped.
struct Tree {
    base: PathBuf,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

const SECRET: &[u8] = b"the secret outside the served directory";

fn big() -> Vec<u8> {
    // 6 MiB: more than a pass sends of one file, and more than loopback socket buffers
    // hold, so the server meets a full socket (partial sendfile, WouldBlock).
    (0..6u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// `<base>/public` (served) next to `<base>/secret.txt` and `<base>/outside/` (not).
fn tree(name: &str) -> Tree {
    let base = std::env::temp_dir().join(format!("fasterapi-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let public = base.join("public");
    std::fs::create_dir_all(public.join("sub")).unwrap();
    std::fs::create_dir_all(public.join("site")).unwrap();
    std::fs::create_dir_all(base.join("outside")).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    std::fs::write(base.join("outside/secret.txt"), SECRET).unwrap();
    std::fs::write(public.join("hello.txt"), b"hello, file\n").unwrap();
    std::fs::write(public.join("empty.txt"), b"").unwrap();
    std::fs::write(public.join("big.bin"), big()).unwrap();
    std::fs::write(public.join("sub/page.css"), b"body { color: red }").unwrap();
    std::fs::write(public.join("site/index.html"), b"<h1>index</h1>").unwrap();
    std::fs::write(public.join("404.html"), b"<h1>no such page</h1>").unwrap();
    let link =
        |target: &Path, at: &str| std::os::unix::fs::symlink(target, public.join(at)).unwrap();
    link(&base.join("secret.txt"), "out_abs");
    link(Path::new("../secret.txt"), "out_rel");
    link(Path::new("../outside"), "out_dir");
    link(Path::new("hello.txt"), "in_rel");
    link(&public.join("hello.txt"), "in_abs");
    let fifo = std::ffi::CString::new(public.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    Tree { base }
}

fn serve(tree: &Tree) -> RunningServer {
    let public = tree.base.join("public");
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.get("/plaintext", |_r: &Request| "Hello, World!");
    app.static_dir("/static", StaticDir::new(&public).unwrap());
    app.static_dir("/html", StaticDir::new(&public).unwrap().html(true));
    app.static_dir(
        "/follow",
        StaticDir::new(&public).unwrap().follow_symlinks(true),
    );
    let report = public.join("hello.txt");
    app.get(
        "/download",
        move |req: &Request| -> Result<Response, Error> {
            let file = FileResponse::open(&report)
                .map_err(|e| Error::new(fasterapi_http::StatusCode::NOT_FOUND, e.to_string()))?;
            Ok(file.attachment("hello report.txt").respond(req))
        },
    );
    app.bind("127.0.0.1:0").unwrap().spawn().unwrap()
}

fn get(addr: SocketAddr, path: &str, headers: &str) -> Resp {
    roundtrip(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n{headers}\r\n").as_bytes(),
    )
}

#[test]
fn a_file_is_sent_whole_with_its_validators() {
    let tree = tree("whole");
    let server = serve(&tree);
    let r = get(server.local_addr(), "/static/big.bin", "");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.body == big(), "the body differs from the file");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let etag = r.header("etag").unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(r.header("last-modified").unwrap().ends_with(" GMT"));
    let css = get(server.local_addr(), "/static/sub/page.css", "");
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.body, b"body { color: red }");
    let empty = get(server.local_addr(), "/static/empty.txt", "");
    assert_eq!(
        (empty.status, empty.header("content-length")),
        (200, Some("0"))
    );
    server.shutdown().unwrap();
}

#[test]
fn a_slow_reader_gets_every_byte_and_the_pipelined_requests_behind_the_file() {
    let tree = tree("pipelined");
    let server = serve(&tree);
    let mut s = connect(server.local_addr());
    // A large file, a HEAD of it, a small file and a plain route, in one write: answered
    // in order, the large one across many writable events.
    s.write_all(
        b"GET /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\n\
          HEAD /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /static/hello.txt HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    // Read in small pieces so that the server keeps meeting a full socket.
    let mut r = BufReader::with_capacity(1024, s);
    let first = read_response(&mut r, false);
    assert_eq!(first.status, 200);
    assert!(first.body == big());
    let head = read_response(&mut r, true);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(&*(6u32 << 20).to_string())
    );
    assert_eq!(head.header("etag"), first.header("etag"));
    let hello = read_response(&mut r, false);
    assert_eq!(hello.body, b"hello, file\n");
    let plain = read_response(&mut r, false);
    assert_eq!(plain.body, b"Hello, World!");
    server.shutdown().unwrap();
}

#[test]
fn conditional_requests_answer_304() {
    let tree = tree("conditional");
    let server = serve(&tree);
    let addr = server.local_addr();
    let full = get(addr, "/static/hello.txt", "");
    let etag = full.header("etag").unwrap().to_owned();
    let modified = full.header("last-modified").unwrap().to_owned();
    for (headers, want) in [
        (format!("If-None-Match: {etag}\r\n"), 304),
        (format!("If-None-Match: W/{etag}\r\n"), 304),
        (format!("If-None-Match: \"other\", {etag}\r\n"), 304),
        ("If-None-Match: *\r\n".to_owned(), 304),
        ("If-None-Match: \"other\"\r\n".to_owned(), 200),
        (format!("If-Modified-Since: {modified}\r\n"), 304),
        (
            "If-Modified-Since: Sun, 06 Nov 2095 08:49:37 GMT\r\n".to_owned(),
            304,
        ),
        (
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n".to_owned(),
            200,
        ),
        ("If-Modified-Since: yesterday\r\n".to_owned(), 200),
        // If-None-Match decides when present, even against a matching date.
        (
            format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}\r\n"),
            200,
        ),
    ] {
        let r = get(addr, "/static/hello.txt", &headers);
        assert_eq!(r.status, want, "{headers}: {}", r.head);
        if want == 304 {
            assert!(r.header("content-length").is_none() && r.body.is_empty());
            assert_eq!(r.header("etag"), Some(&*etag));
        } else {
            assert_eq!(r.body, b"hello, file\n");
        }
    }
    // A 304 on a kept-alive connection leaves it usable: no body bytes follow.
    let mut s = connect(addr);
    s.write_all(
        format!(
            "GET /static/hello.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n\
             GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r, false).status, 304);
    assert_eq!(read_response(&mut r, false).body, b"Hello, World!");
    server.shutdown().unwrap();
}

#[test]
fn ranges_answer_206_416_or_the_whole_file() {
    let tree = tree("ranges");
    let server = serve(&tree);
    let addr = server.local_addr();
    let data = big();
    let size = data.len();
    let etag = get(addr, "/static/hello.txt", "")
        .header("etag")
        .unwrap()
        .to_owned();
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-", 1000, size - 1),
        ("bytes=-100", size - 100, size - 1),
        ("bytes=5-99999999999", 5, size - 1),
    ] {
        let r = get(addr, "/static/big.bin", &format!("Range: {range}\r\n"));
        assert_eq!(r.status, 206, "{range}: {}", r.head);
        assert_eq!(
            r.header("content-range"),
            Some(&*format!("bytes {start}-{end}/{size}"))
        );
        assert!(r.body == data[start..=end], "{range}: wrong bytes");
    }
    let r = get(
        addr,
        "/static/big.bin",
        &format!("Range: bytes={size}-\r\n"),
    );
    assert_eq!(r.status, 416, "{}", r.head);
    assert_eq!(r.header("content-range"), Some(&*format!("bytes */{size}")));
    // Several ranges, another unit, a malformed one: the whole file.
    for range in ["bytes=0-1,5-6", "lines=1-2", "bytes=9-2"] {
        let r = get(addr, "/static/hello.txt", &format!("Range: {range}\r\n"));
        assert_eq!(
            (r.status, &r.body[..]),
            (200, &b"hello, file\n"[..]),
            "{range}"
        );
    }
    // If-Range: the current ETag keeps the range, another sends everything.
    let r = get(
        addr,
        "/static/hello.txt",
        &format!("Range: bytes=0-4\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!((r.status, &r.body[..]), (206, &b"hello"[..]));
    let r = get(
        addr,
        "/static/hello.txt",
        "Range: bytes=0-4\r\nIf-Range: \"stale\"\r\n",
    );
    assert_eq!(r.status, 200);
    // HEAD with a range: the 206 head, no body.
    let r = roundtrip(
        addr,
        b"HEAD /static/big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n",
    );
    assert_eq!((r.status, r.header("content-length")), (206, Some("10")));
    server.shutdown().unwrap();
}

/// Every way out of the directory we know of is answered 404 (or refused by the parser
/// with 400), and the secret's bytes never appear.
#[test]
fn no_request_reads_outside_the_directory() {
    let tree = tree("traversal");
    let server = serve(&tree);
    let addr = server.local_addr();
    for path in [
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/sub%2f..%2f..%2fsecret.txt",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/..%5csecret.txt",
        "/static/..%5c..%5csecret.txt",
        "/static/sub%5c..%5c..%5csecret.txt",
        "/static/..\\secret.txt",
        "/static/hello.txt%00.css",
        "/static/%00",
        "/static/out_abs",
        "/static/out_rel",
        "/static/out_dir/secret.txt",
        "/static/%2e%2e%2foutside/secret.txt",
        "/static/in_abs",
        "/html/../secret.txt",
        "/html/out_rel",
        "/static/fifo",
    ] {
        let r = get(addr, path, "");
        assert!(
            r.status == 404 || r.status == 400,
            "{path}: {} {:?}",
            r.head,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            !r.body.windows(SECRET.len()).any(|w| w == SECRET),
            "{path} leaked the secret"
        );
    }
    // Symlinks that stay inside are followed; follow_symlinks lets any through, but
    // still no `..` above the directory.
    assert_eq!(get(addr, "/static/in_rel", "").body, b"hello, file\n");
    assert_eq!(get(addr, "/follow/out_rel", "").body, SECRET);
    assert_eq!(get(addr, "/follow/../secret.txt", "").status, 404);
    // A normalized `..` inside the directory is fine.
    assert_eq!(get(addr, "/static/sub/../hello.txt", "").status, 200);
    server.shutdown().unwrap();
}

#[test]
fn directories_and_html_mode() {
    let tree = tree("html");
    let server = serve(&tree);
    let addr = server.local_addr();
    let r = get(addr, "/html/site?x=1", "");
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some("/html/site/?x=1"))
    );
    let r = get(addr, "/html/site/", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.body, b"<h1>index</h1>");
    let r = get(addr, "/html/nothing-here", "");
    assert_eq!(
        (r.status, &r.body[..]),
        (404, &b"<h1>no such page</h1>"[..])
    );
    // Without HTML mode a directory is not served, and misses are FastAPI's 404.
    let r = get(addr, "/static/site/", "");
    assert_eq!((r.status, r.text()), (404, r#"{"detail":"Not Found"}"#));
    let r = get(addr, "/static", "");
    assert_eq!(r.status, 404);
    // Only GET and HEAD.
    let r = roundtrip(
        addr,
        b"POST /static/hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(r.status, 405);
    server.shutdown().unwrap();
}

#[test]
fn a_handler_answers_with_a_file() {
    let tree = tree("handler");
    let server = serve(&tree);
    let r = get(server.local_addr(), "/download", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello, file\n");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename*=utf-8''hello%20report.txt")
    );
    let r = get(server.local_addr(), "/download", "Range: bytes=-5\r\n");
    assert_eq!((r.status, &r.body[..]), (206, &b"file\n"[..]));
    server.shutdown().unwrap();
}

/// The connection closes after a file answered with `Connection: close`, once all of it
/// is out.
#[test]
fn a_closing_answer_with_a_file_is_sent_whole_before_the_close() {
    let tree = tree("close");
    let server = serve(&tree);
    let mut s = connect(server.local_addr());
    s.write_all(b"GET /static/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(all[end..] == big()[..]);
    server.shutdown().unwrap();
}

/// The status code curl reports for `url` fetched with `args`, the body dropped.
fn curl_status(args: &[&str], url: &str) -> Vec<u8> {
    let mut all = args.to_vec();
    all.extend(["-o", "/dev/null", "-w", "%{http_code}", url]);
    curl(&all).unwrap().1
}

fn curl(args: &[&str]) -> Option<(String, Vec<u8>)> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.stdout,
    ))
}

#[test]
fn curl_ranges_conditionals_and_head() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl not installed; skipping");
        return;
    }
    let tree = tree("curl");
    let server = serve(&tree);
    let url = format!("http://{}/static/big.bin", server.local_addr());
    let data = big();
    // -r: a range.
    let (_, body) = curl(&["-r", "100-199", &url]).unwrap();
    assert!(body == data[100..200]);
    // The whole file, and -I (HEAD).
    let (_, body) = curl(&[&url]).unwrap();
    assert!(body == data);
    let (_, head) = curl(&["-I", &url]).unwrap();
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("content-length: {}", data.len())));
    let etag = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("ETag: ")
                .or_else(|| l.strip_prefix("etag: "))
        })
        .unwrap()
        .trim()
        .to_owned();
    // -z with the file itself: If-Modified-Since its mtime, answered 304 (no body).
    let file = tree.base.join("public/big.bin");
    assert_eq!(curl_status(&["-z", file.to_str().unwrap()], &url), b"304");
    // If-None-Match with the ETag: 304; with another: 200.
    assert_eq!(
        curl_status(&["-H", &format!("If-None-Match: {etag}")], &url),
        b"304"
    );
    assert_eq!(curl_status(&["-H", "If-None-Match: \"x\""], &url), b"200");
    // Past the end: 416.
    assert_eq!(curl_status(&["-r", "99999999-"], &url), b"416");
    server.shutdown().unwrap();
}
