-- What the main job prints so an operator sees it working: where to look
-- (the server, a few site addresses, the outbox) and the loop's progress.
local M = {}

function M.counts()
    return wm.db.one([[
        SELECT (SELECT count(*) FROM businesses)::int AS leads,
               (SELECT count(*) FROM businesses
                  WHERE lead_status IN ('no_website', 'qualified', 'disqualified'))::int AS no_site,
               (SELECT count(*) FROM businesses WHERE qualified_at IS NOT NULL)::int AS qualified,
               (SELECT count(*) FROM generated_sites)::int AS sites,
               (SELECT count(*) FROM campaigns WHERE sent_at IS NOT NULL)::int AS emails,
               (SELECT count(*) FROM jobs WHERE status IN ('available', 'running', 'retryable', 'scheduled'))::int
                   AS queued,
               (SELECT count(*) FROM jobs WHERE status = 'discarded')::int AS failed,
               (SELECT count(*) FROM campaigns WHERE status = 'sending'
                  AND sending_started_at < now() - interval '2 minutes')::int AS stuck,
               (SELECT count(*) FROM generated_sites WHERE status = 'held')::int AS held,
               (SELECT count(*) FROM generated_sites WHERE status = 'draft')::int AS drafts]])
end

function M.cost_usd()
    local has = wm.db.one("SELECT to_regclass('llm_calls') IS NOT NULL AS ok")
    if not (has and has.ok) then
        return 0
    end
    local r = wm.db.one("SELECT coalesce(sum(cost_micro_usd), 0)::float8 / 1e6 AS usd FROM llm_calls")
    return r and r.usd or 0
end

function M.site_urls(n)
    local rows = wm.db.query("SELECT subdomain FROM generated_sites ORDER BY created_at DESC LIMIT $1", n or 3) or {}
    local pattern = wm.config.sites.site_url_pattern
    local urls = {}
    for _, r in ipairs(rows) do
        urls[#urls + 1] = pattern:format(r.subdomain)
    end
    return urls
end

function M.line(c)
    c = c or M.counts()
    if not c then
        return nil
    end
    return ("progress: %d leads, %d verified without website, %d qualified, %d sites, %d emails, "
        .. "LLM cost $%.4f, %d jobs queued, %d failed%s%s"):format(c.leads, c.no_site, c.qualified, c.sites, c.emails,
        M.cost_usd(), c.queued, c.failed, c.held > 0 and (", " .. c.held .. " sites held for review") or "",
        c.stuck > 0 and (", " .. c.stuck .. " emails stuck in sending") or "")
end

-- The warning an operator must not miss: emails that may have left and
-- are held (never resent) until someone resolves them.
function M.stuck_warning(c)
    if c and c.stuck > 0 then
        return ("warning: %d campaign(s) stuck in 'sending' (they may have been sent; never resent by "
            .. "themselves): wm campaigns stuck"):format(c.stuck)
    end
end

-- Sites that wait and are never emailed because this host cannot take
-- screenshots (Chromium or node missing): said in the progress output too,
-- not only once in the log.
function M.screenshot_warning(c)
    local why = require("stages.screenshot").missing()
    if c and why then
        return ("warning: %s; %d draft site(s) wait for their screenshot and are not emailed: wm sites held")
            :format(why, c.drafts)
    end
end

-- The warnings of one look at the counts, in order.
local function warnings(c)
    return { M.stuck_warning(c), M.screenshot_warning(c) }
end

-- Prints the banner, then a progress line whenever the counts change (at
-- most every `every` seconds) until `stop` is set.
function M.run(listen, stop, every)
    local out = io.stdout
    out:write(("WebMagic is running: http://%s/healthz\n"):format(listen))
    out:write(("  sites:  %s (each generated site at its own subdomain)\n"):format(
        wm.config.sites.site_url_pattern:format("<subdomain>")))
    out:write(("  outbox: %s/outbox/ (one .eml per email)\n"):format(wm.config.paths.var))
    out:write("  jobs:   wm jobs ls   grid: wm grid ls   stop: Ctrl-C\n")
    out:flush()
    local last, shown, warned = nil, {}, {}
    -- Each warning at most every 5 minutes: visible, not a flood.
    local function warn(c)
        local now, ws = wm.monotonic(), warnings(c)
        for i = 1, 2 do
            local w = ws[i]
            if w and (not warned[i] or now - warned[i] >= 300) then
                out:write(w, "\n")
                warned[i] = now
            end
        end
    end
    warn(M.counts())
    while not stop:wait(every or 10) do
        local c = M.counts()
        local line = M.line(c)
        warn(c)
        if line and line ~= last then
            last = line
            out:write(line, "\n")
            for _, u in ipairs(M.site_urls(3)) do
                if not shown[u] then
                    shown[u] = true
                    out:write("  new site: ", u, "\n")
                end
            end
            out:flush()
        end
    end
end

return M
