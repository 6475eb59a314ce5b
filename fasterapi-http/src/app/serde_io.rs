//! serde in and out (feature `serde`): typed JSON bodies, query strings, path parameters
//! and url-encoded forms into your types, and JSON responses from any `Serialize` value.
//!
//! ```
//! use fasterapi_http::{App, Error, Json, Request, Response, StatusCode};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct NewTodo {
//!     title: String,
//!     #[serde(default)]
//!     completed: bool,
//! }
//!
//! #[derive(Serialize)]
//! struct Todo {
//!     id: u64,
//!     title: String,
//!     completed: bool,
//! }
//!
//! #[derive(Deserialize)]
//! struct Page {
//!     #[serde(default)]
//!     offset: usize,
//!     limit: Option<usize>,
//! }
//!
//! let mut app = App::new();
//! app.post("/todos", |req: &Request| -> Result<_, Error> {
//!     let new: NewTodo = req.json()?; // 400, 415, 422 answered for you
//!     let todo = Todo { id: 1, title: new.title, completed: new.completed };
//!     Ok((StatusCode::CREATED, Json(todo)))
//! });
//! app.get("/todos", |req: &Request| -> Result<Response, Error> {
//!     let page: Page = req.query_as()?; // `?limit=x` answers 422 naming `limit`
//!     Ok(Response::json_value(&vec![page.offset; page.limit.unwrap_or(1)]))
//! });
//! ```
//!
//! Refusals, each a JSON `detail` as FastAPI's:
//! - `415 Unsupported Media Type` for a body whose `Content-Type` is not JSON
//!   (`application/json`, `application/*+json`) for [`Request::json`], or not
//!   `application/x-www-form-urlencoded` for [`Request::form`];
//! - `400 Bad Request` for malformed JSON (`type` `json_invalid`, the message naming the
//!   line and column) or a form body that is not UTF-8;
//! - `422 Unprocessable Content` for a value of the wrong shape or type, with `loc` the
//!   path to it (`["body", "items", 0, "title"]`, `["query", "limit"]`,
//!   `["path", "id"]`) and `type` `missing` for a missing field;
//! - bodies over [`Config::max_body_bytes`](crate::Config::max_body_bytes) are refused
//!   with 413 before the handler runs.
//!
//! JSON is parsed and written with `serde_json` (chosen by measurement against sonic-rs
//! and simd-json: benches/RESULTS.md). Fields may borrow from the request (`&str` in a
//! JSON body without escapes, in a query value without `%` escapes); use `String` or
//! `Cow<str>` for text that may be escaped. Responses are written into the same
//! recycled per-thread buffers as [`Response::json`], so a `Json` answer allocates only
//! what the value itself does.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::app::error::{Error, Loc};
use crate::app::request::{pairs, percent_decode, Request};
use crate::app::text_de::{Pairs, TextError};
use crate::http::response::{detail, IntoResponse, Response, StatusCode};

/// A value answered as JSON (`200 OK`, `application/json`); wrap it in
/// `(StatusCode::CREATED, Json(v))` for another status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        Response::json_value(&self.0)
    }
}

impl Response {
    /// `200 OK` with `value` serialized as JSON. A value serde cannot write as JSON (a
    /// map with non-string keys, a failing `Serialize` impl) answers
    /// `500 Internal Server Error`.
    ///
    /// ```
    /// let resp = fasterapi_http::Response::json_value(&[1, 2, 3]);
    /// assert_eq!(resp.body().as_bytes(), b"[1,2,3]");
    /// ```
    pub fn json_value<T: Serialize + ?Sized>(value: &T) -> Response {
        Response::json_with(|buf| serde_json::to_writer(buf, value)).unwrap_or_else(|e| {
            detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Internal Server Error: the response is not JSON: {e}"),
            )
        })
    }
}

/// Whether `content_type` (with its parameters) is JSON's: `application/json` or
/// `application/<anything>+json`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

fn is_form(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

#[cold]
fn unsupported(expected: &str) -> Error {
    Error::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!("Unsupported Media Type: expected Content-Type: {expected}"),
    )
}

/// The 400 or 422 for a body serde_json refused: malformed JSON names its line and
/// column; a value of the wrong shape is parsed again, with its path tracked, to name it
/// (only refused bodies pay for that).
#[cold]
#[inline(never)]
fn json_error<'a, T: Deserialize<'a>>(body: &'a [u8], e: serde_json::Error) -> Error {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => Error::invalid(
            StatusCode::BAD_REQUEST,
            vec![Loc::key("body")],
            "json_invalid",
            format!("JSON decode error: {e}"),
        ),
        Category::Data => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let mut loc = vec![Loc::key("body")];
            let tracked = serde_path_to_error::deserialize::<_, T>(&mut de).err();
            let msg = match &tracked {
                Some(t) => t.inner().to_string(),
                // Cannot be: the same bytes into the same type failed above.
                None => e.to_string(),
            };
            for segment in tracked.iter().flat_map(|t| t.path().iter()) {
                use serde_path_to_error::Segment;
                match segment {
                    Segment::Seq { index } => loc.push(Loc::Index(*index)),
                    Segment::Map { key } | Segment::Enum { variant: key } => {
                        loc.push(Loc::key(key))
                    }
                    Segment::Unknown => loc.push(Loc::key("?")),
                }
            }
            // serde_json ends its messages with the position; the `loc` says where.
            let msg = match msg.rfind(" at line ") {
                Some(at) => msg[..at].to_owned(),
                None => msg,
            };
            // serde names a missing field in the message, at its parent's path.
            if let Some(field) = msg
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'))
            {
                loc.push(Loc::key(field));
                return Error::invalid(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    loc,
                    "missing",
                    "Field required".to_owned(),
                );
            }
            Error::invalid(StatusCode::UNPROCESSABLE_ENTITY, loc, "invalid", msg)
        }
    }
}

