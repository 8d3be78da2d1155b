-- The offline provider's checkout page (providers.payments = "offline"):
-- what a buyer sees at Recurrente, played by this host, so the embedded
-- loop can be bought with no account anywhere.
--
--   GET  /pay/<checkout id>   the amount, the plan, the buyer's email and
--                             name, and three buttons: "Pay with test card",
--                             "Decline", "Fail later"
--   POST /pay/<checkout id>   pay: sends payment_intent.succeeded (and
--                             subscription.create for the plan), signed, to
--                             /hooks/recurrente, then 303 to the success_url;
--                             decline: sends payment_intent.failed and shows
--                             the page again; fail later: pays, then the
--                             offline_payment_event stage sends
--                             subscription.past_due after
--                             commerce.offline_fail_after seconds and
--                             subscription.cancel after as much again.
--
-- The events' ids come from the checkout, so paying twice delivers the same
-- events again (applied once by the receiver). Whether the checkout is paid
-- is the receiver's word (checkouts.status), as with Recurrente.
local claim = require "web.claim"
local text = require "lib.text"

-- customers.full_name is VARCHAR(255), counted in characters. The
-- business's name prefills the field, shortened to fit: a keyword-stuffed
-- listing name must not make the form unsendable.
local NAME_MAX = 200

local function characters(s)
    return #s - select(2, s:gsub("[\128-\191]", ""))
end

local function not_found()
    return { status = 404, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
             body = "No such checkout.\n" }
end

local function csrf(id)
    local mac = wm.crypto.hmac_sha256(require("lib.tracking").key(), "pay-csrf\0" .. id)
    return (wm.crypto.b64url_encode(mac):gsub("=+$", ""))
end

local function origin(url)
    return url:match("^(https?://[^/?#]+)")
end

