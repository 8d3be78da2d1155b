-- wm.deps: who required whom, so that hot reload can drop a changed module
-- together with every module that captured it.
--
-- A stage or route usually says `local email = require "lib.email"` once,
-- at load: the module it holds is the old one for as long as the stage
-- itself stays loaded. Dropping only lib.email from package.loaded therefore
-- changes nothing for the stage. This module wraps `require` (installed once
-- at boot, before any script loads) and records an edge "parent uses child"
-- whenever a module's main chunk requires another, whether the child was
-- loaded then or already. reload.lua then drops the changed modules and
-- everything that reaches them through those edges.
--
--   deps.install()                 wraps the global require (idempotent)
--   deps.dependents(names) -> list every loaded module that reaches one of
--                                  `names` through load-time requires
--                                  (transitively), not including `names`
--   deps.forget(name)              drops a module's own edges (it reloads)
--
-- Requires made inside functions (at call time) record nothing: they fetch
-- package.loaded afresh each call, which is what reload wants.
local type, pairs, ipairs, error, pcall = type, pairs, ipairs, error, pcall
local running = coroutine.running
local package = package

local _M = {}

local users = {}      -- child -> { parent = true }: parent's main chunk required child
local stacks = setmetatable({}, { __mode = "k" })   -- coroutine -> names being loaded
local main_stack = {}
local installed = false

local function stack()
    local co = running()
    if not co then
        return main_stack
    end
    local s = stacks[co]
    if not s then
        s = {}
        stacks[co] = s
    end
    return s
end

function _M.install()
    if installed then
        return
    end
    installed = true
    local plain_require = require
    _G.require = function(name)
        local s = stack()
        local parent = s[#s]
        if parent and type(name) == "string" and parent ~= name then
            local u = users[name]
            if not u then
                u = {}
                users[name] = u
            end
            u[parent] = true
        end
        if package.loaded[name] ~= nil then
            return package.loaded[name]
        end
        s[#s + 1] = name
        local ok, mod = pcall(plain_require, name)
        s[#s] = nil
        if not ok then
            error(mod, 2)
        end
        return mod
    end
end

function _M.forget(name)
    for _, u in pairs(users) do
        u[name] = nil
    end
end

function _M.dependents(names)
    local seen, out, queue = {}, {}, {}
    for _, n in ipairs(names) do
        seen[n] = true
        queue[#queue + 1] = n
    end
    local i = 1
    while queue[i] do
        for parent in pairs(users[queue[i]] or {}) do
            if not seen[parent] then
                seen[parent] = true
                if package.loaded[parent] ~= nil then
                    out[#out + 1] = parent
                end
                queue[#queue + 1] = parent
            end
        end
        i = i + 1
    end
    table.sort(out)
    return out
end

return _M
