-- wm.router: the HTTP route table.
--
--   wm.route(method, pattern, handler[, options])   method: GET, POST, ...
--       or "*" (any); pattern: "/healthz" (literal), "/t/o/:token" (a
--       parameter is a whole segment, or a segment with a literal suffix:
--       "/t/o/:token.gif"), "/static/*path" (the rest of the path, last
--       segment only).
--   wm.route_host(pattern, handler[, options])   a catch-all by Host:
--       "acme.com" (exact), "*.localhost" (any subdomain; params.subdomain
--       holds it), or "*" (any host). For generated sites and custom domains.
--   options: { role = ..., access_log = ... }
--       role: the least role a request needs: "public" (no login: sites,
--       tracking, hooks, static, health, claim, pay, portal), "viewer",
--       "editor", "admin" or "super_admin" (viewer < editor < admin <
--       super_admin). Every route in a route file declares one; a file with
--       a route that does not is refused (file:line), so the server does not
--       start with it. A non-public handler runs behind lib.admin_auth.guard:
--       no session or token -> login (401 for the API), a lower role -> 403,
--       a mutating method without the session's CSRF token -> 403; the
--       handler finds req.user and req.session.
--       access_log = false | true | share: this route's requests in the
--       access log: none, all, or that share of them (0..1), instead of
--       log.access_sample; answers >= 500 are logged regardless.
--
-- Matching: a literal route, then parameter routes from the most specific
-- (literal segments beat parameters, parameters beat a splat, position by
-- position), then host routes (exact host, longest suffix, "*"). So a
-- catch-all never swallows a specific route. HEAD falls back to GET.
-- Parameters are percent-decoded; req.path itself is not.
--
-- Route files: every *.lua file directly inside the configured folders
-- (scripts/web/ first, then `wm serve --routes DIR`), loaded in name order;
-- each registers routes with wm.route at top level and does no I/O there.
-- router.rebuild() loads them all into a new table and swaps it in only if
-- every file loaded, so a broken edit keeps the old table (hot reload calls
-- it). Requests in flight finish on the handlers they started with.
local M = { version = 0 }

local type, error, ipairs, pairs, tostring, xpcall, getmetatable =
    type, error, ipairs, pairs, tostring, xpcall, getmetatable
local sub, byte, find, lower, upper, gsub, char = string.sub, string.byte, string.find,
    string.lower, string.upper, string.gsub, string.char
local tonumber, concat, insert, sort = tonumber, table.concat, table.insert, table.sort
local traceback = debug.traceback

local METHODS = {
    GET = true, HEAD = true, POST = true, PUT = true, PATCH = true, DELETE = true,
    OPTIONS = true, ["*"] = true,
}

local function new_table()
    return {
        exact = {},          -- method -> path -> route
        patterns = {},       -- method -> routes, most specific first
        host_exact = {},     -- host -> route
        host_suffix = {},    -- routes, longest suffix first
        host_any = nil,
        keys = {},           -- "METHOD pattern" -> route (duplicates are errors)
    }
end

local active = new_table()
local on_change = {}
local building = nil         -- the table a rebuild fills
local current_file = nil
local dirs = {}

local function hexchar(h)
    return char(tonumber(h, 16))
end

local function decode(s)
    if find(s, "%", 1, true) then
        s = gsub(s, "%%(%x%x)", hexchar)
    end
    return s
end
M.decode = decode

