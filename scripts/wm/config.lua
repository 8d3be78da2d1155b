-- Configuration: config/wm.lua holds the defaults, `--config FILE` merges an
-- operator's file over them, and every key can be overridden from the
-- environment as WM_<SECTION>_<KEY> (database.pool_size <- WM_DATABASE_POOL_SIZE).
-- Secrets (keys ending in api_key, secret, password or token) come only from
-- the environment; a file that sets one is refused.
--
-- The merged result is checked against config/schema.lua (types from the
-- defaults, ranges and formats from the rules): every problem is an error
-- naming the key, the value and where it came from. An unknown WM_* variable
-- is a warning naming the closest setting.
local M = {}

local type, pairs, ipairs, tostring, tonumber, next = type, pairs, ipairs, tostring, tonumber, next
local getenv = os.getenv

local function is_secret(key)
    return key:match("api_key$") or key:match("secret") or key:match("password$")
        or key:match("token$") or key:match("_key$")
end
M.is_secret = is_secret

local function env_name(path)
    return "WM_" .. path:upper():gsub("%.", "_")
end

local function join(path, k)
    return path and (path .. "." .. tostring(k)) or tostring(k)
end

local function is_list(t)
    return type(t) == "table" and t[1] ~= nil
end

-- A table whose keys are names (a section), as opposed to a list.
local function is_map(t)
    return type(t) == "table" and t[1] == nil and next(t) ~= nil
end

local function load_file(path)
    local chunk, err = loadfile(path)
    if not chunk then
        return nil, "config: " .. err
    end
    setfenv(chunk, setmetatable({}, { __index = _G }))
    local ok, t = pcall(chunk)
    if not ok then
        return nil, "config: " .. path .. ": " .. tostring(t)
    end
    if type(t) ~= "table" then
        return nil, "config: " .. path .. " must return a table"
    end
    return t
end

local function deep_copy(t)
    if type(t) ~= "table" then
        return t
    end
    local c = {}
    for k, v in pairs(t) do
        c[k] = deep_copy(v)
    end
    return c
end

-- ---- the schema ----

