-- What the page says about itself in <head>: the title (at most 70
-- characters as written in the source), the meta description (the
-- architect's, else one made from the business's facts), the JSON-LD
-- LocalBusiness and the language tag.
--
--   seo.title(content, biz)             -> string
--   seo.description(content, biz)       -> string
--   seo.json_ld(biz, description, url)  -> the JSON for <script type="application/ld+json">
--       url: the page's own address if it is a clean http(s) URL, else
--       wm.config.sites.site_url_pattern with the slug, else none
--   seo.lang(v)                         -> v when it is a BCP 47 tag like
--                                          "es" or "es-GT", else "en"
local html = require "lib.html"
local text = require "lib.text"

local type = type
local floor = math.floor
local format, gsub, match, find, sub, concat = string.format, string.gsub, string.match, string.find,
    string.sub, table.concat

local _M = {}

-- Characters as a validator counts them: in the escaped source ("&amp;"
-- is five).
local function src_len(x)
    local _, n = gsub(html.escape(x), "[^\128-\191]", "")
    return n
end

function _M.title(content, biz)
    local title = text.line(content.title, 300) or (biz.category and (biz.name .. " — " .. biz.category_title
        .. (biz.city and (" in " .. biz.city) or ""))) or biz.name
    local cut = 69
    while src_len(title) > 70 and cut > 10 do
        title = text.clip(title, cut, "…")
        cut = cut - 4
    end
    return title
end

function _M.description(content, biz)
    local description = text.line(content.meta_description, 300)
    if description then
        return description
    end
    local bits = { biz.name }
    if biz.category then
        bits[#bits + 1] = " — " .. biz.category
    end
    if biz.city then
        bits[#bits + 1] = " in " .. biz.city .. (biz.state and (", " .. biz.state) or "")
    end
    if biz.rating and biz.reviews and biz.reviews > 0 then
        bits[#bits + 1] = format(". Rated %.1f from %d reviews", biz.rating, biz.reviews)
    end
    return text.clip(concat(bits) .. ".", 300, "…")
end

function _M.json_ld(biz, description, url)
    url = type(url) == "string" and url or nil
    if url and (html.url(url) ~= url or not match(url, "^https?://")) then
        url = nil
    end
    if not url then
        local pat = ((wm.config or {}).sites or {}).site_url_pattern
        if type(pat) == "string" and find(pat, "%s", 1, true) and biz.slug ~= "" then
            url = format(pat, biz.slug)
        end
    end
    local ld = { ["@context"] = "https://schema.org", ["@type"] = "LocalBusiness", name = biz.name }
    if url then
        ld.url = url
    end
    if description then
        ld.description = description
    end
    if biz.street or biz.city or biz.state or biz.zip then
        local addr = { ["@type"] = "PostalAddress" }
        addr.streetAddress = biz.street
        addr.addressLocality = biz.city
        addr.addressRegion = biz.state
        addr.postalCode = biz.zip
        ld.address = addr
    end
    if biz.phone then
        ld.telephone = sub(biz.phone.tel, 5)
    end
    if biz.email then
        ld.email = biz.email.address
    end
    if biz.geo then
        ld.geo = { ["@type"] = "GeoCoordinates", latitude = biz.geo.lat, longitude = biz.geo.lng }
    end
    if biz.rating and biz.reviews and biz.reviews > 0 then
        ld.aggregateRating = { ["@type"] = "AggregateRating", ratingValue = floor(biz.rating * 10 + 0.5) / 10,
            reviewCount = biz.reviews, bestRating = 5, worstRating = 1 }
    end
    return html.json_ld(ld)
end

function _M.lang(v)
    return type(v) == "string" and match(v, "^%a%a%a?$") or
        (type(v) == "string" and match(v, "^%a%a%a?%-%w%w%w?%w?$")) or "en"
end

return _M
