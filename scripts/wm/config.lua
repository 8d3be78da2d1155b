-- Configuration: config/wm.lua holds the defaults, `--config FILE` merges an
-- operator's file over them, and every key can be overridden from the
-- environment as WM_<SECTION>_<KEY> (database.pool_size <- WM_DATABASE_POOL_SIZE).
-- Secrets (keys ending in api_key, secret, password or token) come only from
-- the environment; a file that sets one is refused.
local M = {}

local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local getenv = os.getenv

local function is_secret(key)
    return key:match("api_key$") or key:match("secret") or key:match("password$")
        or key:match("token$") or key:match("_key$")
end
M.is_secret = is_secret

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

-- Merges `over` into `base` (tables recursively, the rest replaced). Keys in
-- `over` that `base` lacks are an error: a typo should not pass silently.
local function merge(base, over, path, file, sources, open)
    for k, v in pairs(over) do
        local name = path and (path .. "." .. k) or k
        local old = base[k]
        -- A new top-level section is the operator's own (custom stages);
        -- inside a known section, an unknown key is most likely a typo.
        local new_section = path == nil and old == nil and type(v) == "table"
        if type(v) ~= "table" and is_secret(tostring(k)) and v ~= "" and v ~= false then
            local env = "WM_" .. name:upper():gsub("%.", "_")
            return nil, ("config: %s sets the secret %s; secrets come only from the environment: set %s")
                :format(file, name, env)
        end
        if old == nil and not new_section and not open then
            return nil, ("config: %s: unknown key %q"):format(file, name)
        end
        if type(v) == "table" and not v[1] and (type(old) == "table" or new_section) then
            if new_section then
                base[k] = {}
            end
            local ok, err = merge(base[k], v, name, file, sources, open or new_section)
            if not ok then
                return nil, err
            end
        else
            if is_secret(tostring(k)) and v ~= "" and v ~= false then
                local env = "WM_" .. name:upper():gsub("%.", "_")
                return nil, ("config: %s sets the secret %s; secrets come only from the environment: set %s")
                    :format(file, name, env)
            end
            base[k] = v
            sources[name] = file
        end
    end
    return true
end

local function convert(raw, like, name)
    local t = type(like)
    if t == "number" then
        local n = tonumber(raw)
        if not n then
            return nil, ("config: %s must be a number (got %q)"):format(name, raw)
        end
        return n
    elseif t == "boolean" then
        local l = raw:lower()
        if l == "true" or l == "1" or l == "yes" or l == "on" then return true end
        if l == "false" or l == "0" or l == "no" or l == "off" then return false end
        return nil, ("config: %s must be true or false (got %q)"):format(name, raw)
    elseif t == "table" then
        local v, err = wm.json.decode(raw)
        if v == nil then
            return nil, ("config: %s must be JSON (%s)"):format(name, err)
        end
        return v
    end
    return raw
end

local function apply_env(t, path, sources)
    for k, v in pairs(t) do
        if type(k) == "string" then
            local name = path and (path .. "." .. k) or k
            local env = "WM_" .. name:upper():gsub("%.", "_")
            local raw = getenv(env)
            if raw ~= nil then
                local val, err = convert(raw, v, name)
                if val == nil then
                    return nil, err .. " in " .. env
                end
                t[k] = val
                sources[name] = "env " .. env
            elseif type(v) == "table" and not v[1] and next(v) ~= nil then
                local ok, err = apply_env(v, name, sources)
                if not ok then
                    return nil, err
                end
            end
        end
    end
    return true
end

-- Returns the merged configuration, with a `__sources` map (key -> where
-- its value came from) hidden behind a metatable.
function M.load(root, file)
    local defaults, err = load_file(root .. "/config/wm.lua")
    if not defaults then
        return nil, err
    end
    local sources = {}
    if file then
        local over
        over, err = load_file(file)
        if not over then
            return nil, err
        end
        local ok
        ok, err = merge(defaults, over, nil, file, sources)
        if not ok then
            return nil, err
        end
    end
    local ok
    ok, err = apply_env(defaults, nil, sources)
    if not ok then
        return nil, err
    end
    -- Relative paths are relative to the project root.
    for k, v in pairs(defaults.paths or {}) do
        if type(v) == "string" and v ~= "" and v:sub(1, 1) ~= "/" then
            defaults.paths[k] = root .. "/" .. v
        end
    end
    return setmetatable(defaults, { __index = { __sources = sources } })
end

local function mask(key, v)
    if type(v) ~= "string" or v == "" then
        return v
    end
    if is_secret(key) then
        return "****"
    end
    -- A password inside a URL or a conninfo string.
    v = v:gsub("(://[^:/@]*:)[^@]*@", "%1****@")
    v = v:gsub("(password%s*=%s*)%S+", "%1****")
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
