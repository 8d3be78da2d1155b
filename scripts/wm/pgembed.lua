-- The embedded PostgreSQL cluster: used when database.url is empty. It lives
-- under paths.var/pg (data in pg/data, the socket in pg/run), listens on no
-- TCP port, and is started on demand by the first query. As root, the server
-- runs as the `postgres` user, because initdb refuses to run as root; when
-- that user cannot reach paths.var (a checkout under /root, mode 700), the
-- cluster moves to /var/lib/wm/<id> and says so.
local M = {}

local DBNAME, DBUSER = "wm", "wm"

local function sh_ok(argv, timeout)
    local r, err = wm.exec { argv = argv, timeout = timeout or 60 }
    if not r then
        return nil, err
    end
    if r.code ~= 0 then
        return nil, (r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")
    end
    return r
end

local function is_root()
    return wm.sys.getuid() == 0
end

function M.bindir()
    local dir = wm.config.database.pg_bin
    if dir and dir ~= "" then
        return dir
    end
    local versions = wm.fs.list_dir("/usr/lib/postgresql") or {}
    table.sort(versions, function(a, b) return (tonumber(a) or 0) > (tonumber(b) or 0) end)
    for _, v in ipairs(versions) do
        local d = "/usr/lib/postgresql/" .. v .. "/bin"
        if wm.fs.stat(d .. "/initdb") then
            return d
        end
    end
    return nil, "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)"
end

-- Runs a server binary, as `postgres` when we are root.
local function pg_cmd(bin, args, timeout)
    local dir, err = M.bindir()
    if not dir then
        return nil, err
    end
    local argv = {}
    if is_root() then
        argv = { "runuser", "-u", "postgres", "--" }
    end
    argv[#argv + 1] = dir .. "/" .. bin
    for _, a in ipairs(args) do
        argv[#argv + 1] = a
    end
    return sh_ok(argv, timeout)
end

-- Where the cluster lives. Returns base, note (note explains a move).
local location
function M.location()
    if location then
        return location.base, location.note
    end
    local var = wm.config.paths.var
    local base = var .. "/pg"
    local note
    if is_root() then
        wm.fs.mkdir_p(var)
        -- The server only needs to get through var/ to its own pg/ folder
        -- (created here and handed to postgres).
        local ok = sh_ok({ "runuser", "-u", "postgres", "--", "test", "-x", var }, 10)
        if not ok then
            -- Keep one cluster per checkout: the id is a hash of the var path.
            local id = wm.crypto.sha256_hex(var):sub(1, 12)
            base = "/var/lib/wm/" .. id
            note = ("%s is not reachable by the postgres user (a parent folder such as /root is "
                .. "private), so the embedded cluster lives at %s instead"):format(var, base)
        end
    end
    -- A unix socket path is limited to 107 bytes.
    if #(base .. "/run/.s.PGSQL.5432") > 100 then
        local id = wm.crypto.sha256_hex(base):sub(1, 12)
        local moved = "/tmp/wm-pg-" .. id
        note = (note and note .. "; " or "") .. ("the socket path under %s is too long, using %s"):format(base, moved)
        base = moved
    end
    location = { base = base, note = note }
    return base, note
end

local function paths()
    local base = M.location()
    return base .. "/data", base .. "/run", base .. "/server.log"
end

function M.url()
    local _, run = paths()
    return ("host=%s dbname=%s user=%s"):format(run, DBNAME, DBUSER)
end

function M.initialized()
    local data = paths()
    return wm.fs.stat(data .. "/PG_VERSION") ~= nil
end

function M.running()
    local data = paths()
    if not M.initialized() then
        return false
    end
    local ok = pg_cmd("pg_ctl", { "status", "-D", data }, 10)
    return ok ~= nil
end

local function prepare_dirs()
    local base = M.location()
    local data, run = paths()
    local ok, err = wm.fs.mkdir_p(base, tonumber("755", 8))
    if not ok then
        return nil, err
    end
    wm.fs.mkdir_p(run, tonumber("700", 8))
    if is_root() then
        local r
        r, err = sh_ok({ "chown", "postgres:postgres", base, run })
        if not r then
            return nil, "cannot hand " .. base .. " to the postgres user: " .. err
        end
    end
    return data, run
end

function M.init()
    if M.initialized() then
        return true
    end
    local data, err = prepare_dirs()
    if not data then
        return nil, err
    end
    local _, note = M.location()
    if note then
        wm.log.warn("embedded PostgreSQL: " .. note)
    end
    wm.log.info("embedded PostgreSQL: creating a cluster", { data = data })
    local ok
    ok, err = pg_cmd("initdb", { "-D", data, "-U", DBUSER, "-A", "trust", "-E", "UTF8",
                                 "--locale=C", "--no-instructions" }, 300)
    if not ok then
        if M.initialized() then
            return true        -- another process initialised it meanwhile
        end
        return nil, "initdb failed: " .. err
    end
    return true
end

function M.start()
    local ok, err = M.init()
    if not ok then
        return nil, err
    end
    if M.running() then
        return true
    end
    local data, run, logfile = paths()
    prepare_dirs()
    -- Group commit: a commit that finds other transactions running waits
    -- commit_delay microseconds before flushing the WAL, so the commits that
    -- arrive meanwhile share that one flush (a commit is still durable when
    -- it returns; synchronous_commit stays on).
    ok, err = pg_cmd("pg_ctl", { "start", "-w", "-t", "60", "-D", data, "-l", logfile, "-o",
        "-c listen_addresses='' -k " .. run .. " -c unix_socket_permissions=0700"
        .. " -c max_connections=200 -c fsync=on -c commit_delay=1000 -c commit_siblings=2" }, 90)
    if not ok then
        if M.running() then
            return true        -- started by another process meanwhile
        end
        return nil, "the embedded PostgreSQL did not start: " .. err .. " (log: " .. logfile .. ")"
    end
    -- The application database, once.
    local r = sh_ok({ M.client("psql"), "-X", "-q", "-h", run, "-U", DBUSER, "-d", "postgres", "-tAc",
                      "SELECT 1 FROM pg_database WHERE datname = '" .. DBNAME .. "'" }, 30)
    if r and not r.stdout:match("1") then
        local created, cerr = sh_ok({ M.client("createdb"), "-h", run, "-U", DBUSER, DBNAME }, 30)
        if not created and not tostring(cerr):match("already exists") then
            return nil, "cannot create database " .. DBNAME .. ": " .. tostring(cerr)
        end
    end
    wm.log.info("embedded PostgreSQL: started", { socket = run })
    return true
end

function M.client(name)
    local dir = M.bindir()
    return dir and (dir .. "/" .. name) or name
end

function M.stop()
    if not M.running() then
        return true
    end
    local data = paths()
    return pg_cmd("pg_ctl", { "stop", "-w", "-m", "fast", "-D", data }, 90)
end

-- Stops the cluster and deletes its files (tests, or starting over).
function M.destroy()
    local ok, err = M.stop()
    if not ok then
        return nil, err
    end
    local base = M.location()
    local r
    r, err = sh_ok({ "rm", "-rf", base }, 120)
    if not r then
        return nil, err
    end
    location = nil
    return true
end

-- The connection string of the embedded cluster, started if need be.
function M.ensure()
    if not M.running() then
        local ok, err = M.start()
        if not ok then
            return nil, err
        end
    end
    return M.url()
end

function M.paths()
    local data, run, logfile = paths()
    return { base = M.location(), data = data, socket = run, log = logfile }
end

return M
