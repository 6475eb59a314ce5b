//! Against the bench's PostgreSQL (`benches/tfb/db.sh start`, settings from `DB_*` as
//! `db.sh env` prints them): ignored without it, run with
//! `cargo test -p fasterapi-pg -- --include-ignored` once the database is up.

use fasterapi_pg::{oid, Config, Conn, Connecting, Detail, Event, Oid, Param, Statement};

/// A test's batch: what the server said of it. Every statement of these tests returns
/// int4 columns (or none).
#[derive(Default, Debug)]
struct Batch {
    tag: u32,
    /// Each row's columns.
    rows: Vec<Vec<i32>>,
    /// What a described statement takes and returns.
    parameters: Vec<Oid>,
    columns: Vec<(String, Oid)>,
    /// Each statement's command tag.
    tags: Vec<String>,
}

impl Batch {
    fn tagged(tag: u32) -> Batch {
        Batch {
            tag,
            ..Batch::default()
        }
    }
}

/// A batch's job back, with its result.
type Done = (Batch, Result<(), fasterapi_pg::Error>);

fn connect() -> Conn<Batch> {
    let config = Config::from_env().expect("DB_* settings");
    Conn::connect(&config).expect("the bench's PostgreSQL (benches/tfb/db.sh start)")
}

/// The settings, over TCP (the receive mark is TCP's: a unix socket's readiness ignores it).
fn tcp_config() -> Config {
    let mut config = Config::from_env().expect("DB_* settings");
    if config.host.starts_with('/') {
        config.host = "127.0.0.1".into();
    }
    config
}

/// Hands what `process_detailed` reads to the batches, and the finished ones to `done`.
fn collect(done: &mut Vec<Done>) -> impl FnMut(Detail<'_, Batch>) + '_ {
    |detail| match detail {
        Detail::Parameters(b, types) => b.parameters = types,
        Detail::Columns(b, columns) => {
            b.columns = columns.into_iter().map(|c| (c.name, c.type_oid)).collect()
        }
        Detail::Complete(b, tag) => b.tags.push(tag.to_owned()),
        Detail::Event(Event::Row(b, row)) => {
            let mut values = Vec::new();
            while row.get(values.len()).is_ok() {
                values.push(row.int4(values.len()).expect("an int4 column"));
            }
            b.rows.push(values);
        }
        Detail::Event(Event::Done(b, result)) => done.push((b, result)),
    }
}

/// Runs the connection without blocking until no batch is in flight (the test's
/// stand-in for an event loop: it polls instead of waiting for readiness).
fn drive(conn: &mut Conn<Batch>) -> Vec<Done> {
    let mut done = Vec::new();
    while conn.in_flight() > 0 {
        conn.flush();
        conn.process_detailed(collect(&mut done));
    }
    done
}

/// Ends the batch queued on `conn`, runs it alone until it is answered, and returns it;
/// panics if it failed.
fn answered(conn: &mut Conn<Batch>) -> Batch {
    conn.finish(Batch::default());
    let mut done = drive(conn);
    assert_eq!(done.len(), 1, "{done:?}");
    let (batch, result) = done.remove(0);
    result.expect("the batch");
    batch
}

/// Describes `sql` without blocking and returns it ready to run.
fn described(conn: &mut Conn<Batch>, sql: &str) -> Statement {
    let mut statement = conn.describe(sql).expect("describe");
    statement.set_types(answered(conn).parameters);
    statement
}

/// Runs the connection as an event loop does: waits for the socket's readiness (poll(2),
/// which honours the receive low-water mark as epoll does) before each read. Returns the
/// batches done and how many times the socket was reported readable. A wait of 10 s fails
/// the test: the mark would be waiting for bytes the server does not owe.
fn drive_on_readiness(conn: &mut Conn<Batch>) -> (Vec<Done>, usize) {
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
        conn.process_detailed(collect(&mut done));
    }
    (done, wakes)
}

