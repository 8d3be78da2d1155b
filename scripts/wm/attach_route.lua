-- Attaches wm.route, wm.route_host (scripts/wm/router.lua) and wm.metrics
-- (scripts/wm/metrics.lua) to the global table. Called by
-- scripts/wm/init.lua. Route files under scripts/web/ use wm.route.
return function(wm)
    local router = require "wm.router"
    wm.route = router.route
    wm.route_host = router.route_host
    wm.metrics = require "wm.metrics"
end
