-- The dashboard's read queries, shared by the pages (scripts/web/admin/)
-- and the JSON API (scripts/web/api/): each query is written once, returns
-- the columns as the database has them (pages format them for people, the
-- API hands them out as they are), and never selects a secret (password or
-- token hashes, claim tokens, raw webhook bodies).
--
--   queries.list(entity, params) -> rows, next_cursor | nil, code, message
--       entity: "businesses", "sites", "campaigns", "customers", "payments",
--       "jobs", "activity" (queries.LISTS[entity]), or a page's own list of
--       the same shape (the dashboard's customers, payments, activity and
--       webhooks pages: one keyset mechanism for all). params = { filters =
--       {name = string}, sort = "name" | "-name" (descending), cursor =
--       string | nil, limit = n }. Keyset pagination on (sort key, id), so a
--       page costs the same however deep it is and rows with equal keys are
--       neither skipped nor repeated. next_cursor is nil on the last page.
--       code: "bad_request" (an unknown filter, sort or value) or
--       "bad_cursor" (a cursor this list did not hand out for this sort).
--   queries.where(spec, filters) -> " WHERE ..." | "", args | nil, code, message
--       the filters' condition alone (a page's totals over its filtered set).
--   queries.business(id) -> row | nil, and business_sites/_campaigns/
--       _tracking_events/_agent_outputs/_replies/_llm_calls/_activity(id) -> rows
--   queries.summary(), metrics(summary), funnel(summary), llm_cost_usd_30d(),
--       snapshots(days), queue(): the overview's figures (the seed's
--       "Dashboard metrics" and the funnel, both from one read of migration
--       029's summary; the daily snapshots, the queue).
local _M = {}

local concat = table.concat

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

-- Whether `s` is a uuid in its usual spelling (what may reach a ::uuid cast).
function _M.is_uuid(s)
    return type(s) == "string" and s:match(UUID) ~= nil
end

-- ---- filter values: each parser turns the request's string into the
-- parameter, or nil and what was wrong ----

local function text(v)
    if #v > 200 then
        return nil, "at most 200 characters"
    end
    return v
end

local function number(v)
    local n = tonumber(v)
    if not n or n ~= n or n == math.huge or n == -math.huge then
        return nil, "a number"
    end
    return n
end

local function boolean(v)
    if v == "true" or v == "1" then
        return true
    elseif v == "false" or v == "0" then
        return false
    end
    return nil, "true or false"
end

local function uuid(v)
    if not v:match(UUID) then
        return nil, "a uuid"
    end
    return v
end

local function bigint(v)
    if not v:match("^%d+$") or #v > 18 then
        return nil, "a whole number"
    end
    return v
end

-- For the pages' own lists (queries.list with a spec).
_M.PARSE = { text = text, number = number, boolean = boolean, uuid = uuid, bigint = bigint }

-- Whether a timestamp's text names a real time (2026-02-30 or 25:00
-- matches the pattern, and the cast would raise).
local function real_time(k)
    local y, mo, d, h, mi, sec = k:match("^(%d%d%d%d)%-(%d%d)%-(%d%d) (%d%d):(%d%d):(%d%d)")
    if not y then
        return false
    end
    local t = os.time { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = 12 }
    return os.date("%Y-%m-%d", t) == k:sub(1, 10) and tonumber(h) <= 23 and tonumber(mi) <= 59
        and tonumber(sec) <= 59
end

