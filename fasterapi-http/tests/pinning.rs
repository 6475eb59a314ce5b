//! I/O threads and CPUs: with one I/O thread per CPU the process may run on, and more
//! than one, thread `i` is pinned to the `i`-th of those CPUs, unless
//! `Config::pin_threads` is off; with any other number of threads none is pinned.
#![cfg(target_os = "linux")]

mod common;

use common::{get, roundtrip};
use fasterapi_http::{App, Request, Response};

/// The CPUs the calling thread may run on.
fn this_thread_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is the empty set; sched_getaffinity writes at most its
    // size, and CPU_ISSET reads within CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let rc = libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        assert_eq!(
            rc,
            0,
            "sched_getaffinity: {}",
            std::io::Error::last_os_error()
        );
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// For each I/O thread seen by 32 connections: its index and the CPUs it may run on.
fn threads_and_cpus(threads: usize, pin: bool) -> Vec<(usize, Vec<usize>)> {
    let mut app = App::new();
    app.config_mut().threads = threads;
    app.config_mut().pin_threads = pin;
    app.get("/where", |_req: &Request| {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        let cpus: Vec<String> = this_thread_cpus().iter().map(|c| c.to_string()).collect();
        Response::text(format!("{name} {}", cpus.join(",")))
    });
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let mut seen: Vec<(usize, Vec<usize>)> = (0..32)
        .map(|_| {
            let resp = roundtrip(server.local_addr(), &get("/where"));
            assert_eq!(resp.status, 200);
            let (name, cpus) = resp.text().split_once(' ').expect("name and CPUs");
            let index = name
                .strip_prefix("fasterapi-io-")
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("not an I/O thread: {name:?}"));
            let cpus = cpus.split(',').map(|c| c.parse().unwrap()).collect();
            (index, cpus)
        })
        .collect();
    server.shutdown().unwrap();
    seen.sort();
    seen.dedup();
    seen
}

#[test]
fn one_io_thread_per_cpu_runs_on_its_own_cpu() {
    let allowed = this_thread_cpus();
    let seen = threads_and_cpus(allowed.len(), true);
    assert!(!seen.is_empty());
    for (index, cpus) in seen {
        let expected = if allowed.len() > 1 {
            vec![allowed[index]]
        } else {
            allowed.clone()
        };
        assert_eq!(
            cpus, expected,
            "I/O thread {index}, allowed CPUs {allowed:?}"
        );
    }
}

#[test]
fn threads_are_left_alone_when_pinning_is_off_or_not_one_per_cpu() {
    let allowed = this_thread_cpus();
    let n = allowed.len();
    for (threads, pin) in [(n, false), (1, true), (n + 1, true)] {
        for (index, cpus) in threads_and_cpus(threads, pin) {
            assert_eq!(
                cpus, allowed,
                "I/O thread {index} of {threads}, pin_threads {pin}"
            );
        }
    }
}
