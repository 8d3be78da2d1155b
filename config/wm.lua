-- WebMagic defaults. An operator's file (wm --config FILE) overrides any of
-- these; the environment overrides both: WM_<SECTION>_<KEY>, e.g.
-- WM_DATABASE_POOL_SIZE=16 or WM_LOG_ACCESS=false. Secrets (keys ending in
-- api_key, secret, password, token) are read from the environment only.
return {
    database = {
        -- Empty: use the embedded cluster under paths.var/pg, started on demand.
        -- Or a postgres:// URL / conninfo string (WM_DATABASE_URL).
        url = "",
        pool_size = 8,
        -- Queries in flight per connection (libpq pipeline mode).
        pipeline_depth = 16,
        connect_timeout = 5,
        -- Longest wait between reconnect attempts, in seconds.
        backoff_max = 2,
        -- Folder of PostgreSQL's server binaries; empty: the newest under
        -- /usr/lib/postgresql/*/bin.
        pg_bin = "",
    },
    paths = {
        -- The one folder the host writes to: embedded cluster, outbox, logs,
        -- screenshots.
        var = "var",
        migrations = "migrations",
    },
    log = {
        level = "info",
        -- One JSON line per HTTP request.
        access = true,
        -- Where those lines go: empty, stderr with the other lines; else a
        -- file (a relative name is under paths.var, e.g. "access.log"),
        -- reopened on SIGUSR1 for logrotate.
        access_file = "",
        -- The share of requests logged, 0..1, for routes that do not say
        -- (wm.route's access_log option); answers >= 500 are always logged.
        access_sample = 1,
    },
    http = {
        listen = "127.0.0.1:8080",
        workers = 1,
        max_header_bytes = 16384,
        max_body_bytes = 1048576,
        -- Path prefixes that take bodies up to upload_max_body_bytes instead
        -- (forms with pictures); refused over it before routing (413).
        upload_paths = { "/portal/support/" },
        upload_max_body_bytes = 16777216,
        max_connections = 10000,
        -- Seconds to receive a request's headers (from its first byte,
        -- however slowly they trickle), and to keep an idle keep-alive
        -- connection.
        header_timeout = 10,
        idle_timeout = 60,
        -- Seconds to receive a whole request body, from its last header;
        -- 0: no limit but idle_timeout.
        body_timeout = 60,
        -- Bytes/s a body must average once body_rate_grace seconds have
        -- passed since its last header; 0: no minimum. Both answer 408.
        min_body_rate = 1024,
        body_rate_grace = 5,
        -- Generated sites answer at <subdomain>.<sites_domain>.
        sites_domain = "localhost",
        -- wm serve reloads the scripts as soon as a file under scripts/
        -- changes. false: only on `wm reload` (SIGHUP), for a deployment
        -- that copies files in one by one.
        watch_scripts = true,
    },
    http_client = {
        timeout = 30,
        max_body_bytes = 10485760,
        -- Idle connections kept for reuse.
        max_connections = 32,
        user_agent = "wm/0.1 (WebMagic)",
    },
    jobs = {
        -- Seconds a claimed job is leased; renewed every third of it while it
        -- runs. A host that dies loses its leases, and rescue_leases hands the
        -- jobs to others.
        lease = 30,
        -- Safety poll for scheduled jobs and missed wake-ups (wake-ups come
        -- from LISTEN wm_jobs).
        poll = 2,
        batch = 100,
        backoff_base = 2,
        backoff_max = 3600,
        -- Seconds running jobs get to finish on a graceful stop.
        stop_deadline = 30,
        default_timeout = 300,
        -- Per-kind limits override the stage's own: concurrency = { scrape = 2 }.
        concurrency = { default = 10 },
        -- A host with this many requests waiting for their answers (wm serve)
        -- runs one job at a time until they drop below it: a burst of
        -- webhooks or visitors is answered first, background work catches up
        -- after. 0: jobs never yield.
        yield_to_requests = 16,
        timeouts = {},
    },
    -- Periodic jobs, fired once per period across all hosts.
    cron = {
        autopilot = { every = 30, kind = "autopilot_tick" },
        analytics = { every = 86400, offset = 300, kind = "analytics_snapshot" },
        rescue = { every = 15, kind = "rescue_leases" },
        -- Past-due sites paused after commerce.grace_days, cancelled ones
        -- archived at the end of their paid period.
        billing = { every = 300, kind = "billing_sweep" },
        -- Folds the overview's summary rows into one per hour (migration 029).
        funnel = { every = 60, kind = "funnel_compact" },
        -- Reads mail.inbox (bounces, complaints, replies); nothing when its url is empty.
        inbox = { every = 60, kind = "poll_inbox" },
    },
    autopilot = {
        enabled = true,
        -- Grid cells scraped at the same time, at most.
        max_in_progress = 2,
        -- Days before a scraped cell is scraped again.
        cooldown_days = 30,
        -- Imported into an empty coverage_grid on the first start.
        grid_file = "config/grid.csv",
    },
    -- One provider per capability: scripts/providers/<capability>/<name>.lua.
    -- The defaults work offline; real ones need their keys in the environment.
    providers = {
        leads = "simulated",
        website = "simulated",
        llm = "offline",
        mail = "outbox",
        -- "offline": checkouts paid on this host's own /pay page, which posts
        -- Recurrente-shaped, signed webhooks back; "recurrente": the real API.
        payments = "offline",
    },
    leads = {
        -- Places asked for per grid cell.
        per_cell = 20,
        -- The simulated source's seed: the same seed gives the same businesses.
        seed = 1,
        -- Review texts fetched when a site is built.
        reviews_per_site = 10,
    },
    mail = {
        from_name = "WebMagic",
        from_email = "hello@webmagic.example",
        -- CAN-SPAM: a valid physical postal address in every message.
        postal_address = "WebMagic, 1 Example Street, Austin, TX 78701, USA",
        -- Emails sent per UTC day across all hosts, at most.
        daily_cap = 200,
        variant = "a",
        -- Messages per second per provider across all hosts (a token bucket
        -- in the database, taken by campaigns and transactional mail alike,
        -- transactional first: lib.mail_limit); 0: no limit. SES allows 14/s
        -- by default; the outbox needs none (set to rehearse a provider's).
        rate_limits = { smtp = 0, sendgrid = 0, ses = 14, outbox = 0 },
        -- providers.mail = "smtp": a relay (WM_MAIL_SMTP_URL ...).
        smtp = {
            -- smtp://host:587 (STARTTLS) or smtps://host:465; empty: not set.
            url = "",
            -- AUTH login; empty: no AUTH. The password comes only from
            -- WM_MAIL_SMTP_PASSWORD.
            username = "",
            password = "",
            -- "required": an smtp:// relay that cannot STARTTLS is refused
            -- (nothing goes out in clear); "off": plain (a relay on localhost).
            starttls = "required",
            -- A PEM file of CA certificates to trust instead of the system's.
            ca_file = "",
            -- Seconds one message may take, from connecting to the relay's answer.
            timeout = 60,
            -- Seconds to wait before trying again after a throttling answer
            -- (421/450/451/452/454).
            retry_after = 60,
            -- The domain of the bounce address (bounce+<campaign>@domain);
            -- empty: the sender's.
            bounce_domain = "",
        },
        -- The mailbox that bounces (the bounce+ addresses) and replies reach,
        -- read by cron.inbox over IMAP with TLS: imaps://host[:993]/INBOX, or
        -- imap:// with STARTTLS (required). Empty url: not read. The password
        -- comes only from WM_MAIL_INBOX_PASSWORD.
        inbox = {
            url = "",
            username = "",
            password = "",
            -- A PEM file of CA certificates to trust instead of the system's.
            ca_file = "",
            -- Seconds one IMAP command may take.
            timeout = 30,
            -- Messages handled per poll, at most; the rest wait for the next.
            batch = 50,
            -- A larger message is not fetched whole: kept as malformed, marked read.
            max_bytes = 10485760,
        },
        -- DKIM signing in wm (lib/dkim.lua: rsa-sha256, relaxed/relaxed) for
        -- relays that do not sign; empty domain: off. The private key (PEM)
        -- comes from WM_MAIL_DKIM_PRIVATE_KEY or the file named by
        -- WM_MAIL_DKIM_KEY_FILE; the public key is published at
        -- <selector>._domainkey.<domain> (README: Sending for real).
        dkim = {
            domain = "",
            selector = "",
            private_key = "",
            key_file = "",
        },
        -- providers.mail = "ses": Amazon SES v2 (keys: the aws section).
        ses = {
            region = "us-east-1",
            -- Empty: https://email.<region>.amazonaws.com (tests point it at a fake).
            endpoint = "",
            -- An SES configuration set (its event destination publishes the
            -- delivery events to SNS); empty: none.
            configuration_set = "",
            -- Seconds one SendEmail call may take.
            timeout = 30,
            -- Seconds to wait after a throttling answer before trying again.
            retry_after = 10,
            -- POST /hooks/ses accepts SNS messages only from these topics
            -- (ARNs separated by commas or spaces); empty: none is accepted.
            sns_topics = "",
            -- Where SNS signing certificates (and SubscribeURLs) may come
            -- from: a Lua pattern for the URL up to its path. Keep the default
            -- in production (https, sns.<region>.amazonaws.com); tests set an
            -- http://127.0.0.1 fake.
            sns_url_pattern = "^https://sns%.[a-z0-9-]+%.amazonaws%.com/",
        },
    },
    -- Amazon Web Services keys (SES): WM_AWS_ACCESS_KEY_ID,
    -- WM_AWS_SECRET_ACCESS_KEY and, for temporary credentials,
    -- WM_AWS_SESSION_TOKEN.
    aws = {
        access_key_id = "",
        secret_access_key = "",
        session_token = "",
    },
    sites = {
        -- Where tracking links, unsubscribe and claim links point. Empty:
        -- http://<http.listen> (or wm serve --listen), a wildcard host read
        -- as 127.0.0.1; set it to the public address in production.
        base_url = "",
        -- A generated site's address; %s is its subdomain. Empty:
        -- http://%s.<http.sites_domain>:<port of http.listen>/.
        site_url_pattern = "",
        -- Seconds a site host answers from memory before it asks the
        -- database again. A change (NOTIFY wm_sites, migration 023) is seen
        -- at once; this bounds how stale an answer may be when a
        -- notification is lost (the listener reconnecting).
        serve_max_age = 1,
    },
    -- The screenshot stage: every site is photographed in headless Chromium
    -- (desktop 1280x800, mobile 390x844, a 320x200 thumbnail under
    -- paths.var/screenshots) before the quality gate may let it be emailed.
    screenshots = {
        chromium = "/usr/bin/chromium",
        node = "node",
        -- The program node runs: it drives Chromium and prints what the gate
        -- needs (relative: to the repository). Tests point it at a fast fake.
        driver = "scripts/browser/screenshot.js",
        -- Browsers at once on one host, and seconds one may take (then its
        -- whole process group is killed and the job retried).
        concurrency = 2,
        timeout = 90,
        -- Seconds a site waits before it is tried again when Chromium or node
        -- is missing (it is never emailed without a screenshot).
        wait = 300,
    },
    -- The quality gate before outreach (domain/sites.lua quality_failures).
    quality = {
        -- The stored page's size limit.
        max_bytes = 30720,
        -- Builds of a site the gate judges: a failing one goes back to the
        -- architect with its failures, the last is held for review.
        max_attempts = 3,
        -- The score each Lighthouse category must reach where it ran (on
        -- lighthouse.*'s sample).
        min_lighthouse = 90,
    },
    tracking = {
        -- HMAC key for tracking and unsubscribe links (WM_TRACKING_SECRET);
        -- empty: a per-installation key kept in paths.var/tracking.key.
        secret = "",
    },
    llm = {
        -- The model every agent uses unless models.<agent> names another;
        -- the offline provider costs its answers at this model's prices.
        model = "claude-sonnet-5-5",
        models = { analyst = "", concept = "", director = "", architect = "", email_composer = "" },
        -- 0: the agent's own limit (scripts/agents/<agent>.lua).
        max_tokens = { analyst = 0, concept = 0, director = 0, architect = 0, email_composer = 0 },
        -- Raw answers kept in llm_calls: "failures" or "all".
        keep_raw = "failures",
        -- Make the offline provider misbehave for drills: "truncated",
        -- "malformed", "placeholder", ... or "agent:mode".
        simulate = "",
        -- Seconds the assembled prompts are cached (NOTIFY wm_prompts clears it).
        prompt_cache_ttl = 60,
        offline_cache_min_tokens = 512,
    },
    anthropic = {
        api_key = "",
        base_url = "https://api.anthropic.com",
        version = "2023-06-01",
        timeout = 300,
    },
    -- The real lead source (providers.leads = "outscraper"); the key comes
    -- from WM_OUTSCRAPER_API_KEY. domains_service (email enrichment) costs
    -- extra, and without it Outscraper leads have no email.
    outscraper = {
        api_key = "",
        base_url = "https://api.app.outscraper.com",
        search_path = "/maps/search-v3",
        reviews_path = "/maps/reviews-v3",
        language = "en",
        enrichment = { "domains_service" },
        poll_interval = 5,
        poll_timeout = 300,
        timeout = 60,
    },
    -- SendGrid (providers.mail = "sendgrid"): v3 Mail Send with the key from
    -- WM_SENDGRID_API_KEY (EU subusers: base_url https://api.eu.sendgrid.com).
    -- Its rate limit is mail.rate_limits.sendgrid.
    sendgrid = {
        api_key = "",
        base_url = "https://api.sendgrid.com",
        -- Seconds one Mail Send may take; a timeout after the whole request
        -- went out leaves the campaign 'sending' (SendGrid may have it).
        timeout = 30,
        -- Seconds to wait after a 429 that names no reset time.
        retry_after = 60,
        -- Mail Send's sandbox mode: validated, never delivered.
        sandbox = false,
        -- The signed Event Webhook's verification key (base64 DER, as the
        -- dashboard shows it, or PEM; WM_SENDGRID_WEBHOOK_PUBLIC_KEY). Empty:
        -- POST /hooks/sendgrid refuses everything.
        webhook_public_key = "",
        -- Seconds a signed batch's timestamp may be off from now.
        webhook_tolerance = 300,
        -- Inbound Parse has no signature: it posts to
        -- /hooks/sendgrid-inbound/<token>, the token from
        -- WM_SENDGRID_INBOUND_TOKEN (at least 16 characters). Empty: refused.
        inbound_token = "",
    },
    -- The HTTP website check (providers.website = "http").
    website_check = {
        max_candidates = 5,
        timeout = 8,
        max_redirects = 3,
        deadline = 90,
        -- A "no website" built on network errors counts only if this answers.
        canary_url = "https://www.google.com/generate_204",
        detect_parked = true,
        -- A website named in the lead counts even when it does not answer.
        listed_site_counts = true,
        probe_listed_site = true,
        max_body = 262144,
    },
    qualify = {
        min_rating = 4.0,
        min_reviews = 10,
        min_score = 50,
        countries = { "US" },
        recent_months = 18,
        rating_floor = 3.5,
        reviews_full = 200,
        points = { no_website = 30, email = 25, rating = 20, reviews = 15, independent = 10, chain = -50,
                   recent = 5, stale = -25 },
    },
    -- Lighthouse on generated sites (scripts/lib/lighthouse.lua): npm's
    -- lighthouse in `dir` (.ci/setup.sh installs it) on Debian's Chromium.
    -- It costs seconds of a core per site, so it runs on a sample: the first
    -- site of each template variant, one in `sample_every` (0: none beyond
    -- the firsts), and every site whose cheap checks changed.
    lighthouse = {
        enabled = true,
        dir = "tools/lighthouse",
        node = "node",
        chromium = "/usr/bin/chromium",
        first_of_variant = true,
        sample_every = 20,
        -- Runs at once on one host, and seconds one may take (then node and
        -- the browser are killed).
        concurrency = 1,
        timeout = 120,
        -- "mobile" (Lighthouse's default: a phone on a slow network) or "desktop".
        form_factor = "mobile",
    },
    -- What a site costs and how it is bought (the claim page, checkouts).
    commerce = {
        -- The monthly plan, in cents of `currency` (Q800.00).
        monthly_price_cents = 80000,
        -- A one-time setup fee in cents, bought with a second checkout once
        -- the plan is paid (Recurrente cannot mix one-time and recurring
        -- items in one checkout); 0: none.
        setup_fee_cents = 0,
        currency = "GTQ",
        -- The item's name on the checkout and the buyer's card statement.
        plan_name = "WebMagic website",
        -- Days a past-due site stays up before it shows a "paused" page.
        grace_days = 7,
        -- Where the buyer lands on the site after paying or leaving the
        -- checkout (paths on the site's own address).
        success_path = "/?checkout=success",
        cancel_path = "/?checkout=cancelled",
        -- Seconds a checkout stays open; an open one is handed out again
        -- until then (less five minutes, so nobody starts paying one that
        -- is about to close).
        checkout_expiry = 86400,
        -- The offline provider's "fail later": seconds until its
        -- subscription.past_due, and as much again until subscription.cancel.
        offline_fail_after = 60,
        -- Where the offline checkout posts its webhooks; empty: this host's
        -- own <sites.base_url>/hooks/recurrente.
        offline_hooks_url = "",
    },
    -- The customer portal (/portal on sites.base_url's host).
    portal = {
        -- Seconds a magic sign-in link stays usable (once).
        link_ttl = 900,
        -- A session ends after this many seconds without a request...
        session_idle = 3600,
        -- ...and this many after it began, whatever happens.
        session_max = 43200,
        -- Seconds between two new links a customer may ask for.
        resend_interval = 300,
    },
    -- Support tickets: customers' change requests (scripts/domain/tickets.lua).
    tickets = {
        -- Requests one customer may send from the portal in 24 hours.
        per_customer_per_day = 10,
        -- A proposed version goes live without waiting for approval (the
        -- benchmark; never in production: the customer approves).
        auto_approve = false,
        -- A proposed version is photographed and checked in Chromium like a
        -- new site (when it is installed); false: the cheap checks only (the
        -- benchmark, which times the change without screenshots).
        screenshots = true,
        -- Seconds between a staff edit of a proposal and the email telling
        -- the customer it is ready: further edits in that time go out as
        -- one email, and one approved meanwhile sends none.
        edited_email_delay = 120,
    },
    -- Recurrente (providers.payments = "recurrente"). The keys come from
    -- WM_RECURRENTE_PUBLIC_KEY and WM_RECURRENTE_SECRET_KEY (pk_test_/sk_test_
    -- or the live pair: the key decides the environment).
    recurrente = {
        public_key = "",
        secret_key = "",
        base_url = "https://app.recurrente.com",
        -- Seconds per API call; a call that fails with 5xx or no answer is
        -- tried `retries` more times before the buyer is asked to try again.
        timeout = 15,
        retries = 1,
        -- The webhook endpoint's signing secret (whsec_...), from
        -- WM_RECURRENTE_WEBHOOK_SECRET; empty with the offline provider: a
        -- per-installation secret (scripts/lib/svix.lua).
        webhook_secret = "",
    },
    -- Customers' own domains (a TXT record proves control; scripts/domain/custom_domains.lua).
    domains = {
        -- DNS servers to ask ("ip[:port],..."); empty: the system's resolv.conf.
        dns_servers = "",
        -- Seconds per DNS try, and tries per lookup.
        dns_timeout = 3,
        dns_tries = 2,
        -- Seconds before the second check of a pending domain; each later
        -- wait doubles, up to check_max_interval. After max_checks checks
        -- the claim is failed (the owner can ask for another check).
        check_every = 60,
        check_max_interval = 3600,
        max_checks = 48,
        -- What the owner points the domain at: a CNAME target (empty: the
        -- host of sites.base_url) and, for apex domains, an A address (empty:
        -- not offered).
        cname_target = "",
        a_address = "",
    },
    -- The dashboard (/admin): its sessions and login throttling.
    admin = {
        -- Seconds a session lives without a request, and at most in all.
        session_idle = 7200,
        session_max = 43200,
        -- Seconds the one-time setup link (no admin yet) stays valid.
        setup_link_ttl = 3600,
        -- Failed logins per account or per address (in the last hour)
        -- before each further attempt waits login_delay seconds, doubled
        -- per failure, up to login_delay_max.
        login_free_failures = 3,
        login_delay = 1,
        login_delay_max = 900,
        -- Requests a second each user may make to the JSON API (/api/v1),
        -- with bursts of twice that; more answer 429. 0: no limit.
        api_rate = 20,
    },
    -- The operator's own settings, for stages and providers of their own
    -- (WM_SCRIPTS_PATH): any keys, not checked. Every other section is.
    custom = {},
}
