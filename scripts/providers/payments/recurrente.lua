-- Recurrente's API (providers.md 1.1-1.4): checkouts, subscription cancels,
-- refunds. Both keys on every call (X-PUBLIC-KEY, X-SECRET-KEY: what works
-- under every version of the docs), JSON both ways.
--
--   create_checkout(c) -> {id = "ch_...", checkout_url = "https://..."}
--       c = {name=, description=, amount_cents=, currency=, recurring=bool,
--            success_url=, cancel_url=, expires_at= (epoch seconds),
--            metadata = {site_id=, business_id=, campaign_id=, ...}}
--   cancel_subscription(id) -> true              DELETE /api/subscriptions/{id}
--   refund(payment_intent_id) -> {id=, status=}  POST /api/refunds
--   checkout_origin() -> the origin buyers are sent to (for form-action)
--
-- Each answers its value, or nil, err, {retryable = bool, status = n}:
-- retryable for a 5xx, 429, a timeout or no connection (tried again here
-- recurrente.retries times first), not for 401 (keys), 422 (the request)
-- or an answer without what it must carry. Every call is logged.
local _M = {}

local function conf()
    return wm.config.recurrente or {}
end

local RETRYABLE_STATUS = { [408] = true, [429] = true }

local function describe(data, body)
    if type(data) == "table" then
        local parts = { type(data.message) == "string" and data.message or nil }
        local errs = data.errors or data.error
        if type(errs) == "table" then
            for k, v in pairs(errs) do
                parts[#parts + 1] = tostring(k) .. ": " .. (type(v) == "table" and table.concat(v, ", ") or tostring(v))
            end
        elseif type(errs) == "string" then
            parts[#parts + 1] = errs
        end
        if #parts > 0 then
            return table.concat(parts, "; ")
        end
    end
    return (tostring(body or ""):sub(1, 200))
end

local function call_once(method, path, body)
    local c = conf()
    local t0 = wm.monotonic()
    local res, err = wm.http.request {
        method = method,
        url = (c.base_url or ""):gsub("/+$", "") .. "/api" .. path,
        timeout = c.timeout,
        headers = { ["X-PUBLIC-KEY"] = c.public_key, ["X-SECRET-KEY"] = c.secret_key,
                    ["Content-Type"] = body and "application/json" or nil, ["Accept"] = "application/json" },
        body = body and wm.json.encode(body) or nil,
    }
    local ms = math.floor((wm.monotonic() - t0) * 1000 + 0.5)
    if not res then
        wm.log.warn("recurrente call failed", { method = method, path = path, error = err, ms = ms })
        return nil, ("recurrente %s %s: %s"):format(method, path, err), { retryable = true }
    end
    local data = wm.json.decode(res.body or "")
    if res.status >= 200 and res.status < 300 then
        wm.log.info("recurrente call", { method = method, path = path, status = res.status, ms = ms })
        return type(data) == "table" and data or {}
    end
    local why = describe(data, res.body)
    wm.log.warn("recurrente call refused", { method = method, path = path, status = res.status, ms = ms,
                                             error = why })
    return nil, ("recurrente %s %s: HTTP %d: %s"):format(method, path, res.status, why),
        { retryable = res.status >= 500 or RETRYABLE_STATUS[res.status] or false, status = res.status }
end

local function call(method, path, body)
    local c = conf()
    if (c.public_key or "") == "" or (c.secret_key or "") == "" then
        return nil, "recurrente: WM_RECURRENTE_PUBLIC_KEY and WM_RECURRENTE_SECRET_KEY must be set",
            { retryable = false }
    end
    local tries = 1 + math.max(0, math.floor(tonumber(c.retries) or 0))
    local res, err, info
    for i = 1, tries do
        res, err, info = call_once(method, path, body)
        if res or not info.retryable or i == tries then
            break
        end
        wm.sleep(0.25 * i)
    end
    return res, err, info
end

local function iso8601(epoch)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(epoch))
end

function _M.create_checkout(c)
    local item = { name = c.name, description = c.description, currency = c.currency,
                   amount_in_cents = c.amount_cents, quantity = 1 }
    if c.recurring then
        item.charge_type, item.billing_interval, item.billing_interval_count = "recurring", "month", 1
    else
        item.charge_type = "one_time"
    end
    local metadata = {}
    for k, v in pairs(c.metadata or {}) do
        metadata[k] = tostring(v)          -- Recurrente keeps metadata values as strings
    end
    local res, err, info = call("POST", "/checkouts", {
        items = { item },
        success_url = c.success_url,
        cancel_url = c.cancel_url,
        expires_at = c.expires_at and iso8601(c.expires_at) or nil,
        metadata = metadata,
    })
    if not res then
        return nil, err, info
    end
    if type(res.id) ~= "string" or not res.id:match("^ch_[%w_]+$") or type(res.checkout_url) ~= "string"
        or not res.checkout_url:match("^https?://[^/%s]+") then
        wm.log.warn("recurrente checkout answer without id or checkout_url", { answer = res })
        return nil, "recurrente POST /checkouts: the answer has no id or checkout_url", { retryable = false }
    end
    return { id = res.id, checkout_url = res.checkout_url }
end

function _M.cancel_subscription(id)
    if type(id) ~= "string" or not id:match("^[%w_]+$") then
        error("recurrente.cancel_subscription: a subscription id (su_...)", 2)
    end
    local res, err, info = call("DELETE", "/subscriptions/" .. id)
    if not res then
        return nil, err, info
    end
    return true
end

function _M.refund(payment_intent_id)
    if type(payment_intent_id) ~= "string" or payment_intent_id == "" then
        error("recurrente.refund: a payment intent id (pa_...)", 2)
    end
    local res, err, info = call("POST", "/refunds", { payment_intent_id = payment_intent_id })
    if not res then
        return nil, err, info
    end
    return { id = res.id, status = res.status }
end

function _M.checkout_origin()
    return ((conf().base_url or ""):match("^(https?://[^/]+)"))
end

return _M
