-- A small logic-less template engine (a Mustache subset) that escapes by
-- default.
--
--   {{name}}         the value, HTML-escaped (lib.html.escape)
--   {{a.b.c}}        a dotted path; {{.}} is the current item
--   {{{name}}}       the value raw: only for HTML the code built itself
--                    (rendered sections, CSS from validated values), never
--                    for data
--   {{#name}}..{{/name}}  a section: an array renders once per item (the
--                    item becomes the innermost context); a table renders
--                    once with it as context; another true value once;
--                    nil/false/wm.null/""/{} (empty array) not at all
--   {{^name}}..{{/name}}  inverted: renders when the section would not
--   {{>name}}        a partial: opts.partials[name], rendered in the
--                    current context
--   {{! comment }}   dropped
--
--   template.compile(src) -> tpl   compiled once, cached by source text;
--                    a syntax error raises (it is the code's mistake)
--   template.render(src, ctx[, opts]) -> string
--   tpl:render(ctx[, opts]) -> string
--       opts.strict: a {{name}} that is missing (nil or wm.null) raises
--       "template: missing key 'name'"; otherwise it renders as "". The
--       default is strict under `wm test` (when wm.testing is loaded) and
--       when WM_TEMPLATE_STRICT=1, lenient otherwise (production).
--       opts.partials: name -> template source.
--
-- Lookups search the context stack from the innermost outwards; a dotted
-- path resolves its first part that way, the rest inside it.
local html = require "lib.html"
local trim = require("lib.text").trim

local type, tostring, error, ipairs, next, pcall = type, tostring, error, ipairs, next, pcall
local getmetatable, setmetatable, os, package = getmetatable, setmetatable, os, package
local find, sub, match, gsub, concat = string.find, string.sub, string.match, string.gsub, table.concat

local _M = { _VERSION = "0.1" }

local NULL = rawget(_G, "wm") and wm.null or nil
local escape = html.escape

local cache_by_src = {}
local cache_count = 0
local CACHE_MAX = 256

local function is_missing(v)
    return v == nil or (NULL ~= nil and v == NULL)
end

-- Parses src into a tree: array of nodes
--   "text"                  (a plain string)
--   {k="var", path=, raw=}
--   {k="sec", path=, inv=, body=}
--   {k="partial", name=}
local function parse(src)
    local root = {}
    local stack = { { name = nil, body = root } }
    local pos, len = 1, #src
    local line_of = function(p)
        local _, n = gsub(sub(src, 1, p), "\n", "")
        return n + 1
    end
    while pos <= len do
        local s = find(src, "{{", pos, true)
        local body = stack[#stack].body
        if not s then
            body[#body + 1] = sub(src, pos)
            break
        end
        if s > pos then
            body[#body + 1] = sub(src, pos, s - 1)
        end
        local raw = sub(src, s, s + 2) == "{{{"
        local close = raw and "}}}" or "}}"
        local e = find(src, close, s + (raw and 3 or 2), true)
        if not e then
            error(("template: unclosed tag at line %d"):format(line_of(s)), 0)
        end
        local inner = trim(sub(src, s + (raw and 3 or 2), e - 1))
        pos = e + #close
        local sigil = sub(inner, 1, 1)
        if raw then
            body[#body + 1] = { k = "var", path = inner, raw = true }
        elseif sigil == "!" then
            -- comment
        elseif sigil == "#" or sigil == "^" then
            local name = trim(sub(inner, 2))
            local node = { k = "sec", path = name, inv = sigil == "^", body = {} }
            body[#body + 1] = node
            stack[#stack + 1] = { name = name, body = node.body }
        elseif sigil == "/" then
            local name = trim(sub(inner, 2))
            local top = stack[#stack]
            if #stack == 1 or top.name ~= name then
                error(("template: {{/%s}} at line %d closes %s"):format(name, line_of(s),
                    top.name and ("{{#" .. top.name .. "}}") or "nothing"), 0)
            end
            stack[#stack] = nil
        elseif sigil == ">" then
            body[#body + 1] = { k = "partial", name = trim(sub(inner, 2)) }
        elseif sigil == "&" then
            body[#body + 1] = { k = "var", path = trim(sub(inner, 2)), raw = true }
        else
            body[#body + 1] = { k = "var", path = inner }
        end
        if not raw and sigil ~= "!" then
            local p = (sigil == "#" or sigil == "^" or sigil == "/" or sigil == ">" or sigil == "&")
                and trim(sub(inner, 2)) or inner
            if p == "" or not match(p, "^[%w_%.%-]+$") then
                error(("template: bad tag name %q at line %d"):format(p, line_of(s)), 0)
            end
        end
    end
    if #stack > 1 then
        error(("template: {{#%s}} is never closed"):format(stack[#stack].name), 0)
    end
    -- Pre-split the dotted paths.
    local function prep(nodes)
        for _, n in ipairs(nodes) do
            if type(n) == "table" then
                if n.path then
                    if n.path == "." then
                        n.parts = {}
                    else
                        local parts = {}
                        for part in n.path:gmatch("[^%.]+") do
                            parts[#parts + 1] = part
                        end
                        n.parts = parts
                    end
                end
                if n.body then
                    prep(n.body)
                end
            end
        end
    end
    prep(root)
    return root
end

local function lookup(stack, depth, parts)
    if #parts == 0 then
        return stack[depth]
    end
    local first = parts[1]
    local v
    for i = depth, 1, -1 do
        local c = stack[i]
        if type(c) == "table" then
            local x = c[first]
            if not is_missing(x) then
                v = x
                break
            end
        end
    end
    for i = 2, #parts do
        if type(v) ~= "table" then
            return nil
        end
        v = v[parts[i]]
        if is_missing(v) then
            return nil
        end
    end
    if is_missing(v) then
        return nil
    end
    return v
end

local function is_array(t)
    return t[1] ~= nil or next(t) == nil
end

local function truthy(v)
    if is_missing(v) or v == false or v == "" then
        return false
    end
    if type(v) == "table" and next(v) == nil then
        return false
    end
    return true
end

local default_strict

local function strict_default()
    if default_strict == nil then
        local env = os.getenv("WM_TEMPLATE_STRICT")
        if env == "1" then
            return true
        elseif env == "0" then
            return false
        end
        return package.loaded["wm.testing"] ~= nil
    end
    return default_strict
end

local render_nodes

local function render_partial(st, name)
    local src = st.partials and st.partials[name]
    if type(src) ~= "string" then
        if st.strict then
            error("template: missing partial '" .. name .. "'", 0)
        end
        return
    end
    st.depth_partials = (st.depth_partials or 0) + 1
    if st.depth_partials > 16 then
        error("template: partials nested too deeply", 0)
    end
    render_nodes(st, _M.compile(src).nodes)
    st.depth_partials = st.depth_partials - 1
end

render_nodes = function(st, nodes)
    local out, stack = st.out, st.stack
    for i = 1, #nodes do
        local n = nodes[i]
        if type(n) == "string" then
            out[#out + 1] = n
        elseif n.k == "var" then
            local v = lookup(stack, st.n, n.parts)
            if v == nil then
                if st.strict then
                    error("template: missing key '" .. n.path .. "'", 0)
                end
            elseif v ~= false then
                local tv = type(v)
                if tv == "table" or tv == "function" or tv == "userdata" then
                    error("template: '" .. n.path .. "' is a " .. tv .. ", not a value", 0)
                end
                out[#out + 1] = n.raw and tostring(v) or escape(v)
            end
        elseif n.k == "sec" then
            local v = lookup(stack, st.n, n.parts)
            local yes = truthy(v)
            if n.inv then
                if not yes then
                    render_nodes(st, n.body)
                end
            elseif yes then
                if type(v) == "table" and is_array(v) then
                    for _, item in ipairs(v) do
                        st.n = st.n + 1
                        stack[st.n] = item
                        render_nodes(st, n.body)
                        stack[st.n] = nil
                        st.n = st.n - 1
                    end
                else
                    st.n = st.n + 1
                    stack[st.n] = v
                    render_nodes(st, n.body)
                    stack[st.n] = nil
                    st.n = st.n - 1
                end
            end
        elseif n.k == "partial" then
            render_partial(st, n.name)
        end
    end
end

local Tpl = {}
Tpl.__index = Tpl

function Tpl:render(ctx, opts)
    if getmetatable(self) ~= Tpl then
        error("usage: tpl:render(ctx[, opts])", 2)
    end
    opts = opts or {}
    local strict = opts.strict
    if strict == nil then
        strict = strict_default()
    end
    local st = { out = {}, stack = { ctx or {} }, n = 1, strict = strict, partials = opts.partials }
    render_nodes(st, self.nodes)
    return concat(st.out)
end

function _M.compile(src)
    if type(src) ~= "string" then
        error("usage: template.compile(src)", 2)
    end
    local tpl = cache_by_src[src]
    if tpl then
        return tpl
    end
    local ok, nodes = pcall(parse, src)
    if not ok then
        error(nodes, 2)
    end
    tpl = setmetatable({ nodes = nodes }, Tpl)
    if cache_count >= CACHE_MAX then
        cache_by_src, cache_count = {}, 0
    end
    cache_by_src[src] = tpl
    cache_count = cache_count + 1
    return tpl
end

function _M.render(src, ctx, opts)
    if type(src) ~= "string" then
        error("usage: template.render(src, ctx[, opts])", 2)
    end
    return _M.compile(src):render(ctx, opts)
end

-- set_strict(true|false|nil): overrides the default for this process (nil
-- restores the automatic choice).
function _M.set_strict(v)
    default_strict = v
end

return _M
