-- /admin/uploads/<sha256>: a picture a customer sent (lib/uploads.lua
-- stored it, checked and cleaned), for staff only. Its Content-Type comes
-- from the type its bytes were checked to be, never from the sender; the
-- answer cannot be sniffed as anything else, runs nothing and is not
-- cached by shared caches.
local view = require "web.admin.view"
local uploads = require "lib.uploads"

local CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

wm.route("GET", "/admin/uploads/:sha", function(req)
    local path, mime = uploads.path(req.params.sha)
    if not path then
        return view.not_found(req)
    end
    -- The store never holds more than an upload's limit; a bound all the same.
    local data, err = wm.fs.read_file(path, 64 * 1024 * 1024)
    if not data then
        wm.log.warn("uploads: cannot read a stored picture", { path = path, error = tostring(err) })
        return view.not_found(req)
    end
    return { status = 200, body = data, headers = {
        ["Content-Type"] = mime,
        ["Content-Disposition"] = "inline",
        ["Content-Security-Policy"] = CSP,
        ["X-Content-Type-Options"] = "nosniff",
        ["Cache-Control"] = "private, max-age=86400, immutable",
        ["Referrer-Policy"] = "no-referrer",
        ["Cross-Origin-Resource-Policy"] = "same-origin",
    } }
end, { role = "viewer" })
