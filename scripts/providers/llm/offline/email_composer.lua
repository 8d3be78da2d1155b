-- The offline email composer: a short first email to the owner, opening
-- with a customer's words when there are some (variant "a") or with the
-- site itself (variant "b"), and no promise the data does not support.
--
--   email_composer.answer(ctx) -> the composer's output (agents/email_composer.lua)
local common = require "agents.common"
local schema = require "lib.schema"
local text = require "lib.text"
local choice = require "providers.llm.offline.choice"
local facts = require "providers.llm.offline.facts"
local answer_analyst = require("providers.llm.offline.analyst").answer

local type = type
local format = string.format

local _M = {}

function _M.answer(ctx)
    local f = facts.of(ctx)
    local t = f.trade
    local analyst = common.output(ctx.analyst) or answer_analyst(ctx)
    local variant = type(ctx.variants) == "table" and ctx.variants.approach or nil
    local short_name = text.shorten(f.name, 40)
    local subjects = {
        format("A website for %s, built from your reviews", short_name),
        format("%s: your customers wrote your website", short_name),
        format("I made %s a website from its reviews", short_name),
    }
    local subject = choice.pick(subjects, f.key .. ":subject")
    if schema.ulen(subject) > 78 then
        subject = "A website built from your reviews"
    end
    local quote = type(analyst.review_highlight) == "string" and analyst.review_highlight or nil
    local rt = facts.rating_text(f)
    local who = "I work with WebMagic, a small studio that builds websites for local businesses that customers "
        .. "love but that have no site of their own."
    local built = format("We turned what your customers say into a one-page website for %s, with your services%s "
        .. "and an easy way to reach you.", f.name, #f.reviews > 0 and ", their reviews" or "")
    local close = "It is ready to look at now. There is nothing to pay and nothing to sign: if you like it, reply "
        .. "and we will tell you how to make it yours. If not, you will not hear from us again."
    local paragraphs
    if variant == "b" then
        paragraphs = {
            format("A website for %s is ready for you to look at, made for your customers%s.", f.name,
                f.city and (" in " .. f.city) or ""),
            built .. " " .. who,
            close,
        }
    else
        local opener
        if quote and #f.reviews > 0 then
            opener = format("\"%s\" is what one of your customers wrote about %s%s.", quote, f.name,
                rt and (", and your reviews add up to " .. rt) or "")
        elseif rt then
            opener = format("%s has %s%s, which is rare.", f.name, rt, f.city and (" in " .. f.city) or "")
        else
            opener = format("Your customers%s clearly think highly of %s.", f.city and (" in " .. f.city) or "",
                f.name)
        end
        paragraphs = { opener, who .. " " .. built, close }
    end
    return {
        subject = subject,
        preview_text = text.shorten(format("We built a preview website for %s from what its customers wrote. Take a look.", short_name), 140),
        greeting = text.shorten(format("Hello %s team,", short_name), 120),
        paragraphs = wm.json.array(paragraphs),
        cta_label = choice.pick({ "See your website", "Take a look", "View the preview" }, f.key .. ":cta"),
        sign_off = choice.pick({ "Best regards,", "Thanks for reading,", "All the best," }, f.key .. ":signoff"),
    }
end

return _M
