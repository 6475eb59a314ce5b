//! One PostgreSQL connection, non-blocking and pipelined, driven by its caller's event loop.
//!
//! fasterapi's database client. Each I/O thread owns a connection and drives it from its
//! own `mio` loop (as a `fasterapi::Companion`): handlers queue statements, the loop writes
//! them out once per turn and reads the answers when the socket becomes readable, and the
//! request that asked is answered on the thread that read it, with no other thread and no
//! async runtime. The TechEmpower server `benches/tfb/rust/fasterapi` uses it from Rust
//! handlers; `fasterapi.pg` (the Python package) from `async def` handlers.
//!
//! The wire format (message encoding and decoding, SCRAM-SHA-256 and md5 authentication)
//! is `postgres-protocol`'s, the protocol layer of tokio-postgres. What this crate adds is
//! the pipeline: [`Conn::execute`] queues a Bind + Execute + Sync of a statement prepared
//! at start ([`Conn::prepare`]), [`Conn::finish`] closes a batch of such statements with
//! the caller's job `J`, [`Conn::flush`] writes everything queued in one `write`, and
//! [`Conn::process`] reads what has arrived and hands each row to the job of its batch,
//! then the job back with its result when the batch's last statement is done. Batches
//! never wait for one another: a connection has as many in flight as its callers queue,
//! answered in order.
//!
//! [`Conn::connect`] connects and authenticates blocking its thread (at start, in tests);
//! [`Connecting`] does the same step by step on a non-blocking socket, for a thread whose
//! event loop has other work meanwhile.
//!
//! Every statement is its own transaction (a Sync after each, as tokio-postgres sends
//! them): pipelining saves round trips, never merges statements or transactions (which
//! TechEmpower's rules forbid). An error in a statement fails that statement and so its
//! batch's result; a broken connection fails every batch in flight and every later one
//! with the error that broke it (no reconnection). A statement that leaves a transaction
//! open (a `BEGIN` with no `COMMIT` before its Sync) breaks the connection: the
//! statements pipelined after it would run in its transaction.
//!
//! The server writes each statement's answer as soon as it is done (its ReadyForQuery
//! flushes), so a pipeline of 20 statements arrives in 20 pieces, and a loop polling the
//! socket wakes for nearly each. With [`Conn::set_receive_mark`] the connection keeps its
//! socket's receive low-water mark (`SO_RCVLOWAT`, TCP) at the fewest bytes still owed,
//! so the poll reports it readable once a good part of the answers is in; the caller then
//! also reads after a short wait without readiness ([`Conn::waits_for_mark`]: unread
//! answers can hold back the kernel's acknowledgements, and with them the server's
//! sending). On TechEmpower's 20-query test that took the server's context switches from
//! 9-11 to 0.5 per request and its CPU from 56-69 to 28-36 µs per request.
//!
//! ```no_run
//! use fasterapi_pg::{oid, Config, Conn, Event, Param};
//!
//! let mut conn: Conn<Vec<i32>> = Conn::connect(&Config::from_env()?)?;
//! let world = conn.prepare("SELECT id, randomnumber FROM world WHERE id = $1", &[oid::INT4])?;
//! for id in [1, 2, 3] {
//!     conn.execute(&world, &[Param::Int4(id)]);
//! }
//! conn.finish(Vec::new()); // the job: collects the three numbers
//! conn.wait(|event| match event {
//!     Event::Row(numbers, row) => numbers.push(row.int4(1).unwrap_or(0)),
//!     Event::Done(numbers, result) => println!("{numbers:?} {result:?}"),
//! });
//! # Ok::<(), fasterapi_pg::Error>(())
//! ```

#![deny(missing_docs)]

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::backend::{
    DataRowBody, ErrorResponseBody, Message, ParameterDescriptionBody, RowDescriptionBody,
};
use postgres_protocol::message::frontend;
use postgres_protocol::types::{self, ArrayDimension};
use postgres_protocol::IsNull;
use socket2::{Domain, SockAddr, Socket, Type};

/// A type's oid (its number in `pg_type`).
pub use postgres_protocol::Oid;

/// The type oids of the parameters this crate encodes (and of some types its callers
/// decode).
pub mod oid {
    use postgres_protocol::Oid;
    /// `bool`.
    pub const BOOL: Oid = 16;
    /// `bytea`.
    pub const BYTEA: Oid = 17;
    /// `name`.
    pub const NAME: Oid = 19;
    /// `int8`.
    pub const INT8: Oid = 20;
    /// `int2`.
    pub const INT2: Oid = 21;
    /// `int4`.
    pub const INT4: Oid = 23;
    /// `text`.
    pub const TEXT: Oid = 25;
    /// `float4`.
    pub const FLOAT4: Oid = 700;
    /// `float8`.
    pub const FLOAT8: Oid = 701;
    /// `int4[]`.
    pub const INT4_ARRAY: Oid = 1007;
    /// `bpchar` (`char(n)`).
    pub const BPCHAR: Oid = 1042;
    /// `varchar`.
    pub const VARCHAR: Oid = 1043;
    /// `void` (what a function returning nothing gives).
    pub const VOID: Oid = 2278;
}

/// Where and as whom to connect.
#[derive(Clone)]
pub struct Config {
    /// A host name or address, or a directory holding the server's unix socket (starts
    /// with `/`).
    pub host: String,
    /// The port (also names the unix socket: `.s.PGSQL.<port>`).
    pub port: u16,
    /// The user.
    pub user: String,
    /// The password (cleartext, md5 and SCRAM-SHA-256 authentication are supported).
    pub password: String,
    /// The database.
    pub dbname: String,
    /// How long connecting, and each step of the startup handshake, may wait for the
    /// server: [`Conn::connect`] blocks its thread meanwhile, so a server that does not
    /// answer (a firewall dropping packets, a stuck process) fails it after about this long
    /// instead of the kernel's minutes of SYN retries, or never. [`Connecting`] does not
    /// block: its caller gives up after this long.
    pub connect_timeout: Duration,
}

