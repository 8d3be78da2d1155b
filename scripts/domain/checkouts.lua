-- Checkout state: the one home of checkouts.status.
--
--   open -> paid        the provider said it was paid (the webhook's job)
--   open -> expired     its expires_at passed (less a margin) before payment
--   open -> failed | cancelled
--   expired | failed | cancelled -> paid   money moved late: it still counts
--
-- A row exists only once the provider answered with an id (a failed create
-- leaves nothing), and at most one is open per site and kind (migration
-- 010's index): start() hands that one out again until it expires.
--
--   start(site, kind) -> row, "reused" | "created" | nil, err, {retryable=}
--       kind "subscription" (the monthly plan) or "setup_fee" (the one-time
--       fee, chained to the paid plan checkout)
--   offer(site) -> {kind = "subscription" | "setup_fee" | nil, plan_paid=, ...}
--       what the buyer of this site is to pay next (nil: nothing)
--   get(id), by_provider_id(provider, provider_checkout_id) -> row with the
--       site's success_url and cancel_url | nil
--   paid(id[, actor]), expire(id), fail(id, why), cancel(id) -> row | nil, err
local activity = require "lib.activity"

local _M = {}

-- An open checkout this close to its end is not handed out again.
local MARGIN = 300

local KINDS = { subscription = true, setup_fee = true }

-- The first row of a query in the caller's transaction, if any.
local one = wm.db.run_one

local function commerce()
    return wm.config.commerce or {}
end

local function site_url(subdomain)
    return require("domain.sites").url(subdomain)
end

local function join_path(url, path)
    return (url:gsub("/+$", "")) .. "/" .. (path or ""):gsub("^/+", "")
end

-- Where the buyer goes after the checkout of `kind`: back to the site, or
-- to the claim page when a setup fee is still to come after the plan.
function _M.urls(site, kind)
    local cfg = commerce()
    local base = site_url(site.subdomain)
    local success = join_path(base, cfg.success_path or "/")
    if kind == "subscription" and (cfg.setup_fee_cents or 0) > 0 and site.claim_token
        and site.claim_token ~= wm.null then
        success = join_path(base, "/claim/" .. site.claim_token .. "?paid=1")
    end
    return success, join_path(base, cfg.cancel_path or "/")
end

local SELECT = [[SELECT k.*, s.subdomain, s.claim_token, extract(epoch FROM k.expires_at)::float8 AS expires_epoch
    FROM checkouts k JOIN generated_sites s ON s.id = k.site_id ]]

local function with_urls(row)
    if row then
        row.success_url, row.cancel_url = _M.urls(row, row.kind)
    end
    return row
end

function _M.get(id)
    local row, err = one(SELECT .. "WHERE k.id = $1", id)
    return with_urls(row), err
end

function _M.by_provider_id(provider, provider_checkout_id)
    local row, err = one(SELECT .. "WHERE k.provider = $1 AND k.provider_checkout_id = $2", provider,
                         provider_checkout_id)
    return with_urls(row), err
end

-- The open checkout of a site and kind that can still be paid, or nil.
function _M.find_open(site_id, kind)
    local row, err = one(SELECT .. [[WHERE k.site_id = $1 AND k.kind = $2 AND k.status = 'open'
        AND (k.expires_at IS NULL OR k.expires_at > now() + make_interval(secs => $3))]], site_id, kind, MARGIN)
    return with_urls(row), err
end

-- ---- transitions --------------------------------------------------------------------------

-- c = {provider=, provider_checkout_id=, checkout_url=, site_id=, business_id=, campaign_id=,
--      kind=, amount_cents=, currency=, parent_checkout_id=, expires_in= (seconds)}
-- -> row | nil, err | nil, nil (another open checkout of that site and kind exists)
function _M.create(c)
    local row, err = one([[INSERT INTO checkouts (provider, provider_checkout_id, checkout_url, site_id,
            business_id, campaign_id, kind, amount_cents, currency, parent_checkout_id, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11))
        ON CONFLICT (site_id, kind) WHERE status = 'open' DO NOTHING RETURNING id]],
        c.provider, c.provider_checkout_id, c.checkout_url, c.site_id, c.business_id, c.campaign_id, c.kind,
        c.amount_cents, c.currency, c.parent_checkout_id, c.expires_in)
    if not row then
        return nil, err
    end
    assert(activity.log("checkout.created", "checkout", row.id, { provider = c.provider, kind = c.kind,
        provider_checkout_id = c.provider_checkout_id, amount_cents = c.amount_cents, site_id = c.site_id }))
    return row
end

function _M.paid(id, actor)
    local row, err = one([[UPDATE checkouts SET status = 'paid', paid_at = coalesce(paid_at, now()),
        updated_at = now() WHERE id = $1 AND status <> 'paid' RETURNING id, site_id, kind]], id)
    if not row then
        return nil, err or "checkout already paid or unknown"
    end
    assert(activity.log("checkout.paid", "checkout", id, { site_id = row.site_id, kind = row.kind },
                        actor or "webhook"))
    return row
end

function _M.expire(id)
    local row, err = one([[UPDATE checkouts SET status = 'expired', updated_at = now()
        WHERE id = $1 AND status = 'open' AND expires_at <= now() + make_interval(secs => $2) RETURNING id]],
        id, MARGIN)
    if not row then
        return nil, err or "checkout not open or not expired"
    end
    assert(activity.log("checkout.expired", "checkout", id, {}))
    return row
end

function _M.fail(id, why)
    local row, err = one([[UPDATE checkouts SET status = 'failed', updated_at = now()
        WHERE id = $1 AND status = 'open' RETURNING id]], id)
    if not row then
        return nil, err or "checkout not open"
    end
    assert(activity.log("checkout.failed", "checkout", id, { reason = why }))
    return row
end

function _M.cancel(id)
    local row, err = one([[UPDATE checkouts SET status = 'cancelled', updated_at = now()
        WHERE id = $1 AND status = 'open' RETURNING id]], id)
    if not row then
        return nil, err or "checkout not open"
    end
    assert(activity.log("checkout.cancelled", "checkout", id, {}))
    return row
end

-- ---- the buyer's way through ---------------------------------------------------------------

-- site = {id, business_id, subdomain, claim_token, status}
function _M.offer(site)
    local cfg = commerce()
    local rows, err = wm.db.run([[SELECT kind, id FROM checkouts WHERE site_id = $1 AND status = 'paid'
        ORDER BY paid_at]], site.id)
    if not rows then
        return nil, err
    end
    local paid = {}
    for _, r in ipairs(rows) do
        paid[r.kind] = paid[r.kind] or r.id
    end
    local o = { plan_paid = paid.subscription ~= nil or site.status == "live" or site.status == "sold",
                plan_checkout = paid.subscription, fee_paid = paid.setup_fee ~= nil }
    if not o.plan_paid then
        o.kind = "subscription"
    elseif paid.subscription and (cfg.setup_fee_cents or 0) > 0 and not o.fee_paid then
        -- The fee follows a plan bought here; a site sold another way
        -- (a payment link made by staff) settled its fee there.
        o.kind = "setup_fee"
    end
    return o
end

function _M.start(site, kind)
    if not KINDS[kind] then
        error("checkouts.start: kind must be subscription or setup_fee", 2)
    end
    local open, err = _M.find_open(site.id, kind)
    if open then
        return open, "reused"
    elseif err then
        return nil, err, { retryable = true }
    end
    -- Open ones past their time (or about to be) are closed first, so the
    -- new one can take the single open place.
    local stale = wm.db.run([[SELECT id FROM checkouts WHERE site_id = $1 AND kind = $2 AND status = 'open']],
        site.id, kind) or {}
    for _, r in ipairs(stale) do
        wm.db.tx(function() return _M.expire(r.id) end)
    end
    local cfg = commerce()
    local offer, oerr = _M.offer(site)
    if not offer then
        return nil, oerr, { retryable = true }
    elseif offer.kind ~= kind then
        return nil, kind == "subscription" and "this site's plan is paid already"
            or "the setup fee is not due", { retryable = false }
    end
    local campaign, qerr = wm.db.one("SELECT id FROM campaigns WHERE site_id = $1", site.id)
    local business, berr = wm.db.one("SELECT name FROM businesses WHERE id = $1", site.business_id)
    if qerr or berr then
        return nil, qerr or berr, { retryable = true }
    end
    local amount = kind == "subscription" and cfg.monthly_price_cents or cfg.setup_fee_cents
    local success_url, cancel_url = _M.urls(site, kind)
    local provider, provider_name = require("lib.providers").get("payments")
    local expires_in = cfg.checkout_expiry or 86400
    local res, perr, info = provider.create_checkout {
        name = kind == "subscription" and cfg.plan_name or (cfg.plan_name .. " (setup)"),
        description = business and business.name or nil,
        amount_cents = amount,
        currency = cfg.currency,
        recurring = kind == "subscription",
        success_url = success_url,
        cancel_url = cancel_url,
        expires_at = wm.now() + expires_in,
        metadata = { site_id = site.id, business_id = site.business_id, campaign_id = campaign and campaign.id,
                     checkout_kind = kind, success_url = success_url, cancel_url = cancel_url },
    }
    if not res then
        wm.log.warn("checkout not created", { site_id = site.id, kind = kind, provider = provider_name,
                                              error = perr })
        return nil, perr, info or { retryable = false }
    end
    local row, cerr = wm.db.tx(function()
        return _M.create { provider = provider_name, provider_checkout_id = res.id, checkout_url = res.checkout_url,
            site_id = site.id, business_id = site.business_id, campaign_id = campaign and campaign.id, kind = kind,
            amount_cents = amount, currency = cfg.currency, parent_checkout_id = offer.plan_checkout,
            expires_in = expires_in }
    end)
    if row then
        return _M.get(row.id), "created"
    elseif cerr then
        wm.log.error("checkout made at the provider but not stored", { site_id = site.id,
            provider_checkout_id = res.id, error = tostring(cerr) })
        return nil, cerr, { retryable = true }
    end
    -- Another request for the same site won the race: its checkout is the
    -- one (ours stays unused at the provider and expires there).
    open = _M.find_open(site.id, kind)
    if open then
        return open, "reused"
    end
    return nil, "another checkout for this site is being made", { retryable = true }
end

return _M
