//! Against the bench's PostgreSQL (`benches/tfb/db.sh start`, settings from `DB_*` as
//! `db.sh env` prints them): ignored without it, run with
//! `cargo test -p fasterapi-pg -- --include-ignored` once the database is up.

use fasterapi_pg::{oid, Config, Conn, Event, Param};

/// What a test's batch gathers: the rows' two int4 columns, and its result.
#[derive(Default, Debug)]
struct Gather {
    tag: u32,
    rows: Vec<(i32, i32)>,
}

fn connect() -> Conn<Gather> {
    let config = Config::from_env().expect("DB_* settings");
    Conn::connect(&config).expect("the bench's PostgreSQL (benches/tfb/db.sh start)")
}

/// Runs the connection without blocking until no batch is in flight (the test's
/// stand-in for an event loop: it polls instead of waiting for readiness).
fn drive(conn: &mut Conn<Gather>) -> Vec<(Gather, Result<(), fasterapi_pg::Error>)> {
    let mut done = Vec::new();
    let mut turns = 0u64;
    while conn.in_flight() > 0 {
        conn.flush();
        conn.process(|event| match event {
            Event::Row(g, row) => g.rows.push((row.int4(0).unwrap(), row.int4(1).unwrap())),
            Event::Done(g, result) => done.push((g, result)),
        });
        turns += 1;
    }
    assert!(turns >= 1);
    done
}

/// A batch's job back, with its result.
type Done = (Gather, Result<(), fasterapi_pg::Error>);

