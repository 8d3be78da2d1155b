-- Every email that reaches the mail provider takes its turn in the
-- provider's rate limit first: mail.rate_limits.<provider> messages a second
-- across every host, one lib.ratelimit bucket "mail:<provider>" shared by
-- campaigns and transactional mail (sign-in links, a ticket's news), so a
-- burst of either cannot push the account over its quota. A provider with
-- no limit configured (the outbox, by default) takes nothing.
--
--   mail_limit.turn(class) -> nil | outcome
--     nil: send now. Otherwise the job's outcome: a snooze (no attempt
--     spent, so nothing is lost) or a retry (the database failed).
--     class "transactional": a person is waiting for it. It books the next
--       free slot, at most ratelimit's max_wait ahead, and sleeps in place
--       until then: the slot is already spent, and snoozing would give it
--       up for nothing. Only when transactional mail alone is queued longer
--       than that does it snooze until a slot would be free.
--     class "outreach": a campaign. It takes only a token that is in the
--       bucket now and never books one ahead; without one it snoozes until
--       a token would be there.
--
-- Why transactional mail goes first: a booked slot is a token spent in
-- advance (the bucket goes below zero until its time comes), and outreach
-- needs a whole token in the bucket. While any transactional email waits
-- for its slot no campaign goes, and a transactional email waits behind
-- the other transactional ones only, never behind a queue of campaigns (at
-- most behind the few already holding a token and sending).
local providers = require "lib.providers"
local ratelimit = require "lib.ratelimit"
local outcome = require "lib.outcome"

local tostring, type = tostring, type

local _M = {}

-- How far ahead each class may book: outreach none at all (see above).
local MAX_WAIT = { outreach = 0 }

function _M.turn(class)
    if class ~= "transactional" and class ~= "outreach" then
        error("mail_limit.turn: class must be \"transactional\" or \"outreach\"", 2)
    end
    local _, provider = providers.get("mail")
    local rate = ((wm.config.mail or {}).rate_limits or {})[provider] or 0
    local wait, retry_after = ratelimit.take("mail:" .. provider, rate, { max_wait = MAX_WAIT[class] })
    if wait then
        if wait > 0 then
            wm.sleep(wait)
        end
        return nil
    elseif type(retry_after) == "number" then
        return outcome.snooze(retry_after)
    end
    return outcome.retry("mail rate limit: " .. tostring(retry_after))
end

return _M
