-- wm.json edge cases.
local T = {}
local json = wm.json

function T.nested_roundtrip(t)
    local v = { a = { b = { c = { 1, 2, { d = "e" } } } }, list = { "x", "y" } }
    local s = assert(json.encode(v))
    t.eq(json.decode(s), v)
end

function T.empty_array_vs_object(t)
    t.eq(json.encode({}), "{}")
    t.eq(json.encode(json.array({})), "[]")
    t.eq(json.encode(json.decode("[]")), "[]")
    t.eq(json.encode(json.decode("{}")), "{}")
    local nested = json.decode('{"a":[],"b":{}}')
    t.eq(json.encode(nested.a), "[]", "a nested empty array stays an array")
    t.eq(json.encode(nested.b), "{}", "a nested empty object stays an object")
end

function T.null_roundtrip(t)
    local v = json.decode('{"a":null,"b":[null,1]}')
    t.eq(v.a, wm.null)
    t.eq(v.b[1], wm.null)
    t.eq(json.encode({ a = wm.null }), '{"a":null}')
    t.eq(json.encode(json.decode("[null,null]")), "[null,null]")
end

function T.unicode(t)
    t.eq(json.decode('"\\u00e9\\u4e2d\\ud83d\\ude00"'), "é中😀")
    t.eq(json.decode(json.encode("é中😀 \u{202e}rtl")), "é中😀 \u{202e}rtl")
    t.eq(json.encode("a\0b"), '"a\\u0000b"')
    t.eq(json.encode("\t\n\r\"\\"), '"\\t\\n\\r\\"\\\\"')
end

function T.integers_stay_integers(t)
    t.eq(json.encode(9007199254740992), "9007199254740992")
    t.eq(json.encode(-9007199254740992), "-9007199254740992")
    t.eq(json.encode(42), "42")
    t.eq(json.encode(1e15), "1000000000000000")
    t.eq(json.decode("9007199254740993") == 9007199254740992, true, "beyond 2^53 rounds to a double")
    t.eq(json.encode(0.1), "0.1")
    t.eq(json.encode(-0.0), "0")
    t.eq(json.encode(1.5e300), "1.5e+300")
end

function T.huge_numbers(t)
    local v = json.decode("1e400")
    t.eq(v, math.huge)
    local s, err = json.encode(math.huge)
    t.eq(s, nil)
    t.match(err, "infinity")
    s, err = json.encode(0 / 0)
    t.eq(s, nil)
    t.match(err, "NaN")
end

function T.malformed_input_is_nil_err(t)
    for _, bad in ipairs({ "", "{", "[1,]", "{'a':1}", "tru", '{"a":1}}', "[1 2]", '"\\q"', "\255" }) do
        local v, err = json.decode(bad)
        t.eq(v, nil, "decode(" .. bad .. ")")
        t.match(err, "malformed JSON", "decode(" .. bad .. ")")
    end
end

function T.deep_nesting_is_refused_not_crashing(t)
    local deep = string.rep("[", 5000) .. string.rep("]", 5000)
    local v, err = json.decode(deep)
    t.eq(v, nil)
    t.match(err, "malformed JSON")
    local cyc = {}
    cyc.self = cyc
    local s, eerr = json.encode(cyc)
    t.eq(s, nil)
    t.match(eerr, "nested deeper")
end

function T.unencodable_values(t)
    local s, err = json.encode({ f = print })
    t.eq(s, nil)
    t.match(err, "function")
    s, err = json.encode({ [true] = 1 })
    t.eq(s, nil)
    t.match(err, "key")
end

function T.sparse_tables_become_objects(t)
    local v = json.decode(json.encode({ [1] = "a", [3] = "c" }))
    t.eq(v["1"], "a")
    t.eq(v["3"], "c")
end

function T.sanitize_mends_what_json_cannot_hold(t)
    local bad = "ok \255\254 caf\195\169 \237\160\128 end\0!"
    local s = assert(wm.json.encode({ [bad] = bad, n = 0 / 0, f = print, list = { 1, math.huge } },
                                    { sanitize = true }))
    local v = assert(wm.json.decode(s))
    local fixed = "ok \239\191\189\239\191\189 caf\195\169 \239\191\189\239\191\189\239\191\189 end!"
    t.eq(v[fixed], fixed, "invalid bytes become U+FFFD, NUL is dropped, valid UTF-8 kept")
    t.eq(v.n, wm.null)
    t.eq(v.f, wm.null)
    t.eq(v.list[2], wm.null)
    t.eq(wm.text.utf8_clean(bad), fixed)
    t.eq(wm.text.utf8_clean("plain"), "plain")
    -- Without the option the same value is refused, not mangled.
    t.eq(wm.json.encode({ n = 0 / 0 }), nil)
end

function T.pretty(t)
    local s = json.encode({ a = { 1, 2 } }, { pretty = true })
    t.eq(s, '{\n  "a": [\n    1,\n    2\n  ]\n}')
end

return T
