//! A small JSON API: todos kept in memory.
//!
//! ```text
//! cargo run --release --example todo -- --port 8080
//! curl -i -H 'content-type: application/json' -d '{"title":"milk"}' localhost:8080/todos
//! curl localhost:8080/todos                         # [{"id":1,"title":"milk","completed":false}]
//! curl -X PATCH -H 'content-type: application/json' -d '{"completed":true}' localhost:8080/todos/1
//! curl -i localhost:8080/todos/2                    # 404 {"detail":"todo 2 not found"}
//! curl -i -X DELETE localhost:8080/todos/1          # 204
//! ```
//!
//! Port and I/O threads come from `--port`/`--threads`, else `PORT`/`THREADS`, else 8080
//! and one thread per core. Any origin may call it from a browser (CORS). Prometheus
//! metrics are served at `/metrics`; each request is logged on stdout (Common Log Format).
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use fasterapi::cors::{CorsOptions, CorsPolicy};
use fasterapi::observe::AccessLogFormat;
use fasterapi::prelude::*;
use fasterapi::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Todo {
    id: u64,
    title: String,
    completed: bool,
}

/// The body of `POST /todos`.
#[derive(Deserialize)]
struct NewTodo {
    title: String,
    #[serde(default)]
    completed: bool,
}

/// The body of `PATCH /todos/{id}`: the fields to change.
#[derive(Deserialize)]
struct TodoPatch {
    title: Option<String>,
    completed: Option<bool>,
}

/// The app's state: handlers get it with `req.state::<Todos>()`.
#[derive(Default)]
struct Todos {
    items: RwLock<BTreeMap<u64, Todo>>,
    last_id: AtomicU64,
}

impl Todos {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u64, Todo>> {
        // A handler that panicked while holding the lock left the map whole: every
        // change below is one insert, remove or field store.
        self.items.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u64, Todo>> {
        self.items.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn not_found(id: u64) -> Error {
    Error::new(StatusCode::NOT_FOUND, format!("todo {id} not found"))
}

fn list(req: &Request) -> Result<Response, Error> {
    let todos = req.state::<Todos>()?.read();
    Ok(Response::json_value(&todos.values().collect::<Vec<_>>()))
}

fn create(req: &Request) -> Result<Response, Error> {
    let new: NewTodo = req.json()?;
    let todos = req.state::<Todos>()?;
    let id = todos.last_id.fetch_add(1, Ordering::Relaxed) + 1;
    let todo = Todo {
        id,
        title: new.title,
        completed: new.completed,
    };
    let response = Response::json_value(&todo)
        .with_status(StatusCode::CREATED)
        .with_header("Location", format!("/todos/{id}"));
    todos.write().insert(id, todo);
    Ok(response)
}

fn show(req: &Request) -> Result<Response, Error> {
    let id: u64 = req.param("id")?;
    let todos = req.state::<Todos>()?.read();
    let todo = todos.get(&id).ok_or_else(|| not_found(id))?;
    Ok(Response::json_value(todo))
}

fn update(req: &Request) -> Result<Json<Todo>, Error> {
    let id: u64 = req.param("id")?;
    let patch: TodoPatch = req.json()?;
    let mut todos = req.state::<Todos>()?.write();
    let todo = todos.get_mut(&id).ok_or_else(|| not_found(id))?;
    if let Some(title) = patch.title {
        todo.title = title;
    }
    if let Some(completed) = patch.completed {
        todo.completed = completed;
    }
    Ok(Json(Todo {
        id,
        title: todo.title.clone(),
        completed: todo.completed,
    }))
}

fn remove(req: &Request) -> Result<StatusCode, Error> {
    let id: u64 = req.param("id")?;
    match req.state::<Todos>()?.write().remove(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(not_found(id)),
    }
}

/// The app: routes, state and the middleware every route runs inside.
pub fn app() -> App {
    let mut app = App::new().with_state(Todos::default());
    let cors = CorsPolicy::new(CorsOptions {
        allow_origins: vec!["*".into()],
        allow_methods: vec!["*".into()],
        allow_headers: vec!["content-type".into()],
        ..CorsOptions::default()
    });
    match cors {
        Ok(cors) => app.middleware(cors),
        Err(e) => panic!("the CORS options above are valid: {e}"),
    }
    app.get("/todos", list);
    app.post("/todos", create);
    app.get("/todos/{id}", show);
    app.patch("/todos/{id}", update);
    app.delete("/todos/{id}", remove);
    app.metrics("/metrics");
    app
}

fn main() {
    let [port, threads] = support::settings(
        "todo",
        [("--port", "PORT", 8080), ("--threads", "THREADS", 0)],
    );
    let mut app = app();
    app.config_mut().threads = threads;
    if let Err(e) = app.access_log(AccessLogFormat::Common, std::io::stdout()) {
        eprintln!("todo: cannot start the access log: {e}");
        std::process::exit(1);
    }
    support::serve("todo", app, port);
}
