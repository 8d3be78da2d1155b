-- architect {business_id[, feedback]}: the site's content, rendered through
-- templates that escape every value (LLM-written HTML is sanitised), stored
-- as generated_sites version 1 in status 'draft' with its design brief and
-- the prompt that built it; the business's website_status becomes
-- 'generated'; then the screenshot stage photographs and judges it. A
-- business that has a site already gets no second one: only a draft the
-- quality gate sent back (feedback = its failures) is written again, and
-- a site an operator asked to regenerate (regenerate = its id) gets a new
-- version from a fresh call (domain.sites.new_version).
local agent_stage = require "lib.agent_stage"
local pipeline = require "lib.pipeline"
local render = require "sites.render"
local sites = require "domain.sites"

local function subdomain_for(slug)
    local s = tostring(slug):lower():gsub("[^a-z0-9-]", "-"):gsub("%-+", "-"):gsub("^%-", ""):gsub("%-$", "")
    return s:sub(1, 63):gsub("%-$", "")
end

local M = {
    kind = "architect",
    concurrency = 4,
    timeout = 600,
    max_attempts = 4,
}

-- Builds the page for business `b` from the stored agent outputs (a sold
-- site's page, `live`, has no preview banner or claim link).
function M.build(b, content, claim_token, subdomain, live)
    local dna = b.creative_dna ~= wm.null and b.creative_dna or pipeline.agent_output(b.id, "concept")
    return render.render {
        url = require("domain.sites").url(subdomain),
        business = b,
        dna = dna,
        brief = pipeline.agent_output(b.id, "director"),
        content = content,
        preview = not live and { banner = true, claim_url = claim_token and ("/claim/" .. claim_token) or nil } or nil,
    }
end

-- The operator's rebuild: the architect's fresh content becomes the site's
-- next version, and the stored architect output (what a sold site is
-- rendered from again) becomes the new one.
local function regenerate(job)
    local site = wm.db.one([[SELECT id, subdomain, claim_token, status FROM generated_sites
        WHERE id = $1 AND business_id = $2 AND status <> 'archived']], job.payload.regenerate, job.payload.business_id)
    if not site then
        return nil, "site " .. tostring(job.payload.regenerate) .. " is gone or archived", { discard = true }
    end
    return agent_stage.run(job, "architect", function(q, biz, content, prompt)
        local html, rerr = M.build(biz, content, site.claim_token, site.subdomain,
            site.status == "live" or site.status == "sold")
        if not html then
            error("rendering failed: " .. tostring(rerr), 0)
        end
        assert(q:query("UPDATE agent_outputs SET output = $3::jsonb, prompt = $4 WHERE business_id = $1 AND agent = $2",
            biz.id, "architect", content, prompt))
        assert(sites.new_version(site.id, html, prompt))
    end)
end

function M.run(job)
    if job.payload.regenerate then
        return regenerate(job)
    end
    -- (agent_stage.run loads the business and checks it.)
    -- The site itself, not one of its archived copies or proposals (a new
    -- version's draft sent back by the gate is rebuilt too).
    local existing = wm.db.one([[SELECT id, subdomain, claim_token, status FROM generated_sites WHERE business_id = $1
        ORDER BY status IN ('archived', 'proposed'), version DESC NULLS LAST LIMIT 1]], job.payload.business_id)
    if existing and not (existing.status == "draft" and job.payload.feedback) then
        return true                         -- regenerate nothing that exists
    end
    return agent_stage.run(job, "architect", function(q, biz, content, prompt)
        if existing then
            local html, rerr = M.build(biz, content, existing.claim_token, existing.subdomain)
            if not html then
                error("rendering failed: " .. tostring(rerr), 0)
            end
            assert(sites.rebuild_draft(existing.id, html, prompt))
            return
        end
        local token = wm.crypto.random_token(24)
        local sub = subdomain_for(biz.slug)
        if q:one("SELECT 1 FROM generated_sites WHERE subdomain = $1", sub) then
            sub = sub:sub(1, 54) .. "-" .. wm.crypto.sha256_hex(biz.id):sub(1, 8)
        end
        local html, rerr = M.build(biz, content, token, sub)
        if not html then
            error("rendering failed: " .. tostring(rerr), 0)
        end
        assert(sites.create_draft {
            business_id = biz.id, subdomain = sub, html = html, claim_token = token, builder_prompt = prompt,
            design_brief = pipeline.agent_output(biz.id, "director"),
        })
        assert(pipeline.recount_grid(biz.coverage_grid_id))
    end, "screenshot")
end

return M
