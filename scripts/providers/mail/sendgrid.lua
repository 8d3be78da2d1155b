-- The SendGrid provider (providers.mail = "sendgrid"): v3 Mail Send,
-- POST <sendgrid.base_url>/v3/mail/send with the key from WM_SENDGRID_API_KEY.
--
--   sendgrid.send{from=, to=, subject=, text=, html=, headers=, campaign_id=}
--       -> {message_id = X-Message-Id, rfc_message_id = "<...>"}
--        | nil, err, {sent = false | "unknown", permanent = bool,
--                     retry_after = s, throttled = bool}
--
-- The message goes as its parts (subject, text/plain then text/html content,
-- our headers: List-Unsubscribe, List-Unsubscribe-Post, a Message-ID that
-- names the campaign for replies), custom_args.campaign_id (it comes back
-- on every Event Webhook event), and SendGrid's own open/click/subscription
-- tracking off: the email carries ours, and two rewrites of one link would
-- break its signature. X-Message-Id is the message id kept: each event's
-- sg_message_id begins with it.
--
-- What an answer means (the send stage acts on it alone):
--   - 2xx (202; 200 in sandbox mode): sent.
--   - 429: throttled, sent = false; retry_after from X-RateLimit-Reset (a
--     Unix time) or Retry-After (seconds), else sendgrid.retry_after.
--   - 401/403: the key or the sender identity (the operator's set-up, not
--     the message): sent = false, not permanent. Other 4xx (400, 413):
--     permanent, this message will never be taken.
--   - 5xx: SendGrid answered that it failed: sent = false, retried.
--   - no answer: sent = false when the request body had not gone out whole
--     (connect, DNS, TLS, a drop while uploading); sent = "unknown" when it
--     had (a timeout or drop after SendGrid had the whole request: it may
--     have queued the message). The campaign then stays 'sending'; a later
--     'processed' or 'delivered' event proves it left (domain.deliveries).
local replies = require "lib.replies"

local type, tostring, tonumber = type, tostring, tonumber
local match, lower = string.match, string.lower

local _M = { _VERSION = "0.1", name = "sendgrid" }

local function cfg()
    return wm.config.sendgrid or {}
end

-- SendGrid has refused display names with commas or semicolons in them
-- (not in providers.md; a business name like "Rivera & Sons, Inc." must
-- not fail its email for good), so they become spaces.
local function address(a)
    if type(a) == "table" then
        local name = type(a.name) == "string" and a.name:gsub("[,;]", " "):gsub("%s+", " "):match("^%s*(.-)%s*$")
        return { email = a.email, name = (name and name ~= "") and name or nil }
    end
    return { email = a }
end

local function domain_of(addr)
    return type(addr) == "string" and match(addr, "@([%w.-]+)$") or nil
end

-- Seconds to wait after a 429.
local function retry_after(h, default)
    local reset = tonumber(h["x-ratelimit-reset"])
    if reset and reset > 1e9 then
        return math.max(1, reset - wm.now())
    end
    local after = tonumber(h["retry-after"])
    if after and after >= 0 then
        return math.max(1, after)
    end
    return default
end

