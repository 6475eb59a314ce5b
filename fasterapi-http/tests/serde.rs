//! serde in and out over real sockets: typed JSON bodies and their refusals (400 naming
//! line and column, 415, 422 naming the field, 413 from the body limit), typed query
//! strings, path parameters and forms, JSON responses from `Serialize` values.

mod common;

use common::roundtrip;
use fasterapi_http::{
    App, Error, IntoResponse, Json, Request, Response, RunningServer, StatusCode,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct NewTodo<'a> {
    title: &'a str,
    #[serde(default)]
    completed: bool,
    tags: Option<Vec<Tag>>,
}

#[derive(Deserialize, Serialize)]
struct Tag {
    name: String,
    weight: u8,
}

#[derive(Serialize)]
struct Todo<'a> {
    id: u64,
    title: &'a str,
    completed: bool,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Sort {
    Asc,
    Desc,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    offset: usize,
    limit: Option<u16>,
    sort: Option<Sort>,
    done: Option<bool>,
    // serde's rule: only `Option` fields may be absent without `default`.
    #[serde(default)]
    tag: Vec<String>,
}

#[derive(Deserialize)]
struct ItemPath {
    user: String,
    item: u32,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    remember: bool,
}

fn server() -> RunningServer {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.config_mut().max_body_bytes = 1024;
    app.post("/todos", |req: &Request| -> Result<_, Error> {
        let new: NewTodo = req.json()?;
        let todo = Todo {
            id: 1,
            title: new.title,
            completed: new.completed,
            tags: new.tags.unwrap_or_default(),
        };
        // Made into a response here: `todo` borrows from the request.
        Ok((StatusCode::CREATED, Json(todo)).into_response())
    });
    app.get("/todos", |req: &Request| -> Result<Response, Error> {
        let q: ListQuery = req.query_as()?;
        let sort = match q.sort {
            Some(Sort::Asc) => "asc",
            Some(Sort::Desc) => "desc",
            None => "none",
        };
        Ok(Response::json_value(&serde_json::json!({
            "offset": q.offset, "limit": q.limit, "sort": sort, "done": q.done, "tag": q.tag,
        })))
    });
    app.get(
        "/users/{user}/items/{item}",
        |req: &Request| -> Result<Response, Error> {
            let p: ItemPath = req.params_as()?;
            Ok(Response::json_value(&(p.user, p.item)))
        },
    );
    app.post("/login", |req: &Request| -> Result<Response, Error> {
        let f: LoginForm = req.form()?;
        Ok(Response::text(format!(
            "{}:{}:{}",
            f.username,
            f.password.len(),
            f.remember
        )))
    });
    app.bind("127.0.0.1:0").unwrap().spawn().unwrap()
}

