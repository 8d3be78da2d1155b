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
    t.match(r.stderr, 'database%.pool_size must be an integer from 1 to 1000 %(got "lots" from env WM_DATABASE_POOL_SIZE%)')
end

function T.types_and_ranges_in_a_file_are_errors_naming_key_value_and_file(t)
    local path = write(t, 'return { http = { max_body_bytes = -5, workers = "many", listen = "nowhere" } }')
    local r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    local file = path:gsub("%p", "%%%0")
    t.match(r.stderr, "config: http%.max_body_bytes must be an integer >= 1 %(got %-5 from " .. file .. "%)")
    t.match(r.stderr, 'config: http%.workers must be an integer from 1 to 1024 %(got "many" from ' .. file .. "%)")
    t.match(r.stderr, 'http%.listen must be HOST:PORT')
    t.eq(r.stdout, "", "nothing printed as if the configuration were fine")
end

function T.environment_values_are_checked_like_the_file(t)
    local r = wm_config(t, { WM_HTTP_WORKERS = "many" })
    t.eq(r.code, 1)
    t.match(r.stderr, 'http%.workers must be an integer from 1 to 1024 %(got "many" from env WM_HTTP_WORKERS%)')
    r = wm_config(t, { WM_LOG_ACCESS = "maybe" })
    t.eq(r.code, 1)
    t.match(r.stderr, 'log%.access must be true or false %(got "maybe" from env WM_LOG_ACCESS%)')
    r = wm_config(t, { WM_QUALIFY_MIN_RATING = "7" })
    t.eq(r.code, 1)
    t.match(r.stderr, "qualify%.min_rating must be a number from 0 to 5")
end

function T.enums_name_the_choices(t)
    local path = write(t, 'return { log = { level = "loud" }, providers = { llm = "gpt" } }')
    local r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, 'log%.level must be one of "debug", "info", "warn", "error" %(got "loud"')
    t.match(r.stderr, 'providers%.llm must be one of [^\n]*offline[^\n]*%(got "gpt"')
end

function T.unknown_section_is_refused_with_a_suggestion(t)
    local path = write(t, "return { htttp = { workers = 2 } }")
    local r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, 'unknown section "htttp"; did you mean "http"%?')
    t.match(r.stderr, "custom = ")
end

function T.open_tables_take_new_keys_of_the_right_type(t)
    local path = write(t, 'return { jobs = { concurrency = { scrape = 2 }, timeouts = { scrape = 60 } }, '
        .. 'custom = { mystage = { url = "http://x", n = -1 } } }')
    local r = wm_config(t, {}, path)
    t.eq(r.code, 0, r.stderr)
    local out = "\n" .. r.stdout
    t.eq(value(out, "jobs.concurrency.scrape"), "2")
    t.eq(value(out, "jobs.timeouts.scrape"), "60")
    t.eq(value(out, "custom.mystage.n"), "-1", "custom settings are the operator's own")
    path = write(t, 'return { jobs = { concurrency = { scrape = "lots" } } }')
    r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, 'jobs%.concurrency%.scrape must be an integer >= 0 %(got "lots"')
end

function T.lists_are_replaced_whole_and_checked(t)
    local path = write(t, 'return { qualify = { countries = { "US", "CA" } } }')
    local r = wm_config(t, {}, path)
    t.eq(r.code, 0, r.stderr)
    t.eq(value("\n" .. r.stdout, "qualify.countries"), '["US","CA"]')
    path = write(t, 'return { qualify = { countries = { 1 } } }')
    r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, "qualify%.countries must be a list of strings")
end

function T.unknown_wm_variable_is_a_warning_naming_the_closest_key(t)
    local r = wm_config(t, { WM_HTTP_WORKER = "3", WM_TEST_ANYTHING = "1", WM_ANTHROPIC_API_KEY = "x",
                             WM_SCRIPTS_PATH = "/nonexistent" })
    t.eq(r.code, 0, r.stderr)
    t.match(r.stderr, "WM_HTTP_WORKER is not a setting %(did you mean WM_HTTP_WORKERS, http%.workers%?%)")
    t.no_match(r.stderr, "WM_TEST_ANYTHING", "test variables are known")
    t.no_match(r.stderr, "WM_ANTHROPIC_API_KEY", "secrets are settings")
    t.no_match(r.stderr, "WM_SCRIPTS_PATH", "documented host variables are known")
