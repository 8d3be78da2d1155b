-- wm run tests/bench/admin.lua PORT [N]: logs in to the `wm serve` on PORT
-- as bench@example.com (tests/bench/admin creates it) and requests each
-- dashboard page N times in a row, one request at a time, printing p50/p99
-- of the time from request to response. The business page shows a
-- different lead each time (leads with a site and a campaign, whose pages
-- have the most to read). Every response must be a 200 with the page's
-- own content, so a broken page cannot pass for a fast one.
local USAGE = [[usage: wm run tests/bench/admin.lua PORT [N]

  Times N requests (default 300) to each of: the overview, the filtered
  leads list, a business page and /api/v1/metrics on the wm serve at
  127.0.0.1:PORT, logged in as bench@example.com.]]
local _, args = require("wm.cli").script_args(arg, USAGE, {})
if not _ then
    return args
end
local port, n = tonumber(args[1]), tonumber(args[2]) or 300
if not port then
    io.stderr:write(USAGE, "\n")
    return 2
end
local base = "http://127.0.0.1:" .. port

local function header(res, name)
    for k, v in pairs(res.headers) do
        if k:lower() == name then
            return type(v) == "table" and v[1] or v
        end
    end
end

local res = assert(wm.http.request { method = "POST", url = base .. "/admin/login",
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = "email=bench%40example.com&password=bench+viewer+password", timeout = 30 })
assert(res.status == 303, "login: " .. res.status)
local cookie = "wm_admin=" .. assert(header(res, "set-cookie"):match("^wm_admin=([^;]+)"))

local leads = assert(wm.db.query([[SELECT b.id::text AS id FROM businesses b
    WHERE EXISTS (SELECT 1 FROM campaigns c WHERE c.business_id = b.id AND c.opened_at IS NOT NULL)
    ORDER BY md5(b.id::text) LIMIT $1]], n))
assert(#leads > 0, "no lead with an opened campaign: was tests/bench/admin_load.sql loaded?")

local PAGES = {
    { "overview /admin/", function() return "/admin/" end, "Funnel, last 30 days" },
    { "leads status+city+min rating", function() return "/admin/leads?status=qualified&city=Austin&min_rating=4" end,
      "/admin/leads/" },
    { "business page /admin/leads/:id", function(i) return "/admin/leads/" .. leads[(i - 1) % #leads + 1].id end,
      "Raw place" },
    { "GET /api/v1/metrics", function() return "/api/v1/metrics" end, '"funnel"' },
}

local function pct(sorted, p)
    return sorted[math.min(#sorted, math.floor(#sorted * p) + 1)]
end

for _, page in ipairs(PAGES) do
    local times = {}
    for i = -9, n do   -- ten warm-up requests first (statement caches, buffers)
        local path = page[2](i > 0 and i or 1)
        local t0 = wm.monotonic()
        local r = assert(wm.http.request { url = base .. path, headers = { Cookie = cookie }, timeout = 30 })
        local dt = (wm.monotonic() - t0) * 1000
        assert(r.status == 200 and r.body:find(page[3], 1, true), ("%s: %d %s"):format(path, r.status, r.body:sub(1, 300)))
        if i > 0 then
            times[#times + 1] = dt
        end
    end
    table.sort(times)
    io.write(("%-34s p50 %7.2f ms   p99 %7.2f ms   (%d requests)\n"):format(page[1], pct(times, 0.5),
        pct(times, 0.99), #times))
end
