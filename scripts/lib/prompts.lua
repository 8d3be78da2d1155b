-- Prompts: the repo is the source of truth (scripts/agents/<name>.lua holds
-- each agent's template and default sections); the database holds what is
-- live (prompt_templates, prompt_settings), versioned and A/B weighted.
--
--   prompts.AGENTS                      the agents: the five of the pipeline, in order, then support (tickets)
--   prompts.agent(name) -> module       (raises on an unknown name)
--   prompts.check_agent(module)         raises when a module is inconsistent
--   prompts.sync() -> report | nil, err
--       Writes every agent's template and sections to the database. A section
--       whose text changed gets a new row (version = the section's highest + 1)
--       and the old row goes inactive; nothing is overwritten but weight and
--       description. Active rows the repo no longer has go inactive. A
--       template that changed is updated in prompt_templates and its content
--       kept in prompt_template_versions (an edit made in the database is
--       archived there first). Idempotent: a second run writes nothing.
--       report = { changed = n, agents = { [name] = { template = "inserted" |
--       "updated" | "unchanged", template_version = n, inserted = n,
--       deactivated = n, updated = n, unchanged = n } } }
--   prompts.assemble(agent, ctx[, opts]) -> a | nil, err
--       a = { agent=, system=, messages=, max_tokens=, settings_used = {ids},
--             variants = {section = "a"|"b"|...}, template_version=,
--             prompt_hash=, prompt= (system and user text, what the pipeline
--             stores) }
--       Reads the active template and sections (cached per process; dropped
--       on NOTIFY wm_prompts and after llm.prompt_cache_ttl seconds, default
--       60), fills {{section}} slots, picks among a section's active variants
--       by weight with a draw fixed by ctx.ab_key or the business id (a retry
--       gets the same variant), and adds one to usage_count of the settings
--       used (opts.count_usage = false to skip). A database with no template
--       for the agent is synced once, on first use. On failure: nil, err,
--       {permanent = true} (a prompt problem: asking again cannot help) or
--       {permanent = false} (the database).
--   prompts.pick(rows, key) -> row      the weighted draw (exposed for tests)
--   prompts.count_success(ids)          success_count + 1 (a conversion)
--   prompts.ls([agent[, all]]) -> rows | nil, err
--   prompts.invalidate()                drops this process's cache
--   prompts.edit(id, content, actor[, description]) -> row | nil, err
--       a new version of setting `id`'s section (same agent, section,
--       variant and weight; version = the section's highest + 1), active in
--       its place; the old row is kept as it was, inactive. Joins the
--       caller's transaction; writes activity with the actor ({type=, id=}).
--   prompts.set_weight(id, weight, actor), prompts.set_active(id, bool, actor)
--       the A/B controls, each with its activity row
--   prompts.drift() -> { [agent] = { template = "same" | "differs" | "missing",
--       sections = { ["section\0variant"] = { state = "same" | "differs" |
--       "missing" | "extra", repo = content|nil, ids = {active ids} } } } }
--       what the database's active prompts have that the repository's do not
--       (`wm prompts sync` makes them the same again)
--   prompts.listen()                    (re)registers the LISTEN wm_prompts callback
local common = require "agents.common"

local type, pairs, ipairs, tostring, tonumber, error, pcall = type, pairs, ipairs, tostring, tonumber, error, pcall
local concat, sort = table.concat, table.sort
local gsub, match, format, sub = string.gsub, string.match, string.format, string.sub

local _M = { _VERSION = "0.1" }

_M.AGENTS = { "analyst", "concept", "director", "architect", "email_composer", "support" }

local KNOWN = {}
for _, n in ipairs(_M.AGENTS) do
    KNOWN[n] = true
end

local SYNC_LOCK = 7031721       -- advisory lock: one sync at a time (7031720 is migrate's)
local CHANNEL = "wm_prompts"

local NULL = wm.null

local function sha256(s)
    return wm.crypto.sha256_hex(s)
end

-- ---- the repo side ------------------------------------------------------------------------

function _M.check_agent(m)
    if type(m) ~= "table" or type(m.name) ~= "string" then
        error("agent module must have a name", 2)
    end
    local t = m.template
    if type(t) ~= "table" or type(t.system_prompt) ~= "string" or type(t.placeholder_sections) ~= "table" then
        error("agent " .. m.name .. ": template needs system_prompt and placeholder_sections", 2)
    end
    if type(m.max_tokens) ~= "number" or m.max_tokens < 1 then
        error("agent " .. m.name .. ": max_tokens must be a positive number", 2)
    end
    if type(m.build_messages) ~= "function" or type(m.schema) ~= "table" then
        error("agent " .. m.name .. ": needs build_messages and schema", 2)
    end
    local declared = {}
    for _, p in ipairs(t.placeholder_sections) do
        declared[p] = true
    end
    for slot in t.system_prompt:gmatch("{{([%w_]+)}}") do
        if not declared[slot] then
            error(("agent %s: {{%s}} is not in placeholder_sections"):format(m.name, slot), 2)
        end
    end
    local seen, has = {}, {}
    for _, s in ipairs(m.sections or {}) do
        if type(s.section_name) ~= "string" or type(s.content) ~= "string" or s.content == "" then
            error("agent " .. m.name .. ": a section needs section_name and content", 2)
        end
        if not declared[s.section_name] then
            error(("agent %s: section %s has no slot in the template"):format(m.name, s.section_name), 2)
        end
        local key = s.section_name .. "\0" .. (s.variant or "")
        if seen[key] then
            error(("agent %s: section %s variant %s twice"):format(m.name, s.section_name, tostring(s.variant)), 2)
        end
        seen[key] = true
        if s.weight ~= nil and (type(s.weight) ~= "number" or s.weight < 0 or s.weight % 1 ~= 0) then
            error(("agent %s: section %s weight must be a whole number >= 0"):format(m.name, s.section_name), 2)
        end
        has[s.section_name] = true
    end
    for p in pairs(declared) do
        if not has[p] then
            error(("agent %s: placeholder %s has no default section"):format(m.name, p), 2)
        end
    end
    return true
end

function _M.agent(name)
    if type(name) ~= "string" or not KNOWN[name] then
        error("unknown agent " .. tostring(name), 2)
    end
    local m = require("agents." .. name)
    _M.check_agent(m)
    return m
end

local function template_hash(system_prompt, output_format, placeholders)
    local list = {}
    for i, p in ipairs(type(placeholders) == "table" and placeholders or {}) do
        list[i] = p
    end
    return sha256(common.json({ system_prompt, output_format ~= NULL and output_format or "", wm.json.array(list) }))
end

-- ---- cache -----------------------------------------------------------------------------------

local cache = {}          -- agent -> { template=, version=, placeholders=, sections = {name -> rows}, at= }
local generation = 0
local listening = false
local last_auto_sync = -math.huge
local syncing

function _M.invalidate()
    generation = generation + 1
    cache = {}
end

local function ensure_listen(force)
    if (listening and not force) or not wm.db.listen then
        return
    end
    listening = true
    local ok, err = wm.db.listen(CHANNEL, function()
        _M.invalidate()
    end)
    if not ok then
        listening = false
        wm.log.warn("prompts: cannot LISTEN " .. CHANNEL .. "; relying on the cache TTL", { err = tostring(err) })
    end
end

-- (Re)registers this process's LISTEN wm_prompts callback. wm.db.listen
-- keeps one callback per channel: call this if something else took it over.
function _M.listen()
    ensure_listen(true)
end

local function cache_ttl()
    local c = wm.config.llm
    return type(c) == "table" and tonumber(c.prompt_cache_ttl) or 60
end

-- ---- sync ------------------------------------------------------------------------------------

local function sync_agent(q, m, rep)
    local t = m.template
    local placeholders = wm.json.array(t.placeholder_sections)
    local h = template_hash(t.system_prompt, t.output_format, t.placeholder_sections)
    local function next_version()
        local r = assert(q:one("SELECT coalesce(max(version), 0) + 1 AS v FROM prompt_template_versions WHERE agent_name = $1",
            m.name))
        return r.v
    end
    local function has_version(hash)
        return q:one("SELECT version FROM prompt_template_versions WHERE agent_name = $1 AND content_hash = $2 ORDER BY version DESC LIMIT 1",
            m.name, hash)
    end
    local function add_version(sp, of, ph, hash, source)
        local v = next_version()
        assert(q:query([[INSERT INTO prompt_template_versions (agent_name, version, system_prompt, output_format,
            placeholder_sections, content_hash, source) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)]],
            m.name, v, sp, of, ph, hash, source))
        return v
    end

    local row = q:one("SELECT system_prompt, output_format, placeholder_sections FROM prompt_templates WHERE agent_name = $1",
        m.name)
    if not row then
        assert(q:query([[INSERT INTO prompt_templates (agent_name, system_prompt, output_format, placeholder_sections)
            VALUES ($1, $2, $3, $4::jsonb)]], m.name, t.system_prompt, t.output_format, placeholders))
        rep.template = "inserted"
        rep.template_version = add_version(t.system_prompt, t.output_format, placeholders, h, "repo")
        rep.changes = rep.changes + 1
    else
        local dbh = template_hash(row.system_prompt, row.output_format, row.placeholder_sections)
        if dbh ~= h then
            if not has_version(dbh) then
                add_version(row.system_prompt, row.output_format ~= NULL and row.output_format or nil,
                    row.placeholder_sections ~= NULL and row.placeholder_sections or wm.json.array({}), dbh, "database")
            end
            assert(q:query([[UPDATE prompt_templates SET system_prompt = $2, output_format = $3,
                placeholder_sections = $4::jsonb, updated_at = now() WHERE agent_name = $1]],
                m.name, t.system_prompt, t.output_format, placeholders))
            rep.template = "updated"
            rep.template_version = add_version(t.system_prompt, t.output_format, placeholders, h, "repo")
            rep.changes = rep.changes + 1
        else
            local v = has_version(h)
            if v then
                rep.template_version = v.version
            else
                rep.template_version = add_version(t.system_prompt, t.output_format, placeholders, h, "repo")
            end
            rep.template = "unchanged"
        end
    end

    -- Sections.
    local active = assert(q:query([[SELECT id, section_name, variant, content, description, weight, version
        FROM prompt_settings WHERE agent_name = $1 AND is_active ORDER BY section_name, version DESC]], m.name))
    local by_key = {}
    for _, r in ipairs(active) do
        local key = r.section_name .. "\0" .. (r.variant ~= NULL and r.variant or "")
        by_key[key] = by_key[key] or {}
        local list = by_key[key]
        list[#list + 1] = r
    end
    local wanted = {}
    local function deactivate(id)
        assert(q:query("UPDATE prompt_settings SET is_active = false, updated_at = now() WHERE id = $1", id))
        rep.deactivated = rep.deactivated + 1
        rep.changes = rep.changes + 1
    end
    for _, s in ipairs(m.sections) do
        local key = s.section_name .. "\0" .. (s.variant or "")
        wanted[key] = true
        local weight = s.weight or 100
        local desc = s.description
        local keep
        for _, r in ipairs(by_key[key] or {}) do
            if not keep and r.content == s.content then
                keep = r
            else
                deactivate(r.id)
            end
        end
        if keep then
            local rdesc = keep.description ~= NULL and keep.description or nil
            if keep.weight ~= weight or rdesc ~= desc then
                assert(q:query("UPDATE prompt_settings SET weight = $2, description = $3, updated_at = now() WHERE id = $1",
                    keep.id, weight, desc))
                rep.updated = rep.updated + 1
                rep.changes = rep.changes + 1
            else
                rep.unchanged = rep.unchanged + 1
            end
        else
            local v = assert(q:one([[SELECT coalesce(max(version), 0) + 1 AS v FROM prompt_settings
                WHERE agent_name = $1 AND section_name = $2]], m.name, s.section_name)).v
            assert(q:query([[INSERT INTO prompt_settings (agent_name, section_name, content, description, version,
                is_active, variant, weight) VALUES ($1, $2, $3, $4, $5, true, $6, $7)]],
                m.name, s.section_name, s.content, desc, v, s.variant, weight))
            rep.inserted = rep.inserted + 1
            rep.changes = rep.changes + 1
        end
    end
    for key, list in pairs(by_key) do
        if not wanted[key] then
            for _, r in ipairs(list) do
                deactivate(r.id)
            end
        end
    end
end

function _M.sync()
    local mods = {}
    for i, name in ipairs(_M.AGENTS) do
        mods[i] = _M.agent(name)
    end
    local report = { changed = 0, agents = {} }
    local ok, err = wm.db.tx(function(q)
        assert(q:query("SELECT pg_advisory_xact_lock($1)", SYNC_LOCK))
        for _, m in ipairs(mods) do
            local rep = { template = "unchanged", inserted = 0, deactivated = 0, updated = 0, unchanged = 0,
                          changes = 0 }
            sync_agent(q, m, rep)
            report.changed = report.changed + rep.changes
            rep.changes = nil
            report.agents[m.name] = rep
        end
        return true
    end)
    if not ok then
        return nil, "prompts sync: " .. tostring(err)
    end
    _M.invalidate()
    return report
end

-- ---- loading what is live ------------------------------------------------------------------

local load

local function fetch(agent)
    local tpl, err = wm.db.one([[SELECT system_prompt, output_format, placeholder_sections
        FROM prompt_templates WHERE agent_name = $1]], agent)
    if err then
        return nil, "prompts: " .. tostring(err), { permanent = false }
    end
    if not tpl then
        return false
    end
    local placeholders = type(tpl.placeholder_sections) == "table" and tpl.placeholder_sections or {}
    local h = template_hash(tpl.system_prompt, tpl.output_format, placeholders)
    local v = wm.db.one([[SELECT version FROM prompt_template_versions WHERE agent_name = $1 AND content_hash = $2
        ORDER BY version DESC LIMIT 1]], agent, h)
    local rows
    rows, err = wm.db.query([[SELECT id, section_name, variant, weight, content, version FROM prompt_settings
        WHERE agent_name = $1 AND is_active ORDER BY section_name, variant NULLS FIRST, version]], agent)
    if not rows then
        return nil, "prompts: " .. tostring(err), { permanent = false }
    end
    local sections = {}
    for _, r in ipairs(rows) do
        sections[r.section_name] = sections[r.section_name] or {}
        local list = sections[r.section_name]
        list[#list + 1] = r
    end
    return {
        system_prompt = tpl.system_prompt,
        output_format = tpl.output_format ~= NULL and tpl.output_format or nil,
        placeholders = placeholders,
        version = v and v.version or nil,
        sections = sections,
        at = wm.now(),
    }
end

function load(agent)
    ensure_listen()
    local st = cache[agent]
    if st and wm.now() - st.at < cache_ttl() then
        return st
    end
    local gen = generation
    local res, err, class = fetch(agent)
    if res == nil then
        return nil, err, class
    end
    if res == false then
        -- A database nobody has synced yet: sync from the repo (one task
        -- does it, the others wait; at most once every 10 s). A sync that
        -- ended while this fetch was in flight changed the generation: the
        -- empty answer may predate its commit, so look again.
        if syncing or gen ~= generation or wm.now() - last_auto_sync > 10 then
            if syncing then
                syncing:wait(60)
            elseif gen == generation then
                syncing = wm.event()
                last_auto_sync = wm.now()
                local ok, serr = _M.sync()
                local ev = syncing
                syncing = nil
                ev:set()
                if not ok then
                    return nil, tostring(serr), { permanent = false }
                end
            end
            gen = generation
            res, err, class = fetch(agent)
            if res == nil then
                return nil, err, class
            end
        end
        if not res then
            return nil, "no prompt template for agent " .. agent .. " (run `wm prompts sync`)", { permanent = true }
        end
    end
    if gen == generation then
        cache[agent] = res
    end
    return res
end

-- ---- A/B ---------------------------------------------------------------------------------------

-- The weighted draw: rows in a fixed order (variant, version), a point in
-- [0, total) fixed by `key` (random when key is nil).
function _M.pick(rows, key)
    if #rows == 1 then
        return rows[1]
    end
    local total = 0
    for _, r in ipairs(rows) do
        total = total + math.max(0, tonumber(r.weight) or 0)
    end
    local u
    if key ~= nil then
        u = tonumber(sub(sha256(tostring(key)), 1, 12), 16) / 281474976710656
    else
        u = math.random()
    end
    if total <= 0 then
        return rows[math.floor(u * #rows) + 1]
    end
    local point, acc = u * total, 0
    for _, r in ipairs(rows) do
        acc = acc + math.max(0, tonumber(r.weight) or 0)
        if point < acc then
            return r
        end
    end
    return rows[#rows]
end

local function ab_key(ctx)
    if ctx.ab_key ~= nil then
        return tostring(ctx.ab_key)
    end
    local b = ctx.business
    if type(b) == "table" then
        for _, k in ipairs({ "id", "gmb_id", "slug", "name" }) do
            if b[k] ~= nil and b[k] ~= NULL then
                return tostring(b[k])
            end
        end
    end
    return nil
end

-- ---- assembling ----------------------------------------------------------------------------------

function _M.assemble(agent, ctx, opts)
    local m = _M.agent(agent)
    ctx = ctx or {}
    opts = opts or {}
    local st, err, class = load(agent)
    if not st then
        return nil, err, class
    end
    local declared = {}
    for _, p in ipairs(st.placeholders) do
        declared[p] = true
    end
    for slot in st.system_prompt:gmatch("{{([%w_]+)}}") do
        if not declared[slot] then
            return nil, ("prompt template of %s uses {{%s}}, which is not a placeholder section"):format(agent, slot),
                { permanent = true }
        end
    end
    local key = ab_key(ctx)
    local chosen, ids, variants = {}, {}, {}
    local missing
    local system = gsub(st.system_prompt, "{{([%w_]+)}}", function(slot)
        local c = chosen[slot]
        if c == nil then
            local rows = st.sections[slot]
            if not rows or #rows == 0 then
                missing = missing or slot
                return ""
            end
            local r = _M.pick(rows, key and (key .. ":" .. agent .. ":" .. slot) or nil)
            c = r.content
            chosen[slot] = c
            ids[#ids + 1] = r.id
            variants[slot] = r.variant ~= NULL and r.variant or "a"
        end
        return c
    end)
    if missing then
        return nil, ("prompt section %s.%s has no active setting"):format(agent, missing), { permanent = true }
    end
    if st.output_format and st.output_format ~= "" then
        system = system .. "\n\n## Output format\n" .. st.output_format
    end
    local messages = m.build_messages(ctx)
    local user = {}
    for _, msg in ipairs(messages) do
        if type(msg.content) == "string" then
            user[#user + 1] = msg.content
        end
    end
    if opts.count_usage ~= false and #ids > 0 then
        local ok, uerr = wm.db.query([[UPDATE prompt_settings SET usage_count = coalesce(usage_count, 0) + 1
            WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid)]], wm.json.array(ids))
        if not ok then
            wm.log.warn("prompts: usage_count not counted", { agent = agent, err = tostring(uerr) })
        end
    end
    return {
        agent = agent,
        system = system,
        messages = messages,
        max_tokens = m.max_tokens,
        settings_used = ids,
        variants = variants,
        template_version = st.version,
        prompt_hash = sha256(system .. "\n\0\n" .. common.json(messages)),
        prompt = system .. "\n\n---\n\n" .. concat(user, "\n\n"),
    }
end

function _M.count_success(ids)
    if type(ids) ~= "table" or #ids == 0 then
        return true
    end
    return wm.db.query([[UPDATE prompt_settings SET success_count = coalesce(success_count, 0) + 1
        WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid)]], wm.json.array(ids))
end

function _M.ls(agent, all)
    return wm.db.query([[SELECT id, agent_name, section_name, version, is_active, coalesce(variant, 'a') AS variant,
            weight, usage_count, success_count, length(content) AS chars,
            to_char(updated_at, 'YYYY-MM-DD HH24:MI') AS updated_at
        FROM prompt_settings
        WHERE ($1::text IS NULL OR agent_name = $1) AND ($2::bool OR is_active)
        ORDER BY agent_name, section_name, variant NULLS FIRST, version]], agent, all and true or false)
end

-- ---- editing (the dashboard) ---------------------------------------------------------------

local function log(action, id, details, actor)
    assert(require("lib.activity").log(action, "prompt_setting", id, details, actor and actor.type,
        actor and actor.id))
end

function _M.edit(id, content, actor, description)
    if type(content) ~= "string" or content:match("^%s*$") then
        return nil, "the content may not be empty"
    end
    content = content:gsub("\r\n", "\n")
    -- The sync's lock: an edit and a sync (or two edits) cannot take one
    -- version number of a section. Taken before the row's lock, in the
    -- sync's order (the lock, then rows), so an edit and a sync never deadlock.
    assert(wm.db.run("SELECT pg_advisory_xact_lock($1)", SYNC_LOCK))
    local old, err = wm.db.run_one([[SELECT id, agent_name, section_name, variant, weight, description, content, version,
        is_active FROM prompt_settings WHERE id = $1 FOR UPDATE]], id)
    if not old then
        return nil, err or "no such prompt setting"
    end
    if old.content == content and (description == nil or description == old.description) then
        return nil, "nothing changed"
    end
    local v = assert(wm.db.run_one([[SELECT coalesce(max(version), 0) + 1 AS v FROM prompt_settings
        WHERE agent_name = $1 AND section_name = $2]], old.agent_name, old.section_name)).v
    local row
    row, err = wm.db.run_one([[INSERT INTO prompt_settings (agent_name, section_name, content, description, version,
            is_active, variant, weight, created_by)
        VALUES ($1, $2, $3, $4, $5, true, $6, $7, $8) RETURNING id, version]],
        old.agent_name, old.section_name, content, description or old.description, v, old.variant, old.weight,
        actor and actor.type == "admin" and actor.id or NULL)
    if not row then
        return nil, err
    end
    if old.is_active then
        assert(wm.db.run("UPDATE prompt_settings SET is_active = false, updated_at = now() WHERE id = $1", id))
    end
    log("prompt.edited", row.id, { agent = old.agent_name, section = old.section_name, from_id = id,
        from_version = old.version, version = v }, actor)
    return row
end

function _M.set_weight(id, weight, actor)
    weight = tonumber(weight)
    if not weight or weight % 1 ~= 0 or weight < 0 or weight > 10000 then
        return nil, "the weight must be a whole number from 0 to 10000"
    end
    local old, err = wm.db.run_one("SELECT weight FROM prompt_settings WHERE id = $1 FOR UPDATE", id)
    if not old then
        return nil, err or "no such prompt setting"
    end
    assert(wm.db.run("UPDATE prompt_settings SET weight = $2, updated_at = now() WHERE id = $1", id, weight))
    log("prompt.weight", id, { from = old.weight, to = weight }, actor)
    return { id = id, weight = weight }
end

function _M.set_active(id, active, actor)
    local row, err = wm.db.run_one([[UPDATE prompt_settings SET is_active = $2, updated_at = now()
        WHERE id = $1 AND is_active IS DISTINCT FROM $2 RETURNING id]], id, active and true or false)
    if not row then
        return nil, err or (active and "it is active already" or "it is inactive already")
    end
    log(active and "prompt.activated" or "prompt.deactivated", id, {}, actor)
    return row
end

function _M.drift()
    local out = {}
    for _, name in ipairs(_M.AGENTS) do
        local m = _M.agent(name)
        local t = m.template
        local a = { sections = {} }
        out[name] = a
        local tpl = wm.db.one([[SELECT system_prompt, output_format, placeholder_sections FROM prompt_templates
            WHERE agent_name = $1]], name)
        if not tpl then
            a.template = "missing"
        else
            local same = template_hash(tpl.system_prompt, tpl.output_format, tpl.placeholder_sections)
                == template_hash(t.system_prompt, t.output_format, t.placeholder_sections)
            a.template = same and "same" or "differs"
        end
        for _, s in ipairs(m.sections) do
            a.sections[s.section_name .. "\0" .. (s.variant or "")] = { state = "missing", repo = s.content, ids = {} }
        end
        local rows = assert(wm.db.query([[SELECT id, section_name, variant, content FROM prompt_settings
            WHERE agent_name = $1 AND is_active]], name))
        for _, r in ipairs(rows) do
            local key = r.section_name .. "\0" .. (r.variant ~= NULL and r.variant or "")
            local d = a.sections[key]
            if not d then
                d = { state = "extra", ids = {} }
                a.sections[key] = d
            elseif d.state ~= "differs" then
                d.state = r.content == d.repo and "same" or "differs"
            end
            d.ids[#d.ids + 1] = r.id
        end
    end
    return out
end

return _M
