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
const SESSION_FUNCTIONS: [&str; 5] = [
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
];

/// Functions that take a lock until the end of the transaction: each statement is its own
/// transaction here, so the lock would be let go as soon as it is taken.
const TRANSACTION_FUNCTIONS: [&str; 4] = [
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
];

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
/// of [`KEYWORDS`], or a call of a function of [`SESSION_FUNCTIONS`] or
/// [`TRANSACTION_FUNCTIONS`] anywhere in it (a name followed by `(`, unless it names a
/// table or an alias: see [`NOT_CALLED_AFTER`]). String literals, quoted identifiers that
/// are not called and comments are skipped. Functions called from inside other functions
/// or `DO` blocks are not seen.
pub(super) fn refused(sql: &str) -> Option<Refused> {
    let mut tokens = Tokens {
        sql: sql.as_bytes(),
        at: 0,
    };
    let mut previous = tokens.next()?;
    if let Token::Name {
        text,
        quoted: false,
    } = &previous
    {
        if let Some(k) = KEYWORDS.iter().find(|k| text.eq_ignore_ascii_case(k)) {
            return Some(Refused {
                what: (*k).to_owned(),
                why: "it would change the connection that every request of this thread shares",
            });
        }
    }
    // The (dotted) name that `previous` ends names a table, an alias or a function being
    // defined, not a function being called: it follows one of [`NOT_CALLED_AFTER`].
    let mut not_called = false;
    for token in tokens {
        if let (Token::Name { text, quoted }, Token::Open, false) = (&previous, &token, not_called)
        {
            let named = |f: &str| match quoted {
                // A quoted name is the function's name as written.
                true => *text == f,
                false => text.eq_ignore_ascii_case(f),
            };
            if let Some(f) = SESSION_FUNCTIONS.iter().find(|f| named(f)) {
                return Some(Refused {
                    what: format!("{f}()"),
                    why: "it would change the connection that every request of this thread \
                          shares",
                });
            }
            if let Some(f) = TRANSACTION_FUNCTIONS.iter().find(|f| named(f)) {
                return Some(Refused {
                    what: format!("{f}()"),
                    why: "each statement is its own transaction here, so the lock would be let \
                          go as soon as its statement ends",
                });
            }
        }
        not_called = match (&previous, &token) {
            (Token::Name { .. }, Token::Dot) | (Token::Dot, Token::Name { .. }) => not_called,
            (
                Token::Name {
                    text,
                    quoted: false,
                },
                Token::Name { .. },
            ) => NOT_CALLED_AFTER
                .iter()
                .any(|k| text.eq_ignore_ascii_case(k)),
            _ => false,
        };
        previous = token;
    }
    None
}

/// A piece of SQL that matters to [`refused`].
#[derive(Debug, PartialEq)]
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

    /// Moves past a `'...'` literal, the cursor on its opening quote; `backslash`: an
    /// escape string (`E'...'`), where `\` escapes the next byte.
    fn skip_string(&mut self, backslash: bool) {
        self.at += 1;
        while let Some(b) = self.peek(0) {
            self.at += 1;
            match b {
                b'\\' if backslash => self.at = (self.at + 1).min(self.sql.len()),
                b'\'' if self.peek(0) == Some(b'\'') => self.at += 1,
                b'\'' => return,
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
                self.skip_string(false);
                Token::Other
            }
            b'"' => {
                self.at += 1;
                loop {
                    self.skip_past(b"\"");
                    if self.peek(0) != Some(b'"') {
                        break;
                    }
                    self.at += 1;
                }
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
                    self.skip_string(true);
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
            "create temp table pg_advisory_lock(id int4)",
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
}