-- Levenshtein distance, for "did you mean".
local function distance(a, b)
    if a == b then
        return 0
    end
    local prev = {}
    for j = 0, #b do
        prev[j] = j
    end
    for i = 1, #a do
        local cur = { [0] = i }
        local ai = a:byte(i)
        for j = 1, #b do
            local cost = ai == b:byte(j) and 0 or 1
            cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        end
        prev = cur
    end
    return prev[#b]
end

local function closest(name, candidates)
    local best, bestd
    for _, c in ipairs(candidates) do
        local d = distance(name, c)
        if not bestd or d < bestd or (d == bestd and c < best) then
            best, bestd = c, d
        end
    end
    return best, bestd
end

-- Rules keyed by exact path, plus the wildcard ones as patterns.
local function compile_rules(rules)
    local exact, wild = {}, {}
    for path, rule in pairs(rules or {}) do
        if path:find("*", 1, true) then
            local pat = "^" .. path:gsub("%.", "%%."):gsub("%*", "[^.]+") .. "$"
            wild[#wild + 1] = { pat = pat, rule = rule, path = path }
        else
            exact[path] = rule
        end
    end
    table.sort(wild, function(a, b) return a.path < b.path end)
    return { exact = exact, wild = wild }
end

local function rule_for(schema, name)
    local r = schema.exact[name]
    if r then
        return r
    end
    for _, w in ipairs(schema.wild) do
        if name:match(w.pat) then
            return w.rule
        end
    end
    return nil
end

-- A table is open when its own rule says so or when "<path>.*" has a rule.
local function is_open(schema, name)
    local r = schema.exact[name]
    if r and r.open then
        return true
    end
    local prefix = name .. "."
    for _, w in ipairs(schema.wild) do
        local p = w.path
        if p:sub(1, #prefix) == prefix and not p:sub(#prefix + 1):find(".", 1, true) then
            return true
        end
    end
    return false
end

-- Every "section.key" of the defaults, for warnings and suggestions.
local function all_paths(t, path, out)
    out = out or {}
    for k, v in pairs(t) do
        if type(k) == "string" then
            local name = join(path, k)
            out[#out + 1] = name
            if is_map(v) then
                all_paths(v, name, out)
            end
        end
    end
    return out
end

-- ---- merging a file ----

local function secret_error(file, name)
    return ("config: %s sets the secret %s; secrets come only from the environment: set %s")
        :format(file, name, env_name(name))
end

-- Merges `over` into `base` (sections recursively, the rest replaced).
-- Keys that `base` lacks are an error (a typo should not pass silently),
-- except in an open table.
local function merge(base, over, path, source, sources, ctx)
    for k, v in pairs(over) do
        local name = join(path, k)
        local old = base[k]
        if type(v) ~= "table" and type(k) == "string" and is_secret(k) and v ~= "" and v ~= false
            and not source:match("^env ") then
            return nil, secret_error(source, name)
        end
        if old == nil and not ctx.open then
            local siblings = {}
            for sk in pairs(base) do
                if type(sk) == "string" then
                    siblings[#siblings + 1] = join(path, sk)
                end
            end
            local guess, d = closest(name, siblings)
            local hint = (guess and d <= math.max(2, math.floor(#name / 3))) and ("; did you mean %q?"):format(guess) or ""
            if path == nil then
                return nil, ("config: %s: unknown section %q%s (the operator's own settings go under "
                    .. "custom = { ... })"):format(source, name, hint)
            end
            return nil, ("config: %s: unknown key %q%s"):format(source, name, hint)
        end
        -- Into a table: a section, an empty default (an open table such as
        -- jobs.timeouts), or a new table inside an open one.
        local into = type(v) == "table" and not is_list(v) and (is_map(old)
            or (type(old) == "table" and next(old) == nil) or (old == nil and ctx.open))
        if into then
            if old == nil then
                base[k] = {}
            end
            local sub = { open = ctx.open or is_open(ctx.schema, name), schema = ctx.schema }
            local ok, err = merge(base[k], v, name, source, sources, sub)
            if not ok then
                return nil, err
            end
            if next(v) == nil then
                sources[name] = source
            end
        else
            base[k] = v
            sources[name] = source
        end
    end
    return true
end

-- ---- the environment ----

-- A variable's text as the default's type. A value that does not convert
-- stays a string, and the check names the expected type.
local function convert(raw, like)
    local t = type(like)
    if t == "number" then
        return tonumber(raw) or raw
    elseif t == "boolean" then
        local l = raw:lower()
        if l == "true" or l == "1" or l == "yes" or l == "on" then return true end
        if l == "false" or l == "0" or l == "no" or l == "off" then return false end
        return raw
    elseif t == "table" then
        local v, err = wm.json.decode(raw)
        if v == nil then
            return nil, "must be JSON (" .. tostring(err) .. ")"
        end
        return v
    end
    return raw
end

local function apply_env(t, path, sources, schema)
    local keys = {}
    for k in pairs(t) do
        if type(k) == "string" then
            keys[#keys + 1] = k
        end
    end
    table.sort(keys)
    for _, k in ipairs(keys) do
        local v = t[k]
        local name = join(path, k)
        local env = env_name(name)
        local raw = getenv(env)
        local r = rule_for(schema, name)
        if raw ~= nil and not (r and r.unchecked) then
            local val, err = convert(raw, v)
            if val == nil then
                return nil, ("config: %s %s (from env %s)"):format(name, err, env)
            end
            if is_map(v) and type(val) == "table" and not is_list(val) then
                -- A section from JSON merges like a file: unknown keys are
                -- errors, the rest keep their values.
                local ok, merr = merge(v, val, name, "env " .. env, sources,
                    { open = is_open(schema, name), schema = schema })
                if not ok then
                    return nil, merr
                end
            else
                t[k] = val
                sources[name] = "env " .. env
            end
        elseif is_map(v) then
            local ok, err = apply_env(v, name, sources, schema)
            if not ok then
                return nil, err
            end
        end
    end
    return true
end

-- The WM_* variables of this process (Linux: /proc/self/environ).
local function env_names()
    local f = io.open("/proc/self/environ", "rb")
    if not f then
        return {}
    end
    local s = f:read("*a") or ""
    f:close()
    local out = {}
    for entry in s:gmatch("[^%z]+") do
        local name = entry:match("^(WM_[^=]*)=")
        if name then
            out[#out + 1] = name
        end
    end
    table.sort(out)
    return out
end

-- Warnings for WM_* variables that name no setting: a typo in an override
-- would otherwise pass silently.
function M.unknown_env(cfg, names, environment)
    environment = environment or {}
    local known, candidates = {}, {}
    for _, p in ipairs(all_paths(cfg)) do
        local e = env_name(p)
        known[e] = p
        candidates[#candidates + 1] = e
    end
    for _, n in ipairs(environment.names or {}) do
        known[n] = true
    end
    local out = {}
    for _, n in ipairs(names) do
        local ok = known[n] ~= nil
        for _, p in ipairs(environment.prefixes or {}) do
            ok = ok or n:sub(1, #p) == p
        end
        if not ok then
            local guess = closest(n, candidates)
            out[#out + 1] = ("config: %s is not a setting (did you mean %s, %s?)")
                :format(n, guess, known[guess])
        end
    end
    return out
end

-- ---- checking ----

local function repr(v)
    if type(v) == "string" then
        return ("%q"):format(v)
    elseif type(v) == "table" then
        return is_list(v) and "a list" or "a table"
    end
    return tostring(v)
end

local function describe_number(r)
    local what = r.integer and "an integer" or "a number"
    if r.min and r.max then
        return ("%s from %s to %s"):format(what, tostring(r.min), tostring(r.max))
    elseif r.above then
        return ("%s > %s"):format(what, tostring(r.above))
    elseif r.min then
        return ("%s >= %s"):format(what, tostring(r.min))
    elseif r.max then
        return ("%s <= %s"):format(what, tostring(r.max))
    end
    return what
end

-- Providers a capability offers: providers/<capability>/*.lua in any
-- script folder (package.path order), for the enum check and its message.
local function provider_names(capability)
    local names, seen = {}, {}
    for entry in package.path:gmatch("[^;]+") do
        local dir = entry:match("^(.-)%?%.lua$")
        if dir and dir ~= "" then
            local list = wm.fs.list_dir(dir .. "providers/" .. capability)
            for _, f in ipairs(list or {}) do
                local n = f:match("^(.+)%.lua$")
                if n and not seen[n] then
                    seen[n] = true
                    names[#names + 1] = n
                end
            end
        end
    end
    table.sort(names)
    return names
end

-- nil when `v` is fine by rule `r` and the default `d`; else what it must be.
local function problem(v, d, r, name)
    r = r or {}
    local want = r.type or type(d)
    if want == "number" then
        local nr = r
        if not (r.min or r.max or r.above or r.integer) then
            nr = name:match("_bytes$") and { integer = true, min = 1 } or { min = 0 }
        end
        if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge
            or (nr.integer and v ~= math.floor(v)) or (nr.min and v < nr.min) or (nr.max and v > nr.max)
            or (nr.above and v <= nr.above) then
            return describe_number(nr)
        end
    elseif want == "boolean" then
        if type(v) ~= "boolean" then
            return "true or false"
        end
    elseif want == "string" then
        if r.provider then
            local capability = name:match("([^.]+)$")
            local names = provider_names(capability)
            local found = false
            for _, n in ipairs(names) do
                found = found or n == v
            end
            if not found then
                return ("one of %s (providers/%s/*.lua)"):format(table.concat(names, ", "), capability)
            end
            return nil
        end
        if type(v) ~= "string" then
            return "a string"
        end
        if r.enum then
            for _, e in ipairs(r.enum) do
                if v == e then
                    return nil
                end
            end
            local q = {}
            for i, e in ipairs(r.enum) do
                q[i] = ("%q"):format(e)
            end
            return "one of " .. table.concat(q, ", ")
        end
        if r.nonempty and v == "" then
            return "a non-empty string"
        end
        if r.match and not (r.empty_ok and v == "") and not v:match(r.match) then
            return r.desc or ("a string matching " .. r.match)
        end
        if r.check then
            local ok, desc = r.check(v)
            if not ok then
                return desc
            end
        end
    elseif want == "table" then
        if type(v) ~= "table" then
            return is_list(d) and "a list" or "a table"
        end
        if is_list(d) then
            if next(v) ~= nil and not is_list(v) then
                return "a list"
            end
            for i = 1, #v do
                if type(v[i]) ~= type(d[1]) then
                    return "a list of " .. type(d[1]) .. "s"
                end
            end
        end
    end
    return nil
end

-- Where `name`'s value came from: itself, else the nearest table set whole.
local function source_of(sources, name)
    local n = name
    while n do
        if sources[n] then
            return sources[n]
        end
        n = n:match("^(.*)%.[^.]*$")
    end
    return "the defaults; config/schema.lua has the rules"
end

local function check(defaults, cfg, path, sources, schema, errors)
    local keys = {}
    for k in pairs(cfg) do
        keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
        local v = cfg[k]
        local name = join(path, k)
        local d = defaults and defaults[k]
        if d == nil and type(defaults) == "table" then
            -- A new key in an open table: its type is its siblings'.
            local _, sibling = next(defaults)
            d = sibling
        end
        local r = rule_for(schema, name)
        if r and r.unchecked then
            -- the operator's own settings
        elseif is_map(d) or (type(d) == "table" and next(d) == nil and type(v) == "table" and not is_list(v)) then
            if type(v) ~= "table" or is_list(v) then
                errors[#errors + 1] = ("config: %s must be a table (got %s from %s)")
                    :format(name, repr(v), source_of(sources, name))
            else
                check(d, v, name, sources, schema, errors)
            end
        elseif r and r.provider and sources[name] == nil then
            -- A default names a provider the project ships; checking it
            -- here would stop every command while one is being written.
        else
            local want = problem(v, d, r, name)
            if want then
                errors[#errors + 1] = ("config: %s must be %s (got %s from %s)")
                    :format(name, want, repr(v), source_of(sources, name))
            end
        end
    end
end

-- ---- public addresses ----

-- The address links and sites are reached at, from the listen address:
-- a wildcard host means this machine's loopback.
local function url_host_port(listen)
    local host, port = tostring(listen):match("^%[([^%]]+)%]:(%d+)$")
    if not host then
        host, port = tostring(listen):match("^([^:]*):(%d+)$")
    end
    if not host then
        host, port = "", tostring(listen):match("^(%d+)$")
    end
    if host == "" or host == "0.0.0.0" or host == "*" then
        host = "127.0.0.1"
    elseif host == "::" then
        host = "::1"
    end
    if host:find(":", 1, true) then
        host = "[" .. host .. "]"
    end
    return host, tonumber(port) or 80
end

-- Fills sites.base_url and sites.site_url_pattern when they are empty (not
-- configured): tracking and unsubscribe links at http://<http.listen>, and
-- each site at http://<subdomain>.<http.sites_domain>:<port>/. The one
-- place that computes them; `wm serve --listen` calls it again through
-- M.follow_listen once it knows its address.
local function derive_urls(cfg, derived)
    local sites, http = cfg.sites, cfg.http
    if type(sites) ~= "table" or type(http) ~= "table" then
        return
    end
    local host, port = url_host_port(http.listen)
    local suffix = port == 80 and "" or (":" .. port)
    if derived.base_url or sites.base_url == "" then
        derived.base_url = true
        sites.base_url = "http://" .. host .. suffix
    end
    if derived.site_url_pattern or sites.site_url_pattern == "" then
        derived.site_url_pattern = true
        local domain = tostring(http.sites_domain or "localhost"):gsub("%%", "%%%%")
        sites.site_url_pattern = "http://%s." .. domain .. suffix .. "/"
    end
end

-- After `wm serve` binds: http.listen becomes the real address (port 0
-- resolved), and the derived addresses follow it.
function M.follow_listen(cfg, listen, source)
    local meta = getmetatable(cfg)
    local hidden = meta and meta.__index or {}
    cfg.http.listen = listen
    if hidden.__sources then
        hidden.__sources["http.listen"] = source or "--listen"
    end
    derive_urls(cfg, hidden.__derived or {})
end

-- ---- loading ----

-- Returns the merged, checked configuration, with `__sources` (key -> where
-- its value came from) hidden behind a metatable; or nil, errors (one per
-- line). `opts.environ`: the WM_* names to check (default: this process's).
function M.load(root, file, opts)
    opts = opts or {}
    local defaults, err = load_file(root .. "/config/wm.lua")
    if not defaults then
        return nil, err
    end
    local schema_def
    schema_def, err = load_file(root .. "/config/schema.lua")
    if not schema_def then
        return nil, err
    end
    local schema = compile_rules(schema_def.rules)
    local cfg = deep_copy(defaults)
    local sources = {}
    if file then
        local over
        over, err = load_file(file)
        if not over then
            return nil, err
        end
        local ok
        ok, err = merge(cfg, over, nil, file, sources, { open = false, schema = schema })
        if not ok then
            return nil, err
        end
    end
    local ok
    ok, err = apply_env(cfg, nil, sources, schema)
    if not ok then
        return nil, err
    end
    local errors = {}
    check(defaults, cfg, nil, sources, schema, errors)
    if #errors > 0 then
        return nil, table.concat(errors, "\n")
    end
    -- Relative paths are relative to the project root.
    for k, v in pairs(cfg.paths or {}) do
        if type(v) == "string" and v ~= "" and v:sub(1, 1) ~= "/" then
            cfg.paths[k] = root .. "/" .. v
        end
    end
    local derived = {}
    derive_urls(cfg, derived)
    for k in pairs(derived) do
        sources["sites." .. k] = "from http.listen"
    end
    local warnings = M.unknown_env(cfg, opts.environ or env_names(), schema_def.environment)
    if not opts.quiet and rawget(_G, "wm") and wm.log then
        for _, w in ipairs(warnings) do
            wm.log.warn(w)
        end
    end
    return setmetatable(cfg, { __index = { __sources = sources, __derived = derived, __warnings = warnings } })
end

-- ---- showing ----

-- A URL with its password masked whole: the userinfo ends at the last "@"
-- before the path, so a password holding "@" or ":" is hidden entirely.
local function mask_url(v)
    return (v:gsub("(%a[%w+.-]*://)([^/?#]*)", function(scheme, authority)
        local at
        for i = #authority, 1, -1 do
            if authority:sub(i, i) == "@" then
                at = i
                break
            end
        end
        if not at then
            return scheme .. authority
        end
        local userinfo, hostpart = authority:sub(1, at - 1), authority:sub(at + 1)
        local user = userinfo:match("^([^:]*):")
        if not user then
            return scheme .. authority
        end
        return scheme .. user .. ":****@" .. hostpart
    end))
end

local function mask(key, v)
    if type(v) ~= "string" or v == "" then
        return v
    end
    if is_secret(key) then
        return "****"
    end
    -- A password inside a URL or a conninfo string (quoted or not).
    v = mask_url(v)
    v = v:gsub("(password%s*=%s*)'[^']*'", "%1****")
    v = v:gsub("(password%s*=%s*)([^'%s][^%s]*)", "%1****")
    return v
end
M.mask = mask

-- Lines "section.key = value  # source", sorted, secrets masked.
function M.dump(cfg)
    local lines = {}
    local sources = cfg.__sources or {}
    local function walk(t, path)
        local keys = {}
        for k in pairs(t) do
            keys[#keys + 1] = k
        end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        for _, k in ipairs(keys) do
            local v = t[k]
            local name = path and (path .. "." .. tostring(k)) or tostring(k)
            if type(v) == "table" and not v[1] and next(v) ~= nil then
                walk(v, name)
            else
                local shown
                if type(v) == "table" then
                    shown = wm.json.encode(v)
                elseif type(v) == "string" then
                    shown = ("%q"):format(mask(tostring(k), v))
                else
                    shown = tostring(v)
                end
                local src = sources[name]
                lines[#lines + 1] = name .. " = " .. shown .. (src and ("    # " .. src) or "")
            end
        end
    end
    walk(cfg, nil)
    return table.concat(lines, "\n")
end

return M
