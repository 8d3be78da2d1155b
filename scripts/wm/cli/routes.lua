-- wm routes [--json]: every HTTP route of scripts/web (and --routes DIR),
-- with its method, pattern and the least role it needs.
local router = require "wm.router"

local usage = [[usage: wm routes [--json] [--routes DIR]

Lists every route `wm serve` would serve: method, path pattern (host:... for
a site's host), the least role it needs (public: no login; viewer < editor <
admin < super_admin) and the file that declares it. A route file whose
route declares no role is an error here as it is for wm serve.]]

return {
    summary = "list the HTTP routes with the least role each needs",
    usage = usage,
    flags = { ["--json"] = "boolean", ["--routes"] = "string" },
    run = function(opts)
        local dirs = { (wm.root or ".") .. "/scripts/web" }
        if opts.routes then
            dirs[2] = opts.routes
        end
        router.configure { dirs = dirs }
        local ok, err = router.rebuild()
        if not ok then
            io.stderr:write("wm routes: ", tostring(err), "\n")
            return 1
        end
        local root = (wm.root or ".") .. "/"
        local list = {}
        for _, r in ipairs(router.list()) do
            local src = r.source
            if src:sub(1, #root) == root then
                src = src:sub(#root + 1)
            end
            list[#list + 1] = { method = r.method, pattern = r.pattern, role = r.role,
                                source = src .. (r.line and (":" .. r.line) or "") }
        end
        table.sort(list, function(a, b)
            if a.pattern ~= b.pattern then
                return a.pattern < b.pattern
            end
            return a.method < b.method
        end)
        if opts.json then
            io.stdout:write(wm.json.encode(wm.json.array(list), { pretty = true }), "\n")
            return 0
        end
        io.stdout:write(("%-6s %-36s %-12s %s\n"):format("METHOD", "PATTERN", "ROLE", "DECLARED IN"))
        for _, r in ipairs(list) do
            io.stdout:write(("%-6s %-36s %-12s %s\n"):format(r.method, r.pattern, r.role, r.source))
        end
        return 0
    end,
}
