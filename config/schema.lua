-- What config/wm.lua's values may be, checked by scripts/wm/config.lua for
-- the merged result of every source (defaults, --config FILE, WM_* variables).
--
-- The type of every key comes from its default in config/wm.lua: a key added
-- there is checked without a word here (a number must be a number >= 0, or an
-- integer >= 1 when its name ends in _bytes; a string a string; a list a list
-- of its first element's type). The rules below say more where a default's
-- type is not enough: ranges, integers, enums, formats. A "*" stands for any
-- one key: "jobs.concurrency.*" also opens that table to keys of the
-- operator's choosing (stage kinds), which a closed section would refuse.
--
-- Rule fields: integer, min, max, above (exclusive minimum), enum (a list),
-- nonempty, match (a Lua pattern, with desc), check(v) -> true | nil, desc,
-- provider (the capability: a file scripts/providers/<capability>/<v>.lua),
-- open (a table whose keys are free), unchecked (nothing below is checked),
-- type (for the values of an open table with no default to learn from).
local function int(min, max)
    return { integer = true, min = min, max = max }
end
local function num(min, max)
    return { min = min, max = max }
end
local function positive()
    return { above = 0 }
end
local http_url = { match = "^https?://[^/%s]+", desc = "an http(s):// URL" }
local optional_http_url = { match = "^https?://[^/%s]+", desc = "an http(s):// URL or empty", empty_ok = true }

-- HOST:PORT, [IPv6]:PORT or PORT, with a port from 0 to 65535.
local function listen_address(v)
    local port = v:match("^%[[^%]]+%]:(%d+)$") or v:match("^[^:]*:(%d+)$") or v:match("^(%d+)$")
    if port and tonumber(port) <= 65535 then
        return true
    end
    return nil, "HOST:PORT with a port from 0 to 65535"
end

local function site_pattern(v)
    if v == "" then
        return true
    end
    local _, n = v:gsub("%%s", "")
    local _, all = v:gsub("%%", "")
    if v:match("^https?://") and n == 1 and all == 1 then
        return true
    end
    return nil, "an http(s):// URL with one %s for the subdomain, or empty"
end

return {
    rules = {
        ["database.pool_size"] = int(1, 1000),
        ["database.pipeline_depth"] = int(1, 10000),
        ["database.connect_timeout"] = positive(),
        ["database.backoff_max"] = positive(),

        ["paths.var"] = { nonempty = true },
        ["paths.migrations"] = { nonempty = true },

        ["log.level"] = { enum = { "debug", "info", "warn", "error" } },
        ["log.access_sample"] = num(0, 1),

        ["http.listen"] = { check = listen_address },
        ["http.workers"] = int(1, 1024),
        ["http.max_connections"] = int(1),
        ["http.header_timeout"] = positive(),
        ["http.idle_timeout"] = positive(),
        ["http.sites_domain"] = { nonempty = true },

        ["http_client.timeout"] = positive(),
        ["http_client.max_connections"] = int(1),

        ["jobs.lease"] = positive(),
        ["jobs.poll"] = positive(),
        ["jobs.batch"] = int(1),
        ["jobs.yield_to_requests"] = int(0),
        ["jobs.backoff_base"] = positive(),
        ["jobs.default_timeout"] = positive(),
        -- Per stage kind; 0 stops that kind on this host.
        ["jobs.concurrency.*"] = int(0),
        ["jobs.timeouts.*"] = { type = "number", above = 0 },

        ["cron.*.every"] = positive(),
        ["cron.*.kind"] = { nonempty = true },

        ["autopilot.max_in_progress"] = int(0),

        ["providers.*"] = { provider = true },

        ["leads.per_cell"] = int(1, 500),
        ["leads.seed"] = int(0),
        ["leads.reviews_per_site"] = int(0),

        ["mail.from_email"] = { match = "^[^@%s]+@[^@%s]+%.[^@%s]+$", desc = "an email address" },
        ["mail.postal_address"] = { nonempty = true },
        ["mail.daily_cap"] = int(0),
        ["mail.variant"] = { nonempty = true },
        ["mail.rate_limits.smtp"] = num(0),
        ["mail.rate_limits.sendgrid"] = num(0),
        ["mail.rate_limits.ses"] = num(0),
        ["mail.rate_limits.outbox"] = num(0),
        ["mail.smtp.url"] = { match = "^smtps?://[^/%s]+", desc = "an smtp:// or smtps:// URL or empty", empty_ok = true },
        ["mail.smtp.starttls"] = { enum = { "required", "off" } },
        ["mail.smtp.timeout"] = positive(),
        ["mail.smtp.retry_after"] = positive(),
        ["mail.smtp.bounce_domain"] = { match = "^[%w.-]+$", desc = "a domain name or empty", empty_ok = true },
        ["mail.inbox.url"] = { match = "^imaps?://[^/%s]+/[^;?%s]+$", desc = "an imaps://host/MAILBOX URL or empty",
                               empty_ok = true },
        ["mail.inbox.timeout"] = positive(),
        ["mail.inbox.batch"] = int(1),
        ["mail.inbox.max_bytes"] = int(1024),
        ["mail.dkim.domain"] = { match = "^[%w][%w.-]*%.%a+$", desc = "a domain name or empty", empty_ok = true },
        ["mail.dkim.selector"] = { match = "^[%w][%w.-]*$", desc = "a DNS label like wm2026 or empty", empty_ok = true },
        ["mail.ses.region"] = { match = "^[a-z][a-z0-9-]+$", desc = "an AWS region like us-east-1" },
        ["mail.ses.endpoint"] = optional_http_url,
        ["mail.ses.timeout"] = positive(),
        ["mail.ses.retry_after"] = positive(),
        ["mail.ses.sns_url_pattern"] = { match = "^%^https?://.+/$",
            desc = "an anchored Lua pattern for a URL up to its path (^https://host/)" },

        ["sites.base_url"] = optional_http_url,
        ["sites.site_url_pattern"] = { check = site_pattern },
        ["sites.serve_max_age"] = num(0, 3600),
        ["lighthouse.dir"] = { nonempty = true },
        ["lighthouse.node"] = { nonempty = true },
        ["lighthouse.chromium"] = { nonempty = true },
        ["lighthouse.sample_every"] = int(0),
        ["lighthouse.concurrency"] = int(1, 16),
        ["lighthouse.timeout"] = positive(),
        ["lighthouse.form_factor"] = { enum = { "mobile", "desktop" } },

        ["screenshots.chromium"] = { nonempty = true },
        ["screenshots.node"] = { nonempty = true },
        ["screenshots.driver"] = { nonempty = true },
        ["screenshots.concurrency"] = int(1, 64),
        ["screenshots.timeout"] = positive(),
        ["screenshots.wait"] = positive(),
        ["quality.max_bytes"] = int(1),
        ["quality.max_attempts"] = int(1, 20),
        ["quality.min_lighthouse"] = int(0, 100),

        ["llm.model"] = { nonempty = true },
        ["llm.max_tokens.*"] = int(0),
        ["llm.keep_raw"] = { enum = { "failures", "all" } },
        ["llm.offline_cache_min_tokens"] = int(0),

        ["anthropic.base_url"] = http_url,
        ["anthropic.timeout"] = positive(),

        ["outscraper.base_url"] = http_url,
        ["outscraper.search_path"] = { match = "^/", desc = "a path starting with /" },
        ["outscraper.reviews_path"] = { match = "^/", desc = "a path starting with /" },
        ["outscraper.poll_interval"] = positive(),
        ["outscraper.poll_timeout"] = positive(),
        ["outscraper.timeout"] = positive(),
        ["sendgrid.base_url"] = http_url,
        ["sendgrid.timeout"] = positive(),
        ["sendgrid.retry_after"] = positive(),
        ["sendgrid.webhook_tolerance"] = positive(),

        ["website_check.max_candidates"] = int(0),
        ["website_check.timeout"] = positive(),
        ["website_check.max_redirects"] = int(0),
        ["website_check.deadline"] = positive(),
        ["website_check.canary_url"] = optional_http_url,

        ["qualify.min_rating"] = num(0, 5),
        ["qualify.rating_floor"] = num(0, 5),
        ["qualify.min_reviews"] = int(0),
        ["qualify.min_score"] = num(0, 100),
        ["qualify.reviews_full"] = int(1),
        -- Points are added up to the score; some take points away.
        ["qualify.points.*"] = num(-100, 100),

        ["commerce.monthly_price_cents"] = int(1),
        ["commerce.setup_fee_cents"] = int(0),
        ["commerce.currency"] = { match = "^%u%u%u$", desc = "a three-letter currency code (GTQ, USD)" },
        ["commerce.success_path"] = { match = "^/", desc = "a path starting with /" },
        ["commerce.cancel_path"] = { match = "^/", desc = "a path starting with /" },
        ["commerce.checkout_expiry"] = positive(),
        ["commerce.offline_hooks_url"] = optional_http_url,

        ["portal.link_ttl"] = int(60, 86400),
        ["portal.session_idle"] = int(60),
        ["portal.session_max"] = int(60),
        ["portal.resend_interval"] = int(0),
        ["tickets.per_customer_per_day"] = int(1),
        ["tickets.edited_email_delay"] = int(0, 86400),

        ["domains.dns_tries"] = int(1, 10),
        ["domains.max_checks"] = int(1),
        ["domains.dns_timeout"] = positive(),
        ["domains.check_every"] = positive(),
        ["domains.check_max_interval"] = positive(),

        ["recurrente.base_url"] = http_url,
        ["recurrente.timeout"] = positive(),
        ["recurrente.retries"] = int(0, 10),

        -- The operator's own settings (stages and providers under
        -- WM_SCRIPTS_PATH): any keys, any values.
        ["custom"] = { open = true, unchecked = true },
    },

    -- WM_* variables that are not WM_<SECTION>_<KEY> of a setting, and are
    -- read by name where they are used: no warning for these.
    environment = {
        names = {
            "WM_ROOT",               -- core/main.c: the project folder
            "WM_SCRIPTS_PATH",       -- core/vm.c: more script folders
            "WM_TEMPLATE_STRICT",    -- scripts/lib/template.lua
            "WM_BIN",                -- tests/browser/validate.sh
        },
        prefixes = {
            "WM_TEST_",              -- the test suite
            "WM_BENCH_",             -- tests/bench
            "WM_RECURRENTE_",        -- the payment provider's keys
            "WM_MAIL_",              -- the mail providers' keys (WM_MAIL_API_KEY, ...)
        },
    },
}
