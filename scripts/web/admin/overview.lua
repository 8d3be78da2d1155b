-- /admin/: the last 30 days at a glance: the seed's dashboard metrics,
-- the funnel from lead to purchase with each step's rate, daily charts
-- from analytics_snapshots (30 or 90 days), and the job queue.
local view = require "web.admin.view"
local queries = require "web.admin.queries"

local TEMPLATE = [[
<section class="cards">
{{#metrics}}<div class="card metric"><div class="label">{{label}}</div><div class="value">{{value}}</div></div>{{/metrics}}
</section>
<h2>Funnel, last 30 days</h2>
<table class="funnel"><thead><tr><th>Step</th><th class="num">Count</th><th class="num">Of the step before</th><th>Share of leads</th></tr></thead><tbody>
{{#funnel}}<tr><td>{{label}}</td><td class="num">{{count}}</td><td class="num">{{rate}}</td>
<td><svg class="bar" viewBox="0 0 100 8" width="100%" height="8" role="img" aria-label="{{share}}"><rect width="100" height="8" fill="#eef1f5"/><rect width="{{width}}" height="8" fill="#2563eb"/></svg></td></tr>{{/funnel}}
</tbody></table>
<h2>Daily, last {{days}} days <small><a href="/admin/?days=30">30</a> · <a href="/admin/?days=90">90</a></small></h2>
{{#no_snapshots}}<p class="empty">No daily snapshots yet: the <code>analytics</code> cron writes one a day while <code>wm serve</code> runs.</p>{{/no_snapshots}}
<section class="charts">
{{#charts}}<figure class="card chart"><figcaption>{{label}} <span class="muted">total {{total}}</span></figcaption>
<svg viewBox="0 0 300 80" width="100%" height="80" role="img" aria-label="{{label}} per day">
<polyline points="{{points}}" fill="none" stroke="#2563eb" stroke-width="1.5"/>
<line x1="0" y1="79.5" x2="300" y2="79.5" stroke="#cbd2dc"/></svg>
<div class="axis"><span>{{first}}</span><span>max {{max}}</span><span>{{last}}</span></div></figure>{{/charts}}
</section>
<h2>Job queue</h2>
{{^queue}}<p class="empty">The queue is empty.</p>{{/queue}}
{{#has_queue}}<div class="scroll"><table><thead><tr><th>Kind</th><th class="num">Waiting</th><th class="num">Running</th><th class="num">Failed (retrying)</th><th class="num">Discarded</th></tr></thead><tbody>
{{#queue}}<tr><td><a href="/admin/jobs?kind={{kind}}">{{kind}}</a></td><td class="num">{{waiting}}</td><td class="num">{{running}}</td><td class="num">{{retryable}}</td><td class="num">{{discarded}}</td></tr>{{/queue}}
</tbody></table></div>{{/has_queue}}
]]

local SERIES = {
    { "leads_scraped", "Leads" }, { "sites_generated", "Sites" }, { "emails_sent", "Emails sent" },
    { "emails_opened", "Opens" }, { "emails_clicked", "Clicks" }, { "purchases", "Purchases" },
    { "revenue_cents", "Revenue", true }, { "mrr_cents", "MRR", true }, { "api_costs_cents", "LLM and API cost", true },
}

local function chart(rows, col, label, money, days)
    local max, total = 0, 0
    for _, r in ipairs(rows) do
        local v = tonumber(r[col]) or 0
        total = total + v
        if v > max then
            max = v
        end
    end
    local pts = {}
    local n = #rows
    for i, r in ipairs(rows) do
        local v = tonumber(r[col]) or 0
        local x = n > 1 and (i - 1) * 300 / (n - 1) or 150
        local y = max > 0 and 78 - v * 76 / max or 78
        pts[#pts + 1] = ("%.1f,%.1f"):format(x, y)
    end
    local fmt = money and view.money or view.thousands
    return { label = label, points = table.concat(pts, " "), total = fmt(total), max = fmt(max),
             first = rows[1] and rows[1].day or "", last = rows[n] and rows[n].day or "", days = days }
end

wm.route("GET", "/admin/", function(req)
    local days = (req.query and req.query.days == "90") and 90 or 30
    local summary = queries.summary()
    local m, f = queries.metrics(summary), queries.funnel(summary)
    local cost_usd = queries.llm_cost_usd_30d()
    local metrics = {
        { label = "Sites generated (30 d)", value = view.thousands(m.sites_generated) },
        { label = "Emails sent (30 d)", value = view.thousands(m.emails_sent) },
        { label = "Conversions (30 d)", value = view.thousands(m.conversions) },
        { label = "LLM cost per site (30 d)", value = f.sites > 0 and ("$%.2f"):format(cost_usd / f.sites) or "–" },
    }
    local funnel, prev = {}, nil
    for _, s in ipairs(queries.FUNNEL_STEPS) do
        local n = f[s[1]]
        funnel[#funnel + 1] = { label = s[2], count = view.thousands(n), rate = prev and view.pct(n, prev) or "",
                                share = view.pct(n, f.leads),
                                width = f.leads > 0 and ("%.1f"):format(100 * n / f.leads) or "0" }
        prev = n
    end
    local rows = queries.snapshots(days)
    for _, r in ipairs(rows) do
        r.day = r.day:sub(6)   -- MM-DD
    end
    local charts = {}
    if #rows > 0 then
        for _, s in ipairs(SERIES) do
            charts[#charts + 1] = chart(rows, s[1], s[2], s[3], days)
        end
    end
    local queue = queries.queue()
    return view.page(req, "Overview", TEMPLATE, { metrics = metrics, funnel = funnel, charts = charts,
        no_snapshots = #rows == 0, days = days, queue = queue, has_queue = #queue > 0 })
end, { role = "viewer" })
