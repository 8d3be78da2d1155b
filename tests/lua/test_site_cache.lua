-- lib.site_cache: the outage copy of each site. Disk holds what was served
-- (atomically, checked on read); memory is an LRU within its byte bound;
-- an unchanged site costs no write; a dropped site is gone from both.
local T = {}

local cache = require "lib.site_cache"

local function read(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("*a")
    f:close()
    return s
end

local function write(path, s)
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
end

local function site(body, status)
    return { body = body, etag = '"' .. wm.crypto.sha256_hex(body):sub(1, 32) .. '"', status = status or "live" }
end

local function setup(t)
    wm.config.paths.var = t.tmpdir()
    cache.reset()
    t.defer(function() cache.reset() end)
    return wm.config.paths.var .. "/sites"
end

function T.put_writes_disk_atomically_and_get_reads_it_back(t)
    local dir = setup(t)
    local s = site("<!DOCTYPE html><p>Acme</p>", "preview")
    cache.put("sub", "acme", s)
    t.eq(read(dir .. "/acme.html"), s.body)
    local meta = wm.json.decode(read(dir .. "/acme.json"))
    t.eq(meta.etag, s.etag)
    t.eq(meta.status, "preview")
    for _, name in ipairs(wm.fs.list_dir(dir)) do
        t.ok(not name:match("^%.") and not name:match("%.tmp$"), "no temporary file left: " .. name)
    end
    cache.reset()             -- a new process: memory is empty
    t.eq(cache.cached("sub", "acme"), false)
    local got = cache.get("sub", "acme")
    t.eq({ got.body, got.etag, got.status }, { s.body, s.etag, "preview" })
    t.eq(got.gzip, nil, "27 bytes: no smaller compressed")
    t.eq(cache.cached("sub", "acme"), true, "read once from disk, then kept in memory")
    -- Custom domains have their own folder; kinds do not collide.
    cache.put("domain", "acme.example.com", site("<p>custom</p>"))
    t.eq(read(dir .. "/domains/acme.example.com.html"), "<p>custom</p>")
    t.eq(cache.get("sub", "acme.example.com"), nil)
end

function T.unchanged_site_is_not_rewritten_changed_one_is(t)
    local dir = setup(t)
    local v1 = site("<p>one</p>")
    cache.put("sub", "acme", v1)
    os.remove(dir .. "/acme.html")
    cache.put("sub", "acme", v1)
    t.eq(read(dir .. "/acme.html"), nil, "same etag and status: no write")
    cache.put("sub", "acme", site("<p>one</p>", "sold"))
    t.eq(read(dir .. "/acme.html"), "<p>one</p>", "a status change is written")
    local v2 = site("<p>two</p>", "sold")
    cache.put("sub", "acme", v2)
    t.eq(read(dir .. "/acme.html"), "<p>two</p>")
    cache.reset()
    t.eq(cache.get("sub", "acme").etag, v2.etag)
end

function T.torn_or_foreign_files_are_a_miss(t)
    local dir = setup(t)
    cache.put("sub", "acme", site("<p>published</p>"))
    cache.reset()
    -- The html no longer matches its metadata (a crash between the renames,
    -- or a hand edit): never served under the old etag.
    write(dir .. "/acme.html", "<p>something else</p>")
    t.eq(cache.get("sub", "acme"), nil)
    write(dir .. "/acme.json", "not json")
    t.eq(cache.get("sub", "acme"), nil)
    -- Names that are not a subdomain or a host are never paths.
    cache.put("sub", "../escape", site("<p>x</p>"))
    cache.put("sub", "a/b", site("<p>x</p>"))
    t.eq(read(wm.config.paths.var .. "/escape.html"), nil)
    t.eq(cache.get("sub", "../escape"), nil)
    t.eq(cache.stats().entries, 0)
end

function T.drop_removes_memory_and_disk(t)
    local dir = setup(t)
    cache.put("sub", "gone", site("<p>archived soon</p>"))
    cache.drop("sub", "gone")
    t.eq(cache.cached("sub", "gone"), false)
    t.eq(read(dir .. "/gone.html"), nil)
    t.eq(read(dir .. "/gone.json"), nil)
    t.eq(cache.get("sub", "gone"), nil)
end

function T.memory_is_an_lru_within_its_bound(t)
    setup(t)
    local body = ("x"):rep(1000)
    cache.put("sub", "s0", site(body .. 0))
    local size = cache.stats().bytes        -- one site: its bytes, compressed forms and overhead
    cache.reset(3 * size)                   -- room for three such sites
    for i = 1, 3 do
        cache.put("sub", "s" .. i, site(body .. i))
    end
    t.eq(cache.stats().entries, 3)
    t.ok(cache.get("sub", "s1"), "s1 used: now the most recent")
    cache.put("sub", "s4", site(body .. 4))
    t.eq(cache.cached("sub", "s2"), false, "the least recently used left memory")
    t.eq(cache.cached("sub", "s1"), true)
    t.eq(cache.cached("sub", "s4"), true)
    t.ok(cache.stats().bytes <= cache.stats().limit)
    -- Evicted from memory only: the disk copy still answers.
    t.eq(cache.get("sub", "s2").body, body .. 2)
    t.eq(cache.cached("sub", "s3"), false, "and reading it back evicted the next one")
    t.eq(cache.stats().entries, 3)
end

return T
