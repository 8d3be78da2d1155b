-- /admin/users (super_admin): the accounts; add one, change a role,
-- disable or enable. Every change goes through domain.admin_users.
local view = require "web.admin.view"

local TEMPLATE = [[
<div class="scroll"><table><thead><tr><th>Email</th><th>Name</th><th>Role</th><th>Status</th><th>Last login</th><th></th></tr></thead><tbody>
{{#users}}<tr><td>{{email}}</td><td>{{full_name}}</td>
<td><form method="post" action="/admin/users/{{id}}/role" class="inline"><input type="hidden" name="csrf" value="{{csrf}}">
<select name="role" aria-label="Role of {{email}}">{{#roles}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/roles}}</select>
<button type="submit" class="alt">Set</button></form></td>
<td>{{#is_active}}active{{/is_active}}{{^is_active}}<span class="pill discarded">disabled</span>{{/is_active}}</td><td>{{last_login}}</td>
<td>{{^self}}<form method="post" action="/admin/users/{{id}}/{{#is_active}}disable{{/is_active}}{{^is_active}}enable{{/is_active}}" class="inline"><input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" class="alt">{{#is_active}}Disable{{/is_active}}{{^is_active}}Enable{{/is_active}}</button></form>{{/self}}</td></tr>{{/users}}
</tbody></table></div>
<h2>Add an account</h2>
<form method="post" action="/admin/users" class="card narrow"><input type="hidden" name="csrf" value="{{csrf}}">
<label>Email <input type="email" name="email" required></label>
<label>Name <input type="text" name="name"></label>
<label>Role <select name="role"><option>viewer</option><option>editor</option><option>admin</option><option>super_admin</option></select></label>
<label>Password (10 characters or more) <input type="password" name="password" minlength="10" autocomplete="new-password" required></label>
<button type="submit">Add</button></form>]]

local SUPER = { role = "super_admin" }

local function list(req, err, status)
    local users = assert(wm.db.query([[SELECT id, email, coalesce(full_name, '') AS full_name, role, is_active,
            coalesce(to_char(last_login_at, 'YYYY-MM-DD HH24:MI'), 'never') AS last_login
        FROM admin_users ORDER BY email]]))
    local users_mod = require "domain.admin_users"
    for _, u in ipairs(users) do
        u.self = u.id == req.user.id
        u.roles = {}
        for _, r in ipairs(users_mod.ROLES) do
            u.roles[#u.roles + 1] = { name = r, selected = r == u.role }
        end
    end
    return view.page(req, "Users", TEMPLATE, { users = users, error = err }, status)
end

wm.route("GET", "/admin/users", function(req)
    return list(req)
end, SUPER)

local function change(req, fn)
    if not view.uuid(req.params.id) then
        return view.not_found(req)
    end
    local ok, err = wm.db.tx(fn)
    if not ok then
        return list(req, tostring(err):match("[^\n]*"):gsub("^.-:%d+: ", ""), 422)
    end
    return view.redirect("/admin/users", "user_changed")
end

wm.route("POST", "/admin/users", function(req)
    local f = view.form(req)
    local ok, err = wm.db.tx(function()
        return require("domain.admin_users").add({ email = f.email, name = f.name ~= "" and f.name or nil,
            role = f.role, password = f.password }, req.actor)
    end)
    if not ok then
        return list(req, tostring(err), 422)
    end
    return view.redirect("/admin/users", "user_added")
end, SUPER)

wm.route("POST", "/admin/users/:id/role", function(req)
    local role = view.form(req).role
    return change(req, function()
        return require("domain.admin_users").set_role(req.params.id, role, req.actor)
    end)
end, SUPER)

for _, verb in ipairs({ "disable", "enable" }) do
    wm.route("POST", "/admin/users/:id/" .. verb, function(req)
        if req.params.id == req.user.id then
            return list(req, "You cannot " .. verb .. " your own account.", 422)
        end
        return change(req, function()
            return require("domain.admin_users")[verb](req.params.id, req.actor)
        end)
    end, SUPER)
end
