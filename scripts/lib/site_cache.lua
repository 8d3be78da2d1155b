-- The last published bytes of each site, kept so that a site still answers
-- while the database is down (scripts/web/sites.lua), with each version's
-- compressed forms made once beside them. The database is the truth: the
-- cache is written from what it served and read only when it cannot answer.
--
--   site_cache.put(kind, name, {body=, etag=, status=, updated=}) -> entry
--       after serving from the database; entry adds gzip= and br= (each
--       absent when it would not be smaller than the body)
--   site_cache.get(kind, name) -> entry | nil
--   site_cache.memory(kind, name) -> entry | nil        memory only, never the disk
--   site_cache.drop(kind, name)                          the database says there is no site
--       kind: "sub" (a subdomain of sites_domain) or "domain" (a custom domain)
--       updated: the version's date (YYYY-MM-DD...), for sitemap.xml
--
-- Compression (gzip 9, brotli 11) runs on the thread pool, once per version
-- in each process: while one task compresses a new version, other requests
-- for it get the entry without its compressed forms rather than compressing
-- it again. Disk keeps the plain bytes only; a copy read back from disk is
-- compressed again once.
--
-- Memory: an LRU bounded by MAX_BYTES, counting the plain and compressed
-- bytes (a site is <= 30 KB, so thousands fit).
-- Disk: <paths.var>/sites/<name>.html (or sites/domains/<name>.html) with
-- <name>.json beside it ({etag, status, updated, sha256, saved_at}), each written to a
-- temporary file and renamed into place (wm.fs.write_file, off the loop), so
-- a reader sees the old file or the new one, never half of one. The html is checked against the sha256 in the
-- metadata when read: a pair torn by a crash between the two renames reads as
-- a miss, never as the wrong page under the right headers. put writes the disk
-- only when the etag or status differs from the memory copy, so a busy site
-- costs no writes.
local _M = {}

local MAX_BYTES = 32 * 1024 * 1024
local OVERHEAD = 256         -- bytes counted per entry beyond its bytes
local GZIP_LEVEL, BROTLI_QUALITY = 9, 11
local BUILD_TIMEOUT = 10     -- seconds after which a compression is presumed lost

-- key -> etag of the version a task is compressing now.
local building = {}

-- The LRU: a doubly linked list, most recent at head, and an index by key.
local index, head, tail, used = {}, nil, nil, 0
local limit = MAX_BYTES

local function unlink(n)
    if n.prev then n.prev.next = n.next else head = n.next end
    if n.next then n.next.prev = n.prev else tail = n.prev end
    n.prev, n.next = nil, nil
end

local function push_front(n)
    n.next = head
    if head then head.prev = n end
    head = n
    if not tail then tail = n end
end

local function forget(key)
    local n = index[key]
    if n then
        unlink(n)
        index[key] = nil
        used = used - n.size
    end
end

-- Runs before the LRU lets entries go: uses it has not seen yet (pages the
-- HTTP server answered from its own cache) are reported then.
local before_evict

local function remember(key, entry)
    forget(key)
    local size = #entry.body + #(entry.gzip or "") + #(entry.br or "") + OVERHEAD
    if size > limit then
        return
    end
    local n = { key = key, entry = entry, size = size }
    push_front(n)
    index[key] = n
    used = used + size
    if used > limit and before_evict then
        before_evict()
    end
    while used > limit and tail do
        forget(tail.key)
    end
end

-- Only names that are safe as file names: a subdomain or a host name.
local function paths(kind, name)
    if type(name) ~= "string" or #name > 253 or not name:match("^[a-z0-9][a-z0-9.-]*$") or name:find("..", 1, true) then
        return nil
    end
    local dir = ((wm.config.paths or {}).var or "var") .. "/sites"
    if kind == "domain" then
        dir = dir .. "/domains"
    elseif kind ~= "sub" then
        error("site_cache: kind must be \"sub\" or \"domain\"", 3)
    end
    return dir, dir .. "/" .. name .. ".html", dir .. "/" .. name .. ".json"
end

local function read_file(path)
    return (wm.fs.read_file(path))
end

