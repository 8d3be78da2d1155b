-- verify_domain {id}: one check of a custom domain claim. Looks for the
-- TXT record `_webmagic.<domain>` holding `webmagic-verify=<token>`, notes
-- where the domain points (its A records, through any CNAME), and records
-- the finding (domain.custom_domains.checked): verified, still pending
-- (checked again later, each wait twice the last, up to
-- domains.check_max_interval), or failed after domains.max_checks. The
-- waits are snoozes, not retries: a record not there yet is not an error.
local outcome = require "lib.outcome"
local custom_domains = require "domain.custom_domains"

local function dns_opts()
    local c = wm.config.domains or {}
    return { servers = c.dns_servers ~= "" and c.dns_servers or nil, timeout = c.dns_timeout, tries = c.dns_tries }
end

-- The check's finding in words the owner can act on.
local function look(row)
    local want = custom_domains.TOKEN_PREFIX .. row.token
    local name = custom_domains.RECORD_PREFIX .. row.domain
    local txt, err = wm.dns.query(name, "TXT", dns_opts())
    local found, result = false, nil
    if not txt then
        result = ("No TXT record at %s yet (%s)."):format(name, err)
    else
        for _, v in ipairs(txt) do
            found = found or v == want
        end
        result = found and ("Found the TXT record at %s."):format(name)
            or ("The TXT record at %s does not hold %s (it holds %s)."):format(name, want, table.concat(txt, ", "))
    end
    local a, aerr = wm.dns.query(row.domain, "A", dns_opts())
    local points_to
    if a then
        points_to = table.concat(a, ", ")
        if a.canonical and a.canonical ~= row.domain then
            points_to = points_to .. " (through " .. a.canonical .. ")"
        end
    else
        points_to = aerr
    end
    return found, result, points_to
end

return {
    kind = "verify_domain",
    concurrency = 4,
    timeout = 60,
    max_attempts = 5,
    run = function(job)
        local row, err = custom_domains.get(job.payload.id)
        if not row then
            return err and outcome.retry(err) or outcome.discard("no domain claim " .. tostring(job.payload.id))
        end
        if row.status ~= "pending" then
            return outcome.done()
        end
        local found, result, points_to = look(row)
        local after
        after, err = wm.db.tx(function()
            return custom_domains.checked(row.id, found, result, points_to)
        end)
        if not after then
            return outcome.retry(err)
        end
        if after.status == "pending" then
            return outcome.snooze(custom_domains.next_check_in(after.checks))
        end
        return outcome.done()
    end,
}
