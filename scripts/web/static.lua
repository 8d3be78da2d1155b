-- Static files: GET /static/<path> serves scripts/web/static/<path> with its
-- content type, an ETag ("size-mtime", as nginx makes it), Last-Modified and
-- a short Cache-Control; If-None-Match answers 304. Files up to 1 MiB stay
-- cached in memory and are re-read when their size or mtime changes. Dot
-- files and ".." never resolve.
-- stat and read_file wait on the thread pool: a slow disk never holds up
-- the loop's other requests.
local stat, read_file = wm.fs.stat, wm.fs.read_file
local WAIT = { wait = true }
local floor, format = math.floor, string.format

local DIR = wm.root .. "/scripts/web/static"
local CACHE_MAX = 1048576

local TYPES = {
    html = "text/html; charset=utf-8", htm = "text/html; charset=utf-8",
    css = "text/css; charset=utf-8", js = "text/javascript; charset=utf-8",
    mjs = "text/javascript; charset=utf-8", json = "application/json",
    map = "application/json", txt = "text/plain; charset=utf-8", xml = "application/xml",
    svg = "image/svg+xml", png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg",
    gif = "image/gif", webp = "image/webp", avif = "image/avif", ico = "image/x-icon",
    woff = "font/woff", woff2 = "font/woff2", ttf = "font/ttf", otf = "font/otf",
    pdf = "application/pdf", wasm = "application/wasm", webmanifest = "application/manifest+json",
}

local cache = {}
local NOT_FOUND = { status = 404, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
                    body = "404 Not Found\n" }

local function safe(rel)
    if rel == "" or rel:find("[%z\\]") then
        return false
    end
    for seg in rel:gmatch("[^/]+") do
        if seg:sub(1, 1) == "." then
            return false
        end
    end
    return true
end

wm.route("GET", "/static/*path", function(req)
    local rel = req.params.path
    if not safe(rel) then
        return NOT_FOUND
    end
    local path = DIR .. "/" .. rel
    local st = stat(path, WAIT)
    if not st or st.type ~= "file" then
        return NOT_FOUND
    end
    local etag = format('"%x-%x"', st.size, floor(st.mtime))
    local ext = (rel:match("%.([%w]+)$") or ""):lower()
    local headers = {
        ["Content-Type"] = TYPES[ext] or "application/octet-stream",
        ETag = etag,
        ["Last-Modified"] = os.date("!%a, %d %b %Y %H:%M:%S GMT", floor(st.mtime)),
        ["Cache-Control"] = "public, max-age=300",
    }
    local inm = req.headers["if-none-match"]
    if inm and (inm == "*" or inm:find(etag, 1, true)) then
        return { status = 304, headers = headers }
    end
    local c = cache[path]
    if not c or c.etag ~= etag then
        local body = read_file(path)
        if not body then
            return NOT_FOUND
        end
        c = { etag = etag, body = body }
        if #body <= CACHE_MAX then
            cache[path] = c
        end
    end
    return { status = 200, headers = headers, body = c.body }
end, { role = "public" })

-- Browsers ask every host for /favicon.ico by themselves. The dashboard's and
-- the portal's pages need no icon (and their CSP allows no data: image), so
-- the answer is an empty 204 they keep for a week instead of a 404 each time.
wm.route("GET", "/favicon.ico", function()
    return { status = 204, headers = { ["Cache-Control"] = "public, max-age=604800" }, body = "" }
end, { role = "public", access_log = false })
