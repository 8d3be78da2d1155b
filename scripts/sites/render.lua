-- The site renderer: the agents' outputs in, one self-contained page out.
--
--   render.render(input) -> html, info | nil, err
--   input = {
--     business = { name, slug, phone, email, address, city, state, zip_code,
--                  latitude, longitude, category, rating, review_count },
--     dna      = creative_dna { archetype, angle, visual_theme, tone_of_voice,
--                  design_system = { palette = { primary, secondary, accent,
--                  background, surface, text } ("#rrggbb"), fonts = { heading,
--                  body }, radius, density } },
--     brief    = design_brief { layout, sections, hero = { headline_idea,
--                  visual_motif }, tone_notes, do, dont },
--     content  = architect output { title, meta_description, hero = { headline,
--                  subheadline, cta_label }, sections = { {kind="services"|
--                  "about"|"reviews"|"process"|"faq"|"contact"|"html", ...} },
--                  footer_note },
--     preview  = { banner = true, claim_url = "/claim/<token>" | nil },
--     url      = the site's own address for JSON-LD (optional; by default
--                wm.config.sites.site_url_pattern with the business's slug),
--     lang     = "en" (default) | another BCP 47 tag such as "es" or "es-GT"
--                (the page's own fixed words stay English),
--   }
--   info = { bytes = n, dropped = { "faq", ... }, sanitized = { report, ... },
--            fixed = { "text colour", ... } }
--   Tables may also arrive as JSON strings (jsonb columns); wm.null is nil.
--
--   render.csp() -> the Content-Security-Policy the server sends with sites.
--   render.MAX_BYTES = 30720
--
-- The page: HTML5, one h1, landmarks (header/nav/main/footer, the preview
-- banner an aside), headings in order, inline <style> only (palette from
-- validated #rrggbb colours, contrast fixed to at least 4.5:1), JSON-LD
-- LocalBusiness, no script, no event handler, no external request (no web
-- fonts, no images but inline SVG), a tel: and a mailto: link when the
-- business has them. Over MAX_BYTES, optional sections are dropped (html,
-- faq, process, reviews, about, services, in that order) and listed in
-- info.dropped; if it is still too large, nil, "page too large".
--
-- The parts: sites/business.lua (the business's facts), sites/design.lua
-- and sites/palette.lua (stylesheet, colours, hero art), sites/seo.lua
-- (title, description, JSON-LD), sites/content.lua (the sections), all
-- reading their input through sites/input.lua; this module assembles the
-- page from templates/ and keeps it within the size budget.
local html = require "lib.html"
local template = require "lib.template"
local text = require "lib.text"
local sites_input = require "sites.input"
local business = require "sites.business"
local content_views = require "sites.content"
local design = require "sites.design"
local seo = require "sites.seo"

local type, tostring, ipairs, error = type, tostring, ipairs, error
local floor = math.floor
local format, gsub, match, concat = string.format, string.gsub, string.match, table.concat

local _M = { _VERSION = "0.1", MAX_BYTES = 30720 }

local tbl, line = sites_input.tbl, text.line

-- connect-src 'self': the page has no script, but crawlers' audits
-- (Lighthouse's robots.txt check) fetch /robots.txt from inside the page,
-- and 'none' would make a live site's valid robots.txt read as missing.
local CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    .. "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

function _M.csp()
    return CSP
end

local NAV_LABEL = {
    services = "Services", about = "About", reviews = "Reviews", process = "How it works", faq = "FAQ",
    contact = "Contact",
}
-- What goes first when the page is over the budget.
local DROP_ORDER = { "html", "faq", "process", "reviews", "about", "services" }

local function render_page(view, sections, drop)
    local T = require "sites.templates.sections"
    local parts, nav = {}, {}
    for _, s in ipairs(sections) do
        if not drop[s.kind] then
            parts[#parts + 1] = template.render(T[s.kind], s)
            if NAV_LABEL[s.kind] and not match(s.id, "%-%d+$") then
                nav[#nav + 1] = { id = s.id, label = NAV_LABEL[s.kind] }
            end
        end
    end
    view.sections = concat(parts)
    view.nav = nav
    view.has_nav = #nav > 0
    return template.render(require "sites.templates.page", view)
end

function _M.render(input)
    if type(input) ~= "table" then
        error("usage: render.render{business=, dna=, brief=, content=, preview=}", 2)
    end
    local dna = tbl(input.dna)
    local brief = tbl(input.brief)
    local content = tbl(input.content)
    local preview = tbl(input.preview)
    local info = { dropped = {}, sanitized = {}, fixed = {}, ignored = {} }

    local biz, err = business.facts(input.business)
    if not biz then
        return nil, err
    end
    local name, phone, rating, reviews = biz.name, biz.phone, biz.rating, biz.reviews

    local css, pal = design.stylesheet(dna, info.fixed)
    if not css then
        return nil, pal
    end

    -- Words.
    local hero = tbl(content.hero)
    local description = seo.description(content, biz)
    local headline = line(hero.headline, 160) or line(tbl(brief.hero).headline_idea, 160)
        or (biz.category and biz.category_title .. (biz.city and (" in " .. biz.city) or "")) or "Welcome"
    local cta_label = line(hero.cta_label, 60) or (phone and "Call now") or "Get in touch"

    local view = {
        lang = seo.lang(input.lang),
        title = seo.title(content, biz),
        description = description,
        noindex = preview.banner == true,
        theme_color = pal.btn_bg,
        favicon = design.favicon(pal),
        css = css,
        json_ld = seo.json_ld(biz, description, input.url),
        name = name,
        hero_style = design.hero_style(brief, biz.key),
        art = design.art(dna, brief, biz.key),
        headline = headline,
        subheadline = line(hero.subheadline, 300) or false,
        rating = (rating and reviews and reviews > 0) and {
            stars = content_views.stars(rating),
            text = format("%.1f out of 5 from %d review%s", rating, reviews, reviews == 1 and "" or "s"),
        } or false,
        cta_href = phone and phone.tel or "#contact",
        -- A tel: link's text should not wrap (and a button's need not).
        cta_label = phone and gsub(cta_label, " ", "\194\160") or cta_label,
        secondary = false,
        address_line = #biz.address_lines > 0 and concat(biz.address_lines, ", ") or false,
        footer_note = line(content.footer_note, 300) or false,
        phone = phone or false,
        email = biz.email or false,
        year = os.date("!%Y", floor(wm.now())),
        preview = preview.banner == true and {
            claim_href = type(preview.claim_url) == "string" and html.url(preview.claim_url) ~= "#"
                and html.url(preview.claim_url) or false,
        } or false,
    }

    local sections = content_views.sections(content, biz, info)
    local has = {}
    for _, s in ipairs(sections) do
        has[s.kind] = true
    end
    if has.services then
        view.secondary = { href = "#services", label = "Our services" }
    elseif phone then
        view.secondary = { href = "#contact", label = "Find us" }
    end
    if not phone then
        view.cta_href = "#contact"
    end

    local drop = {}
    local page = render_page(view, sections, drop)
    for _, kind in ipairs(DROP_ORDER) do
        if #page <= _M.MAX_BYTES then
            break
        end
        if has[kind] then
            drop[kind] = true
            info.dropped[#info.dropped + 1] = kind
            if kind == "services" and view.secondary and view.secondary.href == "#services" then
                view.secondary = false
            end
            page = render_page(view, sections, drop)
        end
    end
    if #page > _M.MAX_BYTES then
        return nil, format("page too large (%d bytes, limit %d)", #page, _M.MAX_BYTES)
    end
    if #info.dropped > 0 then
        wm.log.warn("site page over the size limit: optional sections dropped",
            { business = name, dropped = concat(info.dropped, ","), bytes = #page })
    end
    info.bytes = #page
    return page, info
end

return _M
