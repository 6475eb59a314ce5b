//! Which statements would change the session that every request of an I/O thread shares:
//! looked at once per statement text, when it is first prepared on a connection.

/// Statements whose leading keyword changes the session's settings, notifications or
/// prepared statements (`DEALLOCATE ALL` would drop those that every call of the thread
/// runs, failing them until the connection is made again).
const KEYWORDS: [&str; 7] = [
    "SET",
    "RESET",
    "DISCARD",
    "LISTEN",
    "UNLISTEN",
    "DEALLOCATE",
    "PREPARE",
];

/// Functions that take a lock or change a setting for the rest of the session.
const SESSION_FUNCTIONS: [&str; 6] = [
    "set_config",
    "setseed",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
];

/// Functions that read what the session's last `nextval()` gave: another request of the
/// thread may have called `nextval()` on the shared connection since.
const LAST_VALUE_FUNCTIONS: [&str; 2] = ["currval", "lastval"];

/// Functions that take a lock until the end of the transaction: each statement is its own
/// transaction here, so the lock would be let go as soon as it is taken.
const TRANSACTION_FUNCTIONS: [&str; 4] = [
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
];

/// Why a statement using a function of each list is refused.
const FUNCTIONS: [(&[&str], &str); 3] = [
    (&SESSION_FUNCTIONS, SHARED),
    (
        &LAST_VALUE_FUNCTIONS,
        "it reads the connection's last nextval(), which another request of this thread \
         may have moved since (use INSERT ... RETURNING)",
    ),
    (
        &TRANSACTION_FUNCTIONS,
        "each statement is its own transaction here, so the lock would be let go as soon \
         as its statement ends",
    ),
];

/// Why a statement that changes the shared session is refused.
const SHARED: &str = "it would change the connection that every request of this thread shares";

/// Keywords after which a name followed by `(` is not a call: a table and its columns
/// (`INSERT INTO set_config (name)`, `CREATE TABLE IF NOT EXISTS t (`, `REFERENCES t (id)`),
/// an alias and its columns (`AS t (a)`, `WITH RECURSIVE t (n) AS`), a function being
/// defined or dropped (`DROP FUNCTION f(int8)`).
const NOT_CALLED_AFTER: [&str; 8] = [
    "INTO",
    "TABLE",
    "EXISTS",
    "REFERENCES",
    "AS",
    "WITH",
    "RECURSIVE",
    "FUNCTION",
];

/// Why a statement is not run: what it uses, and what that would do.
pub(super) struct Refused {
    /// The keyword (`SET`) or function (`set_config()`), as the error names it.
    pub(super) what: String,
    pub(super) why: &'static str,
}

/// What running the statement would change that other requests share: a leading keyword
/// of [`KEYWORDS`]; a call of a function of [`FUNCTIONS`] anywhere in it (a name followed
/// by `(`, unless it names a table or an alias: see [`NOT_CALLED_AFTER`]); a temporary
/// table, view or sequence made anywhere in it (`CREATE [GLOBAL | LOCAL] TEMP`, `SELECT
/// ... INTO TEMP`), which lives as long as the session. String literals, quoted
/// identifiers that are not called and comments are skipped. Functions called from inside
/// other functions or `DO` blocks are not seen.
pub(super) fn refused(sql: &str) -> Option<Refused> {
    let mut tokens = Tokens {
        sql: sql.as_bytes(),
        at: 0,
    };
    let mut previous = tokens.next()?;
    if let Some(k) = KEYWORDS.iter().find(|k| previous.is_keyword(k)) {
        return Some(Refused {
            what: (*k).to_owned(),
            why: SHARED,
        });
    }
    // The token before `previous` (a name, or `Other`).
    let mut before = Token::Other;
    // The (dotted) name that `previous` ends names a table, an alias or a function being
    // defined, not a function being called: it follows one of [`NOT_CALLED_AFTER`].
    let mut not_called = false;
    // `previous` is `CREATE`, or `GLOBAL`, `LOCAL`, `OR REPLACE` after it: a `TEMP` next
    // makes a temporary object.
    let mut creating = previous.is_keyword("CREATE");
    while let Some(token) = tokens.next() {
        if let (Token::Name { text, quoted }, Token::Open, false) = (previous, token, not_called) {
            let named = |f: &str| match quoted {
                // A quoted name is the function's name as written.
                true => text == f,
                false => text.eq_ignore_ascii_case(f),
            };
            for (functions, why) in FUNCTIONS {
                if let Some(f) = functions.iter().find(|f| named(f)) {
                    return Some(Refused {
                        what: format!("{f}()"),
                        why,
                    });
                }
            }
        }
        if let Some(lead) = temporary_made(before, previous, token, creating) {
            // What it makes, if named next (`CREATE TEMP TABLE`).
            let object = match tokens.next() {
                Some(t) => ["TABLE", "VIEW", "SEQUENCE"]
                    .into_iter()
                    .find(|k| t.is_keyword(k)),
                None => None,
            };
            let temp = match token {
                Token::Name { text, .. } => text.to_ascii_uppercase(),
                _ => String::new(),
            };
            return Some(Refused {
                what: [Some(lead), Some(temp.as_str()), object]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                why: "a temporary object lives as long as the connection, which every request \
                      of this thread shares",
            });
        }
        creating = token.is_keyword("CREATE")
            || (creating
                && ["GLOBAL", "LOCAL", "OR", "REPLACE"]
                    .into_iter()
                    .any(|k| token.is_keyword(k)));
        not_called = match (previous, token) {
            (Token::Name { .. }, Token::Dot) | (Token::Dot, Token::Name { .. }) => not_called,
            (_, Token::Name { .. }) => NOT_CALLED_AFTER.iter().any(|k| previous.is_keyword(k)),
            _ => false,
        };
        before = previous;
        previous = token;
    }
    None
}

