local T = {}
local c = wm.crypto

function T.password_hash_and_verify(t)
    local h = assert(c.password_hash("s3cret pass"))
    t.match(h, "^%$argon2id%$")
    t.eq(c.password_verify(h, "s3cret pass"), true)
    t.eq(c.password_verify(h, "s3cret pasS"), false)
    t.ne(c.password_hash("s3cret pass"), h, "salted")
    t.eq(c.password_verify("not a hash", "x"), false)
end

function T.password_hash_runs_off_the_loop(t)
    -- While a hash runs on the thread pool, other tasks keep running.
    local ticks = 0
    local ticker = wm.spawn(function()
        for _ = 1, 1000 do
            wm.sleep(0.001)
            ticks = ticks + 1
        end
    end)
    c.password_hash("x")
    t.ok(ticks > 0, "the loop turned while hashing")
    ticker:cancel()
end

function T.hmac_sha256_rfc4231(t)
    t.eq(c.hmac_sha256("Jefe", "what do ya want for nothing?", "hex"),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    t.eq(#c.hmac_sha256("k", "m"), 32)
end

function T.base64(t)
    t.eq(c.b64_encode("hello?>"), "aGVsbG8/Pg==")
    t.eq(c.b64url_encode("hello?>"), "aGVsbG8_Pg")
    t.eq(c.b64_decode("aGVsbG8/Pg=="), "hello?>")
    t.eq(c.b64url_decode("aGVsbG8_Pg"), "hello?>")
    local v, err = c.b64_decode("!!!")
    t.eq(v, nil)
    t.eq(err, "invalid base64")
    local bin = c.random_bytes(100)
    t.eq(c.b64_decode(c.b64_encode(bin)), bin)
end

function T.random_token(t)
    local a, b = c.random_token(), c.random_token()
    t.ne(a, b)
    t.eq(#a, 43, "32 bytes as unpadded base64url")
    t.match(a, "^[%w_%-]+$")
    t.eq(#c.random_token(16), 22)
end

function T.constant_time_equal(t)
    t.eq(c.equal("abc", "abc"), true)
    t.eq(c.equal("abc", "abd"), false)
    t.eq(c.equal("abc", "ab"), false)
    t.eq(c.equal("", ""), true)
end

return T
