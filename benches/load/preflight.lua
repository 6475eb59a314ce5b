-- A CORS preflight (benches/load/mw.sh): OPTIONS /items from an allowed origin.
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "https://app.example"
wrk.headers["Access-Control-Request-Method"] = "POST"
wrk.headers["Access-Control-Request-Headers"] = "x-token"
