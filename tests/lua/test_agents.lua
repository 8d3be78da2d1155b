-- The five agents through lib/llm.lua with the offline provider: outputs that
-- validate and come from the business, failures that are errors (never a
-- fallback) with the raw answer kept, the schema validator, JSON extraction,
-- and the cost of every call.
local T = {}

local llm = require "lib.llm"
local prompts = require "lib.prompts"
local schema = require "lib.schema"
local offline = require "providers.llm.offline"

local AGENTS = { "analyst", "concept", "director", "architect", "email_composer" }

local REVIEWS = {
    plumber = {
        { author_title = "Maria G.", review_rating = 5, review_text = "Luis showed up on time and fixed our leaking water heater in an hour. Fair price and he cleaned up after himself." },
        { author_title = "Tom B.", review_rating = 5, review_text = "Honest and professional. He explained everything before starting the job." },
        { author_title = "Dana", review_rating = 4, review_text = "Quick response on a Sunday for a burst pipe. Friendly and knowledgeable." },
    },
    dentist = {
        { author_title = "Priya K.", review_rating = 5, review_text = "Dr. Chen is so gentle and patient with my kids. The whole staff made us feel comfortable." },
        { author_title = "Mark", review_rating = 5, review_text = "Best cleaning I have ever had. They explained every step and never rushed me." },
    },
    bakery = {
        { author_title = "Lena", review_rating = 5, review_text = "The conchas are fresh every morning and the coffee is delicious. Sweetest staff in town." },
        { author_title = "Chris P.", review_rating = 5, review_text = "Ordered a custom birthday cake and it was beautiful and tasty. Will order again." },
    },
}

local function setup()
    assert(require("wm.migrate").up())
    assert(prompts.sync())
end

local n_biz = 0
local function business(fields, reviews)
    n_biz = n_biz + 1
    local b = assert(wm.db.one([[INSERT INTO businesses (name, slug, category, city, state, phone, rating,
            review_count, address, email, reviews_data)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) RETURNING *]],
        fields.name, "biz-" .. n_biz .. "-" .. wm.crypto.random_token(4):lower():gsub("[^%w]", "x"),
        fields.category, fields.city, fields.state or "TX", fields.phone or "(512) 555-0100",
        fields.rating or 4.8, fields.review_count or 40, fields.address, fields.email or "owner@example.com",
        wm.json.array(reviews or {})))
    return b
end

local function ctx_for(b)
    return { business = b, reviews = b.reviews_data }
end

-- Runs the five agents in order, each seeing the earlier outputs.
local function chain(t, b, extra)
    local ctx = ctx_for(b)
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    local calls = {}
    for _, agent in ipairs(AGENTS) do
        local out, call, c3 = llm.run_agent(agent, ctx, { job_id = 42 })
        t.ok(out, agent .. " failed: " .. tostring(call) .. " " .. tostring(c3 and c3.id))
        ctx[agent] = out
        calls[agent] = call
    end
    return ctx, calls
end

-- ---- offline outputs -----------------------------------------------------------------------

