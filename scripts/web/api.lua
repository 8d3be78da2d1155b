-- The JSON API under /api/v1 (scripts/web/api/v1.lua): the dashboard's
-- read data for scripts, behind the same roles as the pages.
dofile(wm.root .. "/scripts/web/api/v1.lua")
