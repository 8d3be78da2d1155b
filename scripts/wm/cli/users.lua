-- wm users add|ls|role|disable|enable|passwd|token: the dashboard's accounts.
local users = require "domain.admin_users"

local usage = [[usage: wm users <add|ls|role|disable|enable|passwd|token> [options]

  wm users add EMAIL --role R [--name NAME]   a new account; R is viewer, editor, admin or
                                              super_admin. The password is the first line of
                                              standard input; with none (or a terminal) one is
                                              generated and printed once.
  wm users ls [--json]                        every account, its role, status and last login
  wm users role EMAIL R                       change the role
  wm users disable EMAIL                      locked out at once: sessions end, tokens stop
  wm users enable EMAIL
  wm users passwd EMAIL                       a new password (standard input, or generated);
                                              the account's sessions end
  wm users token EMAIL [--name NAME]          a new API token (Authorization: Bearer ...),
                                              printed once
  wm users token ls EMAIL                     the account's tokens
  wm users token revoke TOKEN_ID

Changes are written to activity_log with actor_type 'user' (the shell).]]

local ACTOR = { type = "user" }

local function out(...) io.stdout:write(...) end

-- The password from standard input's first line, or a generated one
-- (printed once) when stdin is a terminal or empty.
local function read_password()
    if not wm.sys.isatty(0) then
        local line = io.stdin:read("*l")
        if line and line ~= "" then
            return line:gsub("\r$", ""), false
        end
    end
    return wm.crypto.random_token(15), true
end

local function need_user(email)
    local u = users.find(email or "")
    if not u then
        return nil, "no account " .. tostring(email) .. " (see `wm users ls`)"
    end
    return u
end

local function in_tx(fn)
    local ok, err = wm.db.tx(fn)
    if not ok then
        return nil, err
    end
    return true
end

local function fmt(v)
    if v == nil or v == wm.null then
        return "-"
    end
    return tostring(v)
end

local cmds = {}

function cmds.add(opts, args)
    local email = args[2]
    if not email or not opts.role then
        return nil, "give an EMAIL and --role", 2
    end
    if not users.valid_role(opts.role) then
        return nil, "--role must be viewer, editor, admin or super_admin", 2
    end
    local pw, generated = read_password()
    local row
    local ok, err = in_tx(function()
        row = assert(users.add({ email = email, role = opts.role, name = opts.name, password = pw }, ACTOR))
    end)
    if not ok then
        return nil, (tostring(err):match("^[^\n]*"):gsub("^.-:%d+: ", ""))
    end
    out("added ", row.email, " as ", row.role, "\n")
    if generated then
        out("password (shown once): ", pw, "\n")
    end
    return true
end

