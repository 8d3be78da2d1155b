-- The outreach email: the composer agent's words around the business's
-- preview site, as text and HTML, with tracking, RFC 8058 one-click
-- unsubscribe headers and the CAN-SPAM footer.
--
--   email.render(input) -> { subject, preview_text, text, html, headers } | nil, err
--   input = {
--     composer = { subject, preview_text, greeting, paragraphs = {...}, cta_label, sign_off },
--     business = { name, ... },
--     site_url = "http://<sub>.localhost:8080/"   (the preview site; http(s) only)
--     base_url = "http://127.0.0.1:8080"          (tracking and unsubscribe links)
--     campaign_id = "<uuid>",
--     from = { name, email }, to = { name, email },
--     postal_address = "..."                      (required: CAN-SPAM)
--     review_highlight = "..." | nil,
--     screenshot_url = "<base_url>/..." | nil     (the site's desktop screenshot)
--   }
--   headers = { ["List-Unsubscribe"] = "<base/u/token>",
--               ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click" }
--
-- Every value is hostile: the HTML escapes each one (lib.template), the
-- subject and preview text lose control characters and line breaks, the CTA
-- goes through the signed click URL <base>/t/c/<token> (never the raw site
-- URL), the open pixel is <base>/t/o/<token>.gif, and the unsubscribe link
-- <base>/u/<token> is visible in both bodies beside the postal address.
--
-- Each thing is said once, in both parts alike: the review highlight is
-- quoted below the paragraphs only when the composer did not quote it
-- already. The preview text is the hidden preheader (what inboxes show
-- after the subject); it is hidden by display:none alone, since tiny or
-- background-coloured text is what spam filters look for
-- (SpamAssassin's FONT_INVIS_* and HTML_FONT_LOW_CONTRAST).
--
-- The screenshot, when there is one, is a linked image above the call to
-- action, served by us: only a URL under base_url is used (anything else is
-- left out rather than pointing the reader's client at another host). It
-- carries width, height and alt text so the email reads the same with
-- images off; the plain part does not mention it.
-- Missing required input is a runtime failure (nil, err): it comes from
-- the database.
local html = require "lib.html"
local template = require "lib.template"
local text = require "lib.text"
local tracking = require "lib.tracking"

local type, tostring, ipairs, error = type, tostring, ipairs, error
local gsub, match, sub, find, lower, concat = string.gsub, string.match, string.sub, string.find, string.lower,
    table.concat

local _M = { _VERSION = "0.1" }

local NULL = rawget(_G, "wm") and wm.null or nil

local function str(v)
    if v == nil or v == NULL then
        return nil
    end
    if type(v) == "number" then
        return tostring(v)
    end
    if type(v) ~= "string" then
        return nil
    end
    return v
end

local line, para = text.line, text.paragraph

-- The screenshot stage photographs sites at 1280x800; the email shows it at
-- the content column's width (560 - 2 x 28 padding).
local SHOT_W, SHOT_H = 504, 315

-- Letters and digits only, lower case: how a quote is compared with the
-- composer's paragraphs, whatever quotes, spacing or punctuation either used.
-- After the preheader: figure spaces and combining grapheme joiners, so
-- inboxes that show more than the preheader show blank rather than the start
-- of the body again. Mail clients need about this many.
local SPACER = string.rep("&#8199;&#847;", 60)

local function letters(s)
    return (gsub(lower(s), "[^%w\128-\255]+", ""))
end

-- Whether the composer already quoted the review: the whole of it, or a
-- quoted passage of 12 letters or more taken from it.
local function quoted_already(review, paragraphs)
    local r = letters(review)
    if r == "" then
        return true
    end
    for _, p in ipairs(paragraphs) do
        if find(letters(p), r, 1, true) then
            return true
        end
        for q in gsub(p, "[\226][\128][\156\157]", '"'):gmatch('"([^"]+)"') do
            local l = letters(q)
            if #l >= 12 and find(r, l, 1, true) then
                return true
            end
        end
    end
    return false
end
_M.quoted_already = quoted_already

local HTML = [[
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{subject}}</title>
<style>
/* Phones: the card fills the screen and the button is a full-width target. */
@media only screen and (max-width:480px) {
  .wm-outer { padding:0 !important; }
  .wm-card { border-radius:0 !important; }
  .wm-body { padding:20px 16px 8px 16px !important; }
  .wm-foot { padding:16px 16px 20px 16px !important; }
  .wm-cta, .wm-cta td { width:100% !important; }
  .wm-cta a { display:block !important; text-align:center !important; }
}
/* iOS turns addresses into links of its own colour: keep the footer's. */
a[x-apple-data-detectors] { color:inherit !important; text-decoration:none !important; }
</style>
</head>
<body style="margin:0;padding:0;background:#f4f4f5;">
{{#preview_text}}<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">{{preview_text}}{{{spacer}}}</div>
{{/preview_text}}
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f5;">
<tbody><tr><td class="wm-outer" align="center" style="padding:24px 12px;">
<table class="wm-card" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background:#ffffff;border-radius:8px;">
<tbody><tr><td class="wm-body" style="padding:28px 28px 8px 28px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.55;color:#1f2937;">
{{#greeting}}<p style="margin:0 0 16px 0;">{{greeting}}</p>
{{/greeting}}{{#paragraphs}}<p style="margin:0 0 16px 0;">{{#lines}}{{text}}{{^last}}<br>{{/last}}{{/lines}}</p>
{{/paragraphs}}{{#review}}<blockquote style="margin:0 0 20px 0;padding:12px 16px;border-left:4px solid #2563eb;background:#eff6ff;color:#1e3a8a;font-style:italic;">&ldquo;{{review}}&rdquo;</blockquote>
{{/review}}{{#shot}}<a href="{{click_url}}" style="display:block;margin:0 0 20px 0;text-decoration:none;"><img src="{{shot.url}}" width="{{shot.width}}" height="{{shot.height}}" alt="{{shot.alt}}" style="display:block;width:100%;max-width:{{shot.width}}px;height:auto;border:1px solid #e5e7eb;border-radius:6px;background:#f1f5f9;color:#1f2937;font-size:14px;"></a>
{{/shot}}<table class="wm-cta" role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 24px 0;"><tbody><tr><td style="border-radius:6px;background:#2563eb;">
<a href="{{click_url}}" style="display:inline-block;padding:12px 22px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;">{{cta_label}}</a>
</td></tr></tbody></table>
{{#sign_off}}<p style="margin:0 0 4px 0;">{{sign_off}}</p>
{{/sign_off}}{{#from_name}}<p style="margin:0 0 16px 0;">{{from_name}}</p>
{{/from_name}}</td></tr>
<tr><td class="wm-foot" style="padding:16px 28px 24px 28px;border-top:1px solid #e5e7eb;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:12px;line-height:1.5;color:#6b7280;">
<p style="margin:0 0 8px 0;">You are receiving this one-time message because we made a free preview website for {{business_name}}. <a href="{{unsubscribe_url}}" style="color:#374151;text-decoration:underline;">Unsubscribe</a> and we will not write again.</p>
<p style="margin:0;">{{postal_address}}</p>
</td></tr>
</tbody></table>
</td></tr>
</tbody></table>
<img src="{{open_url}}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;">
</body>
</html>
]]

function _M.render(input)
    if type(input) ~= "table" then
        error("usage: email.render{composer=, business=, site_url=, base_url=, campaign_id=, ...}", 2)
    end
    local c = input.composer
    if type(c) ~= "table" then
        return nil, "composer output missing"
    end
    local postal = para(input.postal_address, 400)
    if not postal then
        return nil, "postal_address is required (CAN-SPAM)"
    end
    postal = gsub(postal, "%s*\n%s*", ", ")
    local subject = line(c.subject, 200)
    if not subject then
        return nil, "subject missing"
    end
    local base = str(input.base_url)
    if not base or not match(base, "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\%s]+") or match(base, "[%c%s]") then
        return nil, "base_url must be an absolute http(s) URL"
    end
    base = gsub(base, "/+$", "")
    local site = str(input.site_url)
    if not site or html.url(site) ~= site or not match(site, "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\]")
        or match(site, "[%c%s]") then
        return nil, "site_url must be an absolute http(s) URL"
    end
    local cid = str(input.campaign_id)
    if not cid or cid == "" or match(cid, "%c") then
        return nil, "campaign_id missing"
    end

    local business = type(input.business) == "table" and input.business or {}
    local business_name = line(business.name, 200) or "your business"
    local preview = line(c.preview_text, 200)
    local greeting = line(c.greeting, 300)
    local cta = line(c.cta_label, 80) or "See your website"
    local sign_off = line(c.sign_off, 200)
    local from_name = type(input.from) == "table" and line(input.from.name, 100) or nil
    local review = para(input.review_highlight, 600)
    if review then
        review = gsub(review, "%s+", " ")
        -- The composer or the analyst may have quoted it already.
        review = text.unquote(review)
    end

    local paragraphs = {}
    local ps = c.paragraphs
    if type(ps) == "string" then
        ps = { ps }
    end
    if type(ps) == "table" then
        for _, p in ipairs(ps) do
            local s = para(p, 2000)
            if s and #paragraphs < 12 then
                paragraphs[#paragraphs + 1] = s
            end
        end
    end
    if #paragraphs == 0 then
        return nil, "composer wrote no paragraphs"
    end
    if review and quoted_already(review, paragraphs) then
        review = nil
    end
    local shot = str(input.screenshot_url)
    if shot and (sub(shot, 1, #base + 1) ~= base .. "/" or html.url(shot) ~= shot or match(shot, "[%c%s]")) then
        shot = nil
    end

    local click_url = tracking.click_url(base, cid, site)
    local open_url = tracking.open_url(base, cid)
    local unsub_url = tracking.unsubscribe_url(base, cid)

    -- Text body.
    local t = {}
    if greeting then
        t[#t + 1] = greeting
        t[#t + 1] = ""
    end
    for _, p in ipairs(paragraphs) do
        t[#t + 1] = p
        t[#t + 1] = ""
    end
    if review then
        t[#t + 1] = "> \"" .. review .. "\""
        t[#t + 1] = ""
    end
    t[#t + 1] = cta .. ": " .. click_url
    t[#t + 1] = ""
    if sign_off then
        t[#t + 1] = sign_off
    end
    if from_name then
        t[#t + 1] = from_name
    end
    t[#t + 1] = ""
    t[#t + 1] = "-- "
    t[#t + 1] = "You are receiving this one-time message because we made a free preview website for "
        .. business_name .. "."
    t[#t + 1] = "Unsubscribe: " .. unsub_url
    t[#t + 1] = postal
    t[#t + 1] = ""
    local text = concat(t, "\n")

    -- HTML body.
    local view_paras = {}
    for i, p in ipairs(paragraphs) do
        local lines = {}
        for l in (p .. "\n"):gmatch("([^\n]*)\n") do
            lines[#lines + 1] = { text = l, last = false }
        end
        lines[#lines].last = true
        view_paras[i] = { lines = lines }
    end
    local body = template.render(HTML, {
        subject = subject,
        preview_text = preview or false,
        spacer = SPACER,
        greeting = greeting or false,
        paragraphs = view_paras,
        review = review or false,
        shot = shot and { url = shot, width = SHOT_W, height = SHOT_H,
                          alt = "A picture of the website we made for " .. business_name } or false,
        click_url = click_url,
        cta_label = cta,
        sign_off = sign_off or false,
        from_name = from_name or false,
        business_name = business_name,
        unsubscribe_url = unsub_url,
        postal_address = postal,
        open_url = open_url,
    })

    return {
        subject = subject,
        preview_text = preview,
        text = text,
        html = body,
        headers = {
            ["List-Unsubscribe"] = "<" .. unsub_url .. ">",
            ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click",
        },
    }
end

return _M