local function save(kind, name, entry)
    local dir, html_path, meta_path = paths(kind, name)
    -- No fsync: a copy torn by a power cut fails its sha256 check and reads
    -- as a miss; the next serve from the database writes it again.
    local ok, err = wm.fs.mkdir_p(dir)
    if ok then
        ok, err = wm.fs.write_file(html_path, entry.body, { atomic = true })
    end
    if ok then
        ok, err = wm.fs.write_file(meta_path, wm.json.encode {
            etag = entry.etag, status = entry.status, updated = entry.updated, sha256 = wm.crypto.sha256_hex(entry.body), saved_at = wm.now(),
        }, { atomic = true })
    end
    if not ok then
        -- Serving goes on; only the outage copy is missing.
        wm.log.warn("site cache: could not save", { site = name, error = tostring(err) })
    end
end

-- The compressed forms of entry.body, each kept only when smaller.
local function compress(entry, name)
    for _, c in ipairs { { "gzip", wm.codec.gzip, GZIP_LEVEL }, { "br", wm.codec.brotli, BROTLI_QUALITY } } do
        local bytes, err = c[2](entry.body, c[3])
        if not bytes then
            wm.log.warn("site cache: could not compress", { site = name, encoding = c[1], error = tostring(err) })
        elseif #bytes < #entry.body then
            entry[c[1]] = bytes
        end
    end
end

-- Compresses and remembers a version unless another task is at it (then
-- the entry goes back plain, this once).
local function admit(key, name, entry, write)
    local b = building[key]
    if b and b.etag == entry.etag and wm.monotonic() - b.at < BUILD_TIMEOUT then
        return entry
    end
    building[key] = { etag = entry.etag, at = wm.monotonic() }
    compress(entry, name)
    if write then
        write()
    end
    if building[key] and building[key].etag == entry.etag then
        building[key] = nil
    end
    remember(key, entry)
    return entry
end

function _M.put(kind, name, site)
    local entry = { body = site.body, etag = site.etag, status = site.status, updated = site.updated }
    if not paths(kind, name) then
        return entry
    end
    local key = kind .. ":" .. name
    local n = index[key]
    if n and n.entry.etag == site.etag and n.entry.status == site.status then
        unlink(n)
        push_front(n)
        return n.entry
    end
    return admit(key, name, entry, function() save(kind, name, entry) end)
end

-- (A hit counts as a use for the LRU: a site served from memory stays.)
function _M.memory(kind, name)
    local n = index[kind .. ":" .. name]
    if n then
        unlink(n)
        push_front(n)
        return n.entry
    end
end

function _M.get(kind, name)
    local dir, html_path, meta_path = paths(kind, name)
    if not dir then
        return nil
    end
    local key = kind .. ":" .. name
    local hit = _M.memory(kind, name)
    if hit then
        return hit
    end
    local meta = read_file(meta_path)
    meta = meta and wm.json.decode(meta)
    local body = type(meta) == "table" and read_file(html_path)
    if not body or type(meta.etag) ~= "string" or wm.crypto.sha256_hex(body) ~= meta.sha256 then
        return nil
    end
    local entry = { body = body, etag = meta.etag, status = meta.status,
                    updated = type(meta.updated) == "string" and meta.updated or nil }
    return admit(key, name, entry)
end

function _M.drop(kind, name)
    local dir, html_path, meta_path = paths(kind, name)
    if not dir then
        return
    end
    forget(kind .. ":" .. name)
    -- The metadata first: without it the html is never served.
    os.remove(meta_path)
    os.remove(html_path)
end

-- fn() runs before an eviction, to mark what was used meanwhile (with
-- _M.memory).
function _M.before_evict(fn)
    before_evict = fn
end

-- For tests: the memory bound in bytes (nil: the default), which also
-- empties the memory copy (and the HTTP server's answers kept from it);
-- and what memory holds now.
function _M.reset(bytes)
    index, head, tail, used, building = {}, nil, nil, 0, {}
    limit = bytes or MAX_BYTES
    require("wm.core.httpd").cache_clear()
end

function _M.stats()
    local entries = 0
    for _ in pairs(index) do
        entries = entries + 1
    end
    return { entries = entries, bytes = used, limit = limit }
end

function _M.cached(kind, name)
    return index[kind .. ":" .. name] ~= nil
end

return _M
