-- upload.lua: POST the multipart body prepared by upload.sh (its path in UPLOAD_BODY, its
-- boundary in UPLOAD_BOUNDARY) to /upload on every request.
local f = assert(io.open(os.getenv("UPLOAD_BODY"), "rb"))
wrk.method = "POST"
wrk.path = "/upload"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. os.getenv("UPLOAD_BOUNDARY")
