-- compose {business_id}: for the business's site the seed's "Get sites
-- ready for outreach" query selects (none: nothing to do), the
-- email_composer agent writes subject, preview text and body around the
-- review highlight; lib/email.lua renders the plain and HTML parts (tracked links, unsubscribe, postal address); one
-- campaigns row per site, status 'pending', with its variant. Then send.
-- While outreach is paused (domain.outreach) the job snoozes, spending no
-- attempt and no model call: what is paused for (the emails' words, say)
-- may be what gets fixed before it resumes.
local agent_stage = require "lib.agent_stage"
local pipeline = require "lib.pipeline"
local campaigns = require "domain.campaigns"

return {
    kind = "compose",
    concurrency = 4,
    timeout = 300,
    max_attempts = 4,
    run = function(job)
        local outreach = require "domain.outreach"
        local paused, perr = outreach.paused()
        if perr then
            return nil, "reading the outreach switch: " .. tostring(perr)
        elseif paused then
            return require("lib.outcome").snooze(outreach.SNOOZE)
        end
        local b, err, discard = pipeline.job_business(job)
        if not b then
            return nil, err, discard
        end
        -- Only what the seed's outreach query selects: a preview that passed
        -- the quality gate (photographed), its business not contacted yet.
        local site, serr = require("domain.sites").ready_for_outreach(b.id)
        if serr then
            return nil, serr
        elseif not site then
            return true                     -- none: not judged yet, held, or contacted already
        end
        local existing = wm.db.one("SELECT id, status FROM campaigns WHERE site_id = $1", site.id)
        if existing then
            if existing.status == "pending" then
                assert(pipeline.next("send", b.id, { campaign_id = existing.id }))
            end
            return true                     -- one campaign per site, ever
        end
        if b.email == wm.null or b.email == nil then
            return nil, "business has no email", { discard = true }
        end
        return agent_stage.run(job, "email_composer", function(q, biz, out, _, call)
            -- The A/B variant of the composer's "approach" section this email used.
            local variant = call and call.variants and call.variants.approach or wm.config.mail.variant or "a"
            local c = campaigns.create {
                business_id = biz.id, site_id = site.id, subject = out.subject, body = wm.json.encode(out),
                preview_text = out.preview_text, business_name = biz.name, recipient_email = biz.email,
                review_highlight = biz.review_highlight ~= wm.null and biz.review_highlight or nil,
                variant = variant, provider = (wm.config.providers or {}).mail or "outbox",
            }
            if c then
                assert(pipeline.next("send", biz.id, { campaign_id = c.id }))
            end
        end, nil)
    end,
}
