-- wm serve's one-time setup link: printed when no active admin exists, so
-- the first super_admin can be created in the browser (valid
-- admin.setup_link_ttl seconds, usable once).
local _M = {}

function _M.print()
    local ok, url = pcall(require("lib.admin_auth").setup_link)
    if not ok then
        wm.log.warn("admin: no setup link (the database did not answer)", { error = tostring(url) })
        return
    end
    if url then
        io.stdout:write("\nNo admin account yet. Create the first one (link valid ",
            math.floor(((wm.config.admin or {}).setup_link_ttl or 3600) / 60), " minutes, usable once):\n  ",
            url, "\n  (or: wm users add EMAIL --role super_admin)\n\n")
        io.stdout:flush()
    end
end

return _M
