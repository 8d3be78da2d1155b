-- wm.crypto's public-key functions (core/pki.c) against keys, certificates
-- and signatures made by the openssl command line in the test, so each side
-- checks the other.
local T = {}
local c = wm.crypto

local function sh(t, dir, script, stdin)
    local r = assert(wm.exec { argv = { "sh", "-c", script }, cwd = dir, stdin = stdin })
    t.eq(r.code, 0, "openssl: " .. r.stderr)
    return r.stdout
end

local function read(path)
    return assert(wm.fs.read_file(path))
end

local function write(path, s)
    assert(wm.fs.write_file(path, s))
end

-- A DER ECDSA-Sig-Value (SEQUENCE of INTEGER r, INTEGER s; P-256's lengths
-- are short) as the raw 64-byte r||s some senders use instead.
local function der_to_raw(der)
    assert(der:byte(1) == 0x30 and der:byte(2) < 0x80, "a short DER sequence")
    local pos = 3
    local function int()
        assert(der:byte(pos) == 0x02, "a DER integer")
        local len = der:byte(pos + 1)
        local v = der:sub(pos + 2, pos + 1 + len):gsub("^%z+", "")
        pos = pos + 2 + len
        return ("\0"):rep(32 - #v) .. v
    end
    local r = int()
    return r .. int()
end

function T.ecdsa_p256_verifies_what_openssl_signed(t)
    local dir = t.tmpdir()
    write(dir .. "/msg", "1700000000{\"event\":\"delivered\"}")
    sh(t, dir, [[openssl ecparam -name prime256v1 -genkey -noout -out key.pem &&
        openssl ec -in key.pem -pubout -out pub.pem 2>/dev/null &&
        openssl ec -in key.pem -pubout -outform DER -out pub.der 2>/dev/null &&
        openssl dgst -sha256 -sign key.pem -out sig.der msg]])
    local msg, sig = read(dir .. "/msg"), read(dir .. "/sig.der")
    local pem, der = read(dir .. "/pub.pem"), read(dir .. "/pub.der")
    -- Every accepted key form: PEM, DER, base64 DER (SendGrid's).
    t.eq(c.ecdsa_p256_verify(pem, msg, sig), true)
    t.eq(c.ecdsa_p256_verify(der, msg, sig), true)
    t.eq(c.ecdsa_p256_verify(c.b64_encode(der), msg, sig), true)
    -- Both signature forms: DER, and the raw r||s.
    local raw = der_to_raw(sig)
    t.eq(#raw, 64)
    t.eq(c.ecdsa_p256_verify(pem, msg, raw), true)
    t.eq(c.ecdsa_p256_verify(pem, msg .. " ", raw), false)
    t.eq(c.ecdsa_p256_verify(pem, msg, raw:sub(1, 63) .. string.char((raw:byte(64) + 1) % 256)), false)
    -- A changed message or a changed signature does not verify.
    t.eq(c.ecdsa_p256_verify(pem, msg .. " ", sig), false)
    local bad = sig:sub(1, -2) .. string.char((sig:byte(-1) + 1) % 256)
    t.eq(c.ecdsa_p256_verify(pem, msg, bad), false)
    t.eq(c.ecdsa_p256_verify(pem, msg, ""), false)
    -- Another key does not verify it.
    sh(t, dir, "openssl ecparam -name prime256v1 -genkey -noout -out k2.pem && openssl ec -in k2.pem -pubout -out p2.pem 2>/dev/null")
    t.eq(c.ecdsa_p256_verify(read(dir .. "/p2.pem"), msg, sig), false)
end

function T.ecdsa_rejects_keys_that_are_not_p256(t)
    local dir = t.tmpdir()
    sh(t, dir, [[openssl ecparam -name secp384r1 -genkey -noout -out k.pem &&
        openssl ec -in k.pem -pubout -out p.pem 2>/dev/null]])
    local ok, err = c.ecdsa_p256_verify(read(dir .. "/p.pem"), "m", "s")
    t.eq(ok, false)
    t.match(err, "not an ECDSA P%-256 key")
    ok, err = c.ecdsa_p256_verify("not a key at all", "m", "s")
    t.eq(ok, false)
    t.match(err, "not a public key")
end

function T.x509_verify_and_info(t)
    local dir = t.tmpdir()
    write(dir .. "/msg", "Message\nhello\nMessageId\n1\nType\nNotification\n")
    sh(t, dir, [[openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 30 \
        -subj "/CN=sns.us-east-1.amazonaws.com" 2>/dev/null &&
        openssl dgst -sha1 -sign key.pem -out sig1 msg && openssl dgst -sha256 -sign key.pem -out sig256 msg]])
    local cert, msg = read(dir .. "/cert.pem"), read(dir .. "/msg")
    t.eq(c.x509_verify(cert, msg, read(dir .. "/sig1"), "sha1"), true)
    t.eq(c.x509_verify(cert, msg, read(dir .. "/sig256"), "sha256"), true)
    -- The hash must match the one signed with; the text must be the same.
    t.eq(c.x509_verify(cert, msg, read(dir .. "/sig1"), "sha256"), false)
    t.eq(c.x509_verify(cert, msg .. "x", read(dir .. "/sig256"), "sha256"), false)
    local ok, err = c.x509_verify("garbage", msg, "s", "sha1")
    t.eq(ok, false)
    t.match(err, "not a PEM certificate")
    ok, err = c.x509_verify(cert, msg, "s", "md5")
    t.eq(ok, false)
    t.match(err, "unknown hash md5")

    local info = assert(c.x509_info(cert))
    t.match(info.subject, "CN=sns%.us%-east%-1%.amazonaws%.com")
    t.eq(info.issuer, info.subject, "self-signed")
    local now = os.time()
    t.ok(info.not_before <= now + 60 and info.not_before > now - 3600, "not_before is now")
    t.ok(math.abs(info.not_after - info.not_before - 30 * 86400) < 3600, "valid 30 days")
    t.eq(c.x509_info("garbage"), nil)
end

function T.rsa_sign_sha256_verifies_with_openssl(t)
    local dir = t.tmpdir()
    sh(t, dir, "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem 2>/dev/null && openssl pkey -in key.pem -pubout -out pub.pem")
    local msg = "from:a@b.example\r\nsubject:hi\r\ndkim-signature:v=1; b="
    local sig = assert(c.rsa_sign_sha256(read(dir .. "/key.pem"), msg))
    t.eq(#sig, 256)
    write(dir .. "/msg", msg)
    write(dir .. "/sig", sig)
    local out = sh(t, dir, "openssl dgst -sha256 -verify pub.pem -signature sig msg")
    t.match(out, "Verified OK")
    -- PKCS#1 v1.5 is deterministic: the same input, the same signature.
    t.eq(c.rsa_sign_sha256(read(dir .. "/key.pem"), msg), sig)
    local none, err = c.rsa_sign_sha256("not a key", msg)
    t.eq(none, nil)
    t.match(err, "not an RSA private key")
end

return T
