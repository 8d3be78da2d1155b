-- The customer portal, on the main host (sites.base_url's; a site's own
-- host answers 404 here):
--
--   GET  /portal/login/<token>  the emailed link: a "Open my account" button
--                               while the link is good; once used or expired,
--                               a button that emails a new one
--   POST /portal/login/<token>  action=signin: uses the link up and starts a
--                               session (303 to /portal with the cookie);
--                               action=resend: enqueues portal_welcome
--                               {kind="link"}, at most one per customer per
--                               portal.resend_interval seconds (429 sooner)
--   GET  /portal                signed in: their sites, plan, status, next
--                               charge date, payments, cancel and sign out;
--                               otherwise how to sign in
--   POST /portal/cancel         cancels a subscription through providers.payments
--   POST /portal/logout         ends the session
--
-- The link asks for a click before it is used up, because mail scanners
-- open every link in a message. The session is lib.session's (see there:
-- hashed tokens, idle and absolute expiry, the cookie's flags). Each form
-- carries a CSRF token checked here (403 and nothing done otherwise): the
-- session's own, or for the link page an HMAC of the link under the
-- installation's key. Every query about the customer's things is filtered
-- by the session's customer_id; a subscription id that is not theirs is a
-- 404, whoever it belongs to.
--
-- Cancelling asks the provider, and the local state changes only when the
-- provider's subscription.cancel webhook is applied (apply_webhook): one
-- path for every cancel, wherever it was made. Until then the page says the
-- cancel was requested (an activity row, subscription.cancel_requested).
local claim = require "web.claim"
local account = require "web.portal.account"
local session = require "lib.session"
local page = require "web.portal.page"

local store = account.store
local UUID = page.UUID
local render, plain, forbidden, redirect = page.render, page.plain, page.forbidden, page.redirect
local unavailable, route = page.unavailable, page.route
local session_or_page, signed_form = page.session, page.signed_form

-- ---- the link ----

local function link_csrf(token)
    local mac = wm.crypto.hmac_sha256(require("lib.tracking").key(), "portal-link\0" .. session.hash(token))
    return (wm.crypto.b64url_encode(mac):gsub("=+$", ""))
end

