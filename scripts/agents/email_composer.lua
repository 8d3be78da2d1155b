-- The email composer: the one outreach email to the owner, around the review
-- highlight and the preview site. lib/email.lua renders it (tracked link,
-- unsubscribe, postal address), so this is words only.
local common = require "agents.common"
local schema = require "lib.schema"

local _M = { name = "email_composer", max_tokens = 3000 }

_M.template = {
    system_prompt = [[You are the Outreach Writer at WebMagic, a studio that builds a website for local
businesses that have great reviews but no website. We have already built a preview website for
this business. You write the one email that tells the owner about it. It is a cold email from a
stranger, so it must be short, honest, specific to this business and easy to ignore without
guilt. It is not a sales pitch.

## Approach
{{approach}}

## Subject line
{{subject_rules}}

## Body
{{body_rules}}

## Rules
{{data_rules}}]],
    output_format = [[{
  "subject": "at most 78 characters, sentence case, no ALL CAPS words, no exclamation marks",
  "preview_text": "at most 140 characters: the line inboxes show after the subject",
  "greeting": "e.g. \"Hi Rosa,\" or \"Hello Rivera Plumbing team,\"",
  "paragraphs": ["2 to 4 short paragraphs of plain text"],
  "cta_label": "2-5 words for the button to the preview site, e.g. \"See your website\"",
  "sign_off": "e.g. \"Best regards,\" (the sender's name is added on the line below)"
}
The email adds the link to the preview site, a picture of it above the button, the unsubscribe
link and our postal address itself: do not write URLs, prices or an address. It also quotes the
review highlight below your paragraphs unless you quoted it: if you quote it, quote it word for
word in double quotes, once.]],
    placeholder_sections = { "approach", "subject_rules", "body_rules", "data_rules" },
}

_M.sections = {
    {
        section_name = "approach",
        description = "A: open with what customers say (the review highlight).",
        weight = 50,
        content = [[Open with what the business's customers say: quote the review highlight or paraphrase the
praise, so the owner sees at once that the email is about them. Then say we turned those reviews
into a website they can look at, free and with no obligation.]],
    },
    {
        section_name = "approach",
        variant = "b",
        description = "B: open with the finished website.",
        weight = 50,
        content = [[Open with the news: a website for their business is ready to look at, built from what their
customers wrote. Then say what makes it theirs (the reviews, the services, the area they serve)
and that looking costs nothing and commits them to nothing.]],
    },
    {
        section_name = "subject_rules",
        description = "Subject line rules (deliverability).",
        content = [[Name the business in the subject, in sentence case, at most 78 characters. No ALL CAPS words,
no exclamation marks, no "free", "urgent", "act now", no emoji, no fake "Re:" or "Fwd:".]],
    },
    {
        section_name = "body_rules",
        description = "Body rules.",
        content = [[Two to four short paragraphs, under 120 words in all. Plain text: no Markdown, no links, no
lists. Mention the city or the trade once so it is clearly not a mass mailing. Say who we are in
one sentence. Close with one simple next step: look at the site, and reply if they want it.]],
    },
    {
        section_name = "data_rules",
        description = "Safety and output rules shared by every agent.",
        content = common.SAFETY,
    },
}

local str = schema.string

local SPAM_WORDS = { "free", "urgent", "act now", "winner", "guarantee", "guaranteed", "100%", "$$",
    "click here", "limited time", "risk-free" }

-- Deliverability: sentence case, not shouting, no spam triggers.
local function subject_check(s)
    local letters, caps = 0, 0
    for c in s:gmatch("%a") do
        letters = letters + 1
        if c:match("%u") then
            caps = caps + 1
        end
    end
    if letters >= 8 and caps / letters > 0.5 then
        return "is mostly capital letters"
    end
    if s:find("!", 1, true) then
        return "has an exclamation mark"
    end
    local l = " " .. s:lower() .. " "
    for _, w in ipairs(SPAM_WORDS) do
        local hit
        if w:find("^[%a ]+$") then
            hit = l:find("%f[%w]" .. w .. "%f[%W]")
        else
            hit = l:find(w, 1, true)
        end
        if hit then
            return ("has the spam trigger %q"):format(w)
        end
    end
    if l:match("^%s*re:") or l:match("^%s*fwd?:") then
        return "pretends to be a reply"
    end
    return nil
end
_M.subject_check = subject_check

-- ALL CAPS words (four letters or more) in the subject, unless the business
-- writes its own name that way ("SERVPRO of Austin").
function _M.check(out, ctx)
    local name = ctx and type(ctx.business) == "table" and type(ctx.business.name) == "string"
        and ctx.business.name or ""
    for w in out.subject:gmatch("%f[%a]%u%u%u%u+%f[%A]") do
        if not name:find("%f[%a]" .. w .. "%f[%A]") then
            return ("subject: has an ALL CAPS word (%s)"):format(w)
        end
    end
    return nil
end

_M.schema = schema.object {
    subject = str { min = 5, max = 78, single_line = true, check = subject_check },
    preview_text = str { min = 10, max = 140, single_line = true },
    greeting = str { min = 2, max = 120, single_line = true },
    paragraphs = schema.array(str { min = 20, max = 1000 }, { min = 2, max = 4 }),
    cta_label = str { min = 2, max = 40, single_line = true },
    sign_off = str { min = 2, max = 200 },
}

function _M.build_messages(ctx)
    ctx = ctx or {}
    local analyst = common.output(ctx.analyst)
    local architect = common.output(ctx.architect)
    local site
    if architect then
        site = { title = architect.title, headline = type(architect.hero) == "table" and architect.hero.headline or nil }
    end
    local mail = (wm.config and wm.config.mail) or {}
    return common.data_message({
        { name = "business", value = common.business_facts(ctx.business) },
        { name = "analyst", value = analyst },
        { name = "preview_site", value = site },
        { name = "sender", value = { name = mail.from_name or "WebMagic" } },
    }, "Write the email as the JSON object now.")
end

return _M
