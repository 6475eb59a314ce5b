// Peer of fasterapi's examples/todo.rs: the same JSON API written as an axum user would
// (State<Arc<..>>, Json and Path extractors, tower-http's CorsLayer), for the todo
// benchmark (benches/RESULTS.md, "The todo app against axum").
// Config: PORT (env) or --port N; WORKERS (env) or --workers N (= tokio worker threads, default 1).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::cors::{Any, CorsLayer};

#[derive(Serialize, Clone)]
struct Todo {
    id: u64,
    title: String,
    completed: bool,
}

#[derive(Deserialize)]
struct NewTodo {
    title: String,
    #[serde(default)]
    completed: bool,
}

#[derive(Deserialize)]
struct TodoPatch {
    title: Option<String>,
    completed: Option<bool>,
}

#[derive(Default)]
struct Todos {
    items: RwLock<BTreeMap<u64, Todo>>,
    last_id: AtomicU64,
}

type Db = Arc<Todos>;

type NotFound = (StatusCode, Json<serde_json::Value>);

fn not_found(id: u64) -> NotFound {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "detail": format!("todo {id} not found") })),
    )
}

async fn list(State(db): State<Db>) -> Json<Vec<Todo>> {
    Json(db.items.read().unwrap().values().cloned().collect())
}

async fn create(State(db): State<Db>, Json(new): Json<NewTodo>) -> impl IntoResponse {
    let id = db.last_id.fetch_add(1, Ordering::Relaxed) + 1;
    let todo = Todo { id, title: new.title, completed: new.completed };
    db.items.write().unwrap().insert(id, todo.clone());
    (StatusCode::CREATED, [(header::LOCATION, format!("/todos/{id}"))], Json(todo))
}

async fn show(State(db): State<Db>, Path(id): Path<u64>) -> Result<Json<Todo>, NotFound> {
    db.items.read().unwrap().get(&id).cloned().map(Json).ok_or_else(|| not_found(id))
}

async fn update(
    State(db): State<Db>,
    Path(id): Path<u64>,
    Json(patch): Json<TodoPatch>,
) -> Result<Json<Todo>, NotFound> {
    let mut items = db.items.write().unwrap();
    let todo = items.get_mut(&id).ok_or_else(|| not_found(id))?;
    if let Some(title) = patch.title {
        todo.title = title;
    }
    if let Some(completed) = patch.completed {
        todo.completed = completed;
    }
    Ok(Json(todo.clone()))
}

async fn remove(State(db): State<Db>, Path(id): Path<u64>) -> impl IntoResponse {
    match db.items.write().unwrap().remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(id).into_response(),
    }
}

fn arg_or_env(flag: &str, env: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == flag) {
        if let Some(v) = args.get(i + 1) {
            return v.parse().expect("bad numeric arg");
        }
    }
    std::env::var(env).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let port = arg_or_env("--port", "PORT", 8080);
    let workers = arg_or_env("--workers", "WORKERS", 1);
    eprintln!("axum-todo listening on 127.0.0.1:{port} tokio worker_threads={workers}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let cors = CorsLayer::new()
            .allow_origin(Any)
            .allow_methods(Any)
            .allow_headers([header::CONTENT_TYPE]);
        let app = Router::new()
            .route("/todos", get(list).post(create))
            .route("/todos/{id}", get(show).patch(update).delete(remove))
            .layer(cors)
            .with_state(Db::default());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16)).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}
