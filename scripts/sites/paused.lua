-- The page a sold site shows while it is paused (its subscription unpaid
-- beyond the grace period): polite, with no detail about the business's
-- billing, served with the site's own headers (a 200, not a 404: the
-- address is theirs and will come back).
--
--   paused.page(business_name) -> html
local template = require "lib.template"

local _M = {}

local PAGE = [[<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>{{name}}</title>
<style>body{font:17px/1.6 system-ui,sans-serif;max-width:34rem;margin:5rem auto;padding:0 1.25rem;color:#1f2937}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 1rem}p{margin:0 0 1rem}</style>
</head><body><main><h1>{{name}}</h1>
<p>This website is taking a short break and will be back soon.</p>
<p>Thank you for your patience.</p></main></body></html>]]

function _M.page(name)
    if name == nil or name == wm.null or name == "" then
        name = "This business"
    end
    return template.render(PAGE, { name = name })
end

return _M
