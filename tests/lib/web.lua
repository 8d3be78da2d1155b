-- What the Lua tests that drive wm's own HTTP server share: a fresh schema,
-- the server on a free port, requests to it, form bodies and the fields of
-- the pages it answers. Load it with
--   local web = dofile(wm.root .. "/tests/lib/web.lua")
local web = {}

-- A URL component percent-encoded (everything but letters, digits, _ . -).
function web.enc(s)
    return (tostring(s):gsub("[^%w_.-]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

-- An application/x-www-form-urlencoded body of the fields of `fields`.
function web.form(fields)
    local parts = {}
    for k, v in pairs(fields) do
        parts[#parts + 1] = web.enc(k) .. "=" .. web.enc(v)
    end
    return table.concat(parts, "&")
end

-- A response header by name, in any case (the first of a repeated one).
function web.header(res, name)
    for k, v in pairs(res.headers) do
        if k:lower() == name:lower() then
            return type(v) == "table" and v[1] or v
        end
    end
    return nil
end

-- The value of the input named `name` in a page (name="..." value="...").
function web.field(body, name)
    return body:match('name="' .. name .. '" value="([^"]*)"')
end

-- The CSRF token a page's forms carry.
function web.csrf_of(body)
    return web.field(body, "csrf")
end

-- An empty public schema with every migration applied.
function web.fresh_schema()
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
end

-- serve(t[, o]) -> port: wm's HTTP server (scripts/web) on 127.0.0.1 for
-- this test, stopped after it; sites.base_url and sites.site_url_pattern
-- (http://<subdomain>.localhost:<port>/) point at it. o.worker: the job
-- worker too (no cron), for what the requests queue.
function web.serve(t, o)
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    local port = select(2, srv:address())
    t.defer(function() http_server.stop(0) end)
    t.config("sites", { base_url = "http://127.0.0.1:" .. port,
                        site_url_pattern = "http://%s.localhost:" .. port .. "/" })
    if o and o.worker then
        assert(wm.jobs.start_worker { cron = false })
        t.defer(function() wm.jobs.stop_worker(5) end)
    end
    return port
end

-- request(port, path[, opts]) -> the response (raises when there is none)
-- opts: method (default POST with a form, else GET), headers, host (the
-- Host header, over one in headers; default 127.0.0.1:port), cookie (the
-- Cookie header as is), admin (a dashboard session's token: the wm_admin
-- cookie), form (a table, encoded, or a body already encoded: sent as
-- application/x-www-form-urlencoded), origin (with a form: an Origin header
-- of the server's own address unless headers has one).
function web.request(port, path, opts)
    opts = opts or {}
    local headers = opts.headers or {}
    if opts.host then
        headers.Host = opts.host
    end
    if opts.cookie then
        headers.Cookie = opts.cookie
    elseif opts.admin then
        headers.Cookie = "wm_admin=" .. opts.admin
    end
    local body
    if opts.form then
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        if opts.origin then
            headers.Origin = headers.Origin or ("http://127.0.0.1:" .. port)
        end
        body = type(opts.form) == "table" and web.form(opts.form) or opts.form
    end
    return assert(wm.http.request { method = opts.method or (opts.form and "POST" or "GET"),
                                    url = "http://127.0.0.1:" .. port .. path, headers = headers, body = body,
                                    timeout = 30 })
end

-- One dashboard account per role, <role>@example.com with `password`:
-- {role = user row}.
function web.accounts(password)
    local users = require "domain.admin_users"
    local out = {}
    for _, role in ipairs(users.ROLES) do
        out[role] = assert(wm.db.tx(function()
            return assert(users.add({ email = role .. "@example.com", role = role, password = password }))
        end))
    end
    return out
end

-- Logs `role`@example.com in to the dashboard: the session cookie's token,
-- the CSRF token of `page` (default /admin/jobs) as the pages carry it, and
-- that page.
function web.admin_login(t, port, role, password, page)
    local res = web.request(port, "/admin/login", { form = { email = role .. "@example.com", password = password } })
    t.eq(res.status, 303, "login of " .. role)
    local token = web.header(res, "set-cookie"):match("^wm_admin=([^;]+)")
    local got = web.request(port, page or "/admin/jobs", { admin = token })
    t.eq(got.status, 200, "a page after the login of " .. role)
    return token, web.csrf_of(got.body), got.body
end

return web
