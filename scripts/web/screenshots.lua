-- GET /screenshots/<site id>/<hash>-<view>.png: the pictures the screenshot
-- stage took (paths.var/screenshots/<site id>/), linked from emails and the
-- dashboard. A file's name carries its content's hash, so a URL never
-- changes what it shows: cached for a year (immutable), its ETag the hash.
-- Read on the thread pool: a slow disk never holds up the loop.
local stat, read_file = wm.fs.stat, wm.fs.read_file
local WAIT = { wait = true }

local NOT_FOUND = { status = 404, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
                    body = "404 Not Found\n" }

wm.route("GET", "/screenshots/:site/:file", function(req)
    local site, file = req.params.site, req.params.file
    -- Only the names the stage writes: no dots, slashes or other folders.
    local hash = file:match("^(%x+)%-%a+%.png$")
    if not (site:match("^[%x-]+$") and hash) then
        return NOT_FOUND
    end
    local path = wm.config.paths.var .. "/screenshots/" .. site .. "/" .. file
    local st = stat(path, WAIT)
    if not st or st.type ~= "file" then
        return NOT_FOUND
    end
    local headers = {
        ["Content-Type"] = "image/png",
        ETag = '"' .. hash .. '"',
        ["Cache-Control"] = "public, max-age=31536000, immutable",
        ["X-Content-Type-Options"] = "nosniff",
    }
    local inm = req.headers["if-none-match"]
    if inm and (inm == "*" or inm:find(headers.ETag, 1, true)) then
        return { status = 304, headers = headers }
    end
    local body = read_file(path)
    if not body then
        return NOT_FOUND
    end
    return { status = 200, headers = headers, body = body }
end, { role = "public" })