function T.every_agent_validates_and_depends_on_the_business(t)
    setup()
    local p = business({ name = "Rivera Plumbing", category = "Plumber", city = "Austin",
                         address = "12 Oak St, Austin, TX 78701" }, REVIEWS.plumber)
    local d = business({ name = "Bright Smile Dental", category = "Dentist", city = "Denver", state = "CO",
                         rating = 4.9, review_count = 120 }, REVIEWS.dentist)
    local cp = chain(t, p)
    local cd = chain(t, d)
    for _, agent in ipairs(AGENTS) do
        t.ok(schema.validate(require("agents." .. agent).schema, cp[agent]), agent .. " validates")
        t.ne(cp[agent], cd[agent], agent .. " differs between a plumber and a dentist")
    end
    -- Derived from the business, not generic.
    t.ok(cp.analyst.reviews_summary:find("Rivera Plumbing", 1, true))
    local quoted = false
    for _, r in ipairs(REVIEWS.plumber) do
        quoted = quoted or r.review_text:find(cp.analyst.review_highlight, 1, true) ~= nil
    end
    t.ok(quoted, "the highlight is a real snippet: " .. cp.analyst.review_highlight)
    t.ok(cp.architect.title:find("Rivera Plumbing", 1, true) and cp.architect.title:find("Austin", 1, true))
    t.ok(cd.architect.title:find("Denver", 1, true))
    t.ne(cp.concept.design_system.palette.primary, cd.concept.design_system.palette.primary)
    -- Services come from the trade: every plumber service is a plumbing one.
    local K = require "providers.llm.offline.knowledge"
    local function names_of(trade_key)
        for _, tr in ipairs(K.trades) do
            if tr.key == trade_key then
                local set = {}
                for _, sv in ipairs(tr.services) do
                    set[sv.name] = true
                end
                return set
            end
        end
    end
    local function services(ctx)
        for _, s in ipairs(ctx.architect.sections) do
            if s.kind == "services" then
                return s.items
            end
        end
        return {}
    end
    local plumbing, dental = names_of("plumber"), names_of("dentist")
    t.ok(#services(cp) >= 3 and #services(cd) >= 3)
    for _, it in ipairs(services(cp)) do
        t.ok(plumbing[it.name], "a plumbing service: " .. it.name)
    end
    for _, it in ipairs(services(cd)) do
        t.ok(dental[it.name], "a dental service: " .. it.name)
    end
    t.ok(cp.email_composer.subject:find("Rivera Plumbing", 1, true) or cp.email_composer.greeting:find("Rivera", 1, true))
end

function T.same_business_same_output(t)
    setup()
    local b = business({ name = "Sweet Crumb Bakery", category = "Bakery", city = "Tucson", state = "AZ" },
        REVIEWS.bakery)
    local c1 = chain(t, b)
    offline.reset_cache()
    local c2 = chain(t, b)
    for _, agent in ipairs(AGENTS) do
        t.eq(c2[agent], c1[agent], agent .. " is deterministic")
    end
end

function T.every_trade_gets_a_valid_site(t)
    setup()
    local cats = { "Plumber", "Electrician", "Roofing contractor", "Dentist", "Hair salon", "Auto repair shop",
                   "Landscaper", "House cleaning service", "HVAC contractor", "Bakery", "Mexican restaurant",
                   "Painter", "Pest control service", "Notary public" }
    local primaries, titles = {}, {}
    local render_ok, render = pcall(require, "sites.render")
    for i, cat in ipairs(cats) do
        local reviews = i % 3 == 0 and {} or REVIEWS.plumber
        local b = business({ name = cat .. " Co " .. i, category = cat, city = "City" .. i }, reviews)
        local ctx = chain(t, b)
        primaries[ctx.concept.design_system.palette.primary] = true
        titles[ctx.architect.title] = true
        if #reviews == 0 then
            for _, s in ipairs(ctx.director.sections) do
                t.ne(s, "reviews", cat .. ": no reviews section without review texts")
            end
        end
        if render_ok then
            local html, info = render.render { business = b, dna = ctx.concept, brief = ctx.director,
                                               content = ctx.architect }
            t.ok(html, cat .. " renders: " .. tostring(info))
            t.eq(#info.ignored, 0, cat .. ": every section kind known to the renderer")
            t.eq(#info.dropped, 0, cat .. ": fits the page budget")
            t.eq(#info.sanitized, 0, cat .. ": the html fragment needs no cleaning")
            t.ok(html:find(b.name, 1, true), cat .. ": the page names the business")
        end
    end
    local n = 0
    for _ in pairs(primaries) do
        n = n + 1
    end
    t.ok(n >= 12, "colours vary per business (" .. n .. " distinct primaries of " .. #cats .. ")")
end

function T.ab_variant_reaches_the_composer(t)
    setup()
    local seen = {}
    for i = 1, 12 do
        local b = business({ name = "Variant Test " .. i, category = "Plumber", city = "Waco" }, REVIEWS.plumber)
        local ctx = ctx_for(b)
        ctx.ab_key = "ab-test-" .. i       -- deterministic draws (else the business id)
        ctx.analyst = offline.analyst(ctx)
        local out, call = llm.run_agent("email_composer", ctx)
        t.ok(out, tostring(call))
        local v = call.variants.approach
        seen[v] = true
        if v == "b" then
            t.match(out.paragraphs[1], "^A website for ")
        else
            t.match(out.paragraphs[1], "one of your customers wrote")
        end
    end
    t.ok(seen.a and seen.b, "both variants were used over 12 businesses")
end

-- ---- failures are errors, with the raw answer kept ---------------------------------------------

local function call_row(id)
    return assert(wm.db.one("SELECT * FROM llm_calls WHERE id = $1", id))
end

function T.truncated_answer_is_a_retryable_error(t)
    setup()
    local b = business({ name = "Cut Short Roofing", category = "Roofer", city = "Tulsa" }, REVIEWS.plumber)
    for _, agent in ipairs(AGENTS) do
        local ctx = ctx_for(b)
        ctx.simulate = "truncated"
        local out, err, call = llm.run_agent(agent, ctx, { job_id = 7 })
        t.eq(out, nil, agent .. ": no output from a truncated answer")
        t.match(err, "^truncated", agent)
        t.eq(call.permanent, false, agent .. ": a cut answer is retried")
        t.eq(call.stop_reason, "max_tokens")
        local row = call_row(call.id)
        t.eq(row.ok, false)
        t.eq(row.stop_reason, "max_tokens")
        t.match(row.error, "^truncated")
        t.ok(type(row.raw_response) == "string" and #row.raw_response > 20, "raw answer kept")
        t.eq(row.raw_response:sub(1, 1), "{")
        t.eq(wm.json.decode(row.raw_response), nil, "the kept answer really is cut JSON")
        t.eq(row.job_id, 7)
        t.eq(row.business_id, b.id)
        t.ok(row.output_tokens > 0 and row.cost_micro_usd > 0, "a truncated call still costs")
    end
    -- Per agent: only the architect misbehaves.
    local ctx = ctx_for(b)
    ctx.simulate = { architect = "truncated" }
    t.ok(llm.run_agent("analyst", ctx))
    t.eq((llm.run_agent("architect", ctx)), nil)
end

function T.max_tokens_too_small_is_noticed(t)
    setup()
    local b = business({ name = "Tiny Budget Electric", category = "Electrician", city = "Ames" }, REVIEWS.plumber)
    local out, err, call = llm.run_agent("architect", ctx_for(b), { max_tokens = 100 })
    t.eq(out, nil)
    t.match(err, "^truncated: the answer stopped at max_tokens %(100")
    t.eq(call_row(call.id).max_tokens, 100)
    t.eq(call_row(call.id).output_tokens, 100)
end

function T.malformed_json_is_rejected(t)
    setup()
    local b = business({ name = "Broken Json Landscaping", category = "Landscaper", city = "Boise" }, REVIEWS.plumber)
    for _, agent in ipairs(AGENTS) do
        local ctx = ctx_for(b)
        ctx.simulate = "malformed"
        local out, err, call = llm.run_agent(agent, ctx)
        t.eq(out, nil)
        t.match(err, "^malformed JSON", agent)
        t.eq(call.permanent, false)
        local row = call_row(call.id)
        t.eq(row.ok, false)
        t.eq(row.stop_reason, "end_turn")
        t.match(row.raw_response, "^Here is the JSON")
    end
end

function T.placeholder_text_is_rejected(t)
    setup()
    local b = business({ name = "Generic Text Cleaning", category = "Cleaning service", city = "Provo" },
        REVIEWS.plumber)
    for _, agent in ipairs(AGENTS) do
        local ctx = ctx_for(b)
        ctx.simulate = "placeholder"
        local out, err, call = llm.run_agent(agent, ctx)
        t.eq(out, nil, agent)
        t.match(err, "^invalid output: .*placeholder", agent)
        t.eq(call.permanent, false)
        t.ok(call_row(call.id).raw_response:find("{", 1, true), "raw kept")
    end
end

function T.refusal_is_fatal_and_fences_are_fine(t)
    setup()
    local b = business({ name = "Fence Post Painting", category = "Painter", city = "Ogden" }, REVIEWS.plumber)
    local ctx = ctx_for(b)
    ctx.simulate = "refusal"
    local out, err, call = llm.run_agent("concept", ctx)
    t.eq(out, nil)
    t.match(err, "^refusal")
    t.eq(call.permanent, true, "a refusal is not asked again")
    t.eq(call_row(call.id).stop_reason, "refusal")
    ctx.simulate = "fenced"
    out, call = llm.run_agent("concept", ctx)
    t.ok(out, "```json fences and prose around them are tolerated: " .. tostring(call))
    ctx.simulate = "empty"
    out, err = llm.run_agent("concept", ctx)
    t.eq(out, nil)
    t.match(err, "^malformed JSON: empty answer")
    ctx.simulate = "overloaded"
    out, err, call = llm.run_agent("concept", ctx)
    t.eq(out, nil)
    t.match(err, "^overloaded")
    t.eq({ call.permanent, call.status, call.retry_after }, { false, 529, 1 })
    t.eq(call_row(call.id).ok, false)
end

function T.invented_quotes_are_rejected(t)
    local analyst = require "agents.analyst"
    local architect = require "agents.architect"
    local ctx = { reviews = REVIEWS.plumber }
    t.eq(analyst.check({ review_highlight = "showed up on time and fixed our leaking water heater" }, ctx), nil)
    t.eq(analyst.check({ review_highlight = "SHOWED UP on time, and fixed" }, ctx), nil, "case and punctuation ignored")
    t.match(analyst.check({ review_highlight = "The best plumber in all of Texas, hands down" }, ctx),
        "not quoted from any review")
    t.eq(analyst.check({ review_highlight = "Rated 4.8 stars" }, { reviews = {} }), nil, "no reviews, no quote needed")
    local content = { sections = { { kind = "reviews", heading = "R", items = {
        { author = "Maria G.", rating = 5, text = "Luis showed up on time and fixed our leaking water heater" },
        { author = "Ghost", rating = 5, text = "A wonderful experience from start to finish, ten stars" },
    } } } }
    t.match(architect.check(content, ctx), "items%[2%]%.text: is not quoted")
    t.match(architect.check(content, { reviews = {} }), "no review texts")
    local director = require "agents.director"
    t.match(director.check({ sections = { "reviews", "contact" } }, { reviews = {} }), "no review texts")
end

function T.email_subject_rules(t)
    local ec = require "agents.email_composer"
    t.eq(ec.subject_check("A website for Rivera Plumbing, built from your reviews"), nil)
    t.match(ec.subject_check("A WEBSITE FOR YOUR BUSINESS NOW"), "capital")
    t.match(ec.subject_check("Your new website is ready!"), "exclamation")
    t.match(ec.subject_check("Free website for Rivera Plumbing"), "spam trigger \"free\"")
    t.match(ec.subject_check("Re: your website"), "reply")
    t.eq(ec.subject_check("Freedom Plumbing has a new website"), nil, "words containing a trigger are fine")
    local ctx = { business = { name = "SERVPRO of Austin" } }
    t.eq(ec.check({ subject = "A website for SERVPRO of Austin" }, ctx), nil, "the business's own capitals")
    t.match(ec.check({ subject = "An AMAZING website for you" }, ctx), "ALL CAPS word %(AMAZING%)")
end

-- ---- the schema validator ----------------------------------------------------------------------

function T.schema_rejects_wrong_shapes(t)
    local concept = require "agents.concept"
    local good = offline.concept({ business = { id = "x", name = "Shape Test", category = "Dentist", city = "Lodi" } })
    t.ok(schema.validate(concept.schema, good))
    local function bad(mutate, pattern)
        local v = wm.json.decode(wm.json.encode(good))
        mutate(v)
        local ok, err = schema.validate(concept.schema, v)
        t.eq(ok, nil, "should fail: " .. pattern)
        t.match(err, pattern)
    end
    bad(function(v) v.design_system.palette.primary = "blue" end, "design_system%.palette%.primary: must be a colour")
    bad(function(v) v.design_system.palette.text = "#12345" end, "palette%.text: must be a colour")
    bad(function(v) v.design_system.palette.text = "#12345g" end, "palette%.text: must be a colour")
    bad(function(v) v.design_system.palette.accent = nil end, "palette%.accent: is required")
    bad(function(v) v.design_system.palette.accent = wm.null end, "palette%.accent: is required")
    bad(function(v) v.archetype = "The Wizard" end, "archetype: must be one of")
    bad(function(v) v.archetype = 7 end, "archetype: must be a string %(got number%)")
    bad(function(v) v.design_system = "big" end, "design_system: must be an object %(got string%)")
    bad(function(v) v.design_system.fonts.body = "'Inter', url(https://fonts.example/x.woff2), sans-serif" end,
        "fonts%.body: must be a font stack")
    bad(function(v) v.design_system.fonts.heading = "Montserrat, Lato" end, "must end with a generic family")
    bad(function(v) v.design_system.radius = "999px" end, "radius: must be a length")
    bad(function(v) v.design_system.density = "roomy" end, "density: must be one of")
    bad(function(v) v.angle = "" end, "angle: must")
    bad(function(v) v.angle = "Lorem ipsum dolor sit amet" end, "angle: looks like placeholder")
    bad(function(v) v.visual_theme = "two\nlines" end, "visual_theme: must be a single line")
    -- ci enums are rewritten to their canonical spelling.
    local v = wm.json.decode(wm.json.encode(good))
    v.archetype = "the sage"
    v.design_system.density = "Airy"
    t.ok(schema.validate(concept.schema, v))
    t.eq(v.archetype, "The Sage")
    t.eq(v.design_system.density, "airy")
end

function T.schema_arrays_unions_and_lengths(t)
    local architect = require "agents.architect"
    local good = offline.architect({ business = { id = "y", name = "Union Test Auto", category = "Auto repair",
        city = "Reno", phone = "775-555-0101" }, reviews = REVIEWS.plumber })
    t.ok(schema.validate(architect.schema, good))
    local function bad(mutate, pattern)
        local v = wm.json.decode(wm.json.encode(good))
        mutate(v)
        local ok, err = schema.validate(architect.schema, v)
        t.eq(ok, nil, "should fail: " .. pattern)
        t.match(err, pattern)
    end
    bad(function(v) v.title = string.rep("x", 61) end, "title: must be at most 60 characters")
    bad(function(v) v.meta_description = string.rep("y", 161) end, "meta_description: must be at most 160")
    bad(function(v) v.sections[1].kind = "gallery" end, "sections%[1%]%.kind: must be one of")
    bad(function(v) v.sections = wm.json.array({}) end, "sections: must have at least 3 items")
    bad(function(v) v.sections = { kind = "about" } end, "sections: must be an array")
    bad(function(v) v.hero = wm.json.array({ 1 }) end, "hero: must be an object %(got array%)")
    bad(function(v) v.sections[#v.sections + 1] = v.sections[1] end, "a second")
    bad(function(v)
        for _, s in ipairs(v.sections) do
            if s.kind == "reviews" then s.items[1].rating = 6 end
        end
    end, "rating: must be between 1 and 5")
    bad(function(v)
        for _, s in ipairs(v.sections) do
            if s.kind == "reviews" then s.items[1].rating = 4.5 end
        end
    end, "rating: must be an integer")
    bad(function(v)
        for _, s in ipairs(v.sections) do
            if s.kind == "services" then s.items = wm.json.array({}) end
        end
    end, "items: must not be empty")
    -- Lengths count characters: 60 accented letters (120 bytes) are a valid title.
    local v = wm.json.decode(wm.json.encode(good))
    v.title = string.rep("é", 60)
    t.ok(schema.validate(architect.schema, v))
    t.eq(schema.ulen(v.title), 60)
    -- Placeholder markers.
    for _, s in ipairs({ "Lorem ipsum", "Welcome to Business Name", "[Your City]", "TODO: write", "FIXME",
                         "{{name}}", "Call [insert phone]" }) do
        t.ok(schema.placeholder(s), "marker in " .. s)
    end
    for _, s in ipairs({ "Todos Santos Bakery", "Photodone", "Your business deserves a website",
                         "Mastodon Roofing" }) do
        t.eq(schema.placeholder(s), nil, "no marker in " .. s)
    end
end

function T.extract_json_tolerates_fences_never_repairs(t)
    local x = llm.extract_json
    t.eq(x('{"a":1}'), { a = 1 })
    t.eq(x('Here you go:\n```json\n{"a": {"b": [1, 2]}}\n```\nAnything else?'), { a = { b = { 1, 2 } } })
    t.eq(x('Sure. {"a": "brace } inside a string \\" and quote"} trailing words'),
        { a = 'brace } inside a string " and quote' })
    t.eq(x('Thinking {not json} then {"ok": true}'), { ok = true }, "prose with braces before the object")
    local v, err = x('{"a": [1, 2')
    t.eq(v, nil)
    t.match(err, "never closes")
    v, err = x("```json\n{\"a\": 1,}\n```")
    t.eq(v, nil)
    t.ok(err and #err > 0)
    v, err = x("[1, 2, 3]")
    t.eq(v, nil)
    t.match(err, "no JSON object")
    v, err = x("   ")
    t.eq(v, nil)
    t.match(err, "empty answer")
end

-- ---- accounting ---------------------------------------------------------------------------------

function T.calls_are_recorded_with_tokens_and_cost(t)
    setup()
    assert(wm.db.query("DELETE FROM llm_calls"))
    offline.reset_cache()
    local b = business({ name = "Cost Counter HVAC", category = "HVAC", city = "Mesa", state = "AZ" },
        REVIEWS.plumber)
    local _, calls = chain(t, b)
    local rows = assert(wm.db.query("SELECT *, cardinality(prompt_settings_ids) AS n_settings FROM llm_calls ORDER BY id"))
    t.eq(#rows, 5)
    for i, r in ipairs(rows) do
        t.eq(r.agent, AGENTS[i])
        t.eq(r.provider, "offline")
        t.eq(r.model, "claude-sonnet-5-5", "priced as the configured default model")
        t.eq(r.ok, true)
        t.eq(r.stop_reason, "end_turn")
        t.eq(r.business_id, b.id)
        t.eq(r.job_id, 42)
        t.ok(r.input_tokens > 0 and r.output_tokens > 0, "tokens")
        t.ok(r.cache_creation_input_tokens > 0, "the system prompt is written to the cache")
        t.ok(r.cost_micro_usd > 0, "cost")
        t.eq(r.cost_micro_usd, calls[AGENTS[i]].cost_micro_usd)
        t.eq(#r.prompt_hash, 64)
        t.eq(r.template_version, assert(wm.db.one([[SELECT max(version) AS v FROM prompt_template_versions
            WHERE agent_name = $1]], r.agent)).v, "the current template version")
        t.ok(r.n_settings >= 4, "settings used are recorded")
        t.eq(r.raw_response, wm.null, "raw kept only on failure by default")
        t.ok(r.duration_ms ~= wm.null and r.duration_ms >= 0)
    end
    -- Cost = tokens x price: sonnet 5.5 is $2 in, $10 out, cache write 1.25x, read 0.1x.
    local r = rows[1]
    t.eq(r.cost_micro_usd, math.floor(r.input_tokens * 2 + r.output_tokens * 10 + r.cache_creation_input_tokens * 2.5
        + r.cache_read_input_tokens * 0.2 + 0.5))
    -- The same system prompt again within 5 minutes is a cache read, and cheaper.
    local b2 = business({ name = "Second Cost HVAC", category = "HVAC", city = "Mesa", state = "AZ" }, REVIEWS.plumber)
    local out, call = llm.run_agent("analyst", ctx_for(b2))
    t.ok(out)
    t.eq(call.usage.cache_creation_input_tokens, 0)
    t.eq(call.usage.cache_read_input_tokens, rows[1].cache_creation_input_tokens)
    -- Analytics: cents over a window.
    local total = assert(wm.db.one("SELECT sum(cost_micro_usd)::float8 AS s FROM llm_calls")).s
    local cents, micro = llm.costs_cents(wm.now() - 3600, wm.now() + 60)
    t.eq(micro, total)
    t.eq(cents, math.floor(total / 10000 + 0.5))
    local none = llm.costs_cents("2001-01-01", "2001-01-02")
    t.eq(none, 0)
end

function T.cost_table(t)
    local u = { input_tokens = 1000000, output_tokens = 1000000, cache_creation_input_tokens = 1000000,
                cache_read_input_tokens = 1000000 }
    t.eq(llm.cost_micro_usd("claude-sonnet-5-5", u), 2000000 + 10000000 + 2500000 + 200000)
    t.eq(llm.cost_micro_usd("claude-haiku-4-5", { input_tokens = 1000, output_tokens = 1000 }), 1000 + 5000)
    t.eq(llm.cost_micro_usd("claude-sonnet-4-5-20250929", { input_tokens = 10 }), 30, "dated snapshot")
    t.eq(llm.cost_micro_usd("claude-opus-5-5", { cache_read_input_tokens = 1000 }), 200, "explicit read price")
    t.eq(llm.cost_micro_usd("some-future-model", { input_tokens = 10 }), 20, "unknown: the default model's price")
    t.eq(llm.cost_micro_usd("claude-sonnet-5-5", {}), 0)
end

function T.config_picks_model_and_max_tokens_per_agent(t)
    setup()
    local saved = wm.config.llm
    t.defer(function() wm.config.llm = saved end)
    wm.config.llm = { model = "", models = { concept = "claude-haiku-4-5", analyst = "" },
                      max_tokens = { director = 60, analyst = 0 }, keep_raw = "all" }
    local b = business({ name = "Config Test Salon", category = "Hair salon", city = "Eugene", state = "OR" },
        REVIEWS.dentist)
    local ctx = ctx_for(b)
    local out, call = llm.run_agent("analyst", ctx)
    t.ok(out, tostring(call))
    ctx.analyst = out
    t.eq(call.model, "claude-sonnet-5-5", "empty values fall back to the default model")
    t.eq(call.max_tokens, require("agents.analyst").max_tokens)
    t.ok(call_row(call.id).raw_response:find("review_highlight", 1, true), "keep_raw = all keeps good answers")
    out, call = llm.run_agent("concept", ctx)
    t.ok(out, tostring(call))
    ctx.concept = out
    local row = call_row(call.id)
    t.eq(row.model, "claude-haiku-4-5")
    t.eq(row.cost_micro_usd, math.floor(row.input_tokens * 1 + row.output_tokens * 5
        + row.cache_creation_input_tokens * 1.25 + row.cache_read_input_tokens * 0.1 + 0.5), "priced as haiku")
    local err
    out, err, call = llm.run_agent("director", ctx)
    t.eq(out, nil)
    t.match(err, "^truncated: the answer stopped at max_tokens %(60")
end

function T.unknown_business_still_records_cost(t)
    setup()
    local ghost = { id = "11111111-2222-4333-8444-555555555555", name = "Ghost Roofing", category = "Roofer",
                    city = "Nowhere" }
    local out, call = llm.run_agent("concept", { business = ghost })
    t.ok(out, tostring(call))
    local row = call_row(call.id)
    t.eq(row.business_id, wm.null, "no such business: recorded without it")
    t.ok(row.cost_micro_usd > 0)
end

return T