fn text_error(source: &'static str, e: TextError) -> Error {
    let mut loc = vec![Loc::key(source)];
    loc.extend(e.field.map(Loc::Key));
    let kind = if e.missing { "missing" } else { "invalid" };
    Error::invalid(StatusCode::UNPROCESSABLE_ENTITY, loc, kind, e.msg)
}

impl<'a> Request<'a> {
    /// The body, parsed as JSON into `T` (which may borrow from it). `Content-Type` must
    /// be JSON's (else 415); malformed JSON is a 400 naming its line and column; a value
    /// of the wrong shape is a 422 whose `loc` names the field (see the
    /// [module docs](crate::serde_io) for the shapes).
    ///
    /// ```
    /// use fasterapi_http::{Error, Request, Response};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Login<'a> {
    ///     user: &'a str,
    /// }
    ///
    /// fn login(req: &Request) -> Result<Response, Error> {
    ///     let login: Login = req.json()?;
    ///     Ok(Response::text(format!("hello {}", login.user)))
    /// }
    /// ```
    pub fn json<T: Deserialize<'a>>(&self) -> Result<T, Error> {
        if !self.header("content-type").is_some_and(is_json) {
            return Err(unsupported("application/json"));
        }
        let body = self.body;
        serde_json::from_slice(body).map_err(|e| json_error::<T>(body, e))
    }

    /// [`Request::json`] into a type that borrows nothing, for code generic over owned
    /// values.
    pub fn json_owned<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.json()
    }

    /// The query string's parameters into `T`, a struct (or map) of numbers, booleans,
    /// strings, options, unit enums, or `Vec`s of them (a repeated name; a scalar takes
    /// the last of a repeated name). Names `T` does not know are ignored unless it
    /// says `#[serde(deny_unknown_fields)]`. A missing or unparsable field is a 422
    /// naming it (`loc` `["query", name]`).
    ///
    /// ```
    /// use fasterapi_http::{Error, Request, Response};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Search {
    ///     q: String,
    ///     #[serde(default)]
    ///     page: u32,
    ///     tag: Vec<String>,
    /// }
    ///
    /// fn search(req: &Request) -> Result<Response, Error> {
    ///     let s: Search = req.query_as()?; // ?q=x&tag=a&tag=b
    ///     Ok(Response::text(format!("{} {} {:?}", s.q, s.page, s.tag)))
    /// }
    /// ```
    pub fn query_as<T: Deserialize<'a>>(&self) -> Result<T, Error> {
        T::deserialize(Pairs::new(self.query_pairs())).map_err(|e| text_error("query", e))
    }

    /// The route's path parameters into `T`, percent-decoded and parsed as
    /// [`Request::query_as`] does; a failure is a 422 naming the parameter
    /// (`loc` `["path", name]`).
    ///
    /// ```
    /// use fasterapi_http::{Error, Request, Response};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct ItemPath {
    ///     user: String,
    ///     item: u64,
    /// }
    ///
    /// // app.get("/users/{user}/items/{item}", item)
    /// fn item(req: &Request) -> Result<Response, Error> {
    ///     let p: ItemPath = req.params_as()?;
    ///     Ok(Response::text(format!("{}/{}", p.user, p.item)))
    /// }
    /// ```
    pub fn params_as<T: Deserialize<'a>>(&self) -> Result<T, Error> {
        let params = self
            .params
            .iter()
            .map(|(name, value)| (name.into(), percent_decode(value, false)));
        T::deserialize(Pairs::new(params)).map_err(|e| text_error("path", e))
    }

    /// The url-encoded form body (`application/x-www-form-urlencoded`, else 415) into `T`,
    /// as [`Request::query_as`] does (`loc` `["body", name]`); a body that is not UTF-8 is
    /// a 400.
    pub fn form<T: Deserialize<'a>>(&self) -> Result<T, Error> {
        if !self.header("content-type").is_some_and(is_form) {
            return Err(unsupported("application/x-www-form-urlencoded"));
        }
        let body = std::str::from_utf8(self.body).map_err(|e| {
            Error::invalid(
                StatusCode::BAD_REQUEST,
                vec![Loc::key("body")],
                "form_invalid",
                format!("the form body is not UTF-8: {e}"),
            )
        })?;
        T::deserialize(Pairs::new(pairs(body))).map_err(|e| text_error("body", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
            "application/vnd.api+json ; q=1",
        ] {
            assert!(is_json(yes), "{yes}");
        }
        for no in [
            "text/json",
            "application/jsonx",
            "application/+json",
            "json",
            "",
        ] {
            assert!(!is_json(no), "{no}");
        }
        assert!(is_form("application/x-www-form-urlencoded; charset=utf-8"));
        assert!(!is_form("multipart/form-data"));
    }

    #[test]
    fn json_value_serializes_and_refuses_non_json_values() {
        let ok = Response::json_value(&serde_json::json!({"a": [1, "x", null]}));
        assert_eq!(ok.body().as_bytes(), br#"{"a":[1,"x",null]}"#);
        let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let refused = Response::json_value(&bad);
        assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let json = Json(vec![1u8]).into_response();
        assert_eq!(json.content_type(), Some("application/json"));
    }
}
