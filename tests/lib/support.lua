-- What the support tests share (tickets, their quality gate, versions): wm's
-- HTTP server over a fresh schema with the offline providers, a live site
-- built by the offline agents and bought by a customer signed in to the
-- portal, and a ticket filed and interpreted. Load it with
--   local support = dofile(wm.root .. "/tests/lib/support.lua")
local web = dofile(wm.root .. "/tests/lib/web.lua")
local stage = dofile(wm.root .. "/scripts/stages/interpret_ticket.lua")
local support = {}

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

-- setup(t[, tickets]) -> port, var: a fresh schema with the prompts, a var
-- folder of this test's, the offline LLM, mail to the outbox, tickets
-- (10 a customer a day, none approved by itself; `tickets` over that) and
-- wm's HTTP server, whose sites are never cached by the browser
-- (sites.serve_max_age 0: a test reads each change at once).
function support.setup(t, tickets)
    web.fresh_schema()
    assert(require("lib.prompts").sync())
    local var = t.tmpdir()
    t.config("paths", { var = var })
    t.config("providers", { llm = "offline", mail = "outbox" })
    t.config("tickets", { per_customer_per_day = 10, auto_approve = false })
    t.config("tickets", tickets or {})
    require("lib.site_cache").reset()
    local port = web.serve(t)
    t.config("sites", { serve_max_age = 0 })
    return port, var
end

support.REVIEWS = {
    { author_title = "Maria G.", review_rating = 5, review_text = "Luis showed up on time and fixed our leaking water heater in an hour. Fair price and he cleaned up after himself." },
    { author_title = "Tom B.", review_rating = 5, review_text = "Honest and professional. He explained everything before starting the job." },
    { author_title = "Dana", review_rating = 4, review_text = "Quick response on a Sunday for a burst pipe. Friendly and knowledgeable." },
}

-- support.made: how many customers and sites were made, the number in
-- their names and emails (unique across the tests of a file).
support.made = 0

-- customer(site_id, name) -> {customer_id, email, cookie}: a customer with
-- an active subscription to the site, signed in to the portal (cookie: the
-- Cookie header of its session).
function support.customer(site_id, name)
    support.made = support.made + 1
    local n = support.made
    local email = "c" .. n .. "@example.com"
    local c = one("INSERT INTO customers (email, full_name) VALUES ($1, $2) RETURNING id", email, name)
    one([[INSERT INTO subscriptions (customer_id, site_id, recurrente_subscription_id, status, amount_cents)
        VALUES ($1, $2, $3, 'active', 80000) RETURNING id]], c.id, site_id, "su_" .. n)
    local store = require("web.portal.account").store
    local sid = assert(store:start(c.id))
    return { customer_id = c.id, email = email, cookie = store:cookie(sid):match("^(wm_portal=[^;]*)") }
end

-- live_site(name[, o]) -> {site_id, business_id, subdomain, html, customer_id,
-- email, cookie}: a plumber's site built by the offline agents, version 1,
-- bought by a customer (customer()). o: drop (section kinds left out of its
-- content), reviews (the business's; default support.REVIEWS), sold (it went
-- live through domain.sites.mark_live, the first payment, which records what
-- its page was rendered from; otherwise it is inserted live, as a site built
-- before that was recorded).
function support.live_site(name, o)
    o = o or {}
    local offline = require "providers.llm.offline"
    local pipeline = require "lib.pipeline"
    local site_edit = require "lib.site_edit"
    support.made = support.made + 1
    local n = support.made
    local b = one([[INSERT INTO businesses (gmb_id, name, slug, category, city, state, phone, rating, review_count,
            address, email, reviews_data, lead_status, website_status)
        VALUES ($1, $2, $1, 'Plumber', 'Austin', 'TX', '(512) 555-0100', 4.8, 40, '12 Oak St', $3, $4::jsonb,
            'qualified', 'sold') RETURNING *]], "support-" .. n, name, "owner" .. n .. "@example.com",
        wm.json.array(o.reviews or support.REVIEWS))
    local ctx = { business = b, reviews = b.reviews_data }
    for _, agent in ipairs { "analyst", "concept", "director", "architect" } do
        ctx[agent] = offline[agent](ctx)
    end
    for _, kind in ipairs(o.drop or {}) do
        for i, s in ipairs(ctx.architect.sections) do
            if s.kind == kind then
                table.remove(ctx.architect.sections, i)
                break
            end
        end
    end
    for _, agent in ipairs { "analyst", "concept", "director", "architect" } do
        assert(pipeline.save_agent_output(b.id, agent, ctx[agent], "test"))
    end
    local sub = "support-site-" .. n
    local html = assert(site_edit.render({ subdomain = sub }, { business = b, dna = ctx.concept, brief = ctx.director,
                                                               content = ctx.architect }))
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version, deployed_at, sold_at)
        VALUES ($1, $2, $3, $4, 1, now(), now()) RETURNING id]], b.id, sub, html, o.sold and "preview" or "live")
    if o.sold then
        assert(wm.db.tx(function() return assert(require("domain.sites").mark_live(s.id)) end))
    end
    local who = support.customer(s.id, name)
    who.site_id, who.business_id, who.subdomain, who.html = s.id, b.id, sub, html
    return who
end

-- The ticket `who` (a live_site) files with `text`: its row.
function support.file(who, text)
    local out = assert(wm.db.tx(function()
        local row, why = require("domain.tickets").create { site_id = who.site_id, customer_id = who.customer_id,
                                                            text = text }
        return { row = row, why = why }
    end))
    assert(out.row, tostring(out.why))
    return out.row
end

-- The interpret_ticket stage on ticket `id` as the scheduler's first attempt
-- runs it: its outcome as a string ("outcome.done ...").
function support.interpret(id, rebuild)
    return tostring(stage.run { payload = { id = id, rebuild = rebuild }, attempt = 1, max_attempts = 4 })
end

return support
