-- Every outreach email the composer can produce scores at most 1.0 with
-- SpamAssassin's local rules (`spamassassin -L -t`, Debian package): the
-- offline composer's A and B approaches and each of its subject, button
-- and sign-off wordings, with and without reviews, rating and city;
-- hostile, long, non-ASCII and ALL CAPS business names; the shortest and
-- the longest answer the composer's schema lets an LLM give; with and
-- without the site's screenshot; unsigned and DKIM-signed; a public https
-- base URL and the embedded default. Each message is built as the send
-- stage builds it (lib.email, then lib.mime), all scored in one run of
-- spamassassin over an mbox (one start-up), in a private HOME with no
-- network and no sa-update. The rules each hit are printed.
local T = {}

local email = require "lib.email"
local mime = require "lib.mime"
local schema = require "lib.schema"
local composer_agent = require "agents.email_composer"
local offline = require "providers.llm.offline.email_composer"
local answer_analyst = require("providers.llm.offline.analyst").answer

local MAX_SCORE = 1.0
local FROM = { name = "WebMagic", email = "hello@webmagic.example" }
local POSTAL = "WebMagic, 1 Example Street, Austin, TX 78701, USA"

local EVIL = [[<script>alert("x")</script>"'</title></style>javascript:alert(1) ]] .. "\226\128\174 😀 <!-- & -->"
local NAMES = {
    "Joe's Plumbing & Sons",
    "Café Müller – Bäckerei & Konditorei",
    "SERVPRO of North Austin",
    "Nguyễn's Phở House 🍜",
    EVIL,
    string.rep("Very Long Family Owned Heating Cooling and Plumbing Company ", 4),
    "{city} \"Best\" Locksmith",
    "A",
}
local CATEGORIES = { "plumber", "hair salon", "restaurant", "dentist", "electrician", "bakery", "locksmith", "roofer" }
local CITIES = { "Austin", "São Paulo", nil, "Springfield" }

local REVIEWS = {
    { review_text = "Fixed our leak in an hour and cleaned up after. Honest price, friendly crew.", review_rating = 5,
      author_title = "Maria G." },
    { review_text = "They came the same day and explained everything. Would hire again.", review_rating = 5,
      author_title = "Tom" },
    { review_text = "Great work, fair prices.", review_rating = 4, author_title = "Lee" },
}

local function valid(t, out, ctx)
    local ok, err = schema.validate(composer_agent.schema, out)
    t.ok(ok, "composer schema: " .. tostring(err))
    t.eq(composer_agent.check(out, ctx), nil)
end

-- The message as the send stage builds it; opts: base, shot, name.
local function message(t, composer, opts)
    local base = opts.base or "https://app.webmagic.example"
    local m = assert(email.render {
        composer = composer,
        business = { name = opts.name },
        site_url = "https://preview-" .. opts.i .. ".sites.webmagic.example/",
        base_url = base,
        campaign_id = ("00000000-0000-4000-8000-%012d"):format(opts.i),
        from = FROM,
        to = { name = opts.name, email = "owner" .. opts.i .. "@example.com" },
        postal_address = POSTAL,
        review_highlight = opts.review,
        screenshot_url = opts.shot and (base .. "/screenshots/site-" .. opts.i .. "/desktop.png") or nil,
    })
    local eml = assert(mime.build { from = FROM, to = { name = opts.name, email = "owner" .. opts.i .. "@example.com" },
        subject = m.subject, text = m.text, html = m.html, headers = m.headers, dkim = opts.dkim or false })
    t.ok(#m.html > 3200, "HTML part over SpamAssassin's image-only sizes: " .. #m.html)
    return eml
end

local function samples(t)
    local list, seen = {}, { subject = {}, cta = {}, sign_off = {}, variant = {} }
    local i = 0
    local function add(label, composer, opts)
        i = i + 1
        opts.i = i
        list[#list + 1] = { label = label, eml = message(t, composer, opts) }
    end
    for n, name in ipairs(NAMES) do
        for _, variant in ipairs({ "a", "b" }) do
            for r = 1, 3 do
                -- Reviews and rating (the highlight quoted), rating only,
                -- neither; the city comes and goes.
                local business = { id = ("biz-%d-%s-%d"):format(n, variant, r), name = name,
                    category = CATEGORIES[(n + r) % #CATEGORIES + 1], city = CITIES[(n + r) % 4 + 1],
                    state = "TX", rating = r < 3 and 4.8 or nil, review_count = r < 3 and 57 or nil }
                local ctx = { business = business, reviews = r == 1 and REVIEWS or {},
                    variants = { approach = variant } }
                local analyst = answer_analyst(ctx)
                ctx.analyst = { output = analyst }
                local out = offline.answer(ctx)
                valid(t, out, ctx)
                local short = require("lib.text").shorten(name, 40)
                local function form(s)
                    local at = s:find(short, 1, true)
                    return at and (s:sub(1, at - 1) .. "{name}" .. s:sub(at + #short)) or s
                end
                seen.subject[form(out.subject)] = true
                seen.cta[out.cta_label] = true
                seen.sign_off[out.sign_off] = true
                seen.variant[variant] = true
                local shot = (n + r) % 2 == 0
                add(("%s, approach %s, %s%s"):format(name:sub(1, 30), variant,
                    r == 1 and "reviews" or r == 2 and "rating only" or "no rating",
                    shot and ", screenshot" or ""), out,
                    { name = name, review = r == 1 and analyst.review_highlight or nil, shot = shot,
                      base = n == 1 and "http://127.0.0.1:8080" or nil })
            end
        end
    end
    -- The offline composer used each of its wordings.
    local function count(s)
        local k = 0
        for _ in pairs(s) do
            k = k + 1
        end
        return k
    end
    t.ok(count(seen.subject) >= 3, "subject wordings: " .. count(seen.subject))
    t.eq(count(seen.cta), 3)
    t.eq(count(seen.sign_off), 3)
    t.eq(count(seen.variant), 2)

    -- The shortest and the longest answers the schema lets an LLM give.
    local shortest = { subject = "Hello", preview_text = "A website.", greeting = "Hi",
        paragraphs = { "We built you a website.", "Have a look at it now." }, cta_label = "Go", sign_off = "Hi" }
    local long_p = string.rep("We read what your customers wrote and built a page around it. ", 16):sub(1, 1000)
    local longest = { subject = ("A website for Joe's Plumbing and Heating, built from the words of your customers"):sub(1, 78),
        preview_text = string.rep("A preview website built from your reviews. ", 4):sub(1, 140),
        greeting = "Hello Joe's Plumbing and Heating team,", paragraphs = { long_p, long_p, long_p, long_p },
        cta_label = "See the website we made", sign_off = "Best regards, and thank you for reading this far," }
    valid(t, shortest, {})
    valid(t, longest, {})
    for _, shot in ipairs({ false, true }) do
        add("schema's shortest" .. (shot and ", screenshot" or ""), shortest, { name = "A", shot = shot })
        add("schema's longest" .. (shot and ", screenshot" or ""), longest,
            { name = "Joe's Plumbing and Heating", shot = shot, review = REVIEWS[1].review_text })
    end
    return list
end

local function spamassassin()
    local r = wm.exec { argv = { "sh", "-c", "command -v spamassassin" } }
    return r and r.code == 0 and (r.stdout:gsub("%s+$", "")) or nil
end

function T.every_composed_email_scores_at_most_1(t)
    local sa = spamassassin()
    if not sa then
        t.skip("spamassassin is not installed (Debian package spamassassin; .ci/setup.sh --test installs it)")
    end
    local list = samples(t)
    -- DKIM-signed copies of two of them (what a relay that does not sign
    -- sends when mail.dkim is set).
    local home = t.tmpdir()
    local r = assert(wm.exec { argv = { "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
        "-out", home .. "/dkim.pem" }, timeout = 60 })
    t.eq(r.code, 0, r.stderr)
    t.config("mail", { dkim = { domain = "webmagic.example", selector = "wm1", private_key = "",
        key_file = home .. "/dkim.pem" } })
    local dkim = require "lib.dkim"
    local d = assert(dkim.config())
    for k = 1, 2 do
        local s = list[k * 5]
        list[#list + 1] = { label = s.label .. ", DKIM-signed", eml = assert(dkim.sign(s.eml, d)) }
    end

    -- A control the harness must see as spammy: the old preheader (tiny
    -- text in the background's colour) and parts that disagree.
    local control = assert(mime.build { from = FROM, to = "owner@example.com", subject = "Your website",
        text = "See it here.", dkim = false,
        html = '<html><body style="background:#f4f4f5"><div style="font-size:1px;line-height:1px;color:#f4f4f5;">'
            .. "Preview text hidden</div><p>Completely different words.</p>"
            .. '<img src="https://app.webmagic.example/t/o/x.gif" width="1" height="1" alt=""></body></html>' })
    list[#list + 1] = { label = "control: invisible preheader, parts that differ", eml = control, control = true }

    -- One mbox (LF line ends, "From " separators; bodies are quoted-printable
    -- with any leading "From " encoded, so nothing needs escaping), each
    -- message tagged so its report can be found whatever order they come in.
    local mbox = {}
    for k, s in ipairs(list) do
        mbox[#mbox + 1] = "From sample@webmagic.example Sun Nov 29 12:00:00 2026\n"
            .. "X-Sample: " .. k .. "\n" .. s.eml:gsub("\r\n", "\n") .. "\n"
    end
    assert(wm.fs.write_file(home .. "/samples.mbox", table.concat(mbox)))
    local res = assert(wm.exec {
        argv = { "sh", "-c", 'exec "$0" --mbox -L -t -p "$HOME/user_prefs" < "$1"', sa, home .. "/samples.mbox" },
        env = { HOME = home, PATH = os.getenv("PATH"), LANG = "C.UTF-8" },
        timeout = 500, max_output = 64 * 1024 * 1024,
    })
    t.eq(res.code, 0, res.stderr)

    -- The output is an mbox again: each message (with its X-Sample) and
    -- its report, "Content analysis details: (S points, ...)" and the rules.
    local scores, rules = {}, {}
    local out, SEP = "\n" .. res.stdout, "\nFrom sample@webmagic.example "
    local starts = {}
    local at = out:find(SEP, 1, true)
    while at do
        starts[#starts + 1] = at
        at = out:find(SEP, at + 1, true)
    end
    starts[#starts + 1] = #out + 1
    for j = 1, #starts - 1 do
        local chunk = out:sub(starts[j], starts[j + 1] - 1)
        local k = tonumber(chunk:match("\nX%-Sample: (%d+)"))
        local score = chunk:match("Content analysis details:%s+%((%-?[%d.]+) points")
        -- The table ends at the first blank line (the report repeats it further down).
        local table_ = (chunk .. "\n\n"):match("Content analysis details:.-\n%-%-%-%-[^\n]*\n(.-)\n%s*\n")
        t.ok(k and score and table_, "a report without its sample tag or score")
        if k and score and table_ then
            scores[k] = tonumber(score)
            local hit = {}
            for pts, name in table_:gmatch("%s(%-?[%d.]+) ([A-Z][A-Z0-9_]+)%s") do
                if tonumber(pts) ~= 0 then
                    hit[#hit + 1] = name .. " " .. pts
                end
            end
            rules[k] = hit
        end
    end
    local worst = -100
    for k, s in ipairs(list) do
        t.ok(scores[k], "no report for sample " .. k .. " (" .. s.label .. ")")
        print(("%5.1f  %s%s"):format(scores[k] or 99, s.label,
            #(rules[k] or {}) > 0 and ("  [" .. table.concat(rules[k], ", ") .. "]") or ""))
        if not s.control then
            worst = math.max(worst, scores[k] or 99)
        end
    end
    print(("%d emails scored, the highest %.1f (limit %.1f)"):format(#list - 1, worst, MAX_SCORE))
    for k, s in ipairs(list) do
        if s.control then
            t.ok((scores[k] or 0) > MAX_SCORE, "the control scores " .. tostring(scores[k]))
        else
            t.ok((scores[k] or 99) <= MAX_SCORE, ("%s scores %s: %s"):format(s.label, tostring(scores[k]),
            table.concat(rules[k] or {}, ", ")))
        end
    end
end

return T
