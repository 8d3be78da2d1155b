-- Attaches wm.http (scripts/wm/http.lua) to the global table, configured
-- from config http_client. Called by scripts/wm/init.lua.
return function(wm)
    local http = require "wm.http"
    if wm.config and wm.config.http_client then
        http.configure(wm.config.http_client)
    end
    wm.http = http
end
