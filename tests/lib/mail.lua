-- The mail tests' fixtures: a campaign with its business and preview site
-- (waiting to be sent, or further along), the send stage run on it, and its
-- row. Load it with
--   local mail = dofile(wm.root .. "/tests/lib/mail.lua")
local mail = {}

local function one(sql, ...)
    return assert(wm.db.one(sql, ...))
end

local function token(n)
    return (wm.crypto.random_token(n):lower():gsub("[^%w]", "x"))
end

-- mail.made: how many campaign() made, the last one's number (in its names).
mail.made = 0

-- campaign([o]) -> campaign id, recipient email, business id: a business
-- with a preview site and a campaign. o: email (the recipient, as is;
-- default <local_part><n>-<random>@shop.test), local_part (default "owner";
-- it can script a fake), suffix (after the business's name "Shop <n>"),
-- provider (campaigns.email_provider; default none), status (default
-- 'pending'; one past 'sending' has a sent_at), message_id,
-- contact_status (the business's; default the column's).
function mail.campaign(o)
    o = o or {}
    mail.made = mail.made + 1
    local n = mail.made
    local email = o.email or ("%s%d-%s@shop.test"):format(o.local_part or "owner", n, token(4))
    local name = "Shop " .. n .. (o.suffix or "")
    local b = one([[INSERT INTO businesses (gmb_id, slug, name, email, rating, review_count, lead_status,
            website_status, qualification_score, contact_status)
        VALUES ($1, $1, $2, $3, 4.8, 50, 'qualified', 'generated', 80, coalesce($4, 'pending')) RETURNING id]],
        "gmb-" .. n .. "-" .. token(4), name, email, o.contact_status)
    local s = one([[INSERT INTO generated_sites (business_id, subdomain, html_content, status, claim_token)
        VALUES ($1, $2, '<!DOCTYPE html><title>x</title>', 'preview', $3) RETURNING id]], b.id,
        "shop-" .. n .. "-" .. token(3), wm.crypto.random_token(12))
    local c = one([[INSERT INTO campaigns (business_id, site_id, subject_line, email_body, business_name,
            recipient_email, status, email_provider, message_id, sent_at)
        VALUES ($1, $2, 'Your site', $3, $4, $5, $6::text, $7, $8,
                CASE WHEN $6::text IN ('pending', 'sending') THEN NULL ELSE now() END) RETURNING id]], b.id, s.id,
        wm.json.encode({ subject = "Your new website", preview_text = "A site", greeting = "Hi,",
                         paragraphs = { "We built you a website." }, cta_label = "See it", sign_off = "WebMagic" }),
        name, email, o.status or "pending", o.provider, o.message_id)
    return c.id, email, b.id
end

-- The send stage on campaign `id`, as the scheduler runs it (attempt 1 of 5).
function mail.send(id)
    return require("stages.send").run({ id = 0, kind = "send", attempt = 1, max_attempts = 5,
                                        payload = { campaign_id = id } })
end

function mail.campaign_row(id)
    return one("SELECT status, message_id, email_provider, error_message FROM campaigns WHERE id = $1", id)
end

return mail