/// [`Config::from_env`]'s [`Config::connect_timeout`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Prints every field but the password, so a logged `Config` does not leak it.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("dbname", &self.dbname)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl Config {
    /// Whether the host is a name to look up before connecting: neither a unix socket's
    /// directory nor an IP address.
    pub fn needs_lookup(&self) -> bool {
        !self.host.starts_with('/') && self.host.parse::<std::net::IpAddr>().is_err()
    }

    /// From `DB_HOST`, `DB_PORT`, `DB_USER`, `DB_PASSWORD` and `DB_NAME` (what
    /// `benches/tfb/db.sh env` prints), each defaulting to TechEmpower's setting
    /// (`127.0.0.1`, 5433, `benchmarkdbuser`, `benchmarkdbpass`, `hello_world`).
    pub fn from_env() -> Result<Config, Error> {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_owned());
        let port = var("DB_PORT", "5433");
        Ok(Config {
            host: var("DB_HOST", "127.0.0.1"),
            port: port
                .parse()
                .map_err(|_| Error::new(format!("DB_PORT: `{port}` is not a port number")))?,
            user: var("DB_USER", "benchmarkdbuser"),
            password: var("DB_PASSWORD", "benchmarkdbpass"),
            dbname: var("DB_NAME", "hello_world"),
            connect_timeout: CONNECT_TIMEOUT,
        })
    }
}

/// What went wrong: the server's error (with its SQLSTATE code), or the connection's.
#[derive(Debug, Clone)]
pub struct Error {
    message: String,
    code: Option<String>,
}

impl Error {
    fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            code: None,
        }
    }

    fn server(body: &ErrorResponseBody) -> Error {
        let mut severity = String::new();
        let mut message = String::new();
        let mut code = None;
        let mut fields = body.fields();
        while let Ok(Some(field)) = fields.next() {
            let value = String::from_utf8_lossy(field.value_bytes());
            match field.type_() {
                b'S' => severity = value.into_owned(),
                b'M' => message = value.into_owned(),
                b'C' => code = Some(value.into_owned()),
                _ => {}
            }
        }
        Error {
            message: format!("{severity}: {message}"),
            code,
        }
    }

    /// The SQLSTATE code of an error the server reported (`None` for the connection's).
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} (SQLSTATE {code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::new(format!("database connection: {e}"))
    }
}

/// A statement prepared on one connection ([`Conn::prepare`], or [`Conn::describe`] and
/// [`Statement::set_types`]).
#[derive(Debug, Clone)]
pub struct Statement {
    name: String,
    types: Vec<Oid>,
}

impl Statement {
    /// Its parameters' types.
    pub fn types(&self) -> &[Oid] {
        &self.types
    }

    /// Sets its parameters' types to what the server described
    /// ([`Detail::Parameters`] of its [`Conn::describe`]).
    pub fn set_types(&mut self, types: Vec<Oid>) {
        self.types = types;
    }
}

/// A column of a statement's result, as the server described it.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type's oid.
    pub type_oid: Oid,
}

/// A parameter of [`Conn::execute`], sent in binary.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// `NULL`, of whatever type the parameter has.
    Null,
    /// A `bool`.
    Bool(bool),
    /// An `int2`.
    Int2(i16),
    /// An `int4`.
    Int4(i32),
    /// An `int8`.
    Int8(i64),
    /// A `float4`.
    Float4(f32),
    /// A `float8`.
    Float8(f64),
    /// A `bytea`.
    Bytea(&'a [u8]),
    /// An `int4[]` of one dimension.
    Int4Array(&'a [i32]),
    /// A `text` (also fits a `varchar`, `bpchar` or `name` parameter: their binary
    /// format is the same).
    Text(&'a str),
}

impl Param<'_> {
    /// Whether it can be sent for a parameter of type `t`.
    fn fits(&self, t: Oid) -> bool {
        match self {
            Param::Null => true,
            Param::Bool(_) => t == oid::BOOL,
            Param::Int2(_) => t == oid::INT2,
            Param::Int4(_) => t == oid::INT4,
            Param::Int8(_) => t == oid::INT8,
            Param::Float4(_) => t == oid::FLOAT4,
            Param::Float8(_) => t == oid::FLOAT8,
            Param::Bytea(_) => t == oid::BYTEA,
            Param::Int4Array(_) => t == oid::INT4_ARRAY,
            Param::Text(_) => matches!(t, oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME),
        }
    }

    fn encode(
        &self,
        buf: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Param::Null => return Ok(IsNull::Yes),
            Param::Bool(v) => types::bool_to_sql(v, buf),
            Param::Int2(v) => types::int2_to_sql(v, buf),
            Param::Int4(v) => types::int4_to_sql(v, buf),
            Param::Int8(v) => types::int8_to_sql(v, buf),
            Param::Float4(v) => types::float4_to_sql(v, buf),
            Param::Float8(v) => types::float8_to_sql(v, buf),
            Param::Bytea(v) => types::bytea_to_sql(v, buf),
            Param::Text(s) => types::text_to_sql(s, buf),
            Param::Int4Array(values) => {
                let dimension = ArrayDimension {
                    len: i32::try_from(values.len())?,
                    lower_bound: 1,
                };
                types::array_to_sql(
                    Some(dimension),
                    oid::INT4,
                    values,
                    |v, buf| {
                        types::int4_to_sql(*v, buf);
                        Ok(IsNull::No)
                    },
                    buf,
                )?;
            }
        }
        Ok(IsNull::No)
    }
}

/// A row of a result, its columns in binary.
pub struct Row<'a> {
    body: &'a DataRowBody,
}

impl<'a> Row<'a> {
    /// Column `i`'s bytes; `None` for `NULL`.
    pub fn get(&self, i: usize) -> Result<Option<&'a [u8]>, Error> {
        let buf = self.body.buffer();
        match self.body.ranges().nth(i) {
            Ok(Some(range)) => Ok(range.map(|r| &buf[r])),
            Ok(None) => Err(Error::new(format!("the row has no column {i}"))),
            Err(e) => Err(Error::new(format!("malformed row: {e}"))),
        }
    }

    /// Column `i` as an `int4`.
    pub fn int4(&self, i: usize) -> Result<i32, Error> {
        let bytes = self
            .get(i)?
            .ok_or_else(|| Error::new(format!("column {i} is NULL")))?;
        types::int4_from_sql(bytes).map_err(|e| Error::new(format!("column {i}: {e}")))
    }

    /// Column `i` as a `text`.
    pub fn text(&self, i: usize) -> Result<&'a str, Error> {
        let bytes = self
            .get(i)?
            .ok_or_else(|| Error::new(format!("column {i} is NULL")))?;
        types::text_from_sql(bytes).map_err(|e| Error::new(format!("column {i}: {e}")))
    }
}

/// What [`Conn::process`] hands its caller.
pub enum Event<'a, J> {
    /// A row of a batch, with the batch's job.
    Row(&'a mut J, Row<'a>),
    /// A batch is over: its job back, with the first error of its statements, if any.
    Done(J, Result<(), Error>),
}

