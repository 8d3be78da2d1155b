-- The claim page on a preview site's own host (/claim/<claim token>; the
-- site route, scripts/web/sites.lua, hands it over with the site it found):
--
--   GET   the offer: what the owner gets, the price, "cancel any time", and
--         a button; once the plan is paid, the setup fee's button (when
--         commerce.setup_fee_cents > 0); once all is paid, "this site is yours"
--   POST  (the button) creates the checkout through providers.payments, or
--         hands out the open one, and answers 303 to its checkout_url. A
--         provider that fails gets a "try again" page (503 when trying again
--         may help, else 502) and leaves no checkout row.
--
-- The form is same-site only: its csrf field is an HMAC of the site and
-- its claim token under the installation's key (lib.tracking), and a
-- request whose Origin is another host, or that the browser marks
-- cross-site, is refused.
--
-- Also the pages' shared layout for pay.lua: claim.render(status, title,
-- content_template, ctx[, headers]) and claim.form(body) (a decoded
-- application/x-www-form-urlencoded body).
local template = require "lib.template"
local outage = require "lib.outage"

local _M = {}

local LAYOUT = [[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
{{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">
{{/refresh}}<title>{{title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.6rem;line-height:1.25}.price{font-size:1.4rem;font-weight:700;margin:.5rem 0}
.note{background:#f3f4f6;border-radius:6px;padding:.75rem 1rem}.err{background:#fef2f2;color:#991b1b}
button{font:inherit;padding:.7rem 1.3rem;border:0;border-radius:6px;background:#111827;color:#fff;cursor:pointer;margin:.25rem .5rem .25rem 0}
button.alt{background:#e5e7eb;color:#111827}label{display:block;margin:.5rem 0}
input[type=text],input[type=email]{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}</style>
</head><body><main>
<h1>{{title}}</h1>
{{>content}}
</main></body></html>
]]

-- status, title, content (a template source rendered in ctx), ctx, headers
-- (merged over the defaults; a Content-Security-Policy among them).
function _M.render(status, title, content, ctx, headers)
    ctx.title = title
    local h = { ["Content-Type"] = "text/html; charset=utf-8", ["Cache-Control"] = "no-store",
                ["X-Content-Type-Options"] = "nosniff", ["Referrer-Policy"] = "no-referrer" }
    for k, v in pairs(headers or {}) do
        h[k] = v
    end
    return { status = status, headers = h,
             body = template.render(LAYOUT, ctx, { partials = { content = content } }) }
end

_M.form = require("lib.form").parse

-- "Q800.00", "$12.50", "EUR 3.00"
function _M.money(cents, currency)
    local sym = ({ GTQ = "Q", USD = "$" })[currency] or ((currency or "") .. " ")
    return ("%s%d.%02d"):format(sym, math.floor(cents / 100), cents % 100)
end

-- Refused unless the browser says the form came from this very host.
function _M.same_site(req)
    local fetch_site = req.headers["sec-fetch-site"]
    if fetch_site and fetch_site ~= "same-origin" and fetch_site ~= "same-site" and fetch_site ~= "none" then
        return false
    end
    local origin = req.headers.origin
    if origin and origin ~= "null" then
        local host = origin:match("^https?://([^/]+)$")
        return host ~= nil and host:lower() == (req.headers.host or ""):lower()
    end
    return true
end

local function csrf(site_id, token)
    local mac = wm.crypto.hmac_sha256(require("lib.tracking").key(), "claim-csrf\0" .. site_id .. "\0" .. token)
    return (wm.crypto.b64url_encode(mac):gsub("=+$", ""))
end

-- The page's policy: the site's own (nothing loads from elsewhere), except
-- that the form may lead to the payments provider (a 303 after a form post
-- is checked against form-action).
local function csp()
    local provider = require("lib.providers").get("payments")
    local origin = provider.checkout_origin and provider.checkout_origin()
    return "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; "
        .. "form-action 'self'" .. (origin and (" " .. origin) or "")
end

local OFFER = [[
{{#notice}}<p class="note">{{notice}}</p>
{{/notice}}{{#error}}<p class="note err">{{error}}</p>
{{/error}}{{#offer_plan}}<p>This website was made for <strong>{{name}}</strong> from its public reviews. Keep it online:</p>
<ul>
<li>this site at its own address, kept online, fast and secure</li>
<li>small changes whenever you ask</li>
<li>no setup work for you, no ads</li>
</ul>
<p class="price">{{price}} per month</p>
{{#fee}}<p>plus a one-time setup fee of {{fee}}, paid right after the first month.</p>
{{/fee}}<p>Cancel any time: no contract, no cancellation fee.</p>
{{/offer_plan}}{{#offer_fee}}<p>Your plan for <strong>{{name}}</strong> is active. One more step: the one-time setup fee.</p>
<p class="price">{{fee}}</p>
{{/offer_fee}}{{#kind}}<form method="post" action="/claim/{{token}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="kind" value="{{kind}}">
<button type="submit">{{button}}</button>
</form>
{{/kind}}{{#done}}<p>Thank you. <strong>{{name}}</strong>'s website is yours, and stays online for as long as your plan runs.</p>
{{/done}}<p><a href="/">Back to the site</a></p>
]]

local function view(site, offer, extra)
    local cfg = wm.config.commerce or {}
    local ctx = { name = site.name, token = site.claim_token, csrf = csrf(site.id, site.claim_token),
                  price = _M.money(cfg.monthly_price_cents, cfg.currency),
                  fee = (cfg.setup_fee_cents or 0) > 0 and _M.money(cfg.setup_fee_cents, cfg.currency) or false,
                  kind = offer.kind or false, offer_plan = offer.kind == "subscription",
                  offer_fee = offer.kind == "setup_fee", done = offer.kind == nil,
                  button = offer.kind == "setup_fee" and "Pay the setup fee" or "Continue to payment",
                  notice = false, error = false }
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    local title = offer.kind == nil and ("This site is yours, " .. site.name)
        or offer.kind == "setup_fee" and "One more step" or ("Claim this site for " .. site.name)
    return title, ctx
end

local function unavailable(err, state)
    if outage.confirm(err, state) then
        return outage.response()
    end
    error(err, 0)
end

-- site: the row sites.lua found by host ({id, ...}); token: from the path.
function _M.handle(req, site, token)
    local s, err, state = wm.db.one([[SELECT s.id, s.business_id, s.subdomain, s.claim_token, s.status, b.name
        FROM generated_sites s JOIN businesses b ON b.id = s.business_id
        WHERE s.id = $1 AND s.claim_token = $2]], site.id, token)
    if not s then
        if err then
            return unavailable(err, state)
        end
        return { status = 404, headers = { ["Content-Type"] = "text/plain; charset=utf-8" }, body = "No site here.\n" }
    end
    local checkouts = require "domain.checkouts"
    local offer, oerr = checkouts.offer(s)
    if not offer then
        return unavailable(oerr)
    end
    local headers = { ["Content-Security-Policy"] = csp() }
    if req.method == "POST" then
        local f = _M.form(req.body)
        if not _M.same_site(req) or type(f.csrf) ~= "string" or not wm.crypto.equal(f.csrf, csrf(s.id, token)) then
            return { status = 403, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
                     body = "This form has expired. Go back, reload the page and try again.\n" }
        end
        if f.kind == offer.kind then
            local row, cerr, info = checkouts.start(s, offer.kind)
            if row then
                return { status = 303, headers = { Location = row.checkout_url, ["Cache-Control"] = "no-store" },
                         body = "" }
            end
            local retry = info and info.retryable
            local title, ctx = view(s, offer, { error = "We could not start the payment just now. Nothing was "
                .. "charged. Please try again" .. (retry and " in a minute." or " later, or write to us.") })
            wm.log.warn("claim: checkout not started", { site_id = s.id, error = tostring(cerr) })
            headers["Retry-After"] = retry and "60" or nil
            return _M.render(retry and 503 or 502, title, OFFER, ctx, headers)
        end
        -- A stale page (the plan was paid meanwhile): show where things are.
    elseif req.method ~= "GET" and req.method ~= "HEAD" then
        return { status = 405, headers = { Allow = "GET, HEAD, POST", ["Content-Type"] = "text/plain; charset=utf-8" },
                 body = "Method not allowed.\n" }
    end
    local extra
    if req.query and req.query.paid and offer.kind == "subscription" then
        -- Back from paying before the payment's webhook was applied.
        extra = { notice = "Thank you! We are confirming your payment; this page updates by itself.",
                  kind = false, refresh = "3" }
    end
    local title, ctx = view(s, offer, extra)
    return _M.render(200, title, OFFER, ctx, headers)
end

return _M
