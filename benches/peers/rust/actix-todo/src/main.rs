// Peer of fasterapi's examples/todo.rs for the serde body target: POST /todos (a JSON
// body parsed into a struct, the created item answered as JSON, 201) and GET /todos/{id},
// written as an actix-web user would (web::Json, web::Path, web::Data, actix-cors' Cors
// for the CORS policy the fasterapi example has).
// Config: PORT (env) or --port N; WORKERS (env) or --workers N (default 1).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use actix_cors::Cors;
use actix_web::{http::header, web, App, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};

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

#[derive(Default)]
struct Todos {
    items: RwLock<BTreeMap<u64, Todo>>,
    last_id: AtomicU64,
}

async fn create(db: web::Data<Todos>, new: web::Json<NewTodo>) -> HttpResponse {
    let new = new.into_inner();
    let id = db.last_id.fetch_add(1, Ordering::Relaxed) + 1;
    let todo = Todo { id, title: new.title, completed: new.completed };
    let resp = HttpResponse::Created()
        .insert_header(("Location", format!("/todos/{id}")))
        .json(&todo);
    db.items.write().unwrap().insert(id, todo);
    resp
}

async fn show(db: web::Data<Todos>, id: web::Path<u64>) -> HttpResponse {
    let id = id.into_inner();
    match db.items.read().unwrap().get(&id) {
        Some(todo) => HttpResponse::Ok().json(todo),
        None => HttpResponse::NotFound()
            .json(serde_json::json!({ "detail": format!("todo {id} not found") })),
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

fn main() -> std::io::Result<()> {
    let port = arg_or_env("--port", "PORT", 8080);
    let workers = arg_or_env("--workers", "WORKERS", 1);
    eprintln!("actix-todo listening on 127.0.0.1:{port} workers={workers}");
    let db = web::Data::new(Todos::default());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let cors = Cors::default()
                .allow_any_origin()
                .allow_any_method()
                .allowed_header(header::CONTENT_TYPE);
            App::new()
                .wrap(cors)
                .app_data(db.clone())
                .route("/todos", web::post().to(create))
                .route("/todos/{id}", web::get().to(show))
        })
        .workers(workers)
        .bind(("127.0.0.1", port as u16))?
        .run()
        .await
    })
}