/// What [`Conn::process_detailed`] hands its caller: every [`Event`], and what the server
/// says of a batch's statements besides their rows.
pub enum Detail<'a, J> {
    /// A row or the end of a batch.
    Event(Event<'a, J>),
    /// The parameter types of a statement the batch [described](Conn::describe).
    Parameters(&'a mut J, Vec<Oid>),
    /// The result columns of a statement the batch described (none: it returns no rows).
    Columns(&'a mut J, Vec<Column>),
    /// A statement of the batch is done: its command tag (`SELECT 1`, `UPDATE 20`).
    Complete(&'a mut J, &'a str),
}

fn parameters(body: &ParameterDescriptionBody) -> Result<Vec<Oid>, Error> {
    body.parameters()
        .collect()
        .map_err(|e| Error::new(format!("malformed parameter description: {e}")))
}

fn columns(body: &RowDescriptionBody) -> Result<Vec<Column>, Error> {
    body.fields()
        .map(|f| {
            Ok(Column {
                name: f.name().to_owned(),
                type_oid: f.type_oid(),
            })
        })
        .collect()
        .map_err(|e| Error::new(format!("malformed row description: {e}")))
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }

    /// Bounds each blocking read and write (`None`: unbounded).
    fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }

    fn fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// A batch in flight: its job, its statements not answered yet (one Sync each), and the
/// first error of its statements.
struct Pending<J> {
    job: J,
    syncs: usize,
    /// The fewest bytes each of its Syncs is answered with ([`STATEMENT_ANSWER_MIN`] or,
    /// for a Sync alone, [`SYNC_ANSWER_MIN`]).
    answer_min: usize,
    error: Option<Error>,
}

/// Bytes read per `read` call; a shorter read means the socket had no more.
const READ_CHUNK: usize = 64 * 1024;

/// The fewest bytes a Bind + Execute + Sync is answered with: BindComplete (5),
/// CommandComplete (at least 6) or EmptyQueryResponse (5), ReadyForQuery (6); or, when it
/// fails, ErrorResponse (severity, code and message: more than 10) and ReadyForQuery.
const STATEMENT_ANSWER_MIN: usize = 16;
/// The fewest bytes a Sync alone is answered with: ReadyForQuery.
const SYNC_ANSWER_MIN: usize = 6;
/// The highest receive low-water mark set (well under any TCP receive buffer).
const LOWAT_MAX: usize = 16 * 1024;

/// One connection and its batches in flight, each with the caller's job `J`.
pub struct Conn<J> {
    stream: Stream,
    /// Queued messages not yet written.
    out: BytesMut,
    /// Bytes read and not yet parsed into messages.
    input: BytesMut,
    /// Where `read` puts bytes before they join `input` (kept zeroed once, reused).
    scratch: Box<[u8]>,
    /// Batches sent (or queued), oldest first: the server answers them in this order.
    pending: VecDeque<Pending<J>>,
    /// Statements queued since the last [`Conn::finish`] (each ends with a Sync).
    batch_syncs: usize,
    /// An error of a statement queued since the last [`Conn::finish`] (a parameter that
    /// does not fit its statement): that batch fails with it.
    batch_error: Option<Error>,
    /// The last flush left bytes that the socket would not take.
    write_blocked: bool,
    /// The connection is unusable, for this reason.
    broken: Option<Error>,
    statements: usize,
    /// The fewest bytes the statements queued in `out` will be answered with (they count
    /// in `owed` once all of `out` is written).
    owed_unsent: usize,
    /// The fewest bytes the server owes for what was written and not answered yet
    /// (ReadyForQuery not read).
    owed: usize,
    /// Bytes of the messages parsed since the last ReadyForQuery (part of `owed`).
    parsed_since_ready: usize,
    /// The socket's receive low-water mark (`SO_RCVLOWAT`, TCP only).
    lowat: usize,
    /// `write` calls that wrote bytes, since the connection was made.
    writes: u64,
    /// A statement was queued since the last Sync (the next one is answered with more
    /// than a ReadyForQuery).
    unsynced: bool,
    /// The mark follows the bytes owed ([`Conn::set_receive_mark`]); otherwise it is 1.
    mark: bool,
}

/// The unix socket of the server whose socket directory is `config.host`, connected, and
/// non-blocking. The connect does not block either: a server whose listen backlog is full
/// (it accepts nothing: stopped, or swamped) fails it at once with EAGAIN, as libpq's does,
/// where a blocking connect would wait until the server accepts, with no timeout.
fn unix_connect(config: &Config) -> Result<Stream, Error> {
    let path = format!("{}/.s.PGSQL.{}", config.host, config.port);
    let failed = |e: io::Error| Error::new(format!("{path}: {e}"));
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(failed)?;
    socket.set_nonblocking(true).map_err(failed)?;
    socket.set_cloexec(true).map_err(failed)?;
    socket
        .connect(&SockAddr::unix(&path).map_err(failed)?)
        .map_err(failed)?;
    Ok(Stream::Unix(socket.into()))
}

fn handshake_timed_out(config: &Config) -> Error {
    Error::new(format!(
        "{}:{}: the server did not answer the startup handshake within {:?} (connect_timeout)",
        config.host,
        config.port,
        config.connect_timeout.max(Duration::from_millis(1))
    ))
}

/// The client's side of the startup handshake: what it answers to each message of the
/// server until the server is ready for queries.
struct Handshake {
    user: String,
    password: String,
    scram: Option<ScramSha256>,
}

impl Handshake {
    /// Queues the startup message into `out`.
    fn begin(config: &Config, out: &mut BytesMut) -> Result<Handshake, Error> {
        frontend::startup_message(
            [
                ("user", config.user.as_str()),
                ("database", config.dbname.as_str()),
                ("client_encoding", "UTF8"),
            ],
            out,
        )?;
        Ok(Handshake {
            user: config.user.clone(),
            password: config.password.clone(),
            scram: None,
        })
    }

    /// Queues into `out` the answer to the server's `message`, if it wants one; true once
    /// the server is ready for queries.
    fn answer(&mut self, message: Message, out: &mut BytesMut) -> Result<bool, Error> {
        match message {
            Message::AuthenticationOk => {}
            Message::AuthenticationCleartextPassword => {
                frontend::password_message(self.password.as_bytes(), out)?;
            }
            Message::AuthenticationMd5Password(body) => {
                let hash = md5_hash(self.user.as_bytes(), self.password.as_bytes(), body.salt());
                frontend::password_message(hash.as_bytes(), out)?;
            }
            Message::AuthenticationSasl(body) => {
                let mut mechanisms = body.mechanisms();
                let mut offered = false;
                while let Some(m) = mechanisms.next()? {
                    offered |= m == SCRAM_SHA_256;
                }
                if !offered {
                    return Err(Error::new(
                        "the server offers no SASL mechanism supported here (SCRAM-SHA-256)",
                    ));
                }
                let s = ScramSha256::new(self.password.as_bytes(), ChannelBinding::unsupported());
                frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), out)?;
                self.scram = Some(s);
            }
            Message::AuthenticationSaslContinue(body) => {
                let s = self
                    .scram
                    .as_mut()
                    .ok_or_else(|| Error::new("SASL continue before SASL start"))?;
                s.update(body.data())?;
                frontend::sasl_response(s.message(), out)?;
            }
            Message::AuthenticationSaslFinal(body) => {
                self.scram
                    .as_mut()
                    .ok_or_else(|| Error::new("SASL final before SASL start"))?
                    .finish(body.data())?;
            }
            Message::ErrorResponse(body) => return Err(Error::server(&body)),
            Message::ReadyForQuery(_) => return Ok(true),
            Message::ParameterStatus(_)
            | Message::BackendKeyData(_)
            | Message::NoticeResponse(_) => {}
            _ => {
                return Err(Error::new(
                    "the server asked for an authentication method not supported here \
                     (supported: cleartext, md5, SCRAM-SHA-256)",
                ))
            }
        }
        Ok(false)
    }
}