/// Whether `token` (after `before` and `previous`) is the `TEMP`/`TEMPORARY` of a
/// statement that makes a temporary object: after `CREATE [OR REPLACE] [GLOBAL | LOCAL]`
/// (`creating`),
/// or after a `SELECT`'s `INTO` (not `INSERT INTO temp`, `MERGE INTO temp`, where it names
/// a table). Gives how the statement begins it, for the error.
fn temporary_made(
    before: Token<'_>,
    previous: Token<'_>,
    token: Token<'_>,
    creating: bool,
) -> Option<&'static str> {
    if !(token.is_keyword("TEMP") || token.is_keyword("TEMPORARY")) {
        return None;
    }
    if creating {
        return Some("CREATE");
    }
    let selected_into =
        previous.is_keyword("INTO") && !(before.is_keyword("INSERT") || before.is_keyword("MERGE"));
    selected_into.then_some("SELECT ... INTO")
}

/// A piece of SQL that matters to [`refused`].
#[derive(Debug, PartialEq, Clone, Copy)]
enum Token<'a> {
    /// An identifier or keyword (`quoted`: written in double quotes, `""` kept doubled).
    Name { text: &'a str, quoted: bool },
    /// `(`.
    Open,
    /// `.`, between the parts of a qualified name.
    Dot,
    /// Anything else: a literal, an operator, a number, a parameter.
    Other,
}

impl Token<'_> {
    /// Whether it is the unquoted keyword `k` (in any case).
    fn is_keyword(&self, k: &str) -> bool {
        matches!(self, Token::Name { text, quoted: false } if text.eq_ignore_ascii_case(k))
    }
}

/// The tokens of a statement, comments and whitespace left out.
struct Tokens<'a> {
    sql: &'a [u8],
    at: usize,
}

impl<'a> Tokens<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.sql.get(self.at + ahead).copied()
    }

    /// Moves past the next `end` (or to the end of the text).
    fn skip_past(&mut self, end: &[u8]) {
        match self.sql[self.at..]
            .windows(end.len())
            .position(|w| w == end)
        {
            Some(i) => self.at += i + end.len(),
            None => self.at = self.sql.len(),
        }
    }

    /// Moves past a `/* */` comment (they nest), the cursor on its `/*`.
    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        while self.at < self.sql.len() {
            match (self.sql[self.at], self.peek(1)) {
                (b'/', Some(b'*')) => {
                    depth += 1;
                    self.at += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    self.at += 2;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.at += 1,
            }
        }
    }

    /// Moves past a string literal (`'...'`) or a quoted identifier (`"..."`), the
    /// cursor on its opening `quote`: a doubled quote is one inside it; `backslash`: an
    /// escape string (`E'...'`), where `\` escapes the next byte.
    fn skip_quoted(&mut self, quote: u8, backslash: bool) {
        self.at += 1;
        while let Some(b) = self.peek(0) {
            self.at += 1;
            match b {
                b'\\' if backslash => self.at = (self.at + 1).min(self.sql.len()),
                _ if b == quote && self.peek(0) == Some(quote) => self.at += 1,
                _ if b == quote => return,
                _ => {}
            }
        }
    }

    /// A `$tag$...$tag$` literal's tag (`$$` or `$name$`) if one starts at the cursor.
    fn dollar_tag(&self) -> Option<&'a [u8]> {
        let sql = self.sql;
        let rest = &sql[self.at..];
        let end = 1 + rest[1..]
            .iter()
            .position(|&b| !is_name_byte(b) || b == b'$')?;
        let tag_name = &rest[1..end];
        let starts_well = tag_name.first().is_none_or(|b| !b.is_ascii_digit());
        (rest[end] == b'$' && starts_well).then(|| &rest[..=end])
    }

    fn name_end(&self) -> usize {
        self.sql[self.at..]
            .iter()
            .position(|&b| !is_name_byte(b))
            .map_or(self.sql.len(), |i| self.at + i)
    }
}

