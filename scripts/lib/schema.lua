-- A small validator for JSON-shaped values (an LLM's answer, decoded): types,
-- required keys, lengths, enums, patterns, array sizes, tagged unions, and a
-- guard against generic placeholder text. Shapes are plain tables, built with
-- the constructors below or written out by hand:
--
--   schema.string{min=1, max=60, enum={...}, ci=true, pattern="^#%x%x%x%x%x%x$",
--                 single_line=true, placeholder=true, check=fn}
--   schema.integer{min=, max=}   schema.number{min=, max=}   schema.boolean()
--   schema.array(items, {min=, max=, unique=true})
--   schema.object({key = shape, ...}, {optional={"k"}, check=fn})
--   schema.union("kind", {services = object_shape, ...})   (objects told apart by a tag)
--
--   schema.validate(shape, value) -> true | nil, err, errors
--       err is the first few problems joined ("sections[2].items[1].rating: must be
--       an integer"); errors is the whole list.
--   schema.placeholder(s) -> the marker found ("lorem ipsum", "[your", ...) | nil
--   schema.ulen(s) -> length in UTF-8 characters
--
-- Strings: `min` counts characters after trimming (min=1 means "not blank"),
-- `max` counts UTF-8 characters; control characters other than tab and newline
-- are refused, and newlines too when single_line. Every string is checked for
-- placeholder text unless placeholder=false. An enum with ci=true matches
-- case-insensitively and rewrites the value to the enum's spelling (the only
-- change validate ever makes). Object keys not in the shape are allowed;
-- JSON null counts as missing. `check(value)` returns nil or a message.
local type, pairs, ipairs, tostring, error, next, getmetatable = type, pairs, ipairs, tostring, error, next, getmetatable
local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort
local lower, match, find, gsub, format = string.lower, string.match, string.find, string.gsub, string.format
local trim = require("lib.text").trim

local _M = { _VERSION = "0.1" }

local NULL = rawget(_G, "wm") and wm.null or nil

-- ---- constructors ----------------------------------------------------------------------

local function with(t, opts)
    for k, v in pairs(opts or {}) do
        t[k] = v
    end
    return t
end

function _M.string(opts)
    return with({ type = "string" }, opts)
end

function _M.integer(opts)
    return with({ type = "integer" }, opts)
end

function _M.number(opts)
    return with({ type = "number" }, opts)
end

function _M.boolean(opts)
    return with({ type = "boolean" }, opts)
end

function _M.array(items, opts)
    if type(items) ~= "table" then
        error("usage: schema.array(item_shape[, opts])", 2)
    end
    return with({ type = "array", items = items }, opts)
end

function _M.object(fields, opts)
    if type(fields) ~= "table" then
        error("usage: schema.object({key = shape, ...}[, opts])", 2)
    end
    return with({ type = "object", fields = fields }, opts)
end

function _M.union(tag, variants, opts)
    if type(tag) ~= "string" or type(variants) ~= "table" then
        error("usage: schema.union(tag_key, {tag_value = object_shape, ...})", 2)
    end
    return with({ type = "union", tag = tag, variants = variants }, opts)
end

-- ---- helpers ---------------------------------------------------------------------------

-- Characters, not bytes: every byte that does not continue a UTF-8 sequence.
local function ulen(s)
    local _, cont = gsub(s, "[\128-\191]", "")
    return #s - cont
end
_M.ulen = ulen

-- Generic text a model writes when it has nothing real to say, or copies from
-- an example. Case-insensitive, except the all-caps markers.
local MARKERS = {
    "lorem ipsum", "dolor sit amet", "business name", "company name", "your business here",
    "[your", "[insert", "[business", "[company", "[name]", "[city]", "[phone", "[email", "<insert",
    "(insert", "insert text", "insert here", "{{", "}}", "placeholder", "sample text",
    "example text", "text goes here", "goes here]",
}
local CAPS_MARKERS = { "TODO", "TBD", "FIXME", "XXX" }
_M.PLACEHOLDER_MARKERS = MARKERS

function _M.placeholder(s)
    if type(s) ~= "string" then
        return nil
    end
    local l = lower(s)
    for _, m in ipairs(MARKERS) do
        if find(l, m, 1, true) then
            return m
        end
    end
    for _, m in ipairs(CAPS_MARKERS) do
        -- As a word: not inside "TODOS" or "MTBD".
        if find(" " .. s .. " ", "%f[%w]" .. m .. "%f[%W]") then
            return m
        end
    end
    return nil
end

local ARRAY_MT = rawget(_G, "wm") and wm.json.array_mt or nil

-- Decoded JSON arrays carry wm.json.array_mt; a hand-built sequence counts
-- too. An empty plain table is both an empty array and an empty object.
local function is_array(v)
    if type(v) ~= "table" then
        return false
    end
    if ARRAY_MT and getmetatable(v) == ARRAY_MT then
        return true
    end
    local n = #v
    for k in pairs(v) do
        if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then
            return false
        end
    end
    return true
end

local function is_object(v)
    if type(v) ~= "table" or (ARRAY_MT and getmetatable(v) == ARRAY_MT) then
        return false
    end
    for k in pairs(v) do
        if type(k) ~= "string" then
            return false
        end
    end
    return true
end

local function typename(v)
    if v == nil or v == NULL then
        return "null"
    end
    if type(v) == "table" then
        if next(v) == nil then
            return is_array(v) and getmetatable(v) == ARRAY_MT and "array" or "object"
        end
        return is_array(v) and "array" or (is_object(v) and "object" or "table")
    end
    return type(v)
end

local function join_path(path, key)
    if type(key) == "number" then
        return (path or "") .. "[" .. key .. "]"
    end
    if path == nil or path == "" then
        return key
    end
    return path .. "." .. key
end

-- ---- validation ------------------------------------------------------------------------

local check_value

local function add(errs, path, msg)
    errs[#errs + 1] = (path and path ~= "" and (path .. ": ") or "") .. msg
end

local function check_string(shape, v, path, errs, parent, key)
    if type(v) ~= "string" then
        return add(errs, path, "must be a string (got " .. typename(v) .. ")")
    end
    if find(v, "[%z\1-\8\11\12\14-\31\127]") then
        return add(errs, path, "contains control characters")
    end
    if shape.single_line and find(v, "[\r\n]") then
        return add(errs, path, "must be a single line")
    end
    local trimmed = trim(v)
    if shape.min and ulen(trimmed) < shape.min then
        return add(errs, path, shape.min == 1 and "must not be empty"
            or format("must be at least %d characters (got %d)", shape.min, ulen(trimmed)))
    end
    if shape.max and ulen(v) > shape.max then
        return add(errs, path, format("must be at most %d characters (got %d)", shape.max, ulen(v)))
    end
    if shape.enum then
        local found
        for _, e in ipairs(shape.enum) do
            if v == e or (shape.ci and lower(trimmed) == lower(e)) then
                found = e
                break
            end
        end
        if not found then
            return add(errs, path, "must be one of " .. concat(shape.enum, ", ") .. " (got " .. format("%q", v:sub(1, 60)) .. ")")
        end
        if found ~= v and parent ~= nil then
            parent[key] = found
        end
    end
    if shape.pattern and not match(v, shape.pattern) then
        return add(errs, path, shape.pattern_msg or ("does not match " .. shape.pattern))
    end
    if shape.placeholder ~= false then
        local m = _M.placeholder(v)
        if m then
            return add(errs, path, "looks like placeholder text (" .. format("%q", m) .. ")")
        end
    end
    if shape.check then
        local msg = shape.check(v)
        if msg then
            return add(errs, path, msg)
        end
    end
end

local function check_number(shape, v, path, errs)
    if type(v) ~= "number" or v ~= v or v == huge or v == -huge then
        return add(errs, path, "must be a" .. (shape.type == "integer" and "n integer" or " number")
            .. " (got " .. typename(v) .. ")")
    end
    if shape.type == "integer" and floor(v) ~= v then
        return add(errs, path, "must be an integer (got " .. tostring(v) .. ")")
    end
    if shape.min and v < shape.min or shape.max and v > shape.max then
        return add(errs, path, format("must be between %s and %s (got %s)", tostring(shape.min or "-inf"),
            tostring(shape.max or "inf"), tostring(v)))
    end
    if shape.check then
        local msg = shape.check(v)
        if msg then
            return add(errs, path, msg)
        end
    end
end

local function check_array(shape, v, path, errs)
    if not is_array(v) then
        return add(errs, path, "must be an array (got " .. typename(v) .. ")")
    end
    local n = #v
    if shape.min and n < shape.min then
        return add(errs, path, shape.min == 1 and "must not be empty"
            or format("must have at least %d items (got %d)", shape.min, n))
    end
    if shape.max and n > shape.max then
        return add(errs, path, format("must have at most %d items (got %d)", shape.max, n))
    end
    local seen = shape.unique and {} or nil
    for i = 1, n do
        check_value(shape.items, v[i], join_path(path, i), errs, v, i)
        if seen and type(v[i]) == "string" then
            local k = lower(v[i])
            if seen[k] then
                add(errs, join_path(path, i), "repeats " .. format("%q", v[i]:sub(1, 60)))
            end
            seen[k] = true
        end
    end
    if shape.check then
        local msg = shape.check(v)
        if msg then
            add(errs, path, msg)
        end
    end
end

local function check_object(shape, v, path, errs)
    if not is_object(v) then
        return add(errs, path, "must be an object (got " .. typename(v) .. ")")
    end
    local optional = {}
    for _, k in ipairs(shape.optional or {}) do
        optional[k] = true
    end
    -- Sorted, so the messages come in a stable order.
    local keys = {}
    for k in pairs(shape.fields) do
        keys[#keys + 1] = k
    end
    sort(keys)
    for _, k in ipairs(keys) do
        local fv = v[k]
        if fv == nil or fv == NULL then
            if not optional[k] then
                add(errs, join_path(path, k), "is required")
            end
        else
            check_value(shape.fields[k], fv, join_path(path, k), errs, v, k)
        end
    end
    if shape.check and #errs == 0 then
        local msg = shape.check(v)
        if msg then
            add(errs, path, msg)
        end
    end
end

local function check_union(shape, v, path, errs)
    if not is_object(v) then
        return add(errs, path, "must be an object (got " .. typename(v) .. ")")
    end
    local tag = v[shape.tag]
    local variant = type(tag) == "string" and shape.variants[tag] or nil
    if not variant then
        local names = {}
        for k in pairs(shape.variants) do
            names[#names + 1] = k
        end
        sort(names)
        return add(errs, join_path(path, shape.tag), "must be one of " .. concat(names, ", ")
            .. " (got " .. (type(tag) == "string" and format("%q", tag:sub(1, 40)) or typename(tag)) .. ")")
    end
    return check_object(variant, v, path, errs)
end

function check_value(shape, v, path, errs, parent, key)
    local t = shape.type
    if t == "string" then
        return check_string(shape, v, path, errs, parent, key)
    elseif t == "integer" or t == "number" then
        return check_number(shape, v, path, errs)
    elseif t == "boolean" then
        if type(v) ~= "boolean" then
            return add(errs, path, "must be true or false (got " .. typename(v) .. ")")
        end
    elseif t == "array" then
        return check_array(shape, v, path, errs)
    elseif t == "object" then
        return check_object(shape, v, path, errs)
    elseif t == "union" then
        return check_union(shape, v, path, errs)
    elseif t == "any" then
        return
    else
        error("schema: unknown shape type " .. tostring(t) .. " at " .. tostring(path), 0)
    end
end

function _M.validate(shape, value)
    if type(shape) ~= "table" or shape.type == nil then
        error("usage: schema.validate(shape, value)", 2)
    end
    local errs = {}
    check_value(shape, value, "", errs, nil, nil)
    if #errs == 0 then
        return true
    end
    local shown = {}
    for i = 1, math.min(#errs, 5) do
        shown[i] = errs[i]
    end
    local msg = concat(shown, "; ")
    if #errs > 5 then
        msg = msg .. format("; and %d more", #errs - 5)
    end
    return nil, msg, errs
end

return _M
