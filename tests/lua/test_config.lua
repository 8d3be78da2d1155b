-- Configuration: defaults, an operator file merged over them, environment
-- overrides, secrets only from the environment, masking in `wm config`.
local T = {}

local function wm_config(t, env, config_file)
    local argv = { os.getenv("WM_TEST_WM") }
    if config_file then
        argv[#argv + 1] = "--config"
        argv[#argv + 1] = config_file
    end
    argv[#argv + 1] = "config"
    env = env or {}
    env.WM_DATABASE_URL = env.WM_DATABASE_URL or ""
    return assert(wm.exec { argv = argv, env = env })
end

local function value(out, key)
    return out:match("\n" .. key:gsub("%.", "%%.") .. " = ([^\n]-)%s*#") or
           out:match("\n" .. key:gsub("%.", "%%.") .. " = ([^\n]+)")
end

local function write(t, text)
    local path = t.tmpdir() .. "/op.lua"
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
    return path
end

function T.defaults(t)
    local r = wm_config(t)
    t.eq(r.code, 0, r.stderr)
    t.eq(value("\n" .. r.stdout, "database.pool_size"), "8")
    t.eq(value("\n" .. r.stdout, "log.access"), "true")
end

function T.file_merges_over_defaults(t)
    local path = write(t, 'return { database = { pool_size = 3 }, http = { listen = "127.0.0.1:9999" } }')
    local r = wm_config(t, {}, path)
    t.eq(r.code, 0, r.stderr)
    local out = "\n" .. r.stdout
    t.eq(value(out, "database.pool_size"), "3")
    t.eq(value(out, "database.connect_timeout"), "5", "untouched keys keep their defaults")
    t.eq(value(out, "http.listen"), '"127.0.0.1:9999"')
    t.match(out, "database.pool_size = 3%s+# " .. path:gsub("%p", "%%%0"))
end

function T.env_overrides_file_and_defaults(t)
    local path = write(t, "return { database = { pool_size = 3 } }")
    local r = wm_config(t, { WM_DATABASE_POOL_SIZE = "16", WM_LOG_ACCESS = "false" }, path)
    t.eq(r.code, 0, r.stderr)
    local out = "\n" .. r.stdout
    t.eq(value(out, "database.pool_size"), "16")
    t.eq(value(out, "log.access"), "false")
    t.match(out, "# env WM_DATABASE_POOL_SIZE")
end

function T.bad_env_value_is_a_clear_error(t)
    local r = wm_config(t, { WM_DATABASE_POOL_SIZE = "lots" })
    t.eq(r.code, 1)
    t.match(r.stderr, "database.pool_size must be a number")
    t.match(r.stderr, "WM_DATABASE_POOL_SIZE")
end

function T.unknown_key_in_file_is_refused(t)
    local path = write(t, "return { database = { pool_sise = 3 } }")
    local r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, 'unknown key "database.pool_sise"')
end

function T.secrets_only_from_the_environment(t)
    local path = write(t, 'return { mail = { api_key = "sk-live-123" } }')
    local r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, "secret mail.api_key")
    t.match(r.stderr, "WM_MAIL_API_KEY")
end

function T.passwords_are_masked(t)
    local r = wm_config(t, { WM_DATABASE_URL = "postgres://app:hunter2@db.example:5432/wm" })
    t.eq(r.code, 0, r.stderr)
    t.ok(not r.stdout:find("hunter2", 1, true), "the password is not printed")
    t.match(r.stdout, "app:%*%*%*%*@db.example")
end

function T.broken_config_file_says_where(t)
    local path = write(t, "return { database = { pool_size = }")
    local r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, "op.lua:1:")
end

return T