/// A byte of an unquoted identifier (after its first): letters, digits, `_`, `$`, and
/// any byte of a non-ASCII character.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let b = self.peek(0)?;
            match (b, self.peek(1)) {
                (b'-', Some(b'-')) => self.skip_past(b"\n"),
                (b'/', Some(b'*')) => self.skip_block_comment(),
                _ if b.is_ascii_whitespace() => self.at += 1,
                _ => break,
            }
        }
        let b = self.peek(0)?;
        let sql = self.sql;
        let start = self.at;
        Some(match b {
            b'(' => {
                self.at += 1;
                Token::Open
            }
            b'.' => {
                self.at += 1;
                Token::Dot
            }
            b'\'' => {
                self.skip_quoted(b'\'', false);
                Token::Other
            }
            b'"' => {
                self.skip_quoted(b'"', false);
                let end = self.at.saturating_sub(1).max(start + 1);
                Token::Name {
                    // The text is a str and quotes are ASCII: the slice is on char bounds.
                    text: std::str::from_utf8(&sql[start + 1..end]).unwrap_or(""),
                    quoted: true,
                }
            }
            b'$' => {
                match self.dollar_tag() {
                    Some(tag) => {
                        self.at += tag.len();
                        self.skip_past(tag);
                    }
                    // A parameter (`$1`) or a lone `$`.
                    None => {
                        self.at += 1 + self.sql[self.at + 1..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .count()
                    }
                }
                Token::Other
            }
            _ if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
                self.at = self.name_end();
                let text = &sql[start..self.at];
                if matches!(text, b"E" | b"e") && self.peek(0) == Some(b'\'') {
                    self.skip_quoted(b'\'', true);
                    return Some(Token::Other);
                }
                Token::Name {
                    // The text is a str and the name ends at an ASCII byte or its end.
                    text: std::str::from_utf8(text).unwrap_or(""),
                    quoted: false,
                }
            }
            _ => {
                self.at += 1;
                Token::Other
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(sql: &str) -> Option<String> {
        refused(sql).map(|r| r.what)
    }

    #[test]
    fn leading_keywords_and_session_functions_are_refused() {
        assert_eq!(what("set search_path TO public").as_deref(), Some("SET"));
        assert_eq!(
            what("/* lead */ -- x\n RESET ALL").as_deref(),
            Some("RESET")
        );
        assert_eq!(what("LISTEN chan;").as_deref(), Some("LISTEN"));
        assert_eq!(
            what("SELECT pg_catalog.SET_CONFIG('a.b', 'c', false)").as_deref(),
            Some("set_config()")
        );
        assert_eq!(
            what("SELECT pg_try_advisory_lock /* c */ (1)").as_deref(),
            Some("pg_try_advisory_lock()")
        );
        assert_eq!(
            what("SELECT x FROM t WHERE pg_advisory_lock_shared($1)").as_deref(),
            Some("pg_advisory_lock_shared()")
        );
        assert_eq!(
            what(r#"SELECT "set_config"('a.b', 'c', false)"#).as_deref(),
            Some("set_config()")
        );
        assert_eq!(
            what("SELECT pg_advisory_xact_lock(1)").as_deref(),
            Some("pg_advisory_xact_lock()")
        );
    }

    #[test]
    fn names_in_literals_identifiers_and_comments_pass() {
        for sql in [
            "SELECT 'set_config(1)', 'it''s pg_advisory_lock(1)'",
            r"SELECT E'it\'s set_config(' AS e",
            r#"SELECT 1 AS "pg_advisory_lock(1)", "x""pg_advisory_lock(" "#,
            "SELECT 1 -- set_config('a', 'b', false)\n",
            "SELECT /* pg_advisory_lock(1) /* nested */ set_config( */ 4",
            "SELECT $$pg_try_advisory_lock(1)$$, $x$set_config($x$, $1",
            "SELECT set_config_x(1), my_pg_advisory_lock(2), set_config",
            r#"SELECT 1 AS "SET_CONFIG"(2)"#,
            "SELECT a$set_config(1)",
            "SELECT 'unterminated set_config(",
            "SELECT E'ends in a backslash \\",
            "SELECT \"unterminated set_config(",
            "SELECT $tag$ unterminated set_config(",
            "",
            "-- only a comment",
            "SELECT name FROM settings WHERE name = 'SET'",
        ] {
            assert!(what(sql).is_none(), "{sql}: {:?}", what(sql));
        }
    }

    #[test]
    fn tables_and_aliases_named_like_the_functions_are_not_calls() {
        for sql in [
            "CREATE TABLE IF NOT EXISTS set_config (name text, value text)",
            "create unlogged table pg_advisory_lock(id int4)",
            "INSERT INTO set_config (name, value) VALUES ($1, $2)",
            "INSERT INTO public . \"set_config\"(name) VALUES ($1)",
            "CREATE TABLE t (id int4 REFERENCES pg_catalog.set_config (id))",
            "SELECT a FROM f() AS set_config(a)",
            "WITH RECURSIVE pg_advisory_lock (n) AS (SELECT 1) SELECT n FROM pg_advisory_lock",
            "DROP FUNCTION IF EXISTS pg_try_advisory_lock(int8)",
        ] {
            assert!(what(sql).is_none(), "{sql}: {:?}", what(sql));
        }
        // A call after one of those names is still seen.
        assert_eq!(
            what("INSERT INTO set_config (n) SELECT pg_advisory_lock(1)").as_deref(),
            Some("pg_advisory_lock()")
        );
        assert_eq!(
            what("SELECT 1 AS a, set_config('a.b', 'c', false)").as_deref(),
            Some("set_config()")
        );
        assert_eq!(
            what("INSERT INTO t VALUES (set_config('a.b', 'c', false))").as_deref(),
            Some("set_config()")
        );
    }

    #[test]
    fn statements_that_drop_or_make_the_sessions_prepared_statements_are_refused() {
        // DEALLOCATE ALL would drop the statements every request of the thread runs.
        assert_eq!(what("DEALLOCATE ALL").as_deref(), Some("DEALLOCATE"));
        assert_eq!(what("deallocate prepare s0").as_deref(), Some("DEALLOCATE"));
        assert_eq!(
            what("PREPARE q (int4) AS SELECT $1").as_deref(),
            Some("PREPARE")
        );
    }

    #[test]
    fn functions_of_the_sessions_last_nextval_and_seed_are_refused() {
        assert_eq!(
            what("SELECT currval('world_id_seq')").as_deref(),
            Some("currval()")
        );
        assert_eq!(
            what("select id from t where id = pg_catalog.LASTVAL ()").as_deref(),
            Some("lastval()")
        );
        assert_eq!(
            what("SELECT setseed(0.5), random()").as_deref(),
            Some("setseed()")
        );
        let r = refused("SELECT lastval()").map(|r| r.why);
        assert!(r.is_some_and(|why| why.contains("nextval()")), "{r:?}");
        for sql in [
            "SELECT nextval('s'), 'currval(1)', \"lastval()\" FROM t -- setseed(1)",
            "SELECT currval FROM t",
            "INSERT INTO lastval (a) VALUES (1)",
        ] {
            assert!(what(sql).is_none(), "{sql}: {:?}", what(sql));
        }
    }

    #[test]
    fn temporary_tables_views_and_sequences_are_refused() {
        for (sql, made) in [
            ("CREATE TEMP TABLE t (id int4)", "CREATE TEMP TABLE"),
            (
                "/* c */ create temporary table t AS SELECT 1",
                "CREATE TEMPORARY TABLE",
            ),
            (
                "CREATE GLOBAL TEMPORARY TABLE t (id int4)",
                "CREATE TEMPORARY TABLE",
            ),
            ("create local temp sequence s", "CREATE TEMP SEQUENCE"),
            ("CREATE TEMP VIEW v AS SELECT 1", "CREATE TEMP VIEW"),
            (
                "CREATE OR REPLACE TEMP VIEW v AS SELECT 1",
                "CREATE TEMP VIEW",
            ),
            (
                "EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1",
                "CREATE TEMP TABLE",
            ),
            (
                "SELECT id INTO TEMP TABLE t FROM world",
                "SELECT ... INTO TEMP TABLE",
            ),
            (
                "SELECT id INTO TEMPORARY t FROM world",
                "SELECT ... INTO TEMPORARY",
            ),
        ] {
            assert_eq!(what(sql).as_deref(), Some(made), "{sql}");
        }
        for sql in [
            "CREATE TABLE temp (temp int4)",
            "CREATE UNLOGGED TABLE t (id int4)",
            "INSERT INTO temp VALUES (1)",
            "insert into TEMPORARY (a) SELECT temp FROM weather",
            "MERGE INTO temp t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "SELECT temp FROM weather WHERE temp > 20",
            "SELECT 'CREATE TEMP TABLE t' -- CREATE TEMP TABLE t",
            r#"CREATE "TEMP" (a int4)"#,
            "DO $$ BEGIN CREATE TEMP TABLE t (a int4); END $$",
        ] {
            assert!(what(sql).is_none(), "{sql}: {:?}", what(sql));
        }
    }
}
