-- Where the embedded cluster lives: under paths.var when the server's user
-- can get through it, elsewhere (with a note saying why) when a parent
-- folder is private, as /root is. Only the location is decided here; no
-- cluster is started.
local T = {}

local function fresh_embed(var)
    wm.config.paths.var = var
    package.loaded["wm.pgembed"] = nil
    return require "wm.pgembed"
end

local function restore(t)
    local old = wm.config.paths.var
    t.defer(function()
        wm.config.paths.var = old
        package.loaded["wm.pgembed"] = nil
    end)
end

function T.stays_under_var_when_reachable(t)
    restore(t)
    local var = t.tmpdir() .. "/var"
    local embed = fresh_embed(var)
    local base, note = embed.location()
    t.eq(base, var .. "/pg")
    t.eq(note, nil)
end

function T.moves_with_a_note_when_a_parent_is_private(t)
    if wm.sys.getuid() ~= 0 then
        t.skip("needs root: only then does the server run as another user (postgres)")
    end
    restore(t)
    local private = t.tmpdir() .. "/private"
    assert(wm.fs.mkdir_p(private, tonumber("700", 8)))
    assert(wm.exec { argv = { "chmod", "700", private } })
    local embed = fresh_embed(private .. "/var")
    local base, note = embed.location()
    t.match(base, "^/var/lib/wm/%x+$")
    t.match(note, "not reachable by the postgres user")
    t.match(note, base:gsub("%p", "%%%0"))
    -- The same checkout always gets the same place.
    t.eq(fresh_embed(private .. "/var").location(), base)
end

return T
