-- The stages: one Lua file per job kind in scripts/stages/ (and in the
-- stages/ folder of every WM_SCRIPTS_PATH entry, which wins over the
-- repository's file of the same name). A stage returns
--   { kind = "name", concurrency = n, timeout = seconds, max_attempts = n,
--     run = function(job) ... end }
-- and run returns true when done, or nil, err[, {retry_in = s} | {discard = true}].
local M = {}

local stages = {}       -- kind -> stage table (swapped whole on reload)

function M.dirs()
    local dirs = {}
    local extra = os.getenv("WM_SCRIPTS_PATH")
    if extra and extra ~= "" then
        for dir in extra:gmatch("[^:]+") do
            dirs[#dirs + 1] = dir .. "/stages"
        end
    end
    dirs[#dirs + 1] = wm.root .. "/scripts/stages"
    return dirs
end

local function validate(name, s)
    if type(s) ~= "table" then
        return nil, ("stages/%s.lua must return a table"):format(name)
    end
    if type(s.run) ~= "function" then
        return nil, ("stages/%s.lua: missing run(job)"):format(name)
    end
    s.kind = s.kind or name
    if type(s.kind) ~= "string" then
        return nil, ("stages/%s.lua: kind must be a string"):format(name)
    end
    for _, k in ipairs({ "concurrency", "timeout", "max_attempts" }) do
        if s[k] ~= nil and (type(s[k]) ~= "number" or s[k] <= 0) then
            return nil, ("stages/%s.lua: %s must be a positive number"):format(name, k)
        end
    end
    return s
end

-- Loads every stage into a new table; swaps it in only if all of them
-- loaded, so a broken edit leaves the running stages as they were.
function M.load_all()
    local names, seen = {}, {}
    for _, dir in ipairs(M.dirs()) do
        for _, f in ipairs(wm.fs.list_dir(dir) or {}) do
            local name = f:match("^([%w_]+)%.lua$")
            if name and not seen[name] then
                seen[name] = true
                names[#names + 1] = name
            end
        end
    end
    table.sort(names)
    local fresh = {}
    for _, name in ipairs(names) do
        local ok, mod = pcall(require, "stages." .. name)
        if not ok then
            return nil, "stage " .. name .. ": " .. tostring(mod)
        end
        local s, err = validate(name, mod)
        if not s then
            return nil, err
        end
        fresh[s.kind] = s
    end
    stages = fresh
    return true
end

function M.get(kind)
    return stages[kind]
end

function M.all()
    return stages
end

-- {name, concurrency, timeout} per kind; config jobs.concurrency.<kind>
-- overrides the stage's own number.
function M.kinds()
    local cfg = wm.config.jobs or {}
    local limits = cfg.concurrency or {}
    local list = {}
    for kind, s in pairs(stages) do
        list[#list + 1] = {
            name = kind,
            concurrency = limits[kind] or s.concurrency or limits.default or 10,
            timeout = (cfg.timeouts or {})[kind] or s.timeout or cfg.default_timeout or 300,
        }
    end
    table.sort(list, function(a, b) return a.name < b.name end)
    return list
end

return M
