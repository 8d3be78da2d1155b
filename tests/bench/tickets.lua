-- wm run tests/bench/tickets.lua setup SITES | run N
--   setup: SITES live sites built by the offline agents, each bought by a customer
--   run:   N text-change requests, one at a time, round-robin over the sites; each
--          timed from tickets.create (committed) to the site's new version live
--          (the interpret_ticket job run by a separate `wm work`, offline LLM,
--          tickets.auto_approve = true, tickets.screenshots = false: the
--          quality gate's cheap checks, no Chromium); prints p50/p99/max in ms.
local offline = require "providers.llm.offline"
local pipeline = require "lib.pipeline"
local site_edit = require "lib.site_edit"
local tickets = require "domain.tickets"

local REVIEWS = {
    { author_title = "Maria G.", review_rating = 5, review_text = "Luis showed up on time and fixed our leaking water heater in an hour. Fair price and he cleaned up after himself." },
    { author_title = "Tom B.", review_rating = 5, review_text = "Honest and professional. He explained everything before starting the job." },
}

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function setup(count)
    for i = 1, count do
        local b = one([[INSERT INTO businesses (gmb_id, name, slug, category, city, state, phone, rating, review_count,
                address, email, reviews_data, lead_status, website_status)
            VALUES ($1, $2, $1, 'Plumber', 'Austin', 'TX', '(512) 555-0100', 4.8, 40, '12 Oak St', $3, $4::jsonb,
                'qualified', 'sold') RETURNING *]], "bench-tk-" .. i, "Bench Plumbing " .. i, "o" .. i .. "@example.com",
            wm.json.array(REVIEWS))
        local ctx = { business = b, reviews = b.reviews_data }
        for _, agent in ipairs { "analyst", "concept", "director", "architect" } do
            ctx[agent] = offline[agent](ctx)
            assert(pipeline.save_agent_output(b.id, agent, ctx[agent], "bench"))
        end
        local sub = "bench-tk-" .. i
        local html = assert(site_edit.render({ subdomain = sub }, { business = b, dna = ctx.concept,
                                                                   brief = ctx.director, content = ctx.architect }))
        local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, version)
            VALUES ($1, $2, $3, 'live', 1) RETURNING id]], b.id, sub, html)
        local c = one("INSERT INTO customers (email, full_name) VALUES ($1, $2) RETURNING id", "c" .. i .. "@example.com",
            "Customer " .. i)
        one([[INSERT INTO subscriptions (customer_id, site_id, recurrente_subscription_id, status, amount_cents)
            VALUES ($1, $2, $3, 'active', 80000) RETURNING id]], c.id, s.id, "su_bench_tk" .. i)
    end
    print(("%d live sites"):format(count))
end

local function pct(sorted, p)
    return sorted[math.max(1, math.ceil(#sorted * p))]
end

local function run(n)
    local sites = assert(wm.db.query([[SELECT s.site_id AS id, s.customer_id FROM subscriptions s ORDER BY s.recurrente_subscription_id]]))
    assert(#sites > 0, "run setup first")
    local times, failed = {}, 0
    local t_all = wm.monotonic()
    for i = 1, n do
        local site = sites[(i - 1) % #sites + 1]
        local t0 = wm.monotonic()
        local tk = assert(wm.db.tx(function()
            return assert(tickets.create { site_id = site.id, text = ('Change the headline to "Open today, call us %d"'):format(i),
                                           actor_type = "user" })
        end))
        local status
        while true do
            status = one("SELECT status FROM support_tickets WHERE id = $1", tk.id).status
            if status ~= "open" and status ~= "in_progress" then
                break
            end
            if wm.monotonic() - t0 > 60 then
                break
            end
            wm.sleep(0.005)
        end
        if status == "completed" then
            times[#times + 1] = (wm.monotonic() - t0) * 1000
        else
            failed = failed + 1
            io.stderr:write(("ticket %s ended %s\n"):format(tk.id, status))
        end
    end
    table.sort(times)
    print(("%d tickets in %.1f s, %d not live: request -> live p50 %.0f ms, p99 %.0f ms, max %.0f ms (aim: p99 < 2000)")
        :format(n, wm.monotonic() - t_all, failed, pct(times, 0.5) or -1, pct(times, 0.99) or -1, times[#times] or -1))
    local live = one("SELECT count(*)::int AS n FROM support_tickets WHERE status = 'completed'").n
    print(("%d completed tickets; live versions: %s"):format(live,
        one("SELECT string_agg(version::text, ',' ORDER BY subdomain) AS v FROM generated_sites WHERE status = 'live'").v))
    return failed == 0 and 0 or 1
end

local USAGE = "usage: wm run tests/bench/tickets.lua setup SITES | run N   (tests/bench/tickets runs both)\n"
local cmd, count = arg[1], tonumber(arg[2])
if cmd == "--help" then
    io.stdout:write(USAGE)
    return 0
elseif cmd == "setup" then
    setup(count or 10)
elseif cmd == "run" then
    return run(count or 200)
else
    io.stderr:write(USAGE)
    return 2
end
