//! The one error type handlers return.

use std::borrow::Cow;
use std::fmt;

use crate::http::response::{IntoResponse, Response, StatusCode};

/// An error a handler returns; it becomes an HTTP response with a JSON body
/// `{"detail": "..."}` and the error's status.
///
/// One opaque type with a private kind, in the manner of hyper: match on
/// [`Error::status`] rather than on variants.
///
/// ```
/// use fasterapi_http::{Error, Request, Response, StatusCode};
///
/// fn handler(req: &Request) -> Result<Response, Error> {
///     let id: u64 = req.param("id")?; // a bad `id` answers 400 naming the parameter
///     if id == 0 {
///         return Err(Error::new(StatusCode::NOT_FOUND, "no such user"));
///     }
///     Ok(Response::text("found"))
/// }
/// ```
pub struct Error {
    kind: Kind,
    /// Headers the answer carries (`WWW-Authenticate` on a 401, `Retry-After` on a 503).
    headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

enum Kind {
    /// A path or query parameter failed to convert.
    Param {
        source: &'static str,
        name: String,
        reason: String,
    },
    /// A value that failed validation (a serde body, query, path or form), in FastAPI's
    /// shape.
    Invalid {
        status: StatusCode,
        loc: Vec<Loc>,
        kind: &'static str,
        msg: String,
    },
    /// A handler-chosen status and detail.
    Status {
        status: StatusCode,
        detail: Cow<'static, str>,
    },
}

impl Error {
    /// An error answered with `status` and `{"detail": detail}`.
    pub fn new(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Error {
        Error {
            kind: Kind::Status {
                status,
                detail: detail.into(),
            },
            headers: Vec::new(),
        }
    }

    /// This error with the header `name: value` on its answer, as FastAPI's
    /// `HTTPException(headers=...)`; the rules of [`Response::with_header`] apply.
    ///
    /// ```
    /// use fasterapi_http::{Error, StatusCode};
    ///
    /// let err = Error::new(StatusCode::UNAUTHORIZED, "Not authenticated")
    ///     .with_header("WWW-Authenticate", "Bearer");
    /// let resp = err.into_response();
    /// assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    /// ```
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Error {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The headers the answer carries.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (&**n, &**v))
    }

    /// A path or query parameter named `name` that could not be converted.
    pub(crate) fn param(source: &'static str, name: &str, reason: impl fmt::Display) -> Error {
        Error {
            kind: Kind::Param {
                source,
                name: name.to_owned(),
                reason: reason.to_string(),
            },
            headers: Vec::new(),
        }
    }

    /// A value that failed validation at `loc` (`["body", "items", 0]`), answered with
    /// `status` and `{"detail": [{"type": kind, "loc": loc, "msg": msg}]}`.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn invalid(
        status: StatusCode,
        loc: Vec<Loc>,
        kind: &'static str,
        msg: String,
    ) -> Error {
        Error {
            kind: Kind::Invalid {
                status,
                loc,
                kind,
                msg,
            },
            headers: Vec::new(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            Kind::Param { .. } => StatusCode::BAD_REQUEST,
            Kind::Invalid { status, .. } => *status,
            Kind::Status { status, .. } => *status,
        }
    }

    /// The response this error is answered with.
    pub fn into_response(self) -> Response {
        let status = self.status();
        let mut response = match &self.kind {
            // FastAPI's shape: {"detail": [{"loc": ["path", "id"], "msg": "..."}]}
            Kind::Param {
                source,
                name,
                reason,
            } => Response::json(|o| {
                o.array("detail", |a| {
                    a.object(|d| {
                        d.array("loc", |l| {
                            l.item(*source);
                            l.item(name.as_str());
                        });
                        d.field("msg", reason.as_str());
                    });
                });
            })
            .with_status(status),
            Kind::Invalid { loc, kind, msg, .. } => Response::json(|o| {
                o.array("detail", |a| {
                    a.object(|d| {
                        d.field("type", *kind);
                        d.array("loc", |l| {
                            for part in loc {
                                match part {
                                    Loc::Key(k) => l.item(k.as_str()),
                                    Loc::Index(i) => l.item(*i as u64),
                                };
                            }
                        });
                        d.field("msg", msg.as_str());
                    });
                });
            })
            .with_status(status),
            Kind::Status { detail, .. } => crate::http::response::detail(status, detail),
        };
        response.headers.extend(self.headers);
        response
    }
}

/// One step of the path to an invalid value: FastAPI's `loc` items.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) enum Loc {
    Key(String),
    Index(usize),
}

#[cfg_attr(not(feature = "serde"), allow(dead_code))]
impl Loc {
    pub(crate) fn key(k: impl Into<String>) -> Loc {
        Loc::Key(k.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Param {
                source,
                name,
                reason,
            } => {
                write!(f, "invalid {source} parameter `{name}`: {reason}")
            }
            Kind::Invalid {
                status, loc, msg, ..
            } => {
                write!(f, "{} invalid ", status.as_u16())?;
                for (i, part) in loc.iter().enumerate() {
                    match part {
                        Loc::Key(k) if i == 0 => write!(f, "{k}")?,
                        Loc::Key(k) => write!(f, ".{k}")?,
                        Loc::Index(n) => write!(f, "[{n}]")?,
                    }
                }
                write!(f, ": {msg}")
            }
            Kind::Status { status, detail } => write!(f, "{} {detail}", status.as_u16()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({self})")
    }
}

impl std::error::Error for Error {}
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Error::into_response(self)
    }
}
