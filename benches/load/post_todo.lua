-- wrk script: POST /todos with the todo benchmark's body (benches/load/todo.sh).
wrk.method = "POST"
wrk.body = '{"title":"Buy milk and eggs for the week","completed":false}'
wrk.headers["Content-Type"] = "application/json"
