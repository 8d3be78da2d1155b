-- /admin/coverage: the coverage grid (cities x industries) as a map of the
-- contiguous US in inline SVG (each city a dot placed by latitude and
-- longitude, Albers equal-area, coloured by its cells' status) and a
-- sortable, filterable table of cells with their counters. Editors pause,
-- resume, reprioritise and cool down cells (domain.grid).
local view = require "web.admin.view"
local grid = require "domain.grid"

-- Where the default grid's cities are (config/grid.csv). A city imported
-- later that is not here is placed at the mean position of its leads, or
-- listed under the map as not placed until it has some.
local CITIES = {
    ["NY|New York"] = { 40.71, -74.01 }, ["CA|Los Angeles"] = { 34.05, -118.24 }, ["IL|Chicago"] = { 41.88, -87.63 },
    ["TX|Houston"] = { 29.76, -95.37 }, ["AZ|Phoenix"] = { 33.45, -112.07 }, ["PA|Philadelphia"] = { 39.95, -75.17 },
    ["TX|San Antonio"] = { 29.42, -98.49 }, ["CA|San Diego"] = { 32.72, -117.16 }, ["TX|Dallas"] = { 32.78, -96.80 },
    ["CA|San Jose"] = { 37.34, -121.89 }, ["TX|Austin"] = { 30.27, -97.74 }, ["FL|Jacksonville"] = { 30.33, -81.66 },
    ["TX|Fort Worth"] = { 32.76, -97.33 }, ["OH|Columbus"] = { 39.96, -83.00 }, ["NC|Charlotte"] = { 35.23, -80.84 },
    ["CA|San Francisco"] = { 37.77, -122.42 }, ["IN|Indianapolis"] = { 39.77, -86.16 }, ["WA|Seattle"] = { 47.61, -122.33 },
    ["CO|Denver"] = { 39.74, -104.99 }, ["TX|El Paso"] = { 31.76, -106.49 }, ["TN|Nashville"] = { 36.16, -86.78 },
    ["OK|Oklahoma City"] = { 35.47, -97.52 }, ["MA|Boston"] = { 42.36, -71.06 }, ["OR|Portland"] = { 45.52, -122.68 },
    ["NV|Las Vegas"] = { 36.17, -115.14 }, ["TN|Memphis"] = { 35.15, -90.05 }, ["MI|Detroit"] = { 42.33, -83.05 },
    ["MD|Baltimore"] = { 39.29, -76.61 }, ["WI|Milwaukee"] = { 43.04, -87.91 }, ["NM|Albuquerque"] = { 35.08, -106.65 },
    ["AZ|Tucson"] = { 32.22, -110.97 }, ["CA|Fresno"] = { 36.74, -119.79 }, ["CA|Sacramento"] = { 38.58, -121.49 },
    ["AZ|Mesa"] = { 33.42, -111.83 }, ["MO|Kansas City"] = { 39.10, -94.58 }, ["GA|Atlanta"] = { 33.75, -84.39 },
    ["NE|Omaha"] = { 41.26, -95.93 }, ["CO|Colorado Springs"] = { 38.83, -104.82 }, ["NC|Raleigh"] = { 35.78, -78.64 },
    ["FL|Miami"] = { 25.76, -80.19 }, ["MN|Minneapolis"] = { 44.98, -93.27 }, ["FL|Tampa"] = { 27.95, -82.46 },
    ["LA|New Orleans"] = { 29.95, -90.07 }, ["OH|Cleveland"] = { 41.50, -81.69 }, ["OH|Cincinnati"] = { 39.10, -84.51 },
    ["PA|Pittsburgh"] = { 40.44, -80.00 }, ["MO|St. Louis"] = { 38.63, -90.20 }, ["FL|Orlando"] = { 28.54, -81.38 },
    ["UT|Salt Lake City"] = { 40.76, -111.89 }, ["VA|Richmond"] = { 37.54, -77.44 }, ["ID|Boise"] = { 43.62, -116.20 },
    ["IA|Des Moines"] = { 41.59, -93.62 }, ["GA|Savannah"] = { 32.08, -81.09 }, ["TN|Knoxville"] = { 35.96, -83.92 },
}

-- The contiguous US, coarsely (longitude, latitude), clockwise from Cape
-- Flattery: a silhouette for orientation, not a border.
local OUTLINE = {
    -124.7, 48.4, -123.0, 49.0, -95.2, 49.0, -94.8, 49.4, -89.6, 48.0, -84.8, 46.6, -83.5, 46.0, -82.5, 45.3,
    -82.1, 43.0, -83.1, 42.0, -79.0, 42.5, -79.0, 43.3, -76.3, 44.2, -74.9, 45.0, -71.5, 45.0, -70.0, 46.7,
    -69.2, 47.4, -67.8, 47.1, -67.8, 45.7, -67.0, 44.8, -70.2, 43.6, -70.6, 42.6, -70.0, 41.7, -71.4, 41.4,
    -74.0, 40.6, -74.0, 39.7, -75.0, 38.8, -76.0, 37.0, -75.5, 35.3, -76.5, 34.7, -77.9, 33.9, -79.2, 33.2,
    -80.8, 32.1, -81.4, 30.7, -81.0, 29.2, -80.0, 26.8, -80.4, 25.2, -81.1, 25.1, -81.8, 26.1, -82.7, 27.9,
    -82.8, 29.1, -84.0, 30.0, -85.4, 29.7, -87.5, 30.3, -89.4, 30.2, -89.3, 29.1, -90.5, 29.1, -92.0, 29.6,
    -93.8, 29.7, -95.0, 29.2, -96.8, 28.2, -97.4, 27.3, -97.2, 25.9, -99.1, 26.4, -100.5, 28.3, -101.4, 29.8,
    -102.7, 29.7, -103.3, 29.0, -104.5, 29.6, -106.5, 31.8, -108.2, 31.3, -111.1, 31.3, -114.8, 32.5,
    -117.1, 32.5, -118.5, 34.0, -120.6, 34.6, -121.9, 36.6, -122.5, 37.8, -123.8, 39.8, -124.4, 42.0,
    -124.0, 46.3,
}

-- Colours by status (SVG fill attributes: the CSP allows no inline style).
local STATUS = {
    { name = "pending", color = "#94a3b8", label = "pending" },
    { name = "in_progress", color = "#2563eb", label = "being scraped" },
    { name = "completed", color = "#16a34a", label = "completed" },
    { name = "cooldown", color = "#f59e0b", label = "cooling down" },
    { name = "paused", color = "#dc2626", label = "paused" },
}
local COLOR = {}
for _, s in ipairs(STATUS) do
    COLOR[s.name] = s.color
end

-- Albers equal-area conic for the contiguous US (parallels 29.5 and 45.5,
-- origin 37.5 N 96 W), in map units, y northwards.
local rad = math.pi / 180
local N = (math.sin(29.5 * rad) + math.sin(45.5 * rad)) / 2
local C = math.cos(29.5 * rad) ^ 2 + 2 * N * math.sin(29.5 * rad)
local RHO0 = math.sqrt(C - 2 * N * math.sin(37.5 * rad)) / N
local function albers(lon, lat)
    local rho = math.sqrt(C - 2 * N * math.sin(lat * rad)) / N
    local theta = N * (lon + 96) * rad
    return rho * math.sin(theta), RHO0 - rho * math.cos(theta)
end

local W, H, PAD = 960, 600, 12
local minx, miny, maxx, maxy = math.huge, math.huge, -math.huge, -math.huge
for i = 1, #OUTLINE, 2 do
    local x, y = albers(OUTLINE[i], OUTLINE[i + 1])
    minx, maxx, miny, maxy = math.min(minx, x), math.max(maxx, x), math.min(miny, y), math.max(maxy, y)
end
local SCALE = math.min((W - 2 * PAD) / (maxx - minx), (H - 2 * PAD) / (maxy - miny))
H = math.floor((maxy - miny) * SCALE + 2 * PAD + 0.5)

-- SVG coordinates of a point (SVG's y grows southwards).
local function place(lon, lat)
    local x, y = albers(lon, lat)
    return PAD + (x - minx) * SCALE, PAD + (maxy - y) * SCALE
end

local OUTLINE_PATH
do
    local parts = {}
    for i = 1, #OUTLINE, 2 do
        local x, y = place(OUTLINE[i], OUTLINE[i + 1])
        parts[#parts + 1] = ("%s%.1f,%.1f"):format(i == 1 and "M" or "L", x, y)
    end
    OUTLINE_PATH = table.concat(parts) .. "Z"
end

local TEMPLATE = [[
<section class="cards">{{#counts}}<a class="card metric" href="/admin/coverage?status={{name}}"><div class="label"><svg width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill="{{color}}"/></svg> {{label}}</div><div class="value">{{n}}</div></a>{{/counts}}</section>
{{^cells_total}}<p class="empty">The grid is empty. <code>wm serve</code> imports <code>config/grid.csv</code> on its first start; <code>wm grid import FILE.csv</code> adds cities and industries.</p>{{/cells_total}}
{{#cells_total}}<figure class="map">
<svg viewBox="0 0 {{w}} {{h}}" width="100%" role="img" aria-labelledby="map-title">
<title id="map-title">Coverage map: {{cities_placed}} cities, coloured by the status most of their cells are in</title>
<path d="{{outline}}" fill="#f1f5f9" stroke="#cbd5e1" stroke-width="1.5"/>
{{#dots}}<a href="/admin/coverage?state={{state_q}}&amp;city={{city_q}}"><circle cx="{{x}}" cy="{{y}}" r="{{r}}" fill="{{color}}" fill-opacity="0.85" stroke="#fff" stroke-width="1.5"><title>{{city}}, {{state}}: {{summary}}</title></circle></a>{{/dots}}
</svg>
<figcaption class="legend">{{#legend}}<span><svg width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill="{{color}}"/></svg> {{label}}</span> {{/legend}}<span class="muted">dot size: population</span></figcaption>
</figure>
{{#unplaced}}<p class="muted">Not on the map (no known position yet): {{unplaced}}.</p>{{/unplaced}}{{/cells_total}}
<h2>Cells{{#filtered}} <small><a href="/admin/coverage">show all</a></small>{{/filtered}}</h2>
<form method="get" action="/admin/coverage" class="filters">
<label>Status <select name="status"><option value="">any</option>{{#statuses}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}</select></label>
<label>State <input type="text" name="state" value="{{f.state}}" size="4"></label>
<label>City <input type="text" name="city" value="{{f.city}}"></label>
<label>Industry <input type="text" name="industry" value="{{f.industry}}"></label>
<input type="hidden" name="sort" value="{{f.sort}}"><input type="hidden" name="dir" value="{{f.dir}}">
<button type="submit">Filter</button></form>
{{^rows}}{{#cells_total}}<p class="empty">No cell matches these filters.</p>{{/cells_total}}{{/rows}}
{{#has_rows}}<div class="scroll"><table class="cells"><thead><tr>{{#columns}}<th{{#num}} class="num"{{/num}}><a href="{{href}}">{{label}}{{#arrow}} {{arrow}}{{/arrow}}</a></th>{{/columns}}{{#can_edit}}<th>Actions</th>{{/can_edit}}</tr></thead><tbody>
{{#rows}}<tr><td>{{state}}</td><td>{{city}}</td><td>{{industry}}</td><td><span class="pill {{status}}">{{status}}</span>{{#cooldown_until}}<br><small class="muted">until {{cooldown_until}}</small>{{/cooldown_until}}</td>
<td class="num">{{#can_edit}}<form method="post" action="/admin/coverage/{{id}}/priority" class="prio"><input type="hidden" name="csrf" value="{{csrf}}"><input type="number" name="priority" value="{{priority}}" min="-1000" max="1000" aria-label="Priority of {{city}} {{industry}}" class="tiny"><button type="submit" class="alt">Set</button></form>{{/can_edit}}{{^can_edit}}{{priority}}{{/can_edit}}</td><td class="num">{{population}}</td><td class="num">{{lead_count}}</td><td class="num">{{qualified_count}}</td><td class="num">{{site_count}}</td><td class="num">{{conversion_count}}</td><td class="nowrap">{{last_scraped}}</td>
{{#can_edit}}<td class="actions">{{#paused}}<form method="post" action="/admin/coverage/{{id}}/resume"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Resume</button></form>{{/paused}}
{{^paused}}<form method="post" action="/admin/coverage/{{id}}/pause"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="alt">Pause</button></form>{{/paused}}
{{#coolable}}<form method="post" action="/admin/coverage/{{id}}/cooldown"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="days" value="{{cooldown_days}}"><button type="submit" class="alt" title="Leave it alone for {{cooldown_days}} days">Cool down</button></form>{{/coolable}}</td>{{/can_edit}}</tr>{{/rows}}
</tbody></table></div>
<p class="pager"><span class="muted">Cells {{first}}–{{last}}</span>{{#prev_page}} <a class="button alt" href="{{prev_page}}">← Previous</a>{{/prev_page}}{{#next_page}} <a class="button alt" href="{{next_page}}">Next →</a>{{/next_page}}</p>{{/has_rows}}]]

local COLUMNS = {
    { key = "state", label = "State", sql = "state" },
    { key = "city", label = "City", sql = "city" },
    { key = "industry", label = "Industry", sql = "industry" },
    { key = "status", label = "Status", sql = "status" },
    { key = "priority", label = "Priority", sql = "priority", num = true },
    { key = "population", label = "Population", sql = "population", num = true },
    { key = "leads", label = "Leads", sql = "lead_count", num = true },
    { key = "qualified", label = "Qualified", sql = "qualified_count", num = true },
    { key = "sites", label = "Sites", sql = "site_count", num = true },
    { key = "conversions", label = "Sold", sql = "conversion_count", num = true },
    { key = "scraped", label = "Last scraped", sql = "last_scraped_at" },
}
local SORT = {}
for _, c in ipairs(COLUMNS) do
    SORT[c.key] = c
end

local PAGE = 100

local function text(v)
    return (type(v) == "string" and v ~= "") and v or nil
end

local function urlencode(v)
    return (tostring(v):gsub("[^%w_.~-]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- The query string of the current filters with `sort`/`dir` (and `page`) replaced.
local function link(f, sort, dir, page)
    local parts = {}
    for _, k in ipairs({ "status", "state", "city", "industry" }) do
        if f[k] then
            parts[#parts + 1] = k .. "=" .. urlencode(f[k])
        end
    end
    parts[#parts + 1] = "sort=" .. sort
    parts[#parts + 1] = "dir=" .. dir
    if page and page > 1 then
        parts[#parts + 1] = "page=" .. page
    end
    return "/admin/coverage?" .. table.concat(parts, "&")
end

local function dots()
    -- One dot per city: its cells' status counts, population and, for a city
    -- not in CITIES, the mean position of its leads.
    local rows = assert(wm.db.query([[SELECT g.state, g.city, g.status, count(*)::int AS n, max(g.population) AS population,
            avg(b.lat) AS lat, avg(b.lon) AS lon
        FROM coverage_grid g
        LEFT JOIN LATERAL (SELECT avg(latitude)::float8 AS lat, avg(longitude)::float8 AS lon FROM businesses
                           WHERE coverage_grid_id = g.id AND latitude IS NOT NULL) b ON true
        GROUP BY g.state, g.city, g.status ORDER BY g.state, g.city]]))
    local cities, order = {}, {}
    for _, r in ipairs(rows) do
        local key = r.state .. "|" .. r.city
        local c = cities[key]
        if not c then
            c = { state = r.state, city = r.city, counts = {}, total = 0, population = 0 }
            cities[key] = c
            order[#order + 1] = c
        end
        c.counts[r.status or "pending"] = (c.counts[r.status or "pending"] or 0) + r.n
        c.total = c.total + r.n
        c.population = math.max(c.population, tonumber(r.population) or 0)
        if r.lat ~= wm.null and r.lat then
            c.lat, c.lon = tonumber(r.lat), tonumber(r.lon)
        end
        local known = CITIES[key]
        if known then
            c.lat, c.lon = known[1], known[2]
        end
    end
    local out, unplaced = {}, {}
    for _, c in ipairs(order) do
        local lead, summary = nil, {}
        for _, s in ipairs(STATUS) do
            local n = c.counts[s.name]
            if n then
                summary[#summary + 1] = ("%d %s"):format(n, s.label)
                if not lead or n > c.counts[lead] then
                    lead = s.name
                end
            end
        end
        if c.lat and c.lat > 24 and c.lat < 50 and c.lon > -125 and c.lon < -66 then
            local x, y = place(c.lon, c.lat)
            -- Area grows with population: 3 px for a small town, 13 for New York.
            local r = 3 + 10 * math.sqrt(math.min(c.population, 9e6) / 9e6)
            out[#out + 1] = { x = ("%.1f"):format(x), y = ("%.1f"):format(y), r = ("%.1f"):format(r),
                              color = COLOR[lead] or "#64748b", state = c.state, city = c.city,
                              state_q = urlencode(c.state), city_q = urlencode(c.city),
                              summary = table.concat(summary, ", "), pop = c.population }
        else
            unplaced[#unplaced + 1] = c.city .. ", " .. c.state
        end
    end
    -- Big dots first, so small ones stay clickable on top.
    table.sort(out, function(a, b) return a.pop > b.pop end)
    return out, table.concat(unplaced, "; ")
end

wm.route("GET", "/admin/coverage", function(req)
    local q = req.query or {}
    local f = { status = text(q.status), state = text(q.state), city = text(q.city), industry = text(q.industry) }
    local col = SORT[q.sort] or SORT.priority
    local dir = (q.dir == "asc" or q.dir == "desc") and q.dir or (col.num and "desc" or "asc")
    local page = math.max(1, math.min(1000, math.floor(tonumber(q.page) or 1)))
    local counts = assert(wm.db.query("SELECT coalesce(status, 'pending') AS status, count(*)::int AS n FROM coverage_grid GROUP BY 1"))
    local by, total = {}, 0
    for _, c in ipairs(counts) do
        by[c.status] = c.n
        total = total + c.n
    end
    local cards = {}
    for _, s in ipairs(STATUS) do
        cards[#cards + 1] = { name = s.name, label = s.label, color = s.color, n = by[s.name] or 0 }
    end
    -- The ORDER BY column comes from the whitelist above, never from the request.
    local rows = assert(wm.db.query(([[SELECT id, state, city, industry, coalesce(status, 'pending') AS status,
            coalesce(priority, 0) AS priority, coalesce(population, 0) AS population, coalesce(lead_count, 0) AS lead_count,
            coalesce(qualified_count, 0) AS qualified_count, coalesce(site_count, 0) AS site_count,
            coalesce(conversion_count, 0) AS conversion_count,
            coalesce(to_char(last_scraped_at, 'YYYY-MM-DD'), '–') AS last_scraped,
            CASE WHEN status = 'cooldown' THEN to_char(cooldown_until, 'YYYY-MM-DD') ELSE '' END AS cooldown_until
        FROM coverage_grid
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR state ILIKE $2)
          AND ($3::text IS NULL OR city ILIKE $3) AND ($4::text IS NULL OR industry ILIKE '%%' || $4 || '%%')
        ORDER BY %s %s NULLS LAST, state, city, industry, id LIMIT $5 OFFSET $6]]):format(col.sql, dir),
        f.status, f.state, f.city, f.industry, PAGE + 1, (page - 1) * PAGE))
    -- (A grid is thousands of cells at most: OFFSET pages are cheap here,
    -- and keep every column sortable.)
    local more = #rows > PAGE
    if more then
        rows[#rows] = nil
    end
    local can_edit = view.can(req, "editor")
    local days = (wm.config.autopilot or {}).cooldown_days or 30
    for _, r in ipairs(rows) do
        r.can_edit = can_edit
        r.paused = r.status == "paused"
        r.coolable = r.status ~= "paused" and r.status ~= "in_progress"
        r.cooldown_days = days
        r.population = view.thousands(r.population)
    end
    local columns = {}
    for _, c in ipairs(COLUMNS) do
        local current = c == col
        columns[#columns + 1] = { label = c.label, num = c.num,
            arrow = current and (dir == "asc" and "▲" or "▼") or nil,
            href = link(f, c.key, current and (dir == "asc" and "desc" or "asc") or (c.num and "desc" or "asc")) }
    end
    local statuses = {}
    for _, s in ipairs(STATUS) do
        statuses[#statuses + 1] = { name = s.name, selected = s.name == f.status }
    end
    local map, unplaced = {}, ""
    if total > 0 then
        map, unplaced = dots()
    end
    return view.page(req, "Coverage", TEMPLATE, {
        counts = cards, cells_total = total > 0 and total or nil, dots = map, cities_placed = #map,
        unplaced = unplaced, outline = OUTLINE_PATH, w = W, h = H,
        legend = STATUS, rows = rows, has_rows = #rows > 0, can_edit = can_edit,
        prev_page = page > 1 and link(f, col.key, dir, page - 1) or nil,
        next_page = more and link(f, col.key, dir, page + 1) or nil,
        first = (page - 1) * PAGE + 1, last = (page - 1) * PAGE + #rows,
        columns = columns, statuses = statuses,
        filtered = (f.status or f.state or f.city or f.industry) and true or nil,
        f = { state = f.state or "", city = f.city or "", industry = f.industry or "", sort = col.key, dir = dir },
    })
end, { role = "viewer" })

-- POST /admin/coverage/:id/<action>: one domain.grid function in a
-- transaction, then back to the page.
local function action(flash, call)
    return view.action { title = "Coverage", flash = flash, call = call, label = "Back to the coverage grid",
                         back = function() return "/admin/coverage" end,
                         refused = "the cell is not in a state that allows it" }
end

wm.route("POST", "/admin/coverage/:id/pause", action("cell_paused", function(id, _, actor)
    return grid.pause(id, actor)
end), { role = "editor" })
wm.route("POST", "/admin/coverage/:id/resume", action("cell_resumed", function(id, _, actor)
    return grid.resume(id, actor)
end), { role = "editor" })
wm.route("POST", "/admin/coverage/:id/priority", action("cell_priority", function(id, form, actor)
    return grid.set_priority(id, form.priority, actor)
end), { role = "editor" })
wm.route("POST", "/admin/coverage/:id/cooldown", action("cell_cooldown", function(id, form, actor)
    return grid.cool_down(id, form.days, actor)
end), { role = "editor" })
