-- What the dashboard's long lists (customers, payments, webhook events,
-- activity) share: reading filters from the query string, links that keep
-- them, one page of a keyset list (web.admin.queries.list, the API's
-- mechanism: each page declares its list, with sorts chosen from its own
-- whitelist) and column headers that sort. Every value reaches SQL as a
-- parameter.
local queries = require "web.admin.queries"

local _M = {}

function _M.enc(v)
    return (tostring(v):gsub("[^%w_.~-]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- A non-empty string filter (at most 200 bytes), or nil.
function _M.text(v)
    if type(v) ~= "string" then
        return nil
    end
    v = v:gsub("^%s+", ""):gsub("%s+$", "")
    return v ~= "" and v:sub(1, 200) or nil
end

-- A real YYYY-MM-DD date, or nil (PostgreSQL would refuse 2000-13-99).
function _M.date(v)
    local y, m, d = (type(v) == "string" and v or ""):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    if not y then
        return nil
    end
    local t = os.time { year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 }
    return os.date("%Y-%m-%d", t) == v and v or nil
end

-- One of `allowed` (a list), or nil.
function _M.one_of(v, allowed)
    for _, a in ipairs(allowed) do
        if v == a then
            return v
        end
    end
    return nil
end

-- A <select>'s options: {name =, selected =} for each of `list`, the one
-- equal to `chosen` selected.
function _M.options(list, chosen)
    local out = {}
    for _, v in ipairs(list) do
        out[#out + 1] = { name = v, selected = v == chosen }
    end
    return out
end

-- path?k=v&... for the filters in `f` named by `keys` (in that order), plus
-- `extra` (a table of more pairs, e.g. the cursor), skipping empty ones.
function _M.url(path, f, keys, extra)
    local parts = {}
    for _, k in ipairs(keys) do
        local v = f[k]
        if v ~= nil and v ~= false and v ~= "" then
            parts[#parts + 1] = k .. "=" .. _M.enc(v == true and "1" or v)
        end
    end
    for _, kv in ipairs(extra or {}) do
        parts[#parts + 1] = kv[1] .. "=" .. _M.enc(kv[2])
    end
    return #parts > 0 and (path .. "?" .. table.concat(parts, "&")) or path
end

-- One page of `spec` (a queries.list list; params as queries.list takes
-- them) and the next page's link, path?<filters>&cursor=..., or nil on the
-- last page. A cursor the list did not hand out (a stale or edited link)
-- shows the first page.
function _M.page(spec, params, path, f, keys)
    if type(params.cursor) ~= "string" then
        params.cursor = nil
    end
    local rows, next_cursor, message = queries.list(spec, params)
    if not rows and next_cursor == "bad_cursor" then
        params.cursor = nil
        rows, next_cursor, message = queries.list(spec, params)
    end
    if not rows then
        error(("%s: %s"):format(path, message), 2)
    end
    return rows, next_cursor and _M.url(path, f, keys, { { "cursor", next_cursor } }) or nil
end

-- Header cells for a table: {label=, num=, href=, current=} per column;
-- a column with `sort` (its sort name; `asc` when it sorts ascending)
-- links to that order, the others do not sort. The link keeps the filters and starts from the first page.
function _M.headers(path, f, keys, columns, current)
    local out = {}
    for _, c in ipairs(columns) do
        local h = { label = c.label, num = c.num or false, current = false, href = false,
                    dir = c.asc and "ascending" or "descending", arrow = c.asc and "▴" or "▾" }
        if c.sort then
            local g = {}
            for k, v in pairs(f) do
                g[k] = v
            end
            g.sort = c.sort
            h.href = _M.url(path, g, keys)
            h.current = c.sort == current
        end
        out[#out + 1] = h
    end
    return out
end

-- The template of such a header row.
_M.THEAD = [[<thead><tr>{{#head}}<th{{#num}} class="num"{{/num}}{{#current}} aria-sort="{{dir}}"{{/current}}>{{#href}}<a href="{{href}}">{{label}}{{#current}} {{arrow}}{{/current}}</a>{{/href}}{{^href}}{{label}}{{/href}}</th>{{/head}}</tr></thead>]]

return _M