/// The socket's receive low-water mark (`SO_RCVLOWAT`).
fn receive_mark(conn: &Conn<Batch>) -> libc::c_int {
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
}

/// An advisory lock held by a session of the test's own.
struct Lock {
    key: i64,
    holder: Conn<Batch>,
}

impl Lock {
    fn hold(config: &Config, key: i64) -> Lock {
        let mut holder: Conn<Batch> = Conn::connect(config).unwrap();
        let lock = holder
            .prepare("SELECT 0 FROM pg_advisory_lock($1)", &[oid::INT8])
            .unwrap();
        holder.execute(&lock, &[Param::Int8(key)]);
        answered(&mut holder);
        Lock { key, holder }
    }

    /// A statement of `conn` that waits for the lock (and returns two int4 zeros).
    fn waiter(&self, conn: &mut Conn<Batch>) -> Statement {
        let sql = format!("SELECT 0, 0 FROM pg_advisory_lock_shared({})", self.key);
        conn.prepare(&sql, &[]).unwrap()
    }

    fn let_go(mut self) {
        let unlock = self
            .holder
            .prepare("SELECT 0 FROM pg_advisory_unlock($1)", &[oid::INT8])
            .unwrap();
        self.holder.execute(&unlock, &[Param::Int8(self.key)]);
        answered(&mut self.holder);
    }
}

const WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";

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
        conn.finish(Batch::tagged(tag));
    }
    let (done, _) = drive_on_readiness(&mut conn);
    assert_eq!(
        done.iter().map(|(b, _)| b.tag).collect::<Vec<_>>(),
        (0..60).collect::<Vec<_>>()
    );
    for (b, result) in &done {
        assert_eq!(result.is_err(), b.tag % 7 == 0, "{}: {result:?}", b.tag);
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn many_answers_are_read_in_few_wakeups() {
    let config = tcp_config();
    // Another session holds a lock that the batch's first statement waits for: until it
    // lets go, the server answers nothing.
    let holder = Lock::hold(&config, 1818);
    let mut conn: Conn<Batch> = Conn::connect(&config).unwrap();
    let wait_lock = holder.waiter(&mut conn);
    let world = conn.prepare(WORLD, &[oid::INT4]).unwrap();
    conn.execute(&wait_lock, &[]);
    for id in 1..=100 {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    conn.finish(Batch::default());
    conn.flush();
    conn.process(|_| panic!("nothing is answered while the lock is held"));
    // Off by default: readable at the first byte.
    assert_eq!(receive_mark(&conn), 1);
    assert!(!conn.waits_for_mark());
    // On: 101 statements owed, each answered with at least 16 bytes; the socket is not
    // reported readable before that much has come.
    conn.set_receive_mark(true);
    assert_eq!(receive_mark(&conn), 16 * 101);
    assert!(conn.waits_for_mark());
    holder.let_go();
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
    let world = conn.prepare(WORLD, &[oid::INT4]).unwrap();
    // Three batches in one write: 1 row, 20 rows, 3 rows.
    conn.execute(&world, &[Param::Int4(7)]);
    conn.finish(Batch::tagged(1));
    for id in 1..=20 {
        conn.execute(&world, &[Param::Int4(id * 100)]);
    }
    conn.finish(Batch::tagged(2));
    for id in [9_999, 10_000, 5] {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    conn.finish(Batch::tagged(3));
    assert_eq!(conn.in_flight(), 3);
    let done = drive(&mut conn);
    let tags: Vec<u32> = done.iter().map(|(b, _)| b.tag).collect();
    assert_eq!(tags, [1, 2, 3]);
    let ids = |b: &Batch| b.rows.iter().map(|r| r[0]).collect::<Vec<_>>();
    assert_eq!(ids(&done[0].0), [7]);
    assert_eq!(
        ids(&done[1].0),
        (1..=20).map(|i| i * 100).collect::<Vec<_>>()
    );
    assert_eq!(ids(&done[2].0), [9_999, 10_000, 5]);
    for (b, result) in &done {
        assert!(result.is_ok(), "{result:?}");
        assert!(b.rows.iter().all(|r| (1..=10_000).contains(&r[1])), "{b:?}");
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn an_error_fails_its_batch_only() {
    let mut conn = connect();
    let divide = conn.prepare("SELECT 10 / $1, 0", &[oid::INT4]).unwrap();
    conn.execute(&divide, &[Param::Int4(5)]);
    conn.finish(Batch::tagged(1));
    conn.execute(&divide, &[Param::Int4(0)]); // division by zero
    conn.execute(&divide, &[Param::Int4(2)]); // its own transaction: runs, the batch failed
    conn.finish(Batch::tagged(2));
    conn.execute(&divide, &[Param::Text("2")]); // wrong type: never sent
    conn.finish(Batch::tagged(3));
    conn.execute(&divide, &[Param::Int4(1)]);
    conn.finish(Batch::tagged(4));
    let done = drive(&mut conn);
    assert_eq!(done.len(), 4);
    assert_eq!(done[0].0.rows, [[2, 0]]);
    assert!(done[0].1.is_ok());
    let e = done[1].1.as_ref().unwrap_err();
    assert_eq!(e.code(), Some("22012"), "{e}"); // division_by_zero
    assert!(done[1].0.rows.is_empty());
    let e = done[2].1.as_ref().unwrap_err();
    assert!(e.to_string().contains("do not match"), "{e}");
    assert_eq!(done[3].0.rows, [[10, 0]]);
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
    let world = conn.prepare(WORLD, &[oid::INT4]).unwrap();
    // Numbers unlike the present ones: read them first.
    for id in [11, 12, 13] {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    let before = answered(&mut conn).rows;
    let numbers: Vec<i32> = before.iter().map(|r| r[1] % 10_000 + 1).collect();
    // The update and the selects reading it back, pipelined in one batch.
    conn.execute(
        &update,
        &[Param::Int4Array(&[11, 12, 13]), Param::Int4Array(&numbers)],
    );
    for id in [11, 12, 13] {
        conn.execute(&world, &[Param::Int4(id)]);
    }
    let after = answered(&mut conn);
    assert_eq!(after.rows.iter().map(|r| r[1]).collect::<Vec<_>>(), numbers);
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
    let config = loopback(1, fasterapi_pg::CONNECT_TIMEOUT);
    let e = Conn::<()>::connect(&config)
        .err()
        .expect("nothing listens on port 1");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_statement_described_without_blocking_runs_once_given_its_types() {
    let mut conn = connect();
    let mut statement = conn.describe(WORLD).unwrap();
    let b = answered(&mut conn);
    assert_eq!(b.parameters, vec![oid::INT4]);
    assert_eq!(
        b.columns,
        vec![
            ("id".to_owned(), oid::INT4),
            ("randomnumber".to_owned(), oid::INT4)
        ]
    );
    statement.set_types(b.parameters);
    conn.execute(&statement, &[Param::Int4(5)]);
    conn.execute(&statement, &[Param::Null]);
    let b = answered(&mut conn);
    assert_eq!(b.rows.iter().map(|r| r[0]).collect::<Vec<_>>(), vec![5]);
    assert_eq!(b.tags, vec!["SELECT 1", "SELECT 0"]);
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn statements_queued_unsynced_share_one_transaction() {
    let mut conn = connect();
    let mut division = conn.describe("SELECT 10 / $1::int4").unwrap();
    let mut xact = conn.describe("SELECT txid_current()::int4").unwrap();
    // Two statements described in one batch: the last description stands.
    assert!(answered(&mut conn).parameters.is_empty());
    division.set_types(vec![oid::INT4]);
    xact.set_types(Vec::new());
    // Two transactions ids read in one transaction are the same; with a Sync between, not.
    assert!(conn.execute_unsynced(&xact, &[]));
    assert!(conn.execute_unsynced(&xact, &[]));
    conn.sync();
    conn.execute(&xact, &[]);
    let rows = answered(&mut conn).rows;
    assert_eq!(rows[0], rows[1]);
    assert_ne!(rows[1], rows[2]);
    // A failing statement fails its batch.
    assert!(conn.execute_unsynced(&division, &[Param::Int4(2)]));
    assert!(conn.execute_unsynced(&division, &[Param::Int4(0)]));
    conn.sync();
    conn.finish(Batch::default());
    let (_, result) = drive(&mut conn).pop().unwrap();
    assert_eq!(result.unwrap_err().code(), Some("22012"));
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn sql_with_a_nul_byte_is_refused_and_leaves_the_connection_usable() {
    let mut conn = connect();
    // Refused before anything is queued: no half-written Parse in the stream, which would
    // make the server drop the connection (and every batch in flight with it).
    assert!(conn.describe("SELECT 1\0").is_err());
    assert!(!conn.has_output());
    let mut blocking = connect();
    assert!(blocking.prepare("SELECT 1\0", &[]).is_err());
    let world = blocking
        .prepare(WORLD, &[oid::INT4])
        .expect("prepare after a refused one");
    blocking.execute(&world, &[Param::Int4(3)]);
    assert_eq!(answered(&mut blocking).rows[0][0], 3);
    let statement = described(&mut conn, "SELECT $1::int4 + 1");
    conn.execute(&statement, &[Param::Int4(41)]);
    assert_eq!(answered(&mut conn).rows, [[42]]);
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_batch_finished_after_unsynced_statements_gets_their_rows_not_the_next_one() {
    let mut conn = connect();
    let number = described(&mut conn, "SELECT $1::int4");
    // A Sync, then one more statement without one, then the batch ends: the statement
    // after the Sync belongs to this batch, and must not run in (and answer) the next.
    assert!(conn.execute_unsynced(&number, &[Param::Int4(1)]));
    conn.sync();
    assert!(conn.execute_unsynced(&number, &[Param::Int4(2)]));
    conn.finish(Batch::tagged(1));
    conn.execute(&number, &[Param::Int4(3)]);
    conn.finish(Batch::tagged(2));
    let done = drive(&mut conn);
    assert_eq!(done.len(), 2);
    let rows: Vec<(u32, Vec<Vec<i32>>)> =
        done.iter().map(|(b, _)| (b.tag, b.rows.clone())).collect();
    assert_eq!(rows, vec![(1, vec![vec![1], vec![2]]), (2, vec![vec![3]])]);
    for (_, result) in done {
        result.unwrap();
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn answers_read_while_a_write_is_blocked_do_not_inflate_the_mark() {
    let config = tcp_config();
    // The server reads nothing while its first statement waits for a lock another
    // session holds: the pipeline behind it fills the socket, and the write blocks.
    let holder = Lock::hold(&config, 1819);
    let mut conn: Conn<Batch> = Conn::connect(&config).unwrap();
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
    let wait_lock = holder.waiter(&mut conn);
    let world = conn.prepare(WORLD, &[oid::INT4]).unwrap();
    conn.execute(&wait_lock, &[]);
    conn.finish(Batch::default());
    for id in 0..40_000 {
        conn.execute(&world, &[Param::Int4(id % 10_000 + 1)]);
        conn.finish(Batch::default());
    }
    conn.flush();
    assert!(
        conn.write_blocked(),
        "the pipeline fit in the socket's buffers"
    );
    holder.let_go();
    // Answers are read while the rest is written: the statements they answer were not
    // counted as owed yet (their flush had not completed).
    let done = drive(&mut conn);
    assert_eq!(done.len(), 40_001);
    // Nothing is owed now: the socket is readable at the first byte again, and one
    // statement's answer wakes the reader (a mark left at what the answers read during
    // the blocked write were counted for would wait for bytes that never come).
    assert_eq!(receive_mark(&conn), 1);
    conn.execute(&world, &[Param::Int4(5)]);
    conn.finish(Batch::default());
    let (done, _) = drive_on_readiness(&mut conn);
    assert_eq!(done[0].0.rows[0][0], 5);
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_transaction_left_open_breaks_the_connection_one_closed_before_its_sync_does_not() {
    let mut conn = connect();
    let begin = conn.prepare("BEGIN", &[]).unwrap();
    let commit = conn.prepare("COMMIT", &[]).unwrap();
    let world = conn.prepare(WORLD, &[oid::INT4]).unwrap();
    // BEGIN ... COMMIT before one Sync: a transaction of its own, allowed.
    assert!(conn.execute_unsynced(&begin, &[]));
    assert!(conn.execute_unsynced(&world, &[Param::Int4(2)]));
    assert!(conn.execute_unsynced(&commit, &[]));
    conn.sync();
    assert_eq!(answered(&mut conn).rows[0][0], 2);
    // BEGIN alone: the next batch would run in its transaction.
    conn.execute(&begin, &[]);
    conn.finish(Batch::tagged(1));
    conn.execute(&world, &[Param::Int4(3)]);
    conn.finish(Batch::tagged(2));
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
    let config = loopback(
        silent.local_addr().unwrap().port(),
        std::time::Duration::from_millis(50),
    );
    let e = Conn::<()>::connect(&config)
        .err()
        .expect("connect fails instead of waiting forever");
    assert!(
        e.to_string()
            .contains("did not answer the startup handshake within 50ms (connect_timeout)"),
        "{e}"
    );
}

/// Waits (poll(2), at most 10 s, which fails the test) until `connecting`'s socket is
/// ready for what it wants, and advances it: true once it is connected.
fn step(connecting: &mut Connecting<Batch>) -> Result<bool, fasterapi_pg::Error> {
    let mut fd = libc::pollfd {
        fd: connecting.fd(),
        events: libc::POLLIN
            | if connecting.wants_write() {
                libc::POLLOUT
            } else {
                0
            },
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut fd, 1, 10_000) };
    assert_eq!(ready, 1, "the socket was not ready within 10 s");
    connecting.advance()
}

/// Advances `connecting` until it fails, and returns why (it must not connect).
fn failure(connecting: &mut Connecting<Batch>) -> fasterapi_pg::Error {
    loop {
        match step(connecting) {
            Ok(done) => assert!(!done, "connected"),
            Err(e) => return e,
        }
    }
}

/// A server on the loopback's `port` (the user and database are not looked at).
fn loopback(port: u16, connect_timeout: std::time::Duration) -> Config {
    Config {
        host: "127.0.0.1".into(),
        port,
        user: "u".into(),
        password: "p".into(),
        dbname: "d".into(),
        connect_timeout,
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_connection_made_without_blocking_runs_queries() {
    for config in [tcp_config(), Config::from_env().unwrap()] {
        let mut connecting = Connecting::start(&config).unwrap();
        let mut steps = 0;
        while !step(&mut connecting).unwrap() {
            steps += 1;
            assert!(steps < 100, "{steps} steps");
        }
        let mut conn = connecting.into_conn();
        let world = described(&mut conn, WORLD);
        conn.execute(&world, &[Param::Int4(9)]);
        assert_eq!(answered(&mut conn).rows[0][0], 9);
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_connection_made_without_blocking_fails_with_the_servers_error() {
    let config = Config {
        password: "wrong".into(),
        ..tcp_config()
    };
    let mut connecting: Connecting<Batch> = Connecting::start(&config).unwrap();
    let e = failure(&mut connecting);
    assert_eq!(e.code(), Some("28P01"), "{e}"); // invalid_password
}

#[test]
fn connecting_to_a_server_that_never_answers_waits_without_blocking() {
    // The listener's backlog completes the TCP handshake; nobody ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = loopback(
        silent.local_addr().unwrap().port(),
        std::time::Duration::from_millis(50),
    );
    let mut connecting: Connecting<Batch> = Connecting::start(&config).unwrap();
    // The connect completes (the socket becomes writable), the startup message goes out,
    // and nothing comes back: each advance returns at once.
    assert!(!step(&mut connecting).unwrap());
    assert!(!connecting.wants_write());
    assert!(!connecting.advance().unwrap());
    let e = connecting.timed_out();
    assert!(
        e.to_string().contains(
            "the server did not answer the startup handshake within 50ms (connect_timeout)"
        ),
        "{e}"
    );
}

#[test]
fn connecting_without_blocking_to_a_closed_port_is_an_error() {
    // Port 1 on the loopback: nothing listens there.
    let config = loopback(1, fasterapi_pg::CONNECT_TIMEOUT);
    let mut connecting: Connecting<Batch> = Connecting::start(&config).unwrap();
    let e = failure(&mut connecting);
    assert!(e.to_string().contains("127.0.0.1:1: "), "{e}");
}

#[test]
fn connecting_to_a_unix_socket_whose_backlog_is_full_fails_at_once_instead_of_blocking() {
    use socket2::{Domain, SockAddr, Socket, Type};
    // A "server" whose listen backlog is full: it never accepts, and the connections
    // made first fill its queue. A blocking connect would wait until it accepts, forever.
    let dir = std::env::temp_dir().join(format!("fasterapi-pg-backlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(".s.PGSQL.5432");
    let _ = std::fs::remove_file(&path);
    let server = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    server.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    server.listen(0).unwrap();
    let mut queued = Vec::new();
    loop {
        let client = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        client.set_nonblocking(true).unwrap();
        let full = client.connect(&SockAddr::unix(&path).unwrap()).is_err();
        queued.push(client);
        if full {
            break;
        }
        assert!(queued.len() < 1000, "the backlog never filled");
    }
    let config = Config {
        host: dir.to_str().unwrap().into(),
        port: 5432,
        user: "u".into(),
        password: "p".into(),
        dbname: "d".into(),
        connect_timeout: fasterapi_pg::CONNECT_TIMEOUT,
    };
    // Started on a thread of its own, so that a connect that blocks fails the test
    // instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Connecting::<Batch>::start(&config).map(|_| ());
        let _ = tx.send(started.map_err(|e| e.to_string()));
    });
    let started = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("Connecting::start blocked on the full backlog");
    let e = started.expect_err("connected to a server that accepts nothing");
    assert!(e.contains(".s.PGSQL.5432: "), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_host_is_looked_up_unless_it_is_an_address_or_a_socket_directory() {
    let with_host = |host: &str| Config {
        host: host.into(),
        ..loopback(5432, fasterapi_pg::CONNECT_TIMEOUT)
    };
    for name in ["localhost", "db.example.com", "db"] {
        assert!(with_host(name).needs_lookup(), "{name}");
    }
    for address in ["127.0.0.1", "::1", "/run/postgresql"] {
        assert!(!with_host(address).needs_lookup(), "{address}");
    }
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn a_connection_begun_to_addresses_looked_up_elsewhere_runs_queries() {
    // A name that no resolver knows: only the addresses given are tried (a closed port
    // first, then the server's), and the errors name the host as configured.
    let server = tcp_config();
    let address: std::net::SocketAddr = format!("{}:{}", server.host, server.port)
        .parse()
        .expect("DB_HOST is an address");
    let config = Config {
        host: "db.invalid".into(),
        ..server
    };
    let closed = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
    let mut connecting = Connecting::start_to(&config, vec![closed, address]).unwrap();
    let mut steps = 0;
    while !step(&mut connecting).unwrap() {
        steps += 1;
        assert!(steps < 100, "{steps} steps");
    }
    assert_eq!(connecting.attempt(), 1);
    let mut conn = connecting.into_conn();
    let world = described(&mut conn, WORLD);
    conn.execute(&world, &[Param::Int4(4)]);
    assert_eq!(answered(&mut conn).rows[0][0], 4);
    let Err(e) = Connecting::<Batch>::start_to(&config, Vec::new()) else {
        panic!("began connecting to no address");
    };
    let expected = format!("db.invalid:{}: the host has no address", config.port);
    assert!(e.to_string().contains(&expected), "{e}");
}