function cmds.ls(opts)
    local rows = assert(wm.db.query([[SELECT id, email, full_name, role, is_active,
            to_char(last_login_at, 'YYYY-MM-DD HH24:MI') AS last_login,
            (SELECT count(*)::int FROM admin_api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS tokens
        FROM admin_users u ORDER BY email]]))
    if opts.json then
        out(wm.json.encode(wm.json.array(rows), { pretty = true }), "\n")
        return true
    end
    if #rows == 0 then
        out("No accounts yet: wm users add EMAIL --role super_admin (or the setup link wm serve prints).\n")
        return true
    end
    out(("%-32s %-12s %-8s %-16s %-6s %s\n"):format("EMAIL", "ROLE", "STATUS", "LAST LOGIN", "TOKENS", "NAME"))
    for _, r in ipairs(rows) do
        out(("%-32s %-12s %-8s %-16s %-6d %s\n"):format(r.email, fmt(r.role), r.is_active and "active" or "disabled",
            fmt(r.last_login), r.tokens, fmt(r.full_name)))
    end
    return true
end

function cmds.role(_, args)
    local u, err = need_user(args[2])
    if not u then
        return nil, err
    end
    if not users.valid_role(args[3]) then
        return nil, "the role must be viewer, editor, admin or super_admin", 2
    end
    local ok, e = in_tx(function() assert(users.set_role(u.id, args[3], ACTOR)) end)
    if not ok then
        return nil, e
    end
    out(u.email, " is now ", args[3], "\n")
    return true
end

function cmds.disable(_, args)
    local u, err = need_user(args[2])
    if not u then
        return nil, err
    end
    local ok, e = in_tx(function() assert(users.disable(u.id, ACTOR)) end)
    if not ok then
        return nil, u.email .. " is already disabled"
    end
    out(u.email, " disabled: its sessions ended and its tokens stopped working\n")
    return true
end

function cmds.enable(_, args)
    local u, err = need_user(args[2])
    if not u then
        return nil, err
    end
    local ok = in_tx(function() assert(users.enable(u.id, ACTOR)) end)
    if not ok then
        return nil, u.email .. " is not disabled"
    end
    out(u.email, " enabled\n")
    return true
end

function cmds.passwd(_, args)
    local u, err = need_user(args[2])
    if not u then
        return nil, err
    end
    local pw, generated = read_password()
    local problem = users.password_problem(pw)
    if problem then
        return nil, problem
    end
    assert(in_tx(function() assert(users.set_password(u.id, pw, ACTOR)) end))
    out("password changed for ", u.email, "; its sessions ended\n")
    if generated then
        out("password (shown once): ", pw, "\n")
    end
    return true
end

function cmds.token(opts, args)
    if args[2] == "revoke" then
        local id = args[3]
        if not (id and id:match("^%x+%-[%x-]+$")) then
            return nil, "give the token's id (wm users token ls EMAIL)", 2
        end
        local ok = in_tx(function() assert(users.token_revoke(id, ACTOR)) end)
        if not ok then
            return nil, "no live token " .. id
        end
        out("token ", id, " revoked\n")
        return true
    elseif args[2] == "ls" then
        local u, err = need_user(args[3])
        if not u then
            return nil, err
        end
        local rows = assert(wm.db.query([[SELECT id, name, to_char(created_at, 'YYYY-MM-DD HH24:MI') AS created,
                to_char(last_used_at, 'YYYY-MM-DD HH24:MI') AS used, revoked_at IS NOT NULL AS revoked
            FROM admin_api_tokens WHERE user_id = $1 ORDER BY created_at]], u.id))
        out(("%-36s %-16s %-16s %-8s %s\n"):format("ID", "CREATED", "LAST USED", "STATUS", "NAME"))
        for _, r in ipairs(rows) do
            out(("%-36s %-16s %-16s %-8s %s\n"):format(r.id, r.created, fmt(r.used), r.revoked and "revoked" or "live",
                r.name))
        end
        return true
    end
    local u, err = need_user(args[2])
    if not u then
        return nil, err
    end
    local token, id
    assert(in_tx(function() token, id = assert(users.token_create(u.id, opts.name, ACTOR)) end))
    out("token ", id, " for ", u.email, " (shown once):\n", token, "\n")
    return true
end

return {
    summary = "the dashboard's accounts, roles and API tokens",
    usage = usage,
    flags = { ["--role"] = "string", ["--name"] = "string", ["--json"] = "boolean" },
    run = function(opts, args)
        local sub = args[1] or "ls"
        local fn = cmds[sub]
        if not fn then
            io.stderr:write("wm users: unknown subcommand '", sub, "'\n\n", usage, "\n")
            return 2
        end
        if sub ~= "ls" and sub ~= "add" and sub ~= "token" and not args[2] then
            io.stderr:write("wm users ", sub, ": which account? (an email)\n\n", usage, "\n")
            return 2
        end
        local ok, err, code = fn(opts, args)
        if not ok then
            io.stderr:write("wm users ", sub, ": ", tostring(err), "\n")
            if code == 2 then
                io.stderr:write("\n", usage, "\n")
            end
            return code or 1
        end
        return 0
    end,
}
