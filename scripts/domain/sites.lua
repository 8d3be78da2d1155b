-- Site state: the one home of generated_sites.status.
--   preview (built, emailed as a preview) -> live/sold (payments) -> archived
local activity = require "lib.activity"

local _M = {}

-- create_preview{business_id=, subdomain=, html=, design_brief=, builder_prompt=, claim_token=}
-- -> {id, subdomain}; the business goes generating -> generated.
function _M.create_preview(s)
    local rows, err = wm.db.run([[INSERT INTO generated_sites (business_id, subdomain, html_content,
            design_brief, builder_prompt, version, status, claim_token)
        VALUES ($1, $2, $3, $4::jsonb, $5, 1, 'preview', $6) RETURNING id, subdomain]],
        s.business_id, s.subdomain, s.html, s.design_brief or wm.null, s.builder_prompt, s.claim_token)
    if not rows then
        return nil, err
    end
    local site = rows[1]
    assert(require("domain.businesses").site_generated(s.business_id))
    assert(activity.log("site.generated", "site", site.id, { subdomain = site.subdomain, bytes = #s.html }))
    return site
end

return _M
