-- wrk script of benches/load/app.sh: each connection cycles through the realistic app's
-- eight routes (benches/peers/py/realistic_app.py), one request at a time.
-- Usage: wrk -s app.lua http://127.0.0.1:PORT
local reqs = {}
local i = 0

init = function(args)
  local get = { ["Authorization"] = "Bearer token-7" }
  local json = { ["Authorization"] = "Bearer token-7", ["Content-Type"] = "application/json" }
  local item = '{"name":"lamp","price":24.5,"tags":["home","light"],'
    .. '"lines":[{"sku":"a-1","qty":2,"price":3.5},{"sku":"b-2","qty":1,"price":17.5}]}'
  reqs = {
    wrk.format("GET", "/items/42?q=hello&limit=5", get),
    wrk.format("GET", "/users/7/orders", get),
    wrk.format("POST", "/items", json, item),
    wrk.format("POST", "/search?page=2&size=50", json, '{"color":"red","in_stock":true,"max_price":40}'),
    wrk.format("GET", "/async/12", get),
    wrk.format("GET", "/whoami", get),
    wrk.format("GET", "/me", get),
    wrk.format("GET", "/users/7", get),
  }
end

request = function()
  i = i % #reqs + 1
  return reqs[i]
end