end

function T.schema_rules_name_keys_that_exist(t)
    local schema = assert(loadfile(wm.root .. "/config/schema.lua"))()
    local defaults = assert(loadfile(wm.root .. "/config/wm.lua"))()
    for path in pairs(schema.rules) do
        local node = defaults
        for part in path:gmatch("[^.]+") do
            if part == "*" then
                break
            end
            t.ok(type(node) == "table" and node[part] ~= nil, "config/wm.lua has " .. path)
            node = node[part]
        end
    end
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

function T.a_password_holding_at_signs_is_masked_whole(t)
    local config = require "wm.config"
    t.eq(config.mask("url", "postgres://u:p@ss@host/db"), "postgres://u:****@host/db")
    t.eq(config.mask("url", "postgres://u:a:b@c@host:5432/db?sslmode=require"),
        "postgres://u:****@host:5432/db?sslmode=require")
    t.eq(config.mask("url", "postgres://u@host/db"), "postgres://u@host/db", "no password, nothing to hide")
    t.eq(config.mask("url", "host=h password='a b@c' dbname=d"), "host=h password=**** dbname=d")
    local r = wm_config(t, { WM_DATABASE_URL = "postgres://u:p@ss@host/db" })
    t.eq(r.code, 0, r.stderr)
    t.no_match(r.stdout, "ss@host", "no piece of the password is printed")
end

function T.base_url_follows_the_listen_address_unless_configured(t)
    local r = wm_config(t, { WM_HTTP_LISTEN = "127.0.0.1:8090" })
    t.eq(r.code, 0, r.stderr)
    local out = "\n" .. r.stdout
    t.eq(value(out, "sites.base_url"), '"http://127.0.0.1:8090"')
    t.eq(value(out, "sites.site_url_pattern"), '"http://%s.localhost:8090/"')
    t.match(out, "sites%.base_url = [^\n]*# from http%.listen")
    r = wm_config(t, { WM_HTTP_LISTEN = "0.0.0.0:80", WM_HTTP_SITES_DOMAIN = "example.org" })
    out = "\n" .. r.stdout
    t.eq(value(out, "sites.base_url"), '"http://127.0.0.1"')
    t.eq(value(out, "sites.site_url_pattern"), '"http://%s.example.org/"')
    local path = write(t, 'return { sites = { base_url = "https://go.example.com" } }')
    r = wm_config(t, { WM_HTTP_LISTEN = "127.0.0.1:8090" }, path)
    out = "\n" .. r.stdout
    t.eq(value(out, "sites.base_url"), '"https://go.example.com"', "a configured address stays")
    t.eq(value(out, "sites.site_url_pattern"), '"http://%s.localhost:8090/"')
end

function T.serve_moves_derived_addresses_to_the_bound_one(t)
    local config = require "wm.config"
    local cfg = assert(config.load(wm.root, nil, { environ = {} }))
    t.eq(cfg.__sources["sites.base_url"], "from http.listen", "derived at load")
    config.follow_listen(cfg, "127.0.0.1:18499")
    t.eq(cfg.sites.base_url, "http://127.0.0.1:18499")
    t.eq(cfg.sites.site_url_pattern, "http://%s.localhost:18499/")
    t.eq(cfg.http.listen, "127.0.0.1:18499")
    t.eq(cfg.__sources["http.listen"], "--listen")
end

function T.broken_config_file_says_where(t)
    local path = write(t, "return { database = { pool_size = }")
    local r = wm_config(t, {}, path)
    t.eq(r.code, 1)
    t.match(r.stderr, "op.lua:1:")
end

return T
