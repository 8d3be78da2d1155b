-- Choices fixed by a key (the business's id plus what is being chosen), so
-- the offline author gives one business the same answer every time and
-- different businesses different ones.
--
--   choice.int(key)            -> an integer in [0, 2^32)
--   choice.unit(key)           -> a number in [0, 1)
--   choice.pick(list, key)     -> one element of list
--   choice.shuffled(list, key) -> a copy of list in an order fixed by key
local tonumber, ipairs = tonumber, ipairs
local sub = string.sub

local _M = {}

local function int(key)
    return tonumber(sub(wm.crypto.sha256_hex(key), 1, 8), 16)
end
_M.int = int

function _M.unit(key)
    return int(key) / 4294967296
end

function _M.pick(list, key)
    return list[(int(key) % #list) + 1]
end

function _M.shuffled(list, key)
    local out = {}
    for i, v in ipairs(list) do
        out[i] = v
    end
    for i = #out, 2, -1 do
        local j = (int(key .. ":" .. i) % i) + 1
        out[i], out[j] = out[j], out[i]
    end
    return out
end

return _M
