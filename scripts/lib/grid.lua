-- The coverage grid: cities x industries the autopilot works through.
-- import() reads CSV rows country,state,city,industry,industry_category,
-- population,priority and upserts them on (country, state, city, industry)
-- without touching a row's status or counters.
local trim = require("lib.text").trim

local _M = {}

local COLUMNS = { "country", "state", "city", "industry", "industry_category", "population", "priority" }
local LIMITS = { country = 50, state = 50, city = 100, industry = 100, industry_category = 100 }

-- One CSV line into fields (RFC 4180 quoting, no embedded newlines).
local function split_csv(line)
    local fields, i, n = {}, 1, #line
    while i <= n + 1 do
        if line:sub(i, i) == '"' then
            local buf, j = {}, i + 1
            while true do
                local c = line:sub(j, j)
                if c == "" then
                    return nil, "unterminated quote"
                elseif c == '"' then
                    if line:sub(j + 1, j + 1) == '"' then
                        buf[#buf + 1] = '"'
                        j = j + 2
                    else
                        j = j + 1
                        break
                    end
                else
                    buf[#buf + 1] = c
                    j = j + 1
                end
            end
            fields[#fields + 1] = table.concat(buf)
            if line:sub(j, j) ~= "," and j <= n then
                return nil, "text after a closing quote"
            end
            i = j + 1
        else
            local j = line:find(",", i, true) or (n + 1)
            fields[#fields + 1] = line:sub(i, j - 1)
            i = j + 1
        end
    end
    return fields
end
_M.split_csv = split_csv

-- Parses CSV text into rows; returns rows, rejects ({line=, reason=}).
function _M.parse(text)
    local rows, rejects = {}, {}
    local lineno = 0
    local header
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        lineno = lineno + 1
        line = line:gsub("\r$", "")
        if line:match("^%s*$") or line:match("^%s*#") then
            -- blank or comment
        else
            local f, err = split_csv(line)
            if not f then
                rejects[#rejects + 1] = { line = lineno, reason = err }
            elseif not header then
                header = {}
                for i, h in ipairs(f) do
                    header[trim(h):lower()] = i
                end
                for _, c in ipairs({ "state", "city", "industry" }) do
                    if not header[c] then
                        return nil, ("the header must name the columns %s (missing %s)"):format(
                            table.concat(COLUMNS, ","), c)
                    end
                end
            else
                local r, bad = {}, nil
                for _, c in ipairs(COLUMNS) do
                    local v = header[c] and f[header[c]]
                    v = v and trim(v) or ""
                    if LIMITS[c] and #v > LIMITS[c] then
                        bad = ("%s is longer than %d characters"):format(c, LIMITS[c])
                    end
                    r[c] = v
                end
                r.country = r.country ~= "" and r.country or "US"
                if r.state == "" or r.city == "" or r.industry == "" then
                    bad = bad or "state, city and industry are required"
                end
                for _, c in ipairs({ "population", "priority" }) do
                    if r[c] == "" then
                        r[c] = nil
                    elseif not r[c]:match("^%-?%d+$") or math.abs(tonumber(r[c])) > 2147483647 then
                        bad = bad or (c .. " must be a whole number")
                    else
                        r[c] = tonumber(r[c])
                    end
                end
                if r.industry_category == "" then
                    r.industry_category = nil
                end
                if bad then
                    rejects[#rejects + 1] = { line = lineno, reason = bad }
                else
                    r.line = lineno
                    rows[#rows + 1] = r
                end
            end
        end
    end
    if not header then
        return nil, "empty file: expected a header line " .. table.concat(COLUMNS, ",")
    end
    return rows, rejects
end

-- Upserts rows in one transaction. Returns {inserted=, updated=} | nil, err.
function _M.upsert(rows)
    return wm.db.tx(function(q)
        local inserted, updated = 0, 0
        for _, r in ipairs(rows) do
            local res = assert(q:one([[
                INSERT INTO coverage_grid (country, state, city, industry, industry_category, population, priority)
                VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7::int, 0))
                ON CONFLICT (country, state, city, industry) DO UPDATE
                SET industry_category = EXCLUDED.industry_category, population = EXCLUDED.population,
                    priority = EXCLUDED.priority, updated_at = now()
                RETURNING (xmax = 0) AS inserted]],
                r.country, r.state, r.city, r.industry, r.industry_category, r.population, r.priority))
            if res.inserted then
                inserted = inserted + 1
            else
                updated = updated + 1
            end
        end
        return { inserted = inserted, updated = updated }
    end)
end

function _M.import_file(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local text = f:read("*a")
    f:close()
    local rows, rejects = _M.parse(text)
    if not rows then
        return nil, path .. ": " .. rejects
    end
    local res
    res, err = _M.upsert(rows)
    if not res then
        return nil, err
    end
    res.rejected = rejects
    return res
end

-- Imports config's default grid when coverage_grid is empty.
function _M.seed_if_empty()
    local n = assert(wm.db.one("SELECT count(*)::int AS n FROM coverage_grid")).n
    if n > 0 then
        return 0
    end
    local file = wm.config.autopilot.grid_file
    if file:sub(1, 1) ~= "/" then
        file = wm.root .. "/" .. file
    end
    local res, err = _M.import_file(file)
    if not res then
        return nil, err
    end
    wm.log.info("coverage grid seeded", { file = file, rows = res.inserted })
    return res.inserted
end

return _M
