//! What the hello, todo and gzip_json examples share: numeric settings from the command line
//! or the environment, and serving the app on 127.0.0.1 with a message on failure.
use fasterapi::App;

/// For each `(flag, env, default)`: the number after `flag` on the command line, else the
/// environment variable `env`, else `default`. A missing or non-numeric value ends the
/// process with status 2 and a message prefixed with `name`.
pub fn settings<const N: usize>(name: &str, wanted: [(&str, &str, usize); N]) -> [usize; N] {
    let args: Vec<String> = std::env::args().collect();
    wanted.map(|(flag, env, default)| {
        let raw = match args.iter().position(|a| a == flag) {
            Some(i) => match args.get(i + 1) {
                Some(v) => v.clone(),
                None => exit(name, 2, format_args!("{flag} needs a value")),
            },
            None => match std::env::var(env) {
                Ok(v) => v,
                Err(_) => return default,
            },
        };
        match raw.parse() {
            Ok(n) => n,
            Err(_) => exit(
                name,
                2,
                format_args!("{flag}/{env}: `{raw}` is not a number"),
            ),
        }
    })
}

/// Binds `app` to 127.0.0.1:`port` and serves it; a failure to listen or to serve ends the
/// process with status 1 and a message prefixed with `name`.
pub fn serve(name: &str, app: App, port: usize) {
    let addr = format!("127.0.0.1:{port}");
    let server = match app.bind(&addr) {
        Ok(s) => s,
        Err(e) => exit(name, 1, format_args!("cannot listen on {addr}: {e}")),
    };
    eprintln!("{name}: listening on http://{}", server.local_addr());
    if let Err(e) = server.run() {
        exit(name, 1, format_args!("{e}"));
    }
}

fn exit(name: &str, status: i32, message: std::fmt::Arguments) -> ! {
    eprintln!("{name}: {message}");
    std::process::exit(status)
}
