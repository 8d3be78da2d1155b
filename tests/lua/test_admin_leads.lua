-- The dashboard's Leads page and a business's page through a real wm HTTP
-- server: the list sorts by its columns both ways (the headers toggle the
-- direction, keep the filters and mark the current sort), keyset pages
-- follow the sort with every row once, an unknown sort is the default
-- order, the minimum score filters; a business's page shows every agent's
-- output, the tracking events of its emails (never the reader's address)
-- and the replies they received, hostile text as text, and empty states.
local T = {}

local web = dofile(wm.root .. "/tests/lib/web.lua")

local PASSWORD = "correct horse battery"
local HOSTILE = "<img src=x onerror=alert(1)>"
local port
local session = {}

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function setup(t)
    web.fresh_schema()
    t.config("paths", { var = t.tmpdir() })
    t.config("admin", { session_idle = 7200, session_max = 43200, setup_link_ttl = 3600, login_free_failures = 3,
                        login_delay = 1, login_delay_max = 900 })
    port = web.serve(t)
    web.accounts(PASSWORD)
    session.viewer = web.admin_login(t, port, "viewer", PASSWORD)
end

local function get(t, path)
    local res = web.request(port, path, { method = "GET", admin = session.viewer })
    t.eq(res.status, 200, path)
    return res.body
end

-- A string as a Lua pattern that matches only itself.
local function lit(s)
    return (s:gsub("%p", "%%%0"))
end

local function unamp(s)
    return s and (s:gsub("&amp;", "&"))
end

-- The business ids a list page shows, in order, and its next page's link.
local function rows_of(body)
    local ids = {}
    for id in body:gmatch('<tr><td><a href="/admin/leads/([%x-]+)">') do
        ids[#ids + 1] = id
    end
    return ids, unamp(body:match('<a class="button alt" href="([^"]+)">More leads'))
end

-- Every page from `path` on: the ids in order and how many pages.
local function walk(t, path)
    local all, pages, seen = {}, 0, {}
    while path do
        pages = pages + 1
        local ids
        ids, path = rows_of(get(t, path))
        for _, id in ipairs(ids) do
            t.ok(not seen[id], "listed once: " .. id)
            seen[id] = true
            all[#all + 1] = id
        end
        t.ok(pages < 10, "pages end")
        if pages >= 10 then
            break
        end
    end
    return all, pages
end

local function ids(sql, ...)
    local out = {}
    for _, r in ipairs(assert(wm.db.query(sql, ...))) do
        out[#out + 1] = r.id
    end
    return out
end

-- 70 businesses, made a minute apart: scores 0..29 with ties (ties are
-- broken by id), 4 without a score.
local function leads()
    assert(wm.db.query([[INSERT INTO businesses (gmb_id, slug, name, qualification_score, created_at)
        SELECT 'g' || i, 's' || i, 'Lead ' || i, CASE WHEN i % 17 = 0 THEN NULL ELSE i % 30 END,
               timestamp '2026-01-01 00:00:00' + i * interval '1 minute'
        FROM generate_series(1, 70) i]]))
end

function T.leads_sort_by_score_both_ways_and_page_by_keyset(t)
    setup(t)
    leads()
    local desc = ids("SELECT id::text AS id FROM businesses ORDER BY coalesce(qualification_score, -1) DESC, id DESC")
    local asc = ids("SELECT id::text AS id FROM businesses ORDER BY coalesce(qualification_score, -1), id")
    local got, pages = walk(t, "/admin/leads?sort=-score")
    t.eq(pages, 2)
    t.eq(got, desc, "highest score first, every row once across pages")
    got, pages = walk(t, "/admin/leads?sort=score")
    t.eq(pages, 2)
    t.eq(got, asc, "lowest score first (no score before 0), every row once across pages")
    -- The next page's link keeps the sort (its cursor belongs to it).
    local body = get(t, "/admin/leads?sort=score")
    t.match(body, 'href="/admin/leads%?sort=score&amp;cursor=[%w_-]+">More leads')
    -- The current sort is marked; its header turns it around, the others sort by themselves.
    t.match(body, '<th class="num" aria%-sort="ascending"><a href="/admin/leads%?sort=%-score">Score ▴</a></th>')
    t.match(body, '<th class="num"><a href="/admin/leads%?sort=%-rating">Rating</a></th>')
    t.match(body, '<th><a href="/admin/leads%?sort=name">Name</a></th>')
    t.eq(select(2, body:gsub("aria%-sort=", "")), 1, "one column marked")
    body = get(t, "/admin/leads?sort=-score")
    t.match(body, 'aria%-sort="descending"><a href="/admin/leads%?sort=score">Score ▾</a>')
    -- The default: newest first, the Added column marked.
    local newest = ids("SELECT id::text AS id FROM businesses ORDER BY created_at DESC, id DESC LIMIT 50")
    body = get(t, "/admin/leads")
    t.eq((rows_of(body)), newest)
    t.match(body, 'aria%-sort="descending"><a href="/admin/leads%?sort=created">Added ▾</a>')
    -- By name, A to Z.
    local by_name = ids("SELECT id::text AS id FROM businesses ORDER BY name, id LIMIT 50")
    t.eq((rows_of(get(t, "/admin/leads?sort=name"))), by_name)
    -- A cursor of another sort (an edited link) shows the first page of the sort asked.
    local other = get(t, "/admin/leads?sort=-score"):match('href="/admin/leads%?sort=%-score&amp;cursor=([%w_-]+)"')
    t.ok(other)
    t.eq((rows_of(get(t, "/admin/leads?sort=score&cursor=" .. other))), { unpack(asc, 1, 50) })
end

function T.leads_unknown_sort_is_the_default_order(t)
    setup(t)
    leads()
    local newest = ids("SELECT id::text AS id FROM businesses ORDER BY created_at DESC, id DESC LIMIT 50")
    for _, s in ipairs({ "bogus", "-password_hash", "score;drop", "--score", "-", web.enc(HOSTILE) }) do
        local body = get(t, "/admin/leads?sort=" .. s)
        t.eq((rows_of(body)), newest, "default order for sort=" .. s)
        t.no_match(body, 'name="sort"', "an unknown sort is not carried on: " .. s)
        t.no_match(body, "<img src=x", "no markup: " .. s)
    end
end

function T.leads_min_score_filters_and_is_kept(t)
    setup(t)
    leads()
    local want = ids([[SELECT id::text AS id FROM businesses WHERE qualification_score >= 25
        ORDER BY coalesce(qualification_score, -1) DESC, id DESC]])
    t.ok(#want > 0 and #want < 70)
    local body = get(t, "/admin/leads?min_score=25&sort=-score")
    t.eq((rows_of(body)), want, "only scores of 25 and more")
    t.match(body, 'name="min_score" min="0" max="100" step="1" value="25"')
    t.match(body, '<input type="hidden" name="sort" value="%-score">', "the filter form keeps the sort")
    -- The headers keep the filter.
    t.match(body, '<a href="/admin/leads%?min_score=25&amp;sort=name">Name</a>')
    -- Combined with another filter.
    assert(wm.db.query("UPDATE businesses SET email = 'x@example.com' WHERE qualification_score = 29"))
    t.eq((rows_of(get(t, "/admin/leads?min_score=25&email=1"))),
        ids([[SELECT id::text AS id FROM businesses WHERE qualification_score = 29 ORDER BY created_at DESC, id DESC]]))
    -- Nothing above the highest score: an empty state that says so.
    body = get(t, "/admin/leads?min_score=30")
    t.eq(#rows_of(body), 0)
    t.match(body, "No lead matches these filters")
    -- Not a number: ignored, not an error.
    t.eq(#rows_of(get(t, "/admin/leads?min_score=abc")), 50)
end

function T.business_page_shows_agent_outputs_tracking_events_and_replies(t)
    setup(t)
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email) VALUES ('gb', 'sb', 'Joe''s Plumbing',
        'joe@example.com') RETURNING id::text AS id]]).id
    local empty = get(t, "/admin/leads/" .. b)
    t.match(empty, "No agent has worked on this business yet")
    t.match(empty, "No open, click or unsubscribe recorded")
    t.match(empty, "No reply received to this business")

    assert(wm.db.query([[INSERT INTO agent_outputs (business_id, agent, output) VALUES
        ($1, 'analyst', $2::jsonb), ($1, 'copywriter', '{"headline": "Fast fixes"}'::jsonb)]], b,
        { tagline = HOSTILE, note = "</pre><script>alert(3)</script>" }))
    local camp = one([[INSERT INTO campaigns (business_id, subject_line, email_body, recipient_email, status, sent_at)
        VALUES ($1, 'Your new site', 'b', 'joe@example.com', 'sent', now()) RETURNING id]], b).id
    assert(wm.db.query([[INSERT INTO tracking_events (campaign_id, kind, url, remote_addr, user_agent)
        VALUES ($1, 'click', 'https://joe.example/claim?a=1&b=2', '203.0.113.77', 'Mozilla/5.0 TestAgent'),
               ($1, 'open', NULL, '198.51.100.23', NULL)]], camp))
    local long = "Yes please! " .. HOSTILE .. " " .. ("call me back "):rep(40) .. "END-OF-REPLY"
    assert(wm.db.query([[INSERT INTO mail_replies (source, message_id, campaign_id, kind, from_email, subject, body_text)
        VALUES ('imap', '<r1@joe.example>', $1, 'reply', 'joe@example.com', $2, $3),
               ('imap', '<r2@joe.example>', $1, 'auto_reply', 'joe@example.com', 'Out of office', 'Back Monday')]],
        camp, "Re: " .. HOSTILE, long))
    -- Another business's reply, and one that matched no campaign: not shown here.
    local other = one([[INSERT INTO businesses (gmb_id, slug, name) VALUES ('go', 'so', 'Other') RETURNING id]]).id
    local oc = one([[INSERT INTO campaigns (business_id, subject_line, email_body, recipient_email, status)
        VALUES ($1, 's', 'b', 'o@example.com', 'sent') RETURNING id]], other).id
    assert(wm.db.query([[INSERT INTO mail_replies (source, message_id, campaign_id, kind, from_email, body_text)
        VALUES ('imap', '<r3@x>', $1, 'reply', 'other@example.com', 'OTHER-REPLY'),
               ('imap', '<r4@x>', NULL, 'reply', 'stray@example.com', 'STRAY-REPLY')]], oc))

    local body = get(t, "/admin/leads/" .. b)
    -- Agent outputs: each agent, its JSON pretty-printed and escaped, in a <details>.
    local outputs = body:match("<h2>Agent outputs</h2>(.-)<h2>")
    t.ok(outputs, "an Agent outputs section")
    t.match(outputs, "<details class=\"output\"><summary><code>analyst</code>")
    t.match(outputs, "<code>copywriter</code>")
    t.match(outputs, "&quot;headline&quot;: &quot;Fast fixes&quot;")
    t.ok(outputs:find("&lt;img src=x onerror=alert(1)&gt;", 1, true), "the output escaped")
    t.ok(outputs:find("&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;", 1, true), "cannot close the <pre>")
    t.no_match(body, "<img src=x")
    t.no_match(body, "<script>alert")
    -- Tracking events: kind, link and user agent; never the reader's address.
    local events = body:match("<h2>Tracking events</h2>(.-)<h2>")
    t.ok(events, "a Tracking events section")
    t.match(events, '<span class="pill click">click</span>')
    t.match(events, '<span class="pill open">open</span>')
    t.ok(events:find("https://joe.example/claim?a=1&amp;b=2", 1, true), "the link clicked")
    t.match(events, "Mozilla/5%.0 TestAgent")
    t.no_match(body, "203%.0%.113%.77")
    t.no_match(body, "198%.51%.100%.23")
    -- Replies: who, when, subject and text escaped; a long text cut with the whole in <details>.
    local replies = body:match("<h2>Replies</h2>(.-)<h2>")
    t.ok(replies, "a Replies section")
    t.match(replies, "joe@example%.com")
    t.ok(replies:find("Re: &lt;img src=x onerror=alert(1)&gt;", 1, true), "the subject escaped")
    t.ok(replies:find('<div class="reply-text">Yes please! &lt;img src=x onerror=alert(1)&gt; call me back', 1, true),
        "the text's start, escaped")
    t.match(replies, "…</div><details><summary>Full text</summary><pre>Yes please! &lt;img")
    local short = replies:match('<div class="reply%-text">(.-)</div>')
    t.ok(short and not short:find("END-OF-REPLY", 1, true), "the short text is cut")
    t.match(replies, "END%-OF%-REPLY</pre></details>")
    t.match(replies, '<span class="pill reply">reply</span>')
    t.match(replies, '<span class="pill auto_reply">auto_reply</span>')
    t.match(replies, '<div class="reply%-text">Back Monday</div></td>', "a short text whole, no <details>")
    t.match(replies, "to: Your new site")
    t.no_match(body, "OTHER%-REPLY")
    t.no_match(body, "STRAY%-REPLY")
    -- The newest first (received together: the later row first).
    t.ok(replies:find("Out of office", 1, true) < replies:find("Re: &lt;img", 1, true), "newest first")
    t.no_match(body, "No reply received")
    t.no_match(body, "No agent has worked")
end

return T
