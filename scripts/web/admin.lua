-- The dashboard under /admin: loads its pages from scripts/web/admin/ (one
-- file per page, each a query plus a template; the layout is
-- scripts/web/admin/view.lua). Each page file registers its routes with
-- wm.route and the least role each needs.
local dir = wm.root .. "/scripts/web/admin/"
for _, name in ipairs({ "auth.lua", "overview.lua", "leads.lua", "jobs.lua", "campaigns.lua", "users.lua",
    "coverage.lua", "sites.lua", "prompts.lua",
    "customers.lua", "subscriptions.lua", "tickets.lua", "payments.lua", "webhooks.lua", "activity.lua",
    "uploads.lua" }) do
    dofile(dir .. name)
end
