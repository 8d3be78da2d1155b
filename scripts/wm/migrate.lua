-- Migrations: paths.migrations/NNN_name.sql, applied in order, each in its
-- own transaction together with its row in schema_migrations (version, name,
-- checksum, applied_at). A migration whose file changed after it was applied
-- stops everything with an error: write a new migration instead.
local M = {}

local LOCK_ID = 7031720   -- advisory lock: one host migrates at a time

local BOOKKEEPING = [[
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)]]

local function read_file(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local s = f:read("*a")
    f:close()
    return s
end

-- The migration files, sorted by version: { {version=, name=, file=, sql=, checksum=} }
function M.files(dir)
    dir = dir or wm.config.paths.migrations
    local names, err = wm.fs.list_dir(dir)
    if not names then
        return nil, "cannot read migrations: " .. err
    end
    local list, seen = {}, {}
    for _, f in ipairs(names) do
        local v, name = f:match("^(%d+)_([%w_%-]+)%.sql$")
        if v then
            local version = tonumber(v)
            if seen[version] then
                return nil, ("two migrations have version %d: %s and %s"):format(version, seen[version], f)
            end
            seen[version] = f
            local sql, rerr = read_file(dir .. "/" .. f)
            if not sql then
                return nil, rerr
            end
            list[#list + 1] = { version = version, name = name, file = f, sql = sql,
                                checksum = wm.crypto.sha256_hex(sql) }
        end
    end
    table.sort(list, function(a, b) return a.version < b.version end)
    return list
end

local function applied_rows()
    -- Under the lock: two hosts creating the table at once would collide.
    local ok, err = wm.db.tx(function(q)
        assert(q:query("SELECT pg_advisory_xact_lock($1)", LOCK_ID))
        assert(q:query(BOOKKEEPING))
    end)
    if not ok then
        return nil, err
    end
    local rows
    rows, err = wm.db.query("SELECT version, name, checksum, applied_at::text AS applied_at "
        .. "FROM schema_migrations ORDER BY version")
    if not rows then
        return nil, err
    end
    local by = {}
    for _, r in ipairs(rows) do
        by[r.version] = r
    end
    return by, rows
end

-- Checks applied migrations against the files. Returns list, applied | nil, err.
local function check(dir)
    local list, err = M.files(dir)
    if not list then
        return nil, err
    end
    local applied
    applied, err = applied_rows()
    if not applied then
        return nil, err
    end
    for _, m in ipairs(list) do
        local a = applied[m.version]
        if a and a.checksum ~= m.checksum then
            return nil, ("migration %s was changed after it was applied (checksum %s, applied %s): "
                .. "restore the file and put the change in a new migration"):format(
                m.file, m.checksum:sub(1, 12), a.checksum:sub(1, 12))
        end
    end
    return list, applied
end

-- Applies what is pending. Returns the number applied | nil, err.
function M.up(dir, progress)
    local list, applied = check(dir)
    if not list then
        return nil, applied
    end
    local n = 0
    for _, m in ipairs(list) do
        if not applied[m.version] then
            local t0 = wm.monotonic()
            local res, err = wm.db.tx(function(q)
                assert(q:query("SELECT pg_advisory_xact_lock($1)", LOCK_ID))
                -- Another host may have applied it while we waited.
                local done = assert(q:query("SELECT checksum FROM schema_migrations WHERE version = $1", m.version))
                if done[1] then
                    return "skipped"
                end
                local ok, serr = q:script(m.sql)
                if not ok then
                    error(m.file .. ": " .. serr, 0)
                end
                assert(q:query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                               m.version, m.name, m.checksum))
                return "applied"
            end)
            if not res then
                return nil, "migration failed, nothing of it was kept: " .. tostring(err)
            end
            if res == "applied" then
                n = n + 1
                if progress then
                    progress(m, wm.monotonic() - t0)
                end
            end
        end
    end
    return n
end

-- Rows for `wm migrate status`: { {version, name, state="applied"|"pending"|"changed", applied_at} }
function M.status(dir)
    local list, err = M.files(dir)
    if not list then
        return nil, err
    end
    local applied
    applied, err = applied_rows()
    if not applied then
        return nil, err
    end
    local out = {}
    local known = {}
    for _, m in ipairs(list) do
        known[m.version] = true
        local a = applied[m.version]
        local state = not a and "pending" or (a.checksum ~= m.checksum and "changed" or "applied")
        out[#out + 1] = { version = m.version, name = m.name, file = m.file, state = state,
                          applied_at = a and a.applied_at or nil }
    end
    for v, a in pairs(applied) do
        if not known[v] then
            out[#out + 1] = { version = v, name = a.name, state = "missing file", applied_at = a.applied_at }
        end
    end
    table.sort(out, function(a, b) return a.version < b.version end)
    return out
end

return M