local LINK = [[
{{#notice}}<p class="note">{{notice}}</p>
{{/notice}}{{#error}}<p class="note err">{{error}}</p>
{{/error}}<p>{{message}}</p>
{{#action}}<form method="post" action="/portal/login/{{token}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="action" value="{{action}}">
<button type="submit">{{button}}</button>
</form>
{{/action}}]]

local function link_page(status, token, state, extra, headers)
    local ctx = { token = token, csrf = link_csrf(token), notice = false, error = false, action = false }
    local title
    if state == "ok" then
        title, ctx.message, ctx.action, ctx.button = "Your account", "This link opens your account once.",
            "signin", "Open my account"
    elseif state == "used" or state == "expired" then
        title = state == "used" and "This link was already used" or "This link has expired"
        ctx.message = "Sign-in links work once, for a short time. We can email you a new one."
        ctx.action, ctx.button = "resend", "Email me a new link"
    else
        title = "This link is not valid"
        ctx.message = "Open the newest link we emailed you. If you cannot find it, reply to any of our emails "
            .. "and we will send you a new one."
    end
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    return render(status, title, LINK, ctx, headers)
end

local function state_status(state)
    return state == "ok" and 200 or state == "unknown" and 404 or 410
end

route("GET", "/portal/login/:token", function(req)
    local token = req.params.token
    local st, err, code = store:link_state(token)
    if not st then
        return unavailable(err, code)
    end
    return link_page(state_status(st.state), token, st.state)
end)

-- A new link by email, unless one was made (or asked for) a moment ago.
local function resend(token, st)
    local wait = (wm.config.portal or {}).resend_interval or 300
    local age, err = store:last_link_age(st.subject)
    if err then
        return unavailable(err)
    end
    if age and age < wait then
        return link_page(429, token, st.state, { error = "We emailed you a link a moment ago. Look for it in "
            .. "your inbox (and spam folder), or try again in a few minutes." },
            { ["Retry-After"] = tostring(math.ceil(wait - age)) })
    end
    local id, jerr = wm.jobs.enqueue("portal_welcome", { customer_id = st.subject, kind = "link" },
        { unique_key = "portal_link:" .. st.subject })
    if not id then
        return unavailable(jerr)
    end
    return link_page(200, token, st.state, { action = false, message = "We are emailing you a new link now. "
        .. "It works once, for " .. math.floor(((wm.config.portal or {}).link_ttl or 900) / 60) .. " minutes." })
end

route("POST", "/portal/login/:token", function(req)
    local token = req.params.token
    local f = claim.form(req.body)
    if not claim.same_site(req) or type(f.csrf) ~= "string" or not wm.crypto.equal(f.csrf, link_csrf(token)) then
        return forbidden()
    end
    if f.action == "resend" then
        local st, err, code = store:link_state(token)
        if not st then
            return unavailable(err, code)
        end
        if st.state ~= "used" and st.state ~= "expired" then
            return link_page(state_status(st.state), token, st.state)
        end
        return resend(token, st)
    end
    -- The link is used up and the session made together, or neither.
    local st, sid = wm.db.tx(function()
        local r = assert(store:redeem_link(token))
        if r.state ~= "ok" then
            return r
        end
        return r, assert(store:start(r.subject))
    end)
    if not st then
        return unavailable(sid)
    end
    if st.state ~= "ok" then
        return link_page(state_status(st.state), token, st.state)
    end
    assert(require("lib.activity").log("customer.portal_signed_in", "customer", st.subject, {}, "customer",
                                       st.subject))
    return redirect("/portal", store:cookie(sid))
end)

-- ---- the account ----

local STATUS = {
    active = "active",
    past_due = "past due: the last charge did not go through",
    paused = "paused",
    cancelled = "cancelled",
}

local function money(cents, currency)
    if cents < 0 then
        return "-" .. claim.money(-cents, currency)
    end
    return claim.money(cents, currency)
end

local ACCOUNT = [[
{{#notice}}<p class="note">{{notice}}</p>
{{/notice}}{{#error}}<p class="note err">{{error}}</p>
{{/error}}<p>Signed in as <strong>{{name}}</strong> ({{email}}).</p>
<h2>Your websites</h2>
{{#subscriptions}}<section class="card">
<p><strong>{{business}}</strong>{{#site_url}}: <a href="{{site_url}}">{{site_url}}</a>{{/site_url}}</p>
<p>Plan: {{plan}}, {{price}} per month</p>
<p>Status: <span class="status">{{status}}</span></p>
{{#domain_link}}<p><a href="{{domain_link}}">{{#custom_domain}}Your domain: {{custom_domain}}{{/custom_domain}}{{^custom_domain}}Use your own domain{{/custom_domain}}</a></p>
{{/domain_link}}{{#support_link}}<p><a href="{{support_link}}">Request a change to your website</a></p>
{{/support_link}}{{#versions_link}}<p><a href="{{versions_link}}">Earlier versions of your website</a></p>
{{/versions_link}}{{#next_charge}}<p>Next charge: {{next_charge}}</p>
{{/next_charge}}{{#online_until}}<p>No more charges. Your website stays online until {{online_until}}.</p>
{{/online_until}}{{#site_paused}}<p>Your website shows a "paused" page until the payment goes through.</p>
{{/site_paused}}{{#requested}}<p class="note">You asked to cancel on {{requested}}. We are waiting for the payment provider to confirm; this page shows it when it does.</p>
{{/requested}}{{#cancellable}}<form method="post" action="/portal/cancel">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="subscription" value="{{id}}">
<button type="submit" class="alt">Cancel subscription</button>
</form>
<p><small>Cancelling stops the next charges. Your website stays online until the end of the month you paid for.</small></p>
{{/cancellable}}</section>
{{/subscriptions}}{{^subscriptions}}<p class="note">You have no subscription with us. When you buy a website plan, it shows here with its status and next charge date.</p>
{{/subscriptions}}<h2>Payments</h2>
{{#has_payments}}<table>
<thead><tr><th>Date</th><th class="num">Amount</th><th>Status</th></tr></thead>
<tbody>
{{#payments}}<tr><td>{{day}}</td><td class="num">{{amount}}</td><td>{{status}}</td></tr>
{{/payments}}</tbody>
</table>
{{/has_payments}}{{^has_payments}}<p class="note">No payments yet. Each charge shows here, with its date, amount and status, once the payment provider confirms it.</p>
{{/has_payments}}]]

local function account_data(customer_id)
    local c, err, code = wm.db.one("SELECT full_name, email FROM customers WHERE id = $1", customer_id)
    if not c then
        return nil, err, code
    end
    local subs
    subs, err, code = wm.db.query([[SELECT s.id, s.status, s.amount_cents, s.currency,
            to_char(s.current_period_end, 'YYYY-MM-DD') AS period_end, s.site_id, g.subdomain, g.custom_domain,
            g.paused_at IS NOT NULL AS site_paused, g.status AS site_status, b.name AS business,
            (SELECT to_char(max(a.created_at), 'YYYY-MM-DD') FROM activity_log a WHERE a.entity_type = 'subscription'
               AND a.entity_id = s.id AND a.action = 'subscription.cancel_requested') AS requested
        FROM subscriptions s LEFT JOIN generated_sites g ON g.id = s.site_id
        LEFT JOIN businesses b ON b.id = g.business_id
        WHERE s.customer_id = $1 ORDER BY s.created_at DESC]], customer_id)
    if not subs then
        return nil, err, code
    end
    local pays
    pays, err, code = wm.db.query([[SELECT to_char(coalesce(paid_at, created_at), 'YYYY-MM-DD') AS day,
            amount_cents, currency, status, payment_type
        FROM payments WHERE customer_id = $1 ORDER BY coalesce(paid_at, created_at) DESC LIMIT 200]], customer_id)
    if not pays then
        return nil, err, code
    end
    return { customer = c, subscriptions = subs, payments = pays }
end

local function nz(v)
    return v ~= nil and v ~= wm.null and v or false
end

local function account_page(sess, status, extra)
    local d, err, code = account_data(sess.subject)
    if not d then
        if err then
            return unavailable(err, code)
        end
        return plain(404, "No such account.\n")
    end
    local plan = (wm.config.commerce or {}).plan_name or "Website"
    local subs = {}
    for i, s in ipairs(d.subscriptions) do
        local live = s.status == "active" or s.status == "past_due" or s.status == "paused"
        local requested = live and nz(s.requested)
        local site_url = nz(s.custom_domain) and ("https://" .. s.custom_domain .. "/")
            or nz(s.subdomain) and require("domain.sites").url(s.subdomain)
        subs[i] = { id = s.id, business = nz(s.business) or "Your website", site_url = site_url or false,
                    plan = plan, price = money(s.amount_cents, s.currency),
                    status = STATUS[s.status] or s.status,
                    next_charge = (s.status == "active" or s.status == "past_due") and nz(s.period_end),
                    online_until = s.status == "cancelled" and nz(s.period_end),
                    site_paused = s.site_paused == true and s.status ~= "cancelled",
                    requested = requested, cancellable = live and not requested, csrf = sess.csrf,
                    domain_link = live and nz(s.site_id) and ("/portal/domain?site=" .. s.site_id) or false,
                    versions_link = live and s.site_status == "live" and ("/portal/versions?site=" .. s.site_id) or false,
                    support_link = live and s.site_status == "live" and "/portal/support" or false,
                    custom_domain = nz(s.custom_domain) }
    end
    local pays = {}
    for i, p in ipairs(d.payments) do
        pays[i] = { day = p.day, amount = money(p.amount_cents, p.currency),
                    status = p.payment_type == "refund" and "refund" or p.status }
    end
    local ctx = { name = nz(d.customer.full_name) or d.customer.email, email = d.customer.email,
                  subscriptions = subs, payments = pays, has_payments = #pays > 0, csrf_logout = sess.csrf, notice = false, error = false }
    for k, v in pairs(extra or {}) do
        ctx[k] = v
    end
    return render(status or 200, "Your account", ACCOUNT, ctx)
end

local SIGNED_OUT = [[
{{#notice}}<p class="note">{{notice}}</p>
{{/notice}}<p>To see your website, your plan and your payments, open the sign-in link we emailed you after
your first payment. Links work once, for a short time; an old link offers to email you a new one.</p>
]]

route("GET", "/portal", function(req)
    local sess, res = session_or_page(req)
    if res then
        return res
    end
    if not sess then
        return render(200, "Your account", SIGNED_OUT, { notice = req.query and req.query.signed_out
            and "You are signed out." or false })
    end
    local notice = req.query and req.query.cancel == "requested"
        and "We asked the payment provider to cancel your subscription. No further charges will be made." or false
    return account_page(sess, 200, { notice = notice })
end)

route("POST", "/portal/cancel", function(req)
    local sess, f, res = signed_form(req)
    if not sess then
        return res
    end
    local id = type(f.subscription) == "string" and f.subscription:lower() or ""
    local s, err, code
    if id:match(UUID) then
        s, err, code = wm.db.one([[SELECT id, status, recurrente_subscription_id FROM subscriptions
            WHERE id = $1 AND customer_id = $2]], id, sess.subject)
        if err then
            return unavailable(err, code)
        end
    end
    if not s then
        return account_page(sess, 404, { error = "There is no such subscription on your account." })
    end
    if s.status == "cancelled" then
        return account_page(sess, 200, { notice = "This subscription is already cancelled." })
    end
    local provider, name = require("lib.providers").get("payments")
    local ok, info
    ok, err, info = provider.cancel_subscription(s.recurrente_subscription_id)
    if not ok then
        wm.log.warn("portal: cancel not accepted by the provider", { subscription = s.id, provider = name,
                                                                    error = tostring(err) })
        local retry = type(info) == "table" and info.retryable
        return account_page(sess, retry and 503 or 502, { error = "We could not cancel just now. Nothing changed. "
            .. (retry and "Please try again in a minute." or "Please write to us and we will cancel it for you.") })
    end
    assert(require("lib.activity").log("subscription.cancel_requested", "subscription", s.id,
        { provider = name }, "customer", sess.subject))
    return redirect("/portal?cancel=requested")
end)

route("POST", "/portal/logout", function(req)
    local sess, _, res = signed_form(req)
    if not sess then
        return res
    end
    local ok, err = store:finish(sess)
    if not ok then
        return unavailable(err)
    end
    return redirect("/portal?signed_out=1", store:clear_cookie())
end)