/// A TCP connect to `addr` begun without blocking: the socket becomes writable when it
/// is done (or failed).
fn begin_tcp(addr: &SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(*addr), Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    match socket.connect(&(*addr).into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

/// A connection being made without blocking its thread: the TCP connect and the startup
/// handshake, advanced by [`Connecting::advance`] each time its socket is ready. The
/// caller polls [`Connecting::fd`] for reading, and for writing while
/// [`Connecting::wants_write`], and gives up with [`Connecting::timed_out`]'s error
/// past the config's [`Config::connect_timeout`] (nothing here watches the time).
///
/// [`Connecting::start`] resolves a host name ([`ToSocketAddrs`]), which blocks: where that
/// matters, look the name up elsewhere (another thread) and begin with
/// [`Connecting::start_to`] and its addresses; [`Config::needs_lookup`] says whether there
/// is a name to look up.
pub struct Connecting<J> {
    conn: Conn<J>,
    handshake: Handshake,
    /// The TCP connect is not done yet.
    connecting: bool,
    /// The host's other addresses, tried in turn if the connect fails.
    addresses: std::vec::IntoIter<SocketAddr>,
    /// Which of them is being tried (from 0).
    attempt: usize,
    /// The socket of the address tried before, kept open until the next advance: its
    /// poller forgets it first (epoll, and asyncio's selector over it, cannot forget a
    /// descriptor already closed: they fail, and leave it registered).
    retired: Option<Stream>,
    /// The config's host, port and timeout, for the errors.
    host: String,
    port: u16,
    timeout: Duration,
}

impl<J> Connecting<J> {
    /// Begins connecting (without blocking, but for resolving the host name: see
    /// [`Connecting::start_to`]).
    pub fn start(config: &Config) -> Result<Connecting<J>, Error> {
        if config.host.starts_with('/') {
            return Connecting::start_to(config, Vec::new());
        }
        let addresses = (config.host.as_str(), config.port)
            .to_socket_addrs()
            .map_err(|e| Error::new(format!("{}:{}: {e}", config.host, config.port)))?;
        Connecting::start_to(config, addresses.collect())
    }

    /// Begins connecting to `addresses`, the config's host's (looked up by the caller;
    /// tried in turn), without blocking; the errors name the config's host. A unix
    /// socket's config (a host starting with `/`) takes no addresses.
    pub fn start_to(config: &Config, addresses: Vec<SocketAddr>) -> Result<Connecting<J>, Error> {
        let target = |e: io::Error| Error::new(format!("{}:{}: {e}", config.host, config.port));
        let (stream, connecting, addresses) = if config.host.starts_with('/') {
            // A local socket: its connect does not wait for the server to answer.
            (unix_connect(config)?, false, Vec::new().into_iter())
        } else {
            let mut addresses = addresses.into_iter();
            let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
            let stream = loop {
                let Some(addr) = addresses.next() else {
                    return Err(target(last));
                };
                match begin_tcp(&addr) {
                    Ok(s) => break s,
                    Err(e) => last = e,
                }
            };
            (Stream::Tcp(stream), true, addresses)
        };
        let mut conn = Conn::new(stream);
        let handshake = Handshake::begin(config, &mut conn.out)?;
        Ok(Connecting {
            conn,
            handshake,
            connecting,
            addresses,
            attempt: 0,
            retired: None,
            host: config.host.clone(),
            port: config.port,
            timeout: config.connect_timeout,
        })
    }

    /// The socket (it changes when a connect fails and the host's next address is
    /// tried: see [`Connecting::attempt`]).
    pub fn fd(&self) -> RawFd {
        self.conn.stream.fd()
    }

    /// Which of the host's addresses is being tried, from 0: when it changes, the
    /// socket is a new one, to be polled anew. The old one stays open until the next
    /// [`Connecting::advance`], so that the caller stops polling it first.
    pub fn attempt(&self) -> usize {
        self.attempt
    }

    /// Whether the socket is to be polled for writing too: the connect is not done, or
    /// the socket would not take all of an answer of the handshake.
    pub fn wants_write(&self) -> bool {
        self.connecting || !self.conn.out.is_empty()
    }

    /// Goes as far as the socket allows without blocking; true once the connection is
    /// ready for queries ([`Connecting::into_conn`]).
    pub fn advance(&mut self) -> Result<bool, Error> {
        self.retired = None;
        if self.connecting {
            let Stream::Tcp(s) = &self.conn.stream else {
                return Err(Error::new("a unix socket is connected at once"));
            };
            let failed = match s.take_error() {
                Ok(Some(e)) | Err(e) => Some(e),
                Ok(None) => match s.peer_addr() {
                    Ok(_) => None,
                    // Still connecting.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(false),
                    Err(e) => Some(e),
                },
            };
            if let Some(mut last) = failed {
                // The host's next address that a connect can begin to, if it has another.
                let next = loop {
                    let Some(addr) = self.addresses.next() else {
                        return Err(self.failed(last));
                    };
                    self.attempt += 1;
                    match begin_tcp(&addr) {
                        Ok(s) => break s,
                        Err(e) => last = e,
                    }
                };
                self.retired = Some(std::mem::replace(&mut self.conn.stream, Stream::Tcp(next)));
                return Ok(false);
            }
            s.set_nodelay(true)?;
            self.connecting = false;
        }
        loop {
            self.write_some()?;
            while let Some(message) = Message::parse(&mut self.conn.input)? {
                if self.handshake.answer(message, &mut self.conn.out)? {
                    self.write_some()?;
                    return Ok(true);
                }
            }
            match self.conn.fill() {
                Ok(0) => {
                    return Err(Error::new(format!(
                        "{}:{}: the server closed the connection during the startup handshake",
                        self.host, self.port
                    )))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(e)),
            }
        }
    }

    /// `e`, naming the server.
    fn failed(&self, e: io::Error) -> Error {
        Error::new(format!("{}:{}: {e}", self.host, self.port))
    }

    /// Writes what the handshake queued, as far as the socket takes it.
    fn write_some(&mut self) -> Result<(), Error> {
        while !self.conn.out.is_empty() {
            match self.conn.stream.write(&self.conn.out) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => self.conn.out.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The error to give up with once the config's timeout has passed.
    pub fn timed_out(&self) -> Error {
        let timeout = self.timeout.max(Duration::from_millis(1));
        let what = match self.connecting {
            true => "could not connect",
            false => "the server did not answer the startup handshake",
        };
        Error::new(format!(
            "{}:{}: {what} within {timeout:?} (connect_timeout)",
            self.host, self.port
        ))
    }

    /// The connection, ready for queries once [`Connecting::advance`] said so.
    pub fn into_conn(self) -> Conn<J> {
        self.conn
    }
}

/// Connects to the first of the host's addresses that answers within the config's timeout.
fn connect_tcp(config: &Config) -> io::Result<TcpStream> {
    let timeout = config.connect_timeout.max(Duration::from_millis(1));
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in (config.host.as_str(), config.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl<J> Conn<J> {
    /// A connection over `stream`, nothing queued.
    fn new(stream: Stream) -> Conn<J> {
        Conn {
            stream,
            out: BytesMut::with_capacity(16 * 1024),
            input: BytesMut::with_capacity(READ_CHUNK),
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            pending: VecDeque::new(),
            batch_syncs: 0,
            batch_error: None,
            write_blocked: false,
            broken: None,
            statements: 0,
            owed_unsent: 0,
            owed: 0,
            parsed_since_ready: 0,
            lowat: 1,
            writes: 0,
            unsynced: false,
            mark: false,
        }
    }

    /// Connects and authenticates, blocking; the connection is non-blocking afterwards.
    /// [`Connecting`] does the same without blocking, driven by an event loop.
    pub fn connect(config: &Config) -> Result<Conn<J>, Error> {
        let stream = if config.host.starts_with('/') {
            let stream = unix_connect(config)?;
            // The handshake below blocks, bounded by the timeouts.
            stream.set_nonblocking(false)?;
            stream
        } else {
            let s = connect_tcp(config)
                .map_err(|e| Error::new(format!("{}:{}: {e}", config.host, config.port)))?;
            s.set_nodelay(true)?;
            Stream::Tcp(s)
        };
        // A zero timeout is refused by the socket calls: the smallest one instead.
        let timeout = config.connect_timeout.max(Duration::from_millis(1));
        stream.set_timeouts(Some(timeout))?;
        let mut conn = Conn::new(stream);
        let began = Instant::now();
        conn.start(config)
            .map_err(|e| match began.elapsed() >= timeout {
                true => handshake_timed_out(config),
                false => e,
            })?;
        conn.stream.set_timeouts(None)?;
        conn.stream.set_nonblocking(true)?;
        Ok(conn)
    }

    /// The startup handshake, on the still blocking socket.
    fn start(&mut self, config: &Config) -> Result<(), Error> {
        let mut handshake = Handshake::begin(config, &mut self.out)?;
        loop {
            self.write_all()?;
            let message = self.next_message()?;
            if handshake.answer(message, &mut self.out)? {
                return Ok(());
            }
        }
    }

    /// Writes all of `out`, the socket blocking.
    fn write_all(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out.advance(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One read into `input`; `Ok(0)` at the end of the stream.
    fn fill(&mut self) -> io::Result<usize> {
        let n = self.stream.read(&mut self.scratch)?;
        self.input.extend_from_slice(&self.scratch[..n]);
        Ok(n)
    }

    /// The next message, the socket blocking.
    fn next_message(&mut self) -> Result<Message, Error> {
        loop {
            if let Some(message) = Message::parse(&mut self.input)? {
                return Ok(message);
            }
            match self.fill() {
                Ok(0) => return Err(Error::new("the server closed the connection")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Prepares `sql` with parameters of types `types`, blocking: before the connection
    /// has batches in flight (at start).
    pub fn prepare(&mut self, sql: &str, types: &[Oid]) -> Result<Statement, Error> {
        if !self.pending.is_empty() || !self.out.is_empty() {
            return Err(Error::new("prepare: the connection has batches in flight"));
        }
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let name = format!("s{}", self.statements);
        self.statements += 1;
        frontend::parse(&name, sql, types.iter().copied(), &mut self.out)
            .map_err(|e| self.unqueue(0, "prepare", e))?;
        frontend::sync(&mut self.out);
        self.stream.set_nonblocking(false)?;
        let result = self.write_all().map_err(Error::from).and_then(|()| {
            let mut error = None;
            loop {
                match self.next_message()? {
                    Message::ErrorResponse(body) => error = Some(Error::server(&body)),
                    Message::ReadyForQuery(_) => break,
                    _ => {}
                }
            }
            error.map_or(Ok(()), Err)
        });
        self.stream.set_nonblocking(true)?;
        result.map(|()| Statement {
            name,
            types: types.to_vec(),
        })
    }

    /// Queues `statement` with `params` (Bind, Execute and Sync: its own transaction;
    /// results in binary), in the batch that the next [`Conn::finish`] closes. Parameters
    /// that do not match the statement's types fail that batch (the statement is not
    /// sent).
    pub fn execute(&mut self, statement: &Statement, params: &[Param<'_>]) {
        if self.queue(statement, params) {
            self.sync();
        }
    }

    /// Queues `statement` with `params` as [`Conn::execute`] does, but without its Sync:
    /// the statements queued so run in one transaction, which the next [`Conn::sync`]
    /// ends (committed if they all succeed, rolled back otherwise). Whether it was queued
    /// (parameters that do not fit fail the batch, and the statement is not sent).
    pub fn execute_unsynced(&mut self, statement: &Statement, params: &[Param<'_>]) -> bool {
        self.queue(statement, params)
    }

    /// Ends the transaction of the statements queued by [`Conn::execute_unsynced`]
    /// since the last Sync.
    pub fn sync(&mut self) {
        frontend::sync(&mut self.out);
        self.batch_syncs += 1;
        // Whatever the statements before it, a Sync after one is answered with at least
        // a statement's answer (an error and ReadyForQuery included).
        self.owed_unsent += if std::mem::take(&mut self.unsynced) {
            STATEMENT_ANSWER_MIN
        } else {
            SYNC_ANSWER_MIN
        };
    }

    /// Bind and Execute of `statement`; whether they were queued.
    fn queue(&mut self, statement: &Statement, params: &[Param<'_>]) -> bool {
        if params.len() != statement.types.len()
            || params
                .iter()
                .zip(&statement.types)
                .any(|(p, &t)| !p.fits(t))
        {
            self.batch_error.get_or_insert_with(|| {
                Error::new(format!(
                    "statement {}: parameters {:?} do not match its types {:?}",
                    statement.name, params, statement.types
                ))
            });
            return false;
        }
        let mark = self.out.len();
        let bound = frontend::bind(
            "",
            &statement.name,
            Some(1),
            params,
            |p, buf| p.encode(buf),
            Some(1),
            &mut self.out,
        );
        let done = match bound {
            Ok(()) => frontend::execute("", 0, &mut self.out).map_err(|e| e.to_string()),
            Err(frontend::BindError::Conversion(e)) => Err(e.to_string()),
            Err(frontend::BindError::Serialization(e)) => Err(e.to_string()),
        };
        match done {
            Ok(()) => {
                self.unsynced = true;
                true
            }
            Err(e) => {
                // Take the half-written message back: the stream stays well formed.
                self.out.truncate(mark);
                self.batch_error.get_or_insert_with(|| {
                    Error::new(format!("statement {}: {e}", statement.name))
                });
                false
            }
        }
    }

    /// Queues the preparation of `sql` as a new named statement, with a Describe of it
    /// and a Sync, in the batch that the next [`Conn::finish`] closes, without waiting:
    /// the batch's job gets the statement's [`Detail::Parameters`] and
    /// [`Detail::Columns`] from [`Conn::process_detailed`], and the statement is usable
    /// (with [`Statement::set_types`] given those parameters) once the batch is done
    /// without error.
    pub fn describe(&mut self, sql: &str) -> Result<Statement, Error> {
        let name = format!("s{}", self.statements);
        self.statements += 1;
        let mark = self.out.len();
        frontend::parse(&name, sql, std::iter::empty(), &mut self.out)
            .and_then(|()| frontend::describe(b'S', &name, &mut self.out))
            .map_err(|e| self.unqueue(mark, "describe", e))?;
        self.unsynced = true;
        // ParseComplete, ParameterDescription, NoData or RowDescription and ReadyForQuery
        // (or an error and ReadyForQuery): at least a statement's answer.
        self.sync();
        Ok(Statement {
            name,
            types: Vec::new(),
        })
    }

    /// A message `what` could not encode (a NUL byte in the SQL text): the part of it
    /// already in `out` (from `mark` on) is taken back, so that the stream stays well
    /// formed (a half-written message would make the server end the session, failing
    /// every batch in flight).
    fn unqueue(&mut self, mark: usize, what: &str, e: io::Error) -> Error {
        self.out.truncate(mark);
        Error::new(format!("{what}: {e} (in the SQL text)"))
    }

    /// Closes the batch of the statements queued since the last call, with `job`: the
    /// job gets their rows, then itself back when the server is done with them.
    /// Statements queued by [`Conn::execute_unsynced`] after the batch's last Sync get
    /// one here: they belong to this batch, not to the next one.
    pub fn finish(&mut self, job: J) {
        if self.unsynced {
            self.sync();
        }
        let mut syncs = std::mem::take(&mut self.batch_syncs);
        let mut answer_min = STATEMENT_ANSWER_MIN;
        if syncs == 0 {
            // No statement went out (none queued, or none valid): a Sync alone, so that
            // the job is answered in its turn.
            frontend::sync(&mut self.out);
            syncs = 1;
            answer_min = SYNC_ANSWER_MIN;
            self.owed_unsent += SYNC_ANSWER_MIN;
        }
        self.pending.push_back(Pending {
            job,
            syncs,
            answer_min,
            error: self.batch_error.take(),
        });
    }

    /// Queues the Close of `statement` (a statement of this connection): the server
    /// frees it when it reaches it, after what was queued before; its answer comes with
    /// the next Sync's. The statement must not be executed afterwards.
    pub fn close_statement(&mut self, statement: &Statement) -> Result<(), Error> {
        frontend::close(b'S', &statement.name, &mut self.out)?;
        Ok(())
    }

    /// The socket's descriptor, to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.stream.fd()
    }

    /// Batches queued or sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Whether bytes are queued and not written yet.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// The error that made the connection unusable, if it is.
    pub fn broken(&self) -> Option<&Error> {
        self.broken.as_ref()
    }

    /// `write` calls that wrote bytes since the connection was made (statements queued
    /// between two [`Conn::flush`]es leave in one, unless the socket is full).
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Whether [`Conn::flush`] and [`Conn::process`] have work that no socket readiness
    /// will announce: queued bytes to write (unless the socket would not take more
    /// last time), or batches to fail on a broken connection.
    pub fn wants_run(&self) -> bool {
        (!self.out.is_empty() && !self.write_blocked)
            || (self.broken.is_some() && !self.pending.is_empty())
    }

    /// Makes the socket's readiness wait for a part of the answers owed rather than come
    /// with each one (off by default). Over TCP, [`Conn::process`] then keeps the socket's
    /// receive low-water mark (`SO_RCVLOWAT`) at the fewest bytes the server still owes,
    /// so a loop polling the socket wakes once for many answers instead of once for each
    /// (PostgreSQL sends each statement's answer as it ends). A caller that turns it on
    /// must also run [`Conn::process`] shortly after any run that leaves
    /// [`Conn::waits_for_mark`] true, readiness or not (see there). No effect over a unix
    /// socket.
    pub fn set_receive_mark(&mut self, on: bool) {
        self.mark = on;
        self.set_lowat();
    }

    /// Whether the socket's readiness now waits for more than one byte (its receive
    /// low-water mark, set by [`Conn::process`]). The caller should then also run
    /// [`Conn::process`] after a short while without readiness: while answers sit unread
    /// under the mark, the kernel may delay its acknowledgements (up to 40 ms), and the
    /// server's side sends no more than its congestion window lets through unacknowledged;
    /// a read acknowledges what has come.
    pub fn waits_for_mark(&self) -> bool {
        self.lowat > 1 && !self.pending.is_empty()
    }

    /// Whether the last [`Conn::flush`] left bytes the socket would not take (the
    /// caller tries again later, or when the socket becomes readable: the server then
    /// reads again).
    pub fn write_blocked(&self) -> bool {
        self.write_blocked
    }

    /// Writes what is queued, without blocking: as much as the socket takes. A failure
    /// breaks the connection (every batch in flight fails at the next
    /// [`Conn::process`]).
    pub fn flush(&mut self) {
        self.write_blocked = false;
        if self.broken.is_some() {
            self.out.clear();
            return;
        }
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => {
                    self.broken = Some(Error::new("database connection: wrote nothing"));
                    self.out.clear();
                }
                Ok(n) => {
                    self.writes += 1;
                    self.out.advance(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.write_blocked = true;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.broken = Some(e.into());
                    self.out.clear();
                }
            }
        }
        self.owed += std::mem::take(&mut self.owed_unsent);
    }

    /// Reads what has arrived, without blocking, and hands each row and each finished
    /// batch to `on`. Reads until the socket has no more (for a socket polled
    /// edge-triggered).
    pub fn process(&mut self, mut on: impl FnMut(Event<'_, J>)) {
        self.process_detailed(|detail| {
            if let Detail::Event(event) = detail {
                on(event)
            }
        })
    }

    /// [`Conn::process`], handing `on` every [`Detail`] of the answers.
    pub fn process_detailed(&mut self, mut on: impl FnMut(Detail<'_, J>)) {
        while self.broken.is_none() {
            match self.fill() {
                Ok(0) => self.broken = Some(Error::new("the server closed the connection")),
                Ok(n) => {
                    self.dispatch(&mut on);
                    if n < READ_CHUNK {
                        // A short read: the socket is drained, the next byte will raise
                        // a new readiness edge.
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.broken = Some(e.into()),
            }
        }
        if self.broken.is_some() {
            self.fail_all(&mut on);
        }
        self.set_lowat();
    }

    /// With the mark on ([`Conn::set_receive_mark`]), sets the socket's receive low-water
    /// mark to the fewest bytes the server still owes (at least 1; TCP only: a unix
    /// socket's readiness ignores it); with it off, to 1. The poll then reports
    /// the socket readable once that much has arrived, not at each statement's answer: the
    /// server writes each answer as it ends (ReadyForQuery flushes), and a reader woken for
    /// each one, 20 times for a request of 20 statements, spends more on the wake-ups than
    /// on the answers (and makes the server's process yield to it as often). The bytes
    /// owed are a lower bound, so the mark never waits for bytes that will not come; an
    /// end of stream always wakes the reader.
    fn set_lowat(&mut self) {
        let Stream::Tcp(socket) = &self.stream else {
            return;
        };
        let received = self.parsed_since_ready + self.input.len();
        let want = if self.mark {
            self.owed.saturating_sub(received).clamp(1, LOWAT_MAX)
        } else {
            1
        };
        if want == self.lowat || self.broken.is_some() {
            return;
        }
        let value = want as libc::c_int; // at most LOWAT_MAX
                                         // SAFETY: the pointer and length describe `value`, a c_int that outlives the call.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                (&raw const value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            self.lowat = want;
        } else {
            // The mark left as it was could wait for bytes that will not come.
            self.broken = Some(io::Error::last_os_error().into());
        }
    }

    /// Flushes, then waits for every batch in flight, blocking (at start, in tests).
    pub fn wait(&mut self, mut on: impl FnMut(Event<'_, J>)) {
        let mut on = |detail: Detail<'_, J>| {
            if let Detail::Event(event) = detail {
                on(event)
            }
        };
        if let Err(e) = self.stream.set_nonblocking(false) {
            self.broken.get_or_insert(e.into());
        }
        self.flush();
        while self.broken.is_none() && !self.pending.is_empty() {
            match self.fill() {
                Ok(0) => self.broken = Some(Error::new("the server closed the connection")),
                Ok(_) => {
                    self.dispatch(&mut on);
                    // A blocking read waits for the mark: keep it within what is owed.
                    self.set_lowat();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.broken = Some(e.into()),
            }
        }
        if let Err(e) = self.stream.set_nonblocking(true) {
            self.broken.get_or_insert(e.into());
        }
        self.fail_all(&mut on);
        self.set_lowat();
    }

    /// The messages complete in `input`, to the jobs they answer.
    fn dispatch(&mut self, on: &mut impl FnMut(Detail<'_, J>)) {
        loop {
            let before = self.input.len();
            let message = match Message::parse(&mut self.input) {
                Ok(Some(m)) => m,
                Ok(None) => return,
                Err(e) => {
                    self.broken = Some(Error::new(format!(
                        "malformed message from the server: {e}"
                    )));
                    return;
                }
            };
            self.parsed_since_ready += before - self.input.len();
            match message {
                Message::DataRow(body) => {
                    if let Some(p) = self.pending.front_mut() {
                        if p.error.is_none() {
                            on(Detail::Event(Event::Row(&mut p.job, Row { body: &body })));
                        }
                    }
                }
                Message::ErrorResponse(body) => {
                    let e = Error::server(&body);
                    match self.pending.front_mut() {
                        Some(p) => {
                            p.error.get_or_insert(e);
                        }
                        // Not about a batch: the server is ending the session.
                        None => self.broken = Some(e),
                    }
                }
                // Not idle: a statement (BEGIN) opened a transaction block, which would
                // hold every statement pipelined after it, other callers' included,
                // answered as done though never committed. The connection breaks, which
                // fails them and makes the server roll the block back.
                Message::ReadyForQuery(body) if body.status() != b'I' => {
                    self.broken = Some(Error::new(
                        "a statement left a transaction open (BEGIN): each statement runs \
                         as its own transaction on a pipelined connection, so the \
                         connection is closed and the transaction rolled back",
                    ));
                    return;
                }
                Message::ReadyForQuery(_) => match self.pending.front_mut() {
                    Some(p) if p.syncs > 1 => {
                        p.syncs -= 1;
                        let answered = p.answer_min;
                        self.answered(answered);
                    }
                    Some(_) => {
                        if let Some(p) = self.pending.pop_front() {
                            self.answered(p.answer_min);
                            on(Detail::Event(Event::Done(
                                p.job,
                                p.error.map_or(Ok(()), Err),
                            )));
                        }
                    }
                    None => {
                        self.broken = Some(Error::new("the server answered a batch never sent"));
                        return;
                    }
                },
                Message::CommandComplete(body) => {
                    if let Some(p) = self.pending.front_mut() {
                        if p.error.is_none() {
                            if let Ok(tag) = body.tag() {
                                on(Detail::Complete(&mut p.job, tag));
                            }
                        }
                    }
                }
                Message::ParameterDescription(body) => {
                    if let Some(p) = self.pending.front_mut() {
                        match parameters(&body) {
                            Ok(types) => on(Detail::Parameters(&mut p.job, types)),
                            Err(e) => {
                                p.error.get_or_insert(e);
                            }
                        }
                    }
                }
                Message::RowDescription(body) => {
                    if let Some(p) = self.pending.front_mut() {
                        match columns(&body) {
                            Ok(columns) => on(Detail::Columns(&mut p.job, columns)),
                            Err(e) => {
                                p.error.get_or_insert(e);
                            }
                        }
                    }
                }
                Message::NoData => {
                    if let Some(p) = self.pending.front_mut() {
                        on(Detail::Columns(&mut p.job, Vec::new()));
                    }
                }
                Message::BindComplete
                | Message::CloseComplete
                | Message::ParseComplete
                | Message::EmptyQueryResponse
                | Message::PortalSuspended
                | Message::ParameterStatus(_)
                | Message::NoticeResponse(_)
                | Message::NotificationResponse(_) => {}
                // The server waits for the copy's data (or sends it) instead of answering:
                // the pipeline cannot go on.
                Message::CopyInResponse(_) | Message::CopyOutResponse(_) => {
                    self.broken = Some(Error::new(
                        "COPY ... FROM STDIN / TO STDOUT is not supported on a pipelined \
                         connection (the server started a copy; the connection is closed)",
                    ));
                    return;
                }
                _ => {
                    self.broken = Some(Error::new("unexpected message from the server"));
                    return;
                }
            }
        }
    }

    /// A Sync is answered: the fewest bytes it was owed with (`answer_min`) are no longer
    /// owed. A Sync answered while the rest of its write was still queued (a blocked
    /// write: its bytes still count in `owed_unsent`, as everything after the last
    /// completed flush does) is taken from there: `owed` is already down to nothing
    /// then, since everything counted in it came before. Otherwise the completed flush
    /// would count it again in `owed`, which would wait for bytes that never come.
    fn answered(&mut self, answer_min: usize) {
        let from_owed = answer_min.min(self.owed);
        self.owed -= from_owed;
        self.owed_unsent = self.owed_unsent.saturating_sub(answer_min - from_owed);
        self.parsed_since_ready = 0;
    }

    /// Fails every batch in flight with the error that broke the connection.
    fn fail_all(&mut self, on: &mut impl FnMut(Detail<'_, J>)) {
        let Some(broken) = &self.broken else {
            return;
        };
        let broken = broken.clone();
        while let Some(p) = self.pending.pop_front() {
            on(Detail::Event(Event::Done(
                p.job,
                Err(p.error.unwrap_or_else(|| broken.clone())),
            )));
        }
    }

    /// Takes the jobs of every batch in flight, oldest first: they will not be answered
    /// through this connection (for a caller about to close or drop it, which answers
    /// them itself).
    pub fn take_jobs(&mut self) -> Vec<J> {
        self.pending.drain(..).map(|p| p.job).collect()
    }

    /// Ends the session (a Terminate, best effort); batches in flight are dropped.
    pub fn close(mut self) {
        if self.broken.is_none() {
            self.out.clear();
            frontend::terminate(&mut self.out);
            self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `epoll_ctl(epoll, op, fd)` for reading and writing: 0, or why not.
    fn epoll_ctl(epoll: RawFd, op: i32, fd: RawFd) -> Result<(), io::Error> {
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT) as u32,
            u64: fd as u64,
        };
        // SAFETY: `event` is valid for the duration of the call; a bad descriptor is an
        // error, not undefined behavior.
        match unsafe { libc::epoll_ctl(epoll, op, fd, &mut event) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// A connect begun to an address that refuses (nothing listens on a port just freed),
    /// that address, and a listener that accepts and never answers, for the test to make
    /// the host's next address.
    fn refused_then_silent() -> (Connecting<()>, SocketAddr, std::net::TcpListener) {
        let freed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refusing = freed.local_addr().unwrap();
        drop(freed);
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config {
            host: "127.0.0.1".into(),
            port: refusing.port(),
            user: "u".into(),
            password: "p".into(),
            dbname: "d".into(),
            connect_timeout: CONNECT_TIMEOUT,
        };
        (Connecting::start(&config).unwrap(), refusing, silent)
    }

    /// Waits (at most 10 s, which fails the test) until a socket `epoll` watches is ready.
    fn wait(epoll: RawFd) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: `events` has room for the 4 events asked for.
        let ready = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), 4, 10_000) };
        assert!(ready > 0, "no socket was ready within 10 s");
    }

    #[test]
    fn the_socket_of_an_address_that_failed_can_be_unwatched_once_the_next_is_tried() {
        // The host's first address refuses the connection (nothing listens on a port just
        // freed), its second takes it (a listener that never answers).
        let (mut connecting, _, silent) = refused_then_silent();
        connecting.addresses = vec![silent.local_addr().unwrap()].into_iter();
        // Polled as an event loop polls it (asyncio's selector is an epoll).
        // SAFETY: no arguments but flags.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(epoll >= 0);
        let first = connecting.fd();
        epoll_ctl(epoll, libc::EPOLL_CTL_ADD, first).unwrap();
        wait(epoll);
        assert!(!connecting.advance().unwrap());
        assert_eq!(connecting.attempt(), 1);
        // The poller forgets the refused socket, then watches the new one.
        epoll_ctl(epoll, libc::EPOLL_CTL_DEL, first).expect("the old socket is unwatched");
        assert_ne!(connecting.fd(), first);
        epoll_ctl(epoll, libc::EPOLL_CTL_ADD, connecting.fd()).unwrap();
        // The next address is connected to and sent the startup message.
        let (mut accepted, _) = silent.accept().unwrap();
        wait(epoll);
        assert!(!connecting.advance().unwrap());
        accepted
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert!(accepted.read(&mut [0; 256]).unwrap() > 0);
        // SAFETY: `epoll` is this test's own descriptor, closed once.
        unsafe { libc::close(epoll) };
    }

    #[test]
    fn an_address_that_fails_at_once_is_passed_over_for_the_next() {
        // The first address refuses the connection; the second fails at once (TCP to a
        // broadcast address is unreachable); the third takes it.
        let (mut connecting, refusing, silent) = refused_then_silent();
        let unreachable = SocketAddr::from(([255, 255, 255, 255], refusing.port()));
        connecting.addresses = vec![unreachable, silent.local_addr().unwrap()].into_iter();
        let mut fd = libc::pollfd {
            fd: connecting.fd(),
            events: libc::POLLIN | libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        assert_eq!(unsafe { libc::poll(&mut fd, 1, 10_000) }, 1);
        assert!(!connecting.advance().unwrap());
        assert_eq!(connecting.attempt(), 2);
        silent.accept().unwrap();
    }
}