-- SendGrid's error answer: {"errors":[{"message":..,"field":..}]}.
local function reason(res)
    local doc = wm.json.decode(res.body or "")
    local parts = {}
    if type(doc) == "table" and type(doc.errors) == "table" then
        for _, e in ipairs(doc.errors) do
            if type(e) == "table" and e.message then
                parts[#parts + 1] = tostring(e.message) .. (type(e.field) == "string" and (" (" .. e.field .. ")") or "")
            end
        end
    end
    return "sendgrid: HTTP " .. res.status .. (#parts > 0 and (": " .. table.concat(parts, "; ")) or "")
end

function _M.body(msg)
    local from = address(msg.from)
    -- Headers as lib.mime takes them: a map, or a list of {name, value}.
    local headers = {}
    local given = msg.headers or {}
    if given[1] ~= nil then
        for _, h in ipairs(given) do
            headers[h[1]] = tostring(h[2])
        end
    else
        for k, v in pairs(given) do
            headers[k] = tostring(v)
        end
    end
    local rfc_mid
    if msg.campaign_id then
        rfc_mid = replies.message_id(msg.campaign_id, domain_of(from.email))
        headers["Message-ID"] = rfc_mid
    end
    local content = {}
    if msg.text then
        content[#content + 1] = { type = "text/plain", value = msg.text }
    end
    if msg.html then
        content[#content + 1] = { type = "text/html", value = msg.html }
    end
    local doc = {
        personalizations = { { to = { address(msg.to) } } },
        from = from,
        subject = msg.subject,
        content = content,
        headers = next(headers) and headers or nil,
        custom_args = msg.campaign_id and { campaign_id = tostring(msg.campaign_id) } or nil,
        tracking_settings = {
            click_tracking = { enable = false, enable_text = false },
            open_tracking = { enable = false },
            subscription_tracking = { enable = false },
        },
    }
    if cfg().sandbox then
        doc.mail_settings = { sandbox_mode = { enable = true } }
    end
    return wm.json.encode(doc), rfc_mid
end

function _M.send(msg)
    if type(msg) ~= "table" then
        error("usage: sendgrid.send{from=, to=, subject=, text=, html=, headers=, campaign_id=}", 2)
    end
    local c = cfg()
    if type(c.api_key) ~= "string" or c.api_key == "" then
        return nil, "sendgrid: no API key (WM_SENDGRID_API_KEY)", { sent = false }
    end
    if type(msg.subject) ~= "string" or msg.subject == "" or not (msg.text or msg.html) then
        return nil, "sendgrid: a message needs a subject and a text or html body", { sent = false, permanent = true }
    end
    local body, rfc_mid = _M.body(msg)
    local res, err, info = wm.http.request {
        method = "POST",
        url = (c.base_url or "https://api.sendgrid.com"):gsub("/+$", "") .. "/v3/mail/send",
        headers = { ["Authorization"] = "Bearer " .. c.api_key, ["Content-Type"] = "application/json" },
        body = body,
        timeout = c.timeout or 30,
    }
    if not res then
        local sent = type(info) == "table" and info.body_sent
        if sent == "all" then
            return nil, "sendgrid: the request went out but no answer came (" .. tostring(err) .. ")",
                { sent = "unknown" }
        end
        return nil, "sendgrid: " .. tostring(err), { sent = false }
    end
    local status = res.status
    if status >= 200 and status < 300 then
        local id = res.headers["x-message-id"]
        return { message_id = (id and id ~= "") and id or rfc_mid, rfc_message_id = rfc_mid }
    end
    local why = reason(res)
    if status == 429 then
        return nil, why, { sent = false, throttled = true, retry_after = retry_after(res.headers, c.retry_after or 60) }
    elseif status == 401 or status == 403 then
        return nil, why, { sent = false, permanent = false }
    elseif status >= 400 and status < 500 then
        return nil, why, { sent = false, permanent = true }
    end
    return nil, why, { sent = false }
end

-- The campaign an Event Webhook event is about: its custom arg, else the
-- X-Message-Id its sg_message_id begins with.
function _M.campaign_of_event(ev)
    local id = ev.campaign_id
    if type(id) == "string" and match(lower(id), "^%x+%-%x+%-%x+%-%x+%-%x+$") then
        local row = wm.db.run_one("SELECT id FROM campaigns WHERE id = $1", id)
        if row then
            return row.id
        end
    end
    local sg = ev.sg_message_id
    if type(sg) == "string" then
        local deliveries = require "domain.deliveries"
        return deliveries.campaign_by_message_id(match(sg, "^([^.]+)") or sg, "sendgrid")
    end
    return nil
end

return _M