-- What a cursor's sort key must look like, by its SQL type, so that a
-- forged cursor is refused before it reaches a cast.
local KEY_OK = {
    timestamp = function(k)
        return k == "-infinity" or k == "infinity"
            or (k:match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d[%d.]*$") ~= nil and real_time(k))
    end,
    timestamptz = function(k)
        return k == "-infinity" or k == "infinity"
            or (k:match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d[%d.]*[+-]%d%d[%d:]*$") ~= nil and real_time(k))
    end,
    numeric = function(k) return k:match("^%-?%d+%.?%d*$") ~= nil end,
    -- 18 digits: every one fits a bigint.
    int8 = function(k) return k:match("^%-?%d+$") ~= nil and #(k:gsub("^%-", "")) <= 18 end,
    text = function(k) return #k <= 1000 end,
}
local ID_OK = { uuid = function(i) return i:match(UUID) ~= nil end, int8 = function(i) return i:match("^%d+$") ~= nil and #i <= 18 end }

-- ---- the lists ----
-- select, from (and where, a condition every row meets): fixed SQL; filters: name -> { sql with %s for the
-- parameter (every %s is the same one), parser, cast }; sorts: name -> { SQL expression (never NULL,
-- so the keyset comparison sees every row), its type }; id: the unique
-- tie-breaker.

local LISTS = {}
_M.LISTS = LISTS

LISTS.businesses = {
    select = [[b.id, b.name, b.slug, b.city, b.state, b.category, b.rating::float8 AS rating, b.review_count,
        b.qualification_score AS score, b.lead_status, b.website_status, b.contact_status, b.email, b.phone,
        coalesce(b.email, '') <> '' AS has_email, b.coverage_grid_id, b.created_at]],
    from = "businesses b",
    id = "b.id", id_type = "uuid",
    filters = {
        status = { "b.lead_status = %s", text, "text" },
        -- Equal ignoring case, as migration 029's index has it.
        city = { "lower(b.city) = lower(%s)", text, "text" },
        industry = { "b.category ILIKE %s", text, "text" },
        q = { "b.name ILIKE '%%' || %s || '%%'", text, "text" },
        min_rating = { "b.rating >= %s", number, "numeric" },
        min_score = { "b.qualification_score >= %s", number, "numeric" },
        has_email = { "(coalesce(b.email, '') <> '') = %s", boolean, "bool" },
        grid_cell = { "b.coverage_grid_id = %s", uuid, "uuid" },
    },
    sorts = {
        created = { "coalesce(b.created_at, '-infinity')", "timestamp" },
        rating = { "coalesce(b.rating, -1)", "numeric" },
        score = { "coalesce(b.qualification_score, -1)", "int8" },
        reviews = { "coalesce(b.review_count, -1)", "int8" },
        name = { "b.name", "text" },
    },
    default_sort = "-created",
}

-- Never html_content (large) nor claim_token (a secret that claims the site).
LISTS.sites = {
    select = [[s.id, s.business_id, b.name AS business_name, s.subdomain, s.custom_domain, s.version,
        s.previous_version_id, s.status, s.screenshot_desktop_url, s.screenshot_mobile_url, s.lighthouse_score,
        s.proposal, s.created_at, s.deployed_at, s.sold_at, s.paused_at]],
    from = "generated_sites s JOIN businesses b ON b.id = s.business_id",
    id = "s.id", id_type = "uuid",
    filters = {
        status = { "s.status = %s", text, "text" },
        business_id = { "s.business_id = %s", uuid, "uuid" },
    },
    sorts = {
        created = { "coalesce(s.created_at, '-infinity')", "timestamp" },
        subdomain = { "s.subdomain", "text" },
    },
    default_sort = "-created",
}

LISTS.campaigns = {
    select = [[c.id, c.business_id, c.site_id, c.subject_line, c.preview_text, c.recipient_email, c.status,
        c.variant, c.email_provider, c.sent_at, c.opened_at, c.opened_count, c.clicked_at, c.clicked_count,
        c.converted_at, c.unsubscribed_at, c.error_message, c.created_at]],
    from = "campaigns c",
    id = "c.id", id_type = "uuid",
    filters = {
        status = { "c.status = %s", text, "text" },
        business_id = { "c.business_id = %s", uuid, "uuid" },
        variant = { "c.variant = %s", text, "text" },
    },
    sorts = {
        created = { "coalesce(c.created_at, '-infinity')", "timestamp" },
        sent = { "coalesce(c.sent_at, '-infinity')", "timestamp" },
    },
    default_sort = "-created",
}

LISTS.customers = {
    select = [[c.id, c.business_id, c.site_id, c.email, c.full_name, c.phone, c.status, c.lifetime_value_cents,
        c.created_at, c.updated_at]],
    from = "customers c",
    id = "c.id", id_type = "uuid",
    filters = {
        status = { "c.status = %s", text, "text" },
        email = { "lower(c.email) = lower(%s)", text, "text" },
    },
    sorts = {
        created = { "coalesce(c.created_at, '-infinity')", "timestamp" },
        ltv = { "coalesce(c.lifetime_value_cents, 0)", "int8" },
    },
    default_sort = "-created",
}

LISTS.payments = {
    select = [[p.id, p.customer_id, p.subscription_id, p.amount_cents, p.currency, p.fee_cents, p.net_cents,
        p.payment_type, p.status, p.payment_method, p.card_last4, p.card_network, p.refund_of, p.paid_at,
        p.refunded_at, p.created_at]],
    from = "payments p",
    id = "p.id", id_type = "uuid",
    filters = {
        status = { "p.status = %s", text, "text" },
        type = { "p.payment_type = %s", text, "text" },
        customer_id = { "p.customer_id = %s", uuid, "uuid" },
    },
    sorts = {
        created = { "coalesce(p.created_at, '-infinity')", "timestamp" },
        paid = { "coalesce(p.paid_at, '-infinity')", "timestamp" },
        amount = { "p.amount_cents", "int8" },
    },
    default_sort = "-created",
}

LISTS.subscriptions = {
    select = [[s.id, s.customer_id, s.site_id, s.recurrente_subscription_id, s.amount_cents, s.currency, s.status,
        s.current_period_start, s.current_period_end, s.started_at, s.past_due_at, s.cancelled_at, s.created_at,
        s.updated_at]],
    from = "subscriptions s",
    id = "s.id", id_type = "uuid",
    filters = {
        status = { "s.status = %s", text, "text" },
        customer_id = { "s.customer_id = %s", uuid, "uuid" },
    },
    sorts = {
        created = { "coalesce(s.created_at, '-infinity')", "timestamp" },
        period_end = { "coalesce(s.current_period_end, '-infinity')", "timestamp" },
    },
    default_sort = "-created",
}

-- The coverage grid: what the Coverage page's table shows.
LISTS.grid = {
    select = [[g.id, g.country, g.state, g.city, g.industry, g.industry_category, g.status, g.priority, g.population,
        g.lead_count, g.qualified_count, g.site_count, g.conversion_count, g.last_scraped_at, g.cooldown_until,
        g.created_at, g.updated_at]],
    from = "coverage_grid g",
    id = "g.id", id_type = "uuid",
    filters = {
        status = { "g.status = %s", text, "text" },
        state = { "g.state = %s", text, "text" },
        city = { "lower(g.city) = lower(%s)", text, "text" },
        industry = { "g.industry ILIKE %s", text, "text" },
    },
    sorts = {
        priority = { "coalesce(g.priority, 0)", "int8" },
        population = { "coalesce(g.population, -1)", "int8" },
        leads = { "coalesce(g.lead_count, 0)", "int8" },
        created = { "coalesce(g.created_at, '-infinity')", "timestamp" },
    },
    default_sort = "-priority",
}

-- Change requests: the customer's words and what the AI made of them; the
-- proposal's inputs and operations stay on the dashboard's ticket page.
LISTS.tickets = {
    select = [[t.id, t.status, t.site_id, t.customer_id, t.request_text, t.ai_interpretation, t.ai_changes_made,
        t.needs_person_reason, t.resolved_by, t.created_by_type, t.assigned_to, t.base_version, t.applied_version,
        t.created_at, t.updated_at, t.resolved_at]],
    from = "support_tickets t",
    id = "t.id", id_type = "uuid",
    filters = {
        status = { "t.status = %s", text, "text" },
        site_id = { "t.site_id = %s", uuid, "uuid" },
        customer_id = { "t.customer_id = %s", uuid, "uuid" },
        assigned_to = { "t.assigned_to = %s", uuid, "uuid" },
    },
    sorts = {
        created = { "coalesce(t.created_at, '-infinity')", "timestamp" },
        updated = { "coalesce(t.updated_at, '-infinity')", "timestamp" },
    },
    default_sort = "-created",
}

-- The agents' prompt sections, every version (is_active says which are live).
LISTS.prompts = {
    select = [[p.id, p.agent_name, p.section_name, p.version, p.is_active, p.variant, p.weight, p.usage_count,
        p.success_count, p.description, p.content, p.created_by, p.created_at, p.updated_at]],
    from = "prompt_settings p",
    id = "p.id", id_type = "uuid",
    filters = {
        agent = { "p.agent_name = %s", text, "text" },
        section = { "p.section_name = %s", text, "text" },
        active = { "coalesce(p.is_active, false) = %s", boolean, "bool" },
    },
    sorts = {
        created = { "coalesce(p.created_at, '-infinity')", "timestamp" },
        version = { "coalesce(p.version, 1)", "int8" },
    },
    default_sort = "-created",
}

-- Webhook deliveries as stored, without their bodies (large, and the
-- provider's whole payload): the dashboard's Webhooks page shows one.
LISTS.webhooks = {
    select = [[w.id, w.provider, w.event_id, w.event_type, w.status, w.error, w.attempts, w.waiting_for,
        w.received_at, w.processed_at]],
    from = "webhook_events w",
    id = "w.id", id_type = "int8",
    filters = {
        provider = { "w.provider = %s", text, "text" },
        status = { "w.status = %s", text, "text" },
        type = { "w.event_type = %s", text, "text" },
    },
    sorts = {
        id = { "w.id", "int8" },
    },
    default_sort = "-id",
}

-- The payload stays out of the list (it can be large); errors are the
-- history of what went wrong, which is what an operator reads a job for.
LISTS.jobs = {
    select = [[j.id, j.kind, j.status, j.attempt, j.max_attempts, j.priority, j.run_at, j.last_error, j.errors,
        j.created_at, j.updated_at, j.attempted_at, j.finished_at]],
    from = "jobs j",
    id = "j.id", id_type = "int8",
    filters = {
        kind = { "j.kind = %s", text, "text" },
        status = { "j.status = %s", text, "text" },
    },
    -- id is the order of creation, on the primary key; updated (recent
    -- changes) sorts without an index of its own: jobs is the busiest table.
    sorts = {
        updated = { "j.updated_at", "timestamptz" },
        id = { "j.id", "int8" },
    },
    default_sort = "-id",
}

LISTS.activity = {
    select = [[a.id, a.action, a.entity_type, a.entity_id, a.details, a.actor_type, a.actor_id, a.created_at]],
    from = "activity_log a",
    id = "a.id", id_type = "uuid",
    filters = {
        action = { "a.action = %s", text, "text" },
        entity_type = { "a.entity_type = %s", text, "text" },
        entity_id = { "a.entity_id = %s", uuid, "uuid" },
        actor_type = { "a.actor_type = %s", text, "text" },
        actor_id = { "a.actor_id = %s", uuid, "uuid" },
    },
    sorts = {
        created = { "coalesce(a.created_at, '-infinity')", "timestamp" },
    },
    default_sort = "-created",
}

-- ---- cursors: base64url of {sort, key, id}; opaque to clients ----

function _M.cursor_encode(sort, key, id)
    return wm.crypto.b64url_encode(wm.json.encode({ s = sort, k = key, i = tostring(id) }))
end

-- The key and id of a cursor handed out by `spec` for `sort`, or nil.
local function cursor_decode(spec, sort, cursor)
    if #cursor > 2000 then
        return nil
    end
    local raw = wm.crypto.b64url_decode(cursor)
    local c = raw and wm.json.decode(raw)
    if type(c) ~= "table" or c.s ~= sort or type(c.k) ~= "string" or type(c.i) ~= "string" then
        return nil
    end
    if not KEY_OK[spec.sorts[sort:gsub("^%-", "")][2]](c.k) or not ID_OK[spec.id_type](c.i) then
        return nil
    end
    return c.k, c.i
end

-- A function that appends a value to `args` and answers its placeholder.
local function binder(args)
    return function(v, cast)
        args[#args + 1] = v
        return "$" .. #args .. "::" .. cast
    end
end

-- The filters' conditions (in name order: one SQL text per set of
-- filters, for the statement cache), or nil, "bad_request", message.
local function conditions(spec, filters, param)
    local names, where = {}, { spec.where }
    for k in pairs(filters or {}) do
        names[#names + 1] = k
    end
    table.sort(names)
    for _, k in ipairs(names) do
        local f = spec.filters[k]
        if not f then
            return nil, "bad_request", ("unknown filter %q"):format(k)
        end
        local v, why = f[2](tostring(filters[k]))
        if v == nil then
            return nil, "bad_request", ("%s must be %s"):format(k, why)
        end
        local p = param(v, f[3])
        where[#where + 1] = f[1]:format(p, p, p)
    end
    return where
end

function _M.where(spec, filters)
    local args = {}
    local where, code, message = conditions(spec, filters, binder(args))
    if not where then
        return nil, code, message
    end
    return #where > 0 and (" WHERE " .. concat(where, " AND ")) or "", args
end

function _M.list(entity, params)
    local spec = type(entity) == "table" and entity or LISTS[entity]
    if not spec then
        error("queries.list: unknown list " .. tostring(entity), 2)
    end
    params = params or {}
    local sort = params.sort or spec.default_sort
    local desc, name = sort:match("^(%-?)([%w_]+)$")
    local by = name and spec.sorts[name]
    if not by then
        local names = {}
        for k in pairs(spec.sorts) do
            names[#names + 1] = k
        end
        table.sort(names)
        return nil, "bad_request", ("sort must be one of %s (prefix - for descending)"):format(concat(names, ", "))
    end
    local args = {}
    local param = binder(args)
    local where, code, message = conditions(spec, params.filters, param)
    if not where then
        return nil, code, message
    end
    local expr, cast = by[1], by[2]
    if params.cursor and params.cursor ~= "" then
        local key, id = cursor_decode(spec, sort, params.cursor)
        if not key then
            return nil, "bad_cursor", "this cursor is not one this list handed out for sort=" .. sort
        end
        where[#where + 1] = ("(%s, %s) %s (%s, %s)"):format(expr, spec.id, desc == "-" and "<" or ">",
            param(key, cast), param(id, spec.id_type))
    end
    local limit = params.limit or 50
    local dir = desc == "-" and " DESC" or ""
    local sql = ("SELECT %s, (%s)::text AS _sort_key FROM %s%s ORDER BY %s%s, %s%s LIMIT %s"):format(
        spec.select, expr, spec.from, #where > 0 and (" WHERE " .. concat(where, " AND ")) or "",
        expr, dir, spec.id, dir, param(limit + 1, "int"))
    local rows = assert(wm.db.query(sql, unpack(args, 1, #args)))
    local next_cursor
    if #rows > limit then
        rows[#rows] = nil
        next_cursor = _M.cursor_encode(sort, rows[#rows]._sort_key, rows[#rows].id)
    end
    for _, r in ipairs(rows) do
        r._sort_key = nil
    end
    return rows, next_cursor
end

-- ---- one business and what hangs off it ----

function _M.business(id)
    return assert(wm.db.query([[SELECT id, gmb_id, gmb_place_id, name, slug, email, phone, website_url, address,
            city, state, zip_code, country, latitude::float8 AS latitude, longitude::float8 AS longitude, category,
            subcategory, rating::float8 AS rating, review_count, reviews_summary, review_highlight, brand_archetype,
            photos_urls, logo_url, website_status, contact_status, lead_status, qualification_score,
            qualification_reasons, qualified_at, website_evidence, website_checked_at, creative_dna, raw_place,
            coverage_grid_id, scraped_at, created_at, updated_at
        FROM businesses WHERE id = $1]], id))[1]
end

function _M.business_sites(id)
    return assert(wm.db.query([[SELECT id, subdomain, custom_domain, version, previous_version_id, status, proposal,
            screenshot_desktop_url, screenshot_mobile_url, created_at, deployed_at
        FROM generated_sites WHERE business_id = $1 ORDER BY version DESC, created_at DESC]], id))
end

function _M.business_campaigns(id)
    return assert(wm.db.query([[SELECT id, site_id, subject_line, recipient_email, status, variant, sent_at,
            opened_at, opened_count, clicked_at, clicked_count, converted_at, created_at
        FROM campaigns WHERE business_id = $1 ORDER BY created_at DESC, id DESC]], id))
end

-- Opens, clicks and unsubscribes of the business's emails (not the
-- reader's address: the user agent is enough to tell a mail-privacy proxy).
function _M.business_tracking_events(id)
    return assert(wm.db.query([[SELECT t.id, t.campaign_id, t.kind, t.url, t.user_agent, t.created_at
        FROM tracking_events t JOIN campaigns c ON c.id = t.campaign_id
        WHERE c.business_id = $1 ORDER BY t.created_at DESC, t.id DESC LIMIT 100]], id))
end

-- Every agent's stored output for the business (one row per agent,
-- migration 005), newest first; not the prompt that produced it.
function _M.business_agent_outputs(id)
    return assert(wm.db.query([[SELECT agent, output, created_at
        FROM agent_outputs WHERE business_id = $1 ORDER BY created_at DESC, agent]], id))
end

-- The messages received in answer to the business's campaigns (replies,
-- auto-replies, bounces, unsubscribes: lib/inbox.lua ties each to its
-- campaign), newest first, with their stored sanitised text.
function _M.business_replies(id)
    return assert(wm.db.query([[SELECT r.id, r.campaign_id, c.subject_line AS campaign_subject, r.kind,
            r.from_email, r.subject, r.body_text, r.received_at
        FROM mail_replies r JOIN campaigns c ON c.id = r.campaign_id
        WHERE c.business_id = $1 ORDER BY r.received_at DESC, r.id DESC LIMIT 100]], id))
end

function _M.business_llm_calls(id)
    return assert(wm.db.query([[SELECT id, agent, provider, model, input_tokens, output_tokens,
            cache_read_input_tokens, cost_micro_usd, ok, error, stop_reason, duration_ms, created_at
        FROM llm_calls WHERE business_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100]], id))
end

function _M.business_activity(id)
    return assert(wm.db.query([[SELECT id, action, actor_type, actor_id, details, created_at
        FROM activity_log WHERE entity_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100]], id))
end

-- ---- the overview ----

-- The counts of the businesses created in the last 30 days, from
-- migration 029's summary (kept by triggers in the same transactions as the
-- tables, so exactly what counting the tables would give): the whole hours
-- of the window from funnel_hourly, the rest of its first hour row by row
-- from business_funnel (bits as that migration lists them).
local WINDOW = [[
WITH w AS (SELECT (now() - interval '30 days')::timestamp AS since,
                  date_trunc('hour', (now() - interval '30 days')::timestamp) + interval '1 hour' AS full_from)
SELECT coalesce(sum(leads), 0)::int AS leads, coalesce(sum(no_website), 0)::int AS no_website,
       coalesce(sum(qualified), 0)::int AS qualified, coalesce(sum(sites), 0)::int AS sites,
       coalesce(sum(emailed), 0)::int AS emailed, coalesce(sum(opened), 0)::int AS opened,
       coalesce(sum(clicked), 0)::int AS clicked, coalesce(sum(checkout), 0)::int AS checkout,
       coalesce(sum(purchased), 0)::int AS purchased, coalesce(sum(sites_generated), 0)::int AS sites_generated,
       coalesce(sum(emails_sent), 0)::int AS emails_sent
FROM (
    SELECT h.leads, h.no_website, h.qualified, h.sites, h.emailed, h.opened, h.clicked, h.checkout, h.purchased,
           h.sites_generated, h.emails_sent
    FROM funnel_hourly h, w WHERE h.hour >= w.full_from
    UNION ALL
    SELECT 1, (f.flags & 1 > 0)::int, (f.flags & 2 > 0)::int, (f.flags & 4 > 0)::int, (f.flags & 8 > 0)::int,
           (f.flags & 16 > 0)::int, (f.flags & 32 > 0)::int, (f.flags & 64 > 0)::int, (f.flags & 128 > 0)::int,
           (f.flags & 256 > 0)::int, (f.flags & 512 > 0)::int
    FROM business_funnel f, w WHERE f.created_at >= w.since AND f.created_at < w.full_from) x]]

-- The window's counts, read once for both metrics(r) and funnel(r).
function _M.summary()
    return assert(wm.db.one(WINDOW))
end

-- The seed's "Dashboard metrics" figures (websites generated, contacts
-- purchased and emailed among the businesses of the last 30 days), from
-- summary() (read when not given).
function _M.metrics(r)
    r = r or _M.summary()
    return { sites_generated = r.sites_generated, conversions = r.purchased, emails_sent = r.emails_sent }
end

-- The funnel's steps in order: column, label.
_M.FUNNEL_STEPS = {
    { "leads", "Leads" }, { "no_website", "Verified no website" }, { "qualified", "Qualified" },
    { "sites", "Site built" }, { "emailed", "Emailed" }, { "opened", "Opened" }, { "clicked", "Clicked" },
    { "checkout", "Checkout started" }, { "purchased", "Purchased" },
}

-- Businesses created in the last 30 days, by how far each got: each
-- step's count, from summary() (read when not given).
function _M.funnel(r)
    r = r or _M.summary()
    local f = {}
    for _, s in ipairs(_M.FUNNEL_STEPS) do
        f[s[1]] = r[s[1]]
    end
    return f
end

function _M.llm_cost_usd_30d()
    return assert(wm.db.one([[SELECT coalesce(sum(cost_micro_usd), 0)::float8 / 1e6 AS usd FROM llm_calls
        WHERE created_at >= now() - interval '30 days']])).usd
end

-- analytics_snapshots of the last `days` days, oldest first.
function _M.snapshots(days)
    return assert(wm.db.query([[SELECT snapshot_date::text AS day, leads_scraped, sites_generated,
            emails_sent, emails_opened, emails_clicked, purchases, revenue_cents, mrr_cents, api_costs_cents
        FROM analytics_snapshots WHERE snapshot_date > current_date - $1::int ORDER BY snapshot_date]], days))
end

-- The queue's depth per kind (finished jobs left out).
function _M.queue()
    return assert(wm.db.query([[SELECT kind,
            count(*) FILTER (WHERE status IN ('available', 'scheduled'))::int AS waiting,
            count(*) FILTER (WHERE status = 'running')::int AS running,
            count(*) FILTER (WHERE status = 'retryable')::int AS retryable,
            count(*) FILTER (WHERE status = 'discarded')::int AS discarded
        FROM jobs WHERE status NOT IN ('completed', 'cancelled') GROUP BY kind ORDER BY kind]]))
end

return _M