local function csp(k)
    local o = {}
    for _, u in ipairs { k.success_url, k.cancel_url } do
        local x = origin(u)
        if x and not o[x] then
            o[#o + 1], o[x] = x, true
        end
    end
    return "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; "
        .. "form-action 'self' " .. table.concat(o, " ")
end

-- The offline checkout with its business, or nil (and an error when the
-- database did not answer).
local function load(id)
    local k, err = require("domain.checkouts").by_provider_id("offline", id)
    if not k then
        return nil, err
    end
    local b = wm.db.one("SELECT name, email FROM businesses WHERE id = $1", k.business_id)
    k.business_name = b and b.name or ""
    k.business_email = b and b.email ~= wm.null and b.email or ""
    return k
end

local PAGE = [[
<p class="note">Test checkout: this host plays the payments provider. No card is charged.</p>
{{#error}}<p class="note err">{{error}}</p>
{{/error}}<p>{{plan}} for <strong>{{business}}</strong></p>
<p class="price">{{amount}}{{#recurring}} per month{{/recurring}}</p>
<form method="post" action="/pay/{{id}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<label>Email <input type="email" name="email" value="{{email}}" required></label>
<label>Full name <input type="text" name="full_name" value="{{full_name}}" maxlength="200" required></label>
<button type="submit" name="action" value="pay">Pay with test card</button>
<button type="submit" name="action" value="decline" class="alt">Decline</button>
{{#recurring}}<button type="submit" name="action" value="fail_later" class="alt">Fail later</button>
{{/recurring}}</form>
<p><a href="{{cancel_url}}">Cancel and go back</a></p>
]]

local CLOSED = [[
<p>{{message}}</p>
<p><a href="{{link}}">{{link_label}}</a></p>
]]

local function page(k, status, extra)
    local cfg = wm.config.commerce or {}
    local ctx = { id = k.provider_checkout_id, csrf = csrf(k.provider_checkout_id), business = k.business_name,
                  plan = k.kind == "subscription" and cfg.plan_name or (cfg.plan_name .. ": setup fee"),
                  amount = claim.money(k.amount_cents, k.currency), recurring = k.kind == "subscription",
                  email = k.business_email, full_name = text.shorten(k.business_name, NAME_MAX), cancel_url = k.cancel_url, error = false }
    for key, v in pairs(extra or {}) do
        ctx[key] = v
    end
    return claim.render(status, "Pay " .. ctx.amount, PAGE, ctx, { ["Content-Security-Policy"] = csp(k) })
end

local function closed(k)
    if k.status == "paid" then
        return claim.render(200, "Already paid", CLOSED, { message = "This checkout has been paid. Thank you.",
            link = k.success_url, link_label = "Back to the site" }, { ["Content-Security-Policy"] = csp(k) })
    end
    return claim.render(410, "This checkout has expired", CLOSED, { message = "Nothing was charged. Start again "
        .. "from the site to get a new checkout.", link = k.cancel_url, link_label = "Back to the site" },
        { ["Content-Security-Policy"] = csp(k) })
end

-- A declined card leaves the checkout payable with another try, as at
-- Recurrente, whatever the receiver recorded for the decline.
local function is_open(k)
    return (k.status == "open" or k.status == "failed") and (k.expires_epoch == wm.null or k.expires_epoch > wm.now())
end

local function lookup(req)
    local id = req.params.id
    if not id:match("^ch_[%w_]+$") then
        return nil, not_found()
    end
    local k, err = load(id)
    if not k then
        if err then
            local outage = require "lib.outage"
            if outage.confirm(err) then
                return nil, outage.response()
            end
            error(err, 0)
        end
        return nil, not_found()
    end
    return k
end

wm.route("GET", "/pay/:id", function(req)
    local k, res = lookup(req)
    if not k then
        return res
    end
    if not is_open(k) then
        return closed(k)
    end
    return page(k, 200)
end, { role = "public" })

wm.route("POST", "/pay/:id", function(req)
    local k, res = lookup(req)
    if not k then
        return res
    end
    local f = claim.form(req.body)
    if not claim.same_site(req) or type(f.csrf) ~= "string" or not wm.crypto.equal(f.csrf, csrf(k.provider_checkout_id)) then
        return { status = 403, headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
                 body = "This form has expired. Go back, reload the page and try again.\n" }
    end
    if not is_open(k) then
        return closed(k)
    end
    local buyer = { email = (f.email or ""):match("^%s*(.-)%s*$"), full_name = (f.full_name or ""):match("^%s*(.-)%s*$") }
    local wrong
    if not buyer.email:match("^[^@%s]+@[^@%s]+%.[^@%s]+$") or #buyer.email > 254 then
        wrong = "Enter an email address, like name@example.com."
    elseif buyer.full_name == "" then
        wrong = "Enter the name of the person paying."
    elseif characters(buyer.full_name) > NAME_MAX then
        wrong = "Enter a shorter name (at most " .. NAME_MAX .. " characters)."
    end
    if wrong then
        return page(k, 422, { error = wrong, email = buyer.email, full_name = text.clip(buyer.full_name, 1000) })
    end
    local offline = require "providers.payments.offline"
    local action = f.action
    if action == "decline" then
        local ok, err = offline.deliver_all(offline.events("declined", k, buyer))
        return page(k, 200, { email = buyer.email, full_name = buyer.full_name,
            error = ok and "The card was declined (test). Nothing was charged." or
                ("The card was declined (test), and the shop was not told: " .. tostring(err)) })
    elseif action ~= "pay" and not (action == "fail_later" and k.kind == "subscription") then
        return page(k, 422, { error = "Choose one of the buttons." })
    end
    local ok, err = offline.deliver_all(offline.events("paid", k, buyer))
    if not ok then
        wm.log.warn("offline checkout: payment not delivered", { checkout = k.provider_checkout_id, error = err })
        return page(k, 502, { email = buyer.email, full_name = buyer.full_name,
            error = "The shop did not take the payment (" .. tostring(err) .. "). Nothing was charged; try again." })
    end
    if action == "fail_later" then
        local after = (wm.config.commerce or {}).offline_fail_after or 60
        for i, what in ipairs { "past_due", "cancelled" } do
            assert(wm.jobs.enqueue("offline_payment_event", { checkout_id = k.id, event = what, buyer = buyer },
                { delay = after * i, unique_key = "offline_payment_event:" .. k.provider_checkout_id .. ":" .. what }))
        end
    end
    return { status = 303, headers = { Location = k.success_url, ["Cache-Control"] = "no-store" }, body = "" }
end, { role = "public" })