-- Segments of a pattern, with a rank per segment for ordering.
local function compile(pattern)
    local segs = {}
    for seg in pattern:gmatch("[^/]+") do
        if segs[#segs] and segs[#segs].kind == "splat" then
            error(("wm.route: %q: *splat must be the last segment"):format(pattern), 3)
        end
        local name, suffix = seg:match("^:([%a_][%w_]*)(.*)$")
        if name then
            if find(suffix, "[:*]") then
                error(("wm.route: %q: bad segment %q"):format(pattern, seg), 3)
            end
            segs[#segs + 1] = { kind = "param", name = name, suffix = suffix ~= "" and suffix or nil,
                                rank = suffix ~= "" and 2 or 1 }
        else
            local splat = seg:match("^%*([%a_][%w_]*)$")
            if splat then
                segs[#segs + 1] = { kind = "splat", name = splat, rank = 0 }
            elseif find(seg, "[:*]") then
                error(("wm.route: %q: bad segment %q"):format(pattern, seg), 3)
            else
                segs[#segs + 1] = { kind = "lit", value = seg, rank = 3 }
            end
        end
    end
    return segs
end

-- Whether route a is more specific than b.
local function more_specific(a, b)
    local sa, sb = a.segs, b.segs
    local n = #sa < #sb and #sa or #sb
    for i = 1, n do
        if sa[i].rank ~= sb[i].rank then
            return sa[i].rank > sb[i].rank
        end
    end
    return #sa > #sb
end

-- The roles in order; a role's rank is its position.
local ROLES = { "public", "viewer", "editor", "admin", "super_admin" }
local RANK = {}
for i, r in ipairs(ROLES) do
    RANK[r] = i
end
M.ROLES, M.RANK = ROLES, RANK

-- Whether `role` is at least `least` ("admin" is at least "editor").
function M.role_allows(role, least)
    local have, need = RANK[role], RANK[least]
    return have ~= nil and need ~= nil and have >= need
end

-- A non-public handler behind the guard. lib.admin_auth is required at
-- call time so that a reload of it reaches routes declared before.
local function guarded(role, handler)
    return function(req)
        return require("lib.admin_auth").guard(req, role, handler)
    end
end

local function check_handler(handler, what)
    if type(handler) ~= "function" and not (type(handler) == "table" and getmetatable(handler)
        and getmetatable(handler).__call) then
        error("usage: " .. what, 3)
    end
end

-- Copies a route declaration's options onto route `r`; raises (at the
-- declaration) on an unknown option or a bad value.
local function apply_options(r, opts, what)
    if opts == nil then
        return
    end
    if type(opts) ~= "table" then
        error(("%s: options must be a table"):format(what), 3)
    end
    for k, v in pairs(opts) do
        if k == "access_log" then
            if type(v) ~= "boolean" and not (type(v) == "number" and v >= 0 and v <= 1) then
                error(("%s: access_log must be true, false or a share 0..1, not %s"):format(what, tostring(v)), 3)
            end
            r.access_log = v
        elseif k == "role" then
            if RANK[v] == nil then
                error(("%s: role must be one of %s, not %s"):format(what, concat(ROLES, ", "), tostring(v)), 3)
            end
            r.role = v
            if v ~= "public" then
                r.handler = guarded(v, r.handler)
            end
        else
            error(("%s: unknown option %q"):format(what, tostring(k)), 3)
        end
    end
end

-- The file and line that declared a route while route files load: the
-- first Lua frame outside this file (a route file, or a page module that
-- a route file loads).
local function declared_at()
    if not current_file then
        return nil
    end
    for level = 3, 12 do
        local info = debug.getinfo(level, "Sl")
        if not info then
            break
        end
        local src = info.source
        if sub(src, 1, 1) == "@" and not find(src, "wm/router.lua", 1, true) then
            return sub(src, 2), info.currentline
        end
    end
    return current_file, nil
end

function M.route(method, pattern, handler, opts)
    if type(method) ~= "string" or type(pattern) ~= "string" then
        error("usage: wm.route(method, pattern, handler[, options])", 2)
    end
    check_handler(handler, "wm.route(method, pattern, handler[, options])")
    method = upper(method)
    if method == "ANY" then
        method = "*"
    end
    if not METHODS[method] then
        error(("wm.route: unknown method %q"):format(method), 2)
    end
    if byte(pattern, 1) ~= 47 then    -- "/"
        error(("wm.route: pattern %q must start with /"):format(pattern), 2)
    end
    local t = building or active
    local key = method .. " " .. pattern
    local old = t.keys[key]
    if old then
        error(("wm.route: %s is routed twice (first in %s)"):format(key, old.source), 2)
    end
    local file, line = declared_at()
    local r = { method = method, pattern = pattern, label = pattern, handler = handler,
                source = file or current_file or "?", line = line }
    apply_options(r, opts, "wm.route")
    t.keys[key] = r
    if not find(pattern, "[:*]") then
        local m = t.exact[method]
        if not m then
            m = {}
            t.exact[method] = m
        end
        m[pattern] = r
        return r
    end
    r.segs = compile(pattern)
    local list = t.patterns[method]
    if not list then
        list = {}
        t.patterns[method] = list
    end
    local pos = #list + 1
    for i, other in ipairs(list) do
        if more_specific(r, other) then
            pos = i
            break
        end
    end
    insert(list, pos, r)
    list.by_count = nil
    return r
end

function M.route_host(pattern, handler, opts)
    if type(pattern) ~= "string" or pattern == "" then
        error("usage: wm.route_host(pattern, handler[, options])", 2)
    end
    check_handler(handler, "wm.route_host(pattern, handler[, options])")
    pattern = lower(pattern)
    local t = building or active
    local key = "HOST " .. pattern
    local old = t.keys[key]
    if old then
        error(("wm.route_host: %s is routed twice (first in %s)"):format(pattern, old.source), 2)
    end
    local file, line = declared_at()
    local r = { method = "*", pattern = pattern, label = "host:" .. pattern, handler = handler,
                source = file or current_file or "?", line = line, host = true }
    apply_options(r, opts, "wm.route_host")
    t.keys[key] = r
    if pattern == "*" then
        t.host_any = r
    elseif sub(pattern, 1, 2) == "*." then
        r.suffix = sub(pattern, 2)
        local list = t.host_suffix
        local pos = #list + 1
        for i, other in ipairs(list) do
            if #r.suffix > #other.suffix then
                pos = i
                break
            end
        end
        insert(list, pos, r)
    elseif find(pattern, "*", 1, true) then
        error(("wm.route_host: %q: only a leading *. is allowed"):format(pattern), 2)
    else
        t.host_exact[pattern] = r
    end
    return r
end

local NO_SEGS = {}

local function split(path)
    if path == "/" then
        return NO_SEGS, 0   -- read only, never written
    end
    local segs, n = {}, 0
    for s in path:gmatch("[^/]+") do
        n = n + 1
        segs[n] = s
    end
    return segs, n
end

local function match_segs(r, segs, n)
    local rs = r.segs
    local params
    for i = 1, #rs do
        local s = rs[i]
        if s.kind == "splat" then
            params = params or {}
            params[s.name] = i <= n and decode(concat(segs, "/", i, n)) or ""
            return params
        end
        local seg = segs[i]
        if seg == nil then
            return nil
        end
        if s.kind == "lit" then
            if seg ~= s.value then
                return nil
            end
        else
            local suffix = s.suffix
            if suffix then
                local sl = #suffix
                if #seg <= sl or sub(seg, -sl) ~= suffix then
                    return nil
                end
                seg = sub(seg, 1, #seg - sl)
            end
            params = params or {}
            params[s.name] = decode(seg)
        end
    end
    if n ~= #rs then
        return nil
    end
    return params or {}
end

-- The routes of `list` that can match a path of n segments, in the list's
-- order: those of n segments, and those ending in a splat with at most n
-- before it. Kept per n on the list (emptied when a route is added), so a
-- request tries a handful of patterns instead of every one.
local function candidates(list, n)
    if n > 32 then
        return list
    end
    local by = list.by_count
    if not by then
        by = {}
        list.by_count = by
    end
    local c = by[n]
    if c then
        return c
    end
    c = {}
    for i = 1, #list do
        local r = list[i]
        local rs = r.segs
        local k = #rs
        if k == n and not (k > 0 and rs[k].kind == "splat") or (k > 0 and rs[k].kind == "splat" and n >= k - 1) then
            c[#c + 1] = r
        end
    end
    by[n] = c
    return c
end

local function match_list(list, segs, n)
    if not list then
        return nil
    end
    list = candidates(list, n)
    for i = 1, #list do
        local r = list[i]
        local params = match_segs(r, segs, n)
        if params then
            return r, params
        end
    end
    return nil
end

-- The host without port, lower-cased ("[::1]" keeps its brackets).
local function host_name(host)
    if byte(host, 1) == 91 then          -- "["
        local e = find(host, "]", 1, true)
        return lower(e and sub(host, 1, e) or host)
    end
    local c = find(host, ":", 1, true)
    if c then
        host = sub(host, 1, c - 1)
    end
    return lower(host)
end
M.host_name = host_name

-- Returns route, params for a request, or nil.
function M.match(method, path, host, t)
    t = t or active
    local exact = t.exact
    local m = exact[method]
    local r = m and m[path]
    if r then
        return r, {}
    end
    if method == "HEAD" then
        m = exact.GET
        r = m and m[path]
        if r then
            return r, {}
        end
    end
    m = exact["*"]
    r = m and m[path]
    if r then
        return r, {}
    end
    local pats = t.patterns
    local list, head_list, any_list = pats[method], method == "HEAD" and pats.GET or nil, pats["*"]
    if list or head_list or any_list then
        local segs, n = split(path)
        local params
        r, params = match_list(list, segs, n)
        if r then
            return r, params
        end
        r, params = match_list(head_list, segs, n)
        if r then
            return r, params
        end
        r, params = match_list(any_list, segs, n)
        if r then
            return r, params
        end
    end
    if type(host) == "string" and host ~= "" then
        local h = host_name(host)
        r = t.host_exact[h]
        if r then
            return r, { host = h }
        end
        local sufs = t.host_suffix
        for i = 1, #sufs do
            local s = sufs[i]
            local sl = #s.suffix
            if #h > sl and sub(h, -sl) == s.suffix then
                return s, { host = h, subdomain = sub(h, 1, #h - sl) }
            end
        end
        if t.host_any then
            return t.host_any, { host = h }
        end
    end
    return nil
end

-- "GET, HEAD, POST" when some other method has a route for `path`, else nil
-- (for a 405 instead of a 404).
function M.allowed(path, t)
    t = t or active
    local found = {}
    local segs, n
    for method in pairs(METHODS) do
        if method ~= "*" then
            local m = t.exact[method]
            local hit = m and m[path]
            if not hit and t.patterns[method] then
                if not segs then
                    segs, n = split(path)
                end
                hit = match_list(t.patterns[method], segs, n)
            end
            if hit then
                found[#found + 1] = method
                if method == "GET" then
                    found[#found + 1] = "HEAD"
                end
            end
        end
    end
    if #found == 0 then
        return nil
    end
    sort(found)
    local out, last = {}, nil
    for _, v in ipairs(found) do
        if v ~= last then
            out[#out + 1] = v
        end
        last = v
    end
    return concat(out, ", ")
end

-- Every route, for `wm routes`: { {method, pattern, role, source, line}, ... }
-- (a host route's pattern is "host:<pattern>").
function M.list(t)
    t = t or active
    local out = {}
    for key, r in pairs(t.keys) do
        out[#out + 1] = { method = r.method, pattern = r.host and ("host:" .. r.pattern) or r.pattern,
                          role = r.role, source = r.source, line = r.line, key = key }
    end
    sort(out, function(a, b) return a.key < b.key end)
    return out
end

-- The folders route files are loaded from (scripts/web first).
function M.configure(opts)
    if type(opts) ~= "table" or type(opts.dirs) ~= "table" then
        error("usage: router.configure{dirs = {...}}", 2)
    end
    dirs = {}
    for i, d in ipairs(opts.dirs) do
        dirs[i] = d
    end
end

function M.dirs()
    local out = {}
    for i, d in ipairs(dirs) do
        out[i] = d
    end
    return out
end

-- The route files, in load order.
function M.files()
    local list_dir = require("wm.core").list_dir
    local files = {}
    for _, d in ipairs(dirs) do
        local names = list_dir(d)
        if names then
            for _, name in ipairs(names) do
                if name:match("%.lua$") and sub(name, 1, 1) ~= "." then
                    files[#files + 1] = d .. "/" .. name
                end
            end
        end
    end
    return files
end

-- Loads every route file into a new table; swaps it in only when all of
-- them loaded. Returns true, or nil and the first error (file and line).
function M.rebuild()
    local t = new_table()
    local prev_building, prev_file = building, current_file
    building = t
    for _, f in ipairs(M.files()) do
        local chunk, err = loadfile(f)
        if not chunk then
            building, current_file = prev_building, prev_file
            return nil, err
        end
        current_file = f
        local ok, e = xpcall(chunk, traceback)
        if not ok then
            building, current_file = prev_building, prev_file
            return nil, tostring(e)
        end
    end
    -- Every route says who may call it; one that does not is refused
    -- rather than guessed (public would open it, viewer would close a site).
    for key, r in pairs(t.keys) do
        if not r.role then
            building, current_file = prev_building, prev_file
            return nil, ("%s:%s: %s declares no role: add { role = \"public\" } (no login) or the least of "
                .. "\"viewer\", \"editor\", \"admin\", \"super_admin\" as the route's options"):format(
                r.source, tostring(r.line or "?"), key)
        end
    end
    building, current_file = prev_building, prev_file
    active = t
    M.version = M.version + 1
    for _, fn in ipairs(on_change) do
        fn()
    end
    return true
end

-- A route table of its own, apart from the server's (provider fakes and
-- tests that serve with wm.core.httpd directly):
--   local rt = router.new(); rt.route("GET", "/x/:id", fn); rt.route_host(...)
--   local route, params = rt.match(method, path, host); rt.allowed(path)
function M.new()
    local t = new_table()
    local o = {}
    local function within(fn, ...)
        local prev = building
        building = t
        local ok, r = pcall(fn, ...)
        building = prev
        if not ok then
            error(r, 3)
        end
        return r
    end
    function o.route(method, pattern, handler, opts)
        return within(M.route, method, pattern, handler, opts)
    end
    function o.route_host(pattern, handler, opts)
        return within(M.route_host, pattern, handler, opts)
    end
    function o.match(method, path, host)
        return M.match(method, path, host, t)
    end
    function o.allowed(path)
        return M.allowed(path, t)
    end
    function o.list()
        return M.list(t)
    end
    return o
end

-- Replaces the active table with an empty one (tests, fuzzing).
function M.reset()
    active = new_table()
    M.version = M.version + 1
    for _, fn in ipairs(on_change) do
        fn()
    end
end

-- Calls fn() whenever the active table is replaced (answers kept on the
-- old routes must go: wm.http_server's cache).
function M.on_change(fn)
    on_change[#on_change + 1] = fn
end

return M
