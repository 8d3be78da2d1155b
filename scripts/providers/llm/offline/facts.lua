-- What the offline author knows about the business it writes for: the
-- facts every agent's answer starts from, the trade they belong to (from
-- knowledge.lua), and the few phrases all the answers share.
--
--   facts.of(ctx) -> { b, trade, key, name, city, state, where, rating, count,
--                      phone, address, reviews, vars }
--       ctx = { business = row, reviews = Outscraper reviews }; key seeds
--       every choice (the business id); vars fills {name} {city} {trade}
--       {short} slots.
--   facts.trade_of(business) -> the knowledge entry for its category
--   facts.fill(s, vars)      -> s with {slot}s filled in one pass
--   facts.with_article(word) -> "a plumber", "an electrician"
--   facts.rating_text(f)     -> "4.8 stars from 40 reviews" | "4.8 stars" | nil
local common = require "agents.common"
local text = require "lib.text"
local K = require "providers.llm.offline.knowledge"

local type, ipairs, tostring, tonumber = type, ipairs, tostring, tonumber
local floor = math.floor
local format, gsub, lower, match, find = string.format, string.gsub, string.lower, string.match, string.find

local _M = {}

local NULL = wm.null

local function present(v)
    return v ~= nil and v ~= NULL and v ~= ""
end

-- Values are never re-scanned, so a business called "{city}" stays itself.
function _M.fill(s, vars)
    return (gsub(s, "{(%w+)}", function(k)
        return vars[k] or ""
    end))
end

local function trade_of(b)
    local cat = lower((type(b.category) == "string" and b.category or "") .. " "
        .. (type(b.subcategory) == "string" and b.subcategory or ""))
    for _, t in ipairs(K.trades) do
        for _, m in ipairs(t.match) do
            if find(cat, m, 1, true) then
                return t
            end
        end
    end
    return K.generic
end
_M.trade_of = trade_of

function _M.of(ctx)
    local b = type(ctx.business) == "table" and ctx.business or {}
    local name = present(b.name) and text.line(tostring(b.name), 120) or "this business"
    local city = present(b.city) and text.line(tostring(b.city), 60) or nil
    local state = present(b.state) and text.line(tostring(b.state), 30) or nil
    local rating = tonumber(b.rating)
    local count = tonumber(b.review_count)
    local t = trade_of(b)
    return {
        b = b,
        trade = t,
        key = tostring(present(b.id) and b.id or (present(b.gmb_id) and b.gmb_id) or name),
        name = name,
        city = city,
        state = state,
        where = city and (state and (city .. ", " .. state) or city) or nil,
        rating = rating and rating > 0 and rating <= 5 and rating or nil,
        count = count and count > 0 and floor(count) or nil,
        phone = present(b.phone) and text.line(tostring(b.phone), 40) or nil,
        address = present(b.address) and text.line(tostring(b.address), 200) or nil,
        reviews = common.reviews(ctx.reviews, 50),
        vars = { name = name, city = city or "town", trade = t.trade, short = t.short },
    }
end

function _M.with_article(word)
    return (match(lower(word), "^[aeiou]") and "an " or "a ") .. word
end

function _M.rating_text(f)
    if f.rating and f.count then
        return format("%.1f stars from %d review%s", f.rating, f.count, f.count == 1 and "" or "s")
    elseif f.rating then
        return format("%.1f stars", f.rating)
    end
    return nil
end

return _M
