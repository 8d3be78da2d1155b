-- A line diff: the longest common subsequence of two texts' lines, as a
-- list of operations {op = "=" | "-" | "+", text = line}, old lines before
-- new ones where both change. For a person reading what changed between
-- two versions of a site or a message, not for patches.
--
--   textdiff.lines(text) -> {line, ...}          (\r\n and \n both end a line)
--   textdiff.diff(a, b[, opts]) -> ops, stats
--       a, b: strings or line lists; stats = {added=, removed=, same=}.
--       opts.max_cells (default 4e6): above old x new lines past the common
--       head and tail, the middle is shown as removed then added (the table
--       would cost more memory than a reader gains).
--   textdiff.hunks(ops[, context]) -> {{ops...}, ...}
--       the changed runs with `context` (default 3) unchanged lines around
--       each; the unchanged lines between hunks are left out.
--   textdiff.visible_text(html) -> text
--       what a visitor reads on a page, one block per line: tags, scripts,
--       styles and comments dropped, character references decoded
--       (lib.sanitize.entities), blank runs squeezed.
local _M = {}

function _M.lines(text)
    if type(text) == "table" then
        return text
    end
    local out = {}
    text = tostring(text or ""):gsub("\r\n", "\n")
    if text == "" then
        return out
    end
    if text:sub(-1) ~= "\n" then
        text = text .. "\n"
    end
    for line in text:gmatch("([^\n]*)\n") do
        out[#out + 1] = line
    end
    return out
end

function _M.diff(a, b, opts)
    a, b = _M.lines(a), _M.lines(b)
    local max_cells = opts and opts.max_cells or 4e6
    local n, m = #a, #b
    -- The common head and tail need no table (most edits are local).
    local head = 0
    while head < n and head < m and a[head + 1] == b[head + 1] do
        head = head + 1
    end
    local tail = 0
    while tail < n - head and tail < m - head and a[n - tail] == b[m - tail] do
        tail = tail + 1
    end
    local ops = {}
    local stats = { added = 0, removed = 0, same = head + tail }
    for i = 1, head do
        ops[#ops + 1] = { op = "=", text = a[i] }
    end
    local an, bn = n - head - tail, m - head - tail
    if an > 0 and bn > 0 and an * bn <= max_cells then
        -- L[i][j]: the LCS length of a[head+i..] and b[head+j..], in one flat
        -- array ((an+1) x (bn+1)) filled from the end.
        local w = bn + 1
        local L = {}
        for k = 0, (an + 1) * w - 1 do
            L[k] = 0
        end
        for i = an - 1, 0, -1 do
            local ai = a[head + i + 1]
            for j = bn - 1, 0, -1 do
                if ai == b[head + j + 1] then
                    L[i * w + j] = L[(i + 1) * w + j + 1] + 1
                else
                    local down, right = L[(i + 1) * w + j], L[i * w + j + 1]
                    L[i * w + j] = down >= right and down or right
                end
            end
        end
        local i, j = 0, 0
        while i < an and j < bn do
            local ai, bj = a[head + i + 1], b[head + j + 1]
            if ai == bj then
                ops[#ops + 1] = { op = "=", text = ai }
                stats.same = stats.same + 1
                i, j = i + 1, j + 1
            elseif L[(i + 1) * w + j] >= L[i * w + j + 1] then
                ops[#ops + 1] = { op = "-", text = ai }
                stats.removed = stats.removed + 1
                i = i + 1
            else
                ops[#ops + 1] = { op = "+", text = bj }
                stats.added = stats.added + 1
                j = j + 1
            end
        end
        for k = i, an - 1 do
            ops[#ops + 1] = { op = "-", text = a[head + k + 1] }
            stats.removed = stats.removed + 1
        end
        for k = j, bn - 1 do
            ops[#ops + 1] = { op = "+", text = b[head + k + 1] }
            stats.added = stats.added + 1
        end
    else
        for k = 1, an do
            ops[#ops + 1] = { op = "-", text = a[head + k] }
        end
        for k = 1, bn do
            ops[#ops + 1] = { op = "+", text = b[head + k] }
        end
        stats.removed, stats.added = an, bn
    end
    for k = n - tail + 1, n do
        ops[#ops + 1] = { op = "=", text = a[k] }
    end
    return ops, stats
end

function _M.hunks(ops, context)
    context = context or 3
    local keep = {}
    for k, o in ipairs(ops) do
        if o.op ~= "=" then
            for c = math.max(1, k - context), math.min(#ops, k + context) do
                keep[c] = true
            end
        end
    end
    local out, cur = {}, nil
    for k, o in ipairs(ops) do
        if keep[k] then
            if not cur then
                cur = {}
                out[#out + 1] = cur
            end
            cur[#cur + 1] = o
        else
            cur = nil
        end
    end
    return out
end

-- Character references as a browser reads them (the sanitiser's decoder);
-- &nbsp; as a plain space, so it folds with the spaces around it.
local function decode(s)
    return require("lib.sanitize.entities").decode((s:gsub("&nbsp;", " ")))
end

-- Tags that start a new line of visible text.
local BLOCK = {}
for t in ("address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
          .. "header hr li main nav ol p pre section table td th tr ul title option button"):gmatch("%S+") do
    BLOCK[t] = true
end

function _M.visible_text(html)
    local s = tostring(html or "")
    s = s:gsub("<!%-%-.-%-%->", ""):gsub("<[!?][^>]*>", "")
    for _, t in ipairs({ "script", "style", "noscript", "template", "svg" }) do
        s = s:gsub("<" .. t .. "[%s>].-</" .. t .. "%s*>", " ")
        s = s:gsub("<" .. t:upper() .. "[%s>].-</" .. t:upper() .. "%s*>", " ")
    end
    s = s:gsub("<(/?)(%a[%w]*)[^>]*>", function(_, name)
        return BLOCK[name:lower()] and "\n" or ""
    end)
    s = decode(s)
    local out = {}
    for line in (s .. "\n"):gmatch("([^\n]*)\n") do
        line = line:gsub("[ \t\r\f\v]+", " "):gsub("^ ", ""):gsub(" $", "")
        if line ~= "" then
            out[#out + 1] = line
        end
    end
    return table.concat(out, "\n")
end

return _M
