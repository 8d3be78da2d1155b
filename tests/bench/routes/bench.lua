-- Routes for tests/bench/http_bench.sh: the open-pixel shape (a 43-byte GIF)
-- and a 27 KB HTML page built once and kept in memory.
-- The bench script passes the very files nginx serves (WM_BENCH_GIF,
-- WM_BENCH_PAGE), so both servers send the same bytes.
local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local GIF = os.getenv("WM_BENCH_GIF") and slurp(os.getenv("WM_BENCH_GIF"))
    or "GIF89a\1\0\1\0\128\0\0\0\0\0\255\255\255!\249\4\1\0\0\0\0,\0\0\0\0\1\0\1\0\0\2\2D\1\0;"
assert(#GIF == 43)

local function page()
    local path = os.getenv("WM_BENCH_PAGE")
    if path then
        return slurp(path)
    end
    local parts = { "<!doctype html><html><head><meta charset=utf-8><title>bench</title></head><body>" }
    local i = 0
    while #table.concat(parts) < 27 * 1024 - 40 do
        i = i + 1
        parts[#parts + 1] = ("<p>Paragraph %d: the quick brown fox jumps over the lazy dog.</p>\n"):format(i)
    end
    parts[#parts + 1] = "</body></html>\n"
    return table.concat(parts)
end

local PAGE = page()
local GIF_RES = { status = 200, headers = { ["Content-Type"] = "image/gif", ["Cache-Control"] = "no-store" }, body = GIF }
local PAGE_RES = { status = 200, headers = { ["Content-Type"] = "text/html; charset=utf-8" }, body = PAGE }

wm.route("GET", "/bench/pixel.gif", function()
    return GIF_RES
end, { role = "public" })

wm.route("GET", "/bench/page.html", function()
    return PAGE_RES
end, { role = "public" })