fn post(path: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn json(body: &str) -> Vec<u8> {
    post("/todos", "application/json", body)
}

#[test]
fn a_json_body_in_and_a_json_value_out() {
    let server = server();
    let r = roundtrip(
        server.local_addr(),
        &json(r#"{"title":"milk","tags":[{"name":"home","weight":2}]}"#),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.text(),
        r#"{"id":1,"title":"milk","completed":false,"tags":[{"name":"home","weight":2}]}"#
    );
    let r = roundtrip(
        server.local_addr(),
        &post(
            "/todos",
            "application/merge-patch+json; charset=utf-8",
            r#"{"title":"x","completed":true}"#,
        ),
    );
    assert_eq!(
        (r.status, r.text().contains(r#""completed":true"#)),
        (201, true)
    );
}

#[test]
fn malformed_json_is_400_naming_line_and_column() {
    let server = server();
    let r = roundtrip(server.local_addr(), &json("{\"title\":\n \"milk\",,}"));
    assert_eq!(r.status, 400);
    let detail: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(detail["detail"][0]["type"], "json_invalid");
    assert_eq!(detail["detail"][0]["loc"], serde_json::json!(["body"]));
    let msg = detail["detail"][0]["msg"].as_str().unwrap();
    assert!(msg.contains("line 2 column 9"), "{msg}");
    let r = roundtrip(server.local_addr(), &json(""));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("EOF while parsing"), "{}", r.text());
}

#[test]
fn a_body_that_is_not_json_is_415() {
    let server = server();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let r = roundtrip(
            server.local_addr(),
            &post("/todos", content_type, r#"{"title":"x"}"#),
        );
        assert_eq!(r.status, 415, "{content_type}");
        assert!(r.text().contains("application/json"), "{}", r.text());
    }
    let raw = b"POST /todos HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}";
    assert_eq!(roundtrip(server.local_addr(), raw).status, 415);
}

#[test]
fn wrong_shapes_are_422_naming_the_field() {
    let server = server();
    let detail = |body: &str| {
        let r = roundtrip(server.local_addr(), &json(body));
        assert_eq!(r.status, 422, "{}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["detail"][0].clone()
    };
    let d = detail(r#"{"completed":true}"#);
    assert_eq!(d["loc"], serde_json::json!(["body", "title"]));
    assert_eq!(
        (d["type"].as_str(), d["msg"].as_str()),
        (Some("missing"), Some("Field required"))
    );
    let d = detail(r#"{"title":"x","completed":"yes"}"#);
    assert_eq!(d["loc"], serde_json::json!(["body", "completed"]));
    assert!(
        d["msg"].as_str().unwrap().contains("expected a boolean"),
        "{d}"
    );
    let d = detail(r#"{"title":"x","tags":[{"name":"a","weight":1},{"name":"b","weight":300}]}"#);
    assert_eq!(d["loc"], serde_json::json!(["body", "tags", 1, "weight"]));
    let d = detail(r#"{"title":"x","tags":[{"weight":1}]}"#);
    assert_eq!(d["loc"], serde_json::json!(["body", "tags", 0, "name"]));
    let d = detail(r#""a string""#);
    assert_eq!(d["loc"], serde_json::json!(["body"]));
    assert!(
        d["msg"]
            .as_str()
            .unwrap()
            .contains("expected struct NewTodo"),
        "{d}"
    );
}

#[test]
fn a_body_over_the_limit_is_413_before_the_handler() {
    let server = server();
    let big = format!(r#"{{"title":"{}"}}"#, "x".repeat(2000));
    let r = roundtrip(server.local_addr(), &json(&big));
    assert_eq!(r.status, 413);
}

#[test]
fn typed_query_strings() {
    let server = server();
    let get = |target: &str| {
        roundtrip(
            server.local_addr(),
            format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        )
    };
    let r = get("/todos?limit=5&sort=desc&tag=a&done=no&tag=b%20c&other=1");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        r#"{"done":false,"limit":5,"offset":0,"sort":"desc","tag":["a","b c"]}"#
    );
    let r = get("/todos");
    assert_eq!(
        r.text(),
        r#"{"done":null,"limit":null,"offset":0,"sort":"none","tag":[]}"#,
    );
    for (target, field) in [
        ("/todos?limit=70000", "limit"),
        ("/todos?offset=-1", "offset"),
        ("/todos?sort=up", "sort"),
        ("/todos?done=maybe", "done"),
    ] {
        let r = get(target);
        assert_eq!(r.status, 422, "{target}");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v["detail"][0]["loc"],
            serde_json::json!(["query", field]),
            "{target}"
        );
    }
}

#[test]
fn typed_path_parameters() {
    let server = server();
    let get = |target: &str| {
        roundtrip(
            server.local_addr(),
            format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        )
    };
    let r = get("/users/J%C3%A9r%C3%B4me/items/42");
    assert_eq!((r.status, r.text()), (200, r#"["Jérôme",42]"#));
    let r = get("/users/al/items/x42");
    assert_eq!(r.status, 422);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["detail"][0]["loc"], serde_json::json!(["path", "item"]));
    assert!(
        v["detail"][0]["msg"].as_str().unwrap().contains("x42"),
        "{v}"
    );
}

#[test]
fn url_encoded_forms() {
    let server = server();
    let form = "application/x-www-form-urlencoded";
    let r = roundtrip(
        server.local_addr(),
        &post(
            "/login",
            form,
            "username=a+b%21&password=s3cret&remember=on",
        ),
    );
    assert_eq!((r.status, r.text()), (200, "a b!:6:true"));
    let r = roundtrip(server.local_addr(), &post("/login", form, "username=a"));
    assert_eq!(r.status, 422);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v["detail"][0]["loc"],
        serde_json::json!(["body", "password"])
    );
    assert_eq!(v["detail"][0]["type"], "missing");
    let r = roundtrip(
        server.local_addr(),
        &post("/login", "application/json", r#"{"username":"a"}"#),
    );
    assert_eq!(r.status, 415);
}
