-- Routes for tests/bench/http_bench.sh: the open-pixel shape (a 43-byte GIF).
-- The bench script passes the very file nginx serves (WM_BENCH_GIF), so both
-- servers send the same bytes. (Its page case is a real site: scripts/web/sites.lua.)
local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local GIF = os.getenv("WM_BENCH_GIF") and slurp(os.getenv("WM_BENCH_GIF"))
    or "GIF89a\1\0\1\0\128\0\0\0\0\0\255\255\255!\249\4\1\0\0\0\0,\0\0\0\0\1\0\1\0\0\2\2D\1\0;"
assert(#GIF == 43)

local GIF_RES = { status = 200, headers = { ["Content-Type"] = "image/gif", ["Cache-Control"] = "no-store" }, body = GIF }

wm.route("GET", "/bench/pixel.gif", function()
    return GIF_RES
end, { role = "public" })