/// Runs the connection as an event loop does: waits for the socket's readiness (poll(2),
/// which honours the receive low-water mark as epoll does) before each read. Returns the
/// batches done and how many times the socket was reported readable. A wait of 10 s fails
/// the test: the mark would be waiting for bytes the server does not owe.
fn drive_on_readiness(conn: &mut Conn<Gather>) -> (Vec<Done>, usize) {
    let mut done = Vec::new();
    let mut wakes = 0;
    conn.flush();
    while conn.in_flight() > 0 {
        let mut fd = libc::pollfd {
            fd: conn.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut fd, 1, 10_000) };
        assert!(
            ready == 1,
            "no readiness with {} batches in flight (poll: {ready})",
            conn.in_flight()
        );
        wakes += 1;
        conn.process(|event| match event {
            Event::Row(g, row) => g.rows.push((row.int4(0).unwrap(), row.int4(1).unwrap())),
            Event::Done(g, result) => done.push((g, result)),
        });
    }
    (done, wakes)
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn the_smallest_answers_still_wake_the_reader() {
    let mut conn = connect();
    conn.set_receive_mark(true);
    // The shortest answers there are: an empty statement's (BindComplete,
    // EmptyQueryResponse, ReadyForQuery: 16 bytes), a Sync alone's (6), and an error's.
    let empty = conn.prepare("", &[]).unwrap();
    let divide = conn.prepare("SELECT 10 / $1, 0", &[oid::INT4]).unwrap();
    for tag in 0..60u32 {
        for _ in 0..tag % 3 {
            conn.execute(&empty, &[]);
        }
        if tag % 7 == 0 {
            conn.execute(&divide, &[Param::Int4(0)]);
        }
        conn.finish(Gather {
            tag,
            ..Gather::default()
        });
    }
    let (done, _) = drive_on_readiness(&mut conn);
    assert_eq!(
        done.iter().map(|(g, _)| g.tag).collect::<Vec<_>>(),
        (0..60).collect::<Vec<_>>()
    );
    for (g, result) in &done {
        assert_eq!(result.is_err(), g.tag % 7 == 0, "{}: {result:?}", g.tag);
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn many_answers_are_read_in_few_wakeups() {
    // Over TCP (the mark is TCP's: a unix socket's readiness ignores it).
    let mut config = Config::from_env().unwrap();
    if config.host.starts_with('/') {
        config.host = "127.0.0.1".into();
    }
    // Another session holds a lock that the batch's first statement waits for: until it
    // lets go, the server answers nothing.
    let mut holder: Conn<()> = Conn::connect(&config).unwrap();
    let lock = holder
        .prepare("SELECT pg_advisory_lock(1818)", &[])
        .unwrap();
    holder.execute(&lock, &[]);
    holder.finish(());
    holder.wait(|event| {
        if let Event::Done((), result) = event {
            result.unwrap();
        }
    });
    let mut conn: Conn<Gather> = Conn::connect(&config).unwrap();
    let wait_lock = conn
        .prepare("SELECT 0, 0 FROM pg_advisory_lock_shared(1818)", &[])
        .unwrap();
    let world = conn
        .prepare(
            "SELECT id, randomnumber FROM world WHERE id = $1",
            &[oid::INT4],
        )
        .unwrap();
    conn.execute(&wait_lock, &[]);
    for id in 1..=100 {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    conn.finish(Gather::default());
    conn.flush();
    conn.process(|_| panic!("nothing is answered while the lock is held"));
    let mark = |conn: &Conn<Gather>| {
        let mut mark: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the pointers describe `mark` and `len`, which outlive the call.
        let r = unsafe {
            libc::getsockopt(
                conn.fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                (&raw mut mark).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0);
        mark
    };
    // Off by default: readable at the first byte.
    assert_eq!(mark(&conn), 1);
    assert!(!conn.waits_for_mark());
    // On: 101 statements owed, each answered with at least 16 bytes; the socket is not
    // reported readable before that much has come.
    conn.set_receive_mark(true);
    assert_eq!(mark(&conn), 16 * 101);
    assert!(conn.waits_for_mark());
    let unlock = holder
        .prepare("SELECT pg_advisory_unlock(1818)", &[])
        .unwrap();
    holder.execute(&unlock, &[]);
    holder.finish(());
    holder.wait(|_| {});
    // Each answer is 48 bytes and the server sends each on its own; a wake-up reads at
    // least about a third of what is left, so 101 answers take about 15 wake-ups at most,
    // not one each.
    let (done, wakes) = drive_on_readiness(&mut conn);
    assert_eq!(done[0].0.rows.len(), 101);
    assert!(done[0].1.is_ok(), "{:?}", done[0].1);
    assert!(wakes <= 20, "{wakes} wake-ups for 101 answers");
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn pipelined_batches_answer_in_order_with_their_own_rows() {
    let mut conn = connect();
    let world = conn
        .prepare(
            "SELECT id, randomnumber FROM world WHERE id = $1",
            &[oid::INT4],
        )
        .unwrap();
    // Three batches in one write: 1 row, 20 rows, 3 rows.
    conn.execute(&world, &[Param::Int4(7)]);
    conn.finish(Gather {
        tag: 1,
        ..Gather::default()
    });
    for id in 1..=20 {
        conn.execute(&world, &[Param::Int4(id * 100)]);
    }
    conn.finish(Gather {
        tag: 2,
        ..Gather::default()
    });
    for id in [9_999, 10_000, 5] {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    conn.finish(Gather {
        tag: 3,
        ..Gather::default()
    });
    assert_eq!(conn.in_flight(), 3);
    let done = drive(&mut conn);
    let tags: Vec<u32> = done.iter().map(|(g, _)| g.tag).collect();
    assert_eq!(tags, [1, 2, 3]);
    let ids = |g: &Gather| g.rows.iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(ids(&done[0].0), [7]);
    assert_eq!(
        ids(&done[1].0),
        (1..=20).map(|i| i * 100).collect::<Vec<_>>()
    );
    assert_eq!(ids(&done[2].0), [9_999, 10_000, 5]);
    for (g, result) in &done {
        assert!(result.is_ok(), "{result:?}");
        assert!(
            g.rows.iter().all(|&(_, n)| (1..=10_000).contains(&n)),
            "{g:?}"
        );
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn an_error_fails_its_batch_only() {
    let mut conn = connect();
    let divide = conn.prepare("SELECT 10 / $1, 0", &[oid::INT4]).unwrap();
    conn.execute(&divide, &[Param::Int4(5)]);
    conn.finish(Gather {
        tag: 1,
        ..Gather::default()
    });
    conn.execute(&divide, &[Param::Int4(0)]); // division by zero
    conn.execute(&divide, &[Param::Int4(2)]); // its own transaction: runs, the batch failed
    conn.finish(Gather {
        tag: 2,
        ..Gather::default()
    });
    conn.execute(&divide, &[Param::Text("2")]); // wrong type: never sent
    conn.finish(Gather {
        tag: 3,
        ..Gather::default()
    });
    conn.execute(&divide, &[Param::Int4(1)]);
    conn.finish(Gather {
        tag: 4,
        ..Gather::default()
    });
    let done = drive(&mut conn);
    assert_eq!(done.len(), 4);
    assert_eq!(done[0].0.rows, [(2, 0)]);
    assert!(done[0].1.is_ok());
    let e = done[1].1.as_ref().unwrap_err();
    assert_eq!(e.code(), Some("22012"), "{e}"); // division_by_zero
    assert!(done[1].0.rows.is_empty());
    let e = done[2].1.as_ref().unwrap_err();
    assert!(e.to_string().contains("do not match"), "{e}");
    assert_eq!(done[3].0.rows, [(10, 0)]);
    assert!(done[3].1.is_ok());
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn arrays_write_rows_back() {
    let mut conn = connect();
    let update = conn
        .prepare(
            "UPDATE world SET randomnumber = v.rn FROM \
             (SELECT * FROM UNNEST($1::int[], $2::int[]) AS v(id, rn) ORDER BY 1) AS v \
             WHERE world.id = v.id",
            &[oid::INT4_ARRAY, oid::INT4_ARRAY],
        )
        .unwrap();
    let world = conn
        .prepare(
            "SELECT id, randomnumber FROM world WHERE id = $1",
            &[oid::INT4],
        )
        .unwrap();
    // Numbers unlike the present ones: read them first.
    for id in [11, 12, 13] {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    conn.finish(Gather::default());
    let before = drive(&mut conn).remove(0).0.rows;
    let numbers: Vec<i32> = before.iter().map(|&(_, n)| n % 10_000 + 1).collect();
    // The update and the selects reading it back, pipelined in one batch.
    conn.execute(
        &update,
        &[Param::Int4Array(&[11, 12, 13]), Param::Int4Array(&numbers)],
    );
    for id in [11, 12, 13] {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    conn.finish(Gather::default());
    let (after, result) = drive(&mut conn).remove(0);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(after.rows.iter().map(|r| r.1).collect::<Vec<_>>(), numbers);
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn wait_blocks_until_every_batch_is_answered() {
    let mut conn: Conn<()> = Conn::connect(&Config::from_env().unwrap()).unwrap();
    let fortunes = conn
        .prepare("SELECT id, message FROM fortune", &[])
        .unwrap();
    let mut messages = Vec::new();
    conn.execute(&fortunes, &[]);
    conn.finish(());
    let mut finished = 0;
    conn.wait(|event| match event {
        Event::Row((), row) => messages.push(row.text(1).unwrap().to_owned()),
        Event::Done((), result) => {
            result.unwrap();
            finished += 1;
        }
    });
    assert_eq!(finished, 1);
    assert_eq!(messages.len(), 12);
    assert!(
        messages.iter().any(|m| m.contains("フレームワーク")),
        "{messages:?}"
    );
}

#[test]
fn a_refused_connection_is_an_error() {
    // Port 1 on the loopback: nothing listens there.
    let config = Config {
        host: "127.0.0.1".into(),
        port: 1,
        user: "u".into(),
        password: "p".into(),
        dbname: "d".into(),
        connect_timeout: fasterapi_pg::CONNECT_TIMEOUT,
    };
    let e = Conn::<()>::connect(&config)
        .err()
        .expect("nothing listens on port 1");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

/// What a described batch gathers.
#[derive(Default)]
struct Described {
    parameters: Vec<fasterapi_pg::Oid>,
    columns: Vec<(String, fasterapi_pg::Oid)>,
    tags: Vec<String>,
    rows: Vec<i32>,
}

fn drive_detailed(conn: &mut Conn<Described>) -> Vec<(Described, Result<(), fasterapi_pg::Error>)> {
    use fasterapi_pg::Detail;
    let mut done = Vec::new();
    while conn.in_flight() > 0 {
        conn.flush();
        conn.process_detailed(|detail| match detail {
            Detail::Parameters(d, types) => d.parameters = types,
            Detail::Columns(d, columns) => {
                d.columns = columns.into_iter().map(|c| (c.name, c.type_oid)).collect()
            }
            Detail::Complete(d, tag) => d.tags.push(tag.to_owned()),
            Detail::Event(Event::Row(d, row)) => d.rows.push(row.int4(0).unwrap()),
            Detail::Event(Event::Done(d, result)) => done.push((d, result)),
        });
    }
    done
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_statement_described_without_blocking_runs_once_given_its_types() {
    let config = Config::from_env().expect("DB_* settings");
    let mut conn: Conn<Described> = Conn::connect(&config).expect("the bench's PostgreSQL");
    let mut statement = conn
        .describe("SELECT id, randomnumber FROM world WHERE id = $1")
        .unwrap();
    conn.finish(Described::default());
    let mut done = drive_detailed(&mut conn);
    let (d, result) = done.pop().unwrap();
    result.unwrap();
    assert_eq!(d.parameters, vec![oid::INT4]);
    assert_eq!(
        d.columns,
        vec![
            ("id".to_owned(), oid::INT4),
            ("randomnumber".to_owned(), oid::INT4)
        ]
    );
    statement.set_types(d.parameters);
    conn.execute(&statement, &[Param::Int4(5)]);
    conn.execute(&statement, &[Param::Null]);
    conn.finish(Described::default());
    let (d, result) = drive_detailed(&mut conn).pop().unwrap();
    result.unwrap();
    assert_eq!(d.rows, vec![5]);
    assert_eq!(d.tags, vec!["SELECT 1", "SELECT 0"]);
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn statements_queued_unsynced_share_one_transaction() {
    let config = Config::from_env().expect("DB_* settings");
    let mut conn: Conn<Described> = Conn::connect(&config).expect("the bench's PostgreSQL");
    let mut division = conn.describe("SELECT 10 / $1::int4").unwrap();
    let mut xact = conn.describe("SELECT txid_current()::int4").unwrap();
    conn.finish(Described::default());
    let mut done = drive_detailed(&mut conn);
    assert_eq!(done.len(), 1);
    let (d, result) = done.pop().unwrap();
    // Two statements described in one batch: the last description stands.
    result.unwrap();
    assert!(d.parameters.is_empty());
    division.set_types(vec![oid::INT4]);
    xact.set_types(Vec::new());
    // Two transactions ids read in one transaction are the same; with a Sync between, not.
    assert!(conn.execute_unsynced(&xact, &[]));
    assert!(conn.execute_unsynced(&xact, &[]));
    conn.sync();
    conn.execute(&xact, &[]);
    conn.finish(Described::default());
    let (d, result) = drive_detailed(&mut conn).pop().unwrap();
    result.unwrap();
    assert_eq!(d.rows[0], d.rows[1]);
    assert_ne!(d.rows[1], d.rows[2]);
    // A failing statement fails its batch.
    assert!(conn.execute_unsynced(&division, &[Param::Int4(2)]));
    assert!(conn.execute_unsynced(&division, &[Param::Int4(0)]));
    conn.sync();
    conn.finish(Described::default());
    let (_, result) = drive_detailed(&mut conn).pop().unwrap();
    assert_eq!(result.unwrap_err().code(), Some("22012"));
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn sql_with_a_nul_byte_is_refused_and_leaves_the_connection_usable() {
    let config = Config::from_env().expect("DB_* settings");
    let mut conn: Conn<Described> = Conn::connect(&config).expect("the bench's PostgreSQL");
    // Refused before anything is queued: no half-written Parse in the stream, which would
    // make the server drop the connection (and every batch in flight with it).
    assert!(conn.describe("SELECT 1\0").is_err());
    assert!(!conn.has_output());
    let mut blocking: Conn<Gather> = Conn::connect(&config).expect("the bench's PostgreSQL");
    assert!(blocking.prepare("SELECT 1\0", &[]).is_err());
    let world = blocking
        .prepare(
            "SELECT id, randomnumber FROM world WHERE id = $1",
            &[oid::INT4],
        )
        .expect("prepare after a refused one");
    blocking.execute(&world, &[Param::Int4(3)]);
    blocking.finish(Gather::default());
    let (g, result) = drive(&mut blocking).pop().unwrap();
    result.unwrap();
    assert_eq!(g.rows[0].0, 3);
    let mut statement = conn.describe("SELECT $1::int4 + 1").unwrap();
    conn.finish(Described::default());
    let (d, result) = drive_detailed(&mut conn).pop().unwrap();
    result.unwrap();
    statement.set_types(d.parameters);
    conn.execute(&statement, &[Param::Int4(41)]);
    conn.finish(Described::default());
    let (d, result) = drive_detailed(&mut conn).pop().unwrap();
    result.unwrap();
    assert_eq!(d.rows, vec![42]);
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_batch_finished_after_unsynced_statements_gets_their_rows_not_the_next_one() {
    let config = Config::from_env().expect("DB_* settings");
    let mut conn: Conn<Described> = Conn::connect(&config).expect("the bench's PostgreSQL");
    let mut number = conn.describe("SELECT $1::int4").unwrap();
    conn.finish(Described::default());
    let (d, result) = drive_detailed(&mut conn).pop().unwrap();
    result.unwrap();
    number.set_types(d.parameters);
    // A Sync, then one more statement without one, then the batch ends: the statement
    // after the Sync belongs to this batch, and must not run in (and answer) the next.
    assert!(conn.execute_unsynced(&number, &[Param::Int4(1)]));
    conn.sync();
    assert!(conn.execute_unsynced(&number, &[Param::Int4(2)]));
    conn.finish(Described {
        tags: vec!["first".into()],
        ..Described::default()
    });
    conn.execute(&number, &[Param::Int4(3)]);
    conn.finish(Described::default());
    let done = drive_detailed(&mut conn);
    assert_eq!(done.len(), 2);
    let rows: Vec<Vec<i32>> = done.iter().map(|(d, _)| d.rows.clone()).collect();
    assert_eq!(rows, vec![vec![1, 2], vec![3]]);
    for (_, result) in done {
        result.unwrap();
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn answers_read_while_a_write_is_blocked_do_not_inflate_the_mark() {
    // Over TCP (the mark is TCP's).
    let mut config = Config::from_env().unwrap();
    if config.host.starts_with('/') {
        config.host = "127.0.0.1".into();
    }
    // The server reads nothing while its first statement waits for a lock another
    // session holds: the pipeline behind it fills the socket, and the write blocks.
    let mut holder: Conn<()> = Conn::connect(&config).unwrap();
    let lock = holder
        .prepare("SELECT pg_advisory_lock(1819)", &[])
        .unwrap();
    let unlock = holder
        .prepare("SELECT pg_advisory_unlock(1819)", &[])
        .unwrap();
    holder.execute(&lock, &[]);
    holder.finish(());
    holder.wait(|_| {});
    let mut conn: Conn<Gather> = Conn::connect(&config).unwrap();
    conn.set_receive_mark(true);
    // A small send buffer (the kernel's would grow to megabytes).
    let size: libc::c_int = 4096;
    // SAFETY: the pointer and length describe `size`, which outlives the call.
    let r = unsafe {
        libc::setsockopt(
            conn.fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&raw const size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
    let wait_lock = conn
        .prepare("SELECT 0, 0 FROM pg_advisory_lock_shared(1819)", &[])
        .unwrap();
    let world = conn
        .prepare(
            "SELECT id, randomnumber FROM world WHERE id = $1",
            &[oid::INT4],
        )
        .unwrap();
    conn.execute(&wait_lock, &[]);
    conn.finish(Gather::default());
    for id in 0..40_000 {
        conn.execute(&world, &[Param::Int4(id % 10_000 + 1)]);
        conn.finish(Gather::default());
    }
    conn.flush();
    assert!(
        conn.write_blocked(),
        "the pipeline fit in the socket's buffers"
    );
    holder.execute(&unlock, &[]);
    holder.finish(());
    holder.wait(|_| {});
    // Answers are read while the rest is written: the statements they answer were not
    // counted as owed yet (their flush had not completed).
    let done = drive(&mut conn);
    assert_eq!(done.len(), 40_001);
    // Nothing is owed now: the socket is readable at the first byte again, and one
    // statement's answer wakes the reader (a mark left at what the answers read during
    // the blocked write were counted for would wait for bytes that never come).
    let mut mark: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the pointers describe `mark` and `len`, which outlive the call.
    let r = unsafe {
        libc::getsockopt(
            conn.fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&raw mut mark).cast(),
            &mut len,
        )
    };
    assert_eq!((r, mark), (0, 1));
    conn.execute(&world, &[Param::Int4(5)]);
    conn.finish(Gather::default());
    let (done, _) = drive_on_readiness(&mut conn);
    assert_eq!(done[0].0.rows[0].0, 5);
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_transaction_left_open_breaks_the_connection_one_closed_before_its_sync_does_not() {
    let config = Config::from_env().expect("DB_* settings");
    let mut conn: Conn<Gather> = Conn::connect(&config).expect("the bench's PostgreSQL");
    let begin = conn.prepare("BEGIN", &[]).unwrap();
    let commit = conn.prepare("COMMIT", &[]).unwrap();
    let world = conn
        .prepare(
            "SELECT id, randomnumber FROM world WHERE id = $1",
            &[oid::INT4],
        )
        .unwrap();
    // BEGIN ... COMMIT before one Sync: a transaction of its own, allowed.
    assert!(conn.execute_unsynced(&begin, &[]));
    assert!(conn.execute_unsynced(&world, &[Param::Int4(2)]));
    assert!(conn.execute_unsynced(&commit, &[]));
    conn.sync();
    conn.finish(Gather::default());
    let (g, result) = drive(&mut conn).pop().unwrap();
    result.unwrap();
    assert_eq!(g.rows[0].0, 2);
    // BEGIN alone: the next batch would run in its transaction.
    conn.execute(&begin, &[]);
    conn.finish(Gather {
        tag: 1,
        ..Gather::default()
    });
    conn.execute(&world, &[Param::Int4(3)]);
    conn.finish(Gather {
        tag: 2,
        ..Gather::default()
    });
    let done = drive(&mut conn);
    assert_eq!(done.len(), 2);
    for (_, result) in &done {
        let e = result.as_ref().unwrap_err();
        assert!(e.to_string().contains("transaction open"), "{e}");
    }
    assert!(conn.broken().is_some());
}

#[test]
fn a_config_printed_with_debug_hides_its_password() {
    let config = Config {
        host: "db.example".into(),
        port: 5432,
        user: "app".into(),
        password: "s3cret-pw".into(),
        dbname: "app".into(),
        connect_timeout: fasterapi_pg::CONNECT_TIMEOUT,
    };
    let printed = format!("{config:?}");
    assert!(!printed.contains("s3cret-pw"), "{printed}");
    assert!(
        printed.contains("db.example") && printed.contains("<hidden>"),
        "{printed}"
    );
}

#[test]
fn a_server_that_accepts_and_never_answers_fails_connect_after_its_timeout() {
    // The listener's backlog completes the TCP handshake; nobody ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = Config {
        host: "127.0.0.1".into(),
        port: silent.local_addr().unwrap().port(),
        user: "u".into(),
        password: "p".into(),
        dbname: "d".into(),
        connect_timeout: std::time::Duration::from_millis(50),
    };
    let e = Conn::<()>::connect(&config)
        .err()
        .expect("connect fails instead of waiting forever");
    assert!(
        e.to_string()
            .contains("did not answer the startup handshake within 50ms (connect_timeout)"),
        "{e}"
    );
}
