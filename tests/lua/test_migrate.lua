-- wm migrate on a fresh database: applies everything in order, a re-run is
-- a no-op, a changed applied migration is refused, a failing one leaves
-- nothing behind.
local migrate = require "wm.migrate"
local T = {}

-- Every test starts from an empty database.
local function copy_migrations(t)
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    local dir = t.tmpdir()
    assert(wm.exec { argv = { "sh", "-c", "cp " .. wm.config.paths.migrations .. "/*.sql " .. dir } })
    return dir
end

local function count_tables()
    return assert(wm.db.one([[SELECT count(*) AS n FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name <> 'schema_migrations']])).n
end

function T.fresh_then_rerun_is_a_noop(t)
    local dir = copy_migrations(t)
    local files = assert(migrate.files(dir))
    t.ok(#files >= 3)
    local n = assert(migrate.up(dir))
    t.eq(n, #files)
    t.ok(count_tables() >= 13, "the seed's 13 tables exist")
    local again = assert(migrate.up(dir))
    t.eq(again, 0)
    local rows = assert(wm.db.query("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"))
    t.eq(#rows, #files)
    for i, f in ipairs(files) do
        t.eq(rows[i].version, f.version)
        t.eq(rows[i].name, f.name)
        t.eq(rows[i].checksum, f.checksum)
    end
    for _, s in ipairs(assert(migrate.status(dir))) do
        t.eq(s.state, "applied")
    end
end

function T.seed_common_queries_run_unchanged(t)
    local dir = copy_migrations(t)
    assert(migrate.up(dir))
    local f = assert(io.open(wm.root .. "/tests/schema/seed_queries.sql"))
    local sql = f:read("*a")
    f:close()
    local n = 0
    for stmt in sql:gmatch("([^;]+);") do
        local body = stmt:gsub("%-%-[^\n]*", ""):gsub("^%s+", "")
        if body ~= "" then
            local rows, err = wm.db.query(body)
            t.ok(rows, "query failed: " .. tostring(err) .. "\n" .. body)
            n = n + 1
        end
    end
    t.eq(n, 4)
end

function T.tampered_checksum_is_refused(t)
    local dir = copy_migrations(t)
    assert(migrate.up(dir))
    local files = assert(migrate.files(dir))
    local f = assert(io.open(dir .. "/" .. files[1].file, "a"))
    f:write("\n-- an edit after the fact\n")
    f:close()
    local n, err = migrate.up(dir)
    t.eq(n, nil)
    t.match(err, files[1].file .. " was changed after it was applied")
    local st = assert(migrate.status(dir))
    t.eq(st[1].state, "changed")
end

function T.failing_migration_keeps_nothing(t)
    local dir = copy_migrations(t)
    assert(migrate.up(dir))
    local f = assert(io.open(dir .. "/900_broken.sql", "w"))
    f:write("CREATE TABLE half_done (v int);\nSELECT no_such_function();\n")
    f:close()
    local n, err = migrate.up(dir)
    t.eq(n, nil)
    t.match(err, "900_broken.sql")
    t.eq(#assert(wm.db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'")), 0)
    t.eq(#assert(wm.db.query("SELECT 1 FROM schema_migrations WHERE version = 900")), 0)
end

function T.concurrent_migrators_apply_once(t)
    local dir = copy_migrations(t)
    local tasks = {}
    for i = 1, 3 do
        tasks[i] = wm.spawn(function() return migrate.up(dir) end)
    end
    local total = 0
    for i = 1, 3 do
        local ok, n, err = tasks[i]:wait()
        t.eq(ok, true)
        t.ok(n, err)
        total = total + n
    end
    t.eq(total, #assert(migrate.files(dir)))
end

return T
