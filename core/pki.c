/* pki.c unit: see pki.h. OpenSSL 3's EVP interfaces only; every error path
 * drains OpenSSL's error queue into err so nothing leaks into the next call. */
#define _DEFAULT_SOURCE /* timegm */
#include "pki.h"
#include "wm.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int fail(char err[WM_PKI_ERR_MAX], const char *what)
{
    unsigned long e = ERR_get_error();
    if (e) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(err, WM_PKI_ERR_MAX, "%s (%s)", what, buf);
    } else {
        snprintf(err, WM_PKI_ERR_MAX, "%s", what);
    }
    ERR_clear_error();
    return -1;
}

static int is_pem(const void *buf, size_t len)
{
    return len > 10 && memcmp(buf, "-----BEGIN", 10) == 0;
}

/* PEM, DER, or base64 of DER (whitespace ignored). */
static EVP_PKEY *load_public_key(const void *key, size_t len)
{
    EVP_PKEY *pk = NULL;
    if (is_pem(key, len)) {
        BIO *bio = BIO_new_mem_buf(key, (int)len);
        if (bio) {
            pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
            BIO_free(bio);
        }
        return pk;
    }
    const unsigned char *p = key;
    pk = d2i_PUBKEY(NULL, &p, (long)len);
    if (pk)
        return pk;
    ERR_clear_error();
    unsigned char *der = wm_malloc(len);
    size_t derlen = 0;
    if (sodium_base642bin(der, len, key, len, " \t\r\n", &derlen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0) {
        p = der;
        pk = d2i_PUBKEY(NULL, &p, (long)derlen);
    }
    wm_free(der);
    return pk;
}

/* The raw r||s form (64 bytes) as the DER ECDSA-Sig-Value EVP expects. */
static unsigned char *raw_sig_to_der(const unsigned char *raw, int *derlen)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *ss = BN_bin2bn(raw + 32, 32, NULL);
    unsigned char *der = NULL;
    *derlen = 0;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
        r = ss = NULL; /* owned by s now */
        *derlen = i2d_ECDSA_SIG(s, &der);
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return *derlen > 0 ? der : NULL;
}

static int verify_with(EVP_PKEY *pk, const EVP_MD *md, const void *msg, size_t msglen,
                       const void *sig, size_t siglen, char err[WM_PKI_ERR_MAX])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return fail(err, "out of memory");
    int rc = -1;
    if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) != 1) {
        fail(err, "cannot use this key to verify");
    } else {
        int v = EVP_DigestVerify(ctx, sig, siglen, msg, msglen);
        rc = v == 1 ? 1 : 0;
        ERR_clear_error(); /* a bad signature is an answer, not an error */
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

int wm_pki_ecdsa_p256_verify(const void *key, size_t keylen, const void *msg, size_t msglen,
                             const void *sig, size_t siglen, char err[WM_PKI_ERR_MAX])
{
    EVP_PKEY *pk = load_public_key(key, keylen);
    if (!pk)
        return fail(err, "not a public key (expected PEM, DER or base64 DER)");
    char group[32] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC
        || !EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &glen)
        || strcmp(group, "prime256v1") != 0) {
        EVP_PKEY_free(pk);
        return fail(err, "not an ECDSA P-256 key");
    }
    unsigned char *der = NULL;
    int derlen = 0;
    if (siglen == 64) {
        der = raw_sig_to_der(sig, &derlen);
        if (!der) {
            EVP_PKEY_free(pk);
            return fail(err, "out of memory");
        }
        sig = der;
        siglen = (size_t)derlen;
    }
    int rc = verify_with(pk, EVP_sha256(), msg, msglen, sig, siglen, err);
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    return rc;
}

static X509 *load_cert(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return NULL;
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return x;
}

int wm_pki_x509_verify(const char *cert_pem, size_t certlen, const void *msg, size_t msglen,
                       const void *sig, size_t siglen, const char *hash,
                       char err[WM_PKI_ERR_MAX])
{
    const EVP_MD *md = strcmp(hash, "sha1") == 0     ? EVP_sha1()
                       : strcmp(hash, "sha256") == 0 ? EVP_sha256()
                                                     : NULL;
    if (!md) {
        snprintf(err, WM_PKI_ERR_MAX, "unknown hash %s (sha1 or sha256)", hash);
        return -1;
    }
    X509 *x = load_cert(cert_pem, certlen);
    if (!x)
        return fail(err, "not a PEM certificate");
    EVP_PKEY *pk = X509_get_pubkey(x);
    int rc = pk ? verify_with(pk, md, msg, msglen, sig, siglen, err)
                : fail(err, "the certificate has no usable public key");
    EVP_PKEY_free(pk);
    X509_free(x);
    return rc;
}

static int64_t asn1_to_unix(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

int wm_pki_x509_info(const char *cert_pem, size_t certlen, wm_pki_cert_info_t *out,
                     char err[WM_PKI_ERR_MAX])
{
    X509 *x = load_cert(cert_pem, certlen);
    if (!x)
        return fail(err, "not a PEM certificate");
    X509_NAME_oneline(X509_get_subject_name(x), out->subject, sizeof(out->subject));
    X509_NAME_oneline(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
    out->not_before = asn1_to_unix(X509_get0_notBefore(x));
    out->not_after = asn1_to_unix(X509_get0_notAfter(x));
    X509_free(x);
    return 0;
}

unsigned char *wm_pki_rsa_sign_sha256(const char *key_pem, size_t keylen, const void *msg,
                                      size_t msglen, size_t *siglen, char err[WM_PKI_ERR_MAX])
{
    BIO *bio = BIO_new_mem_buf(key_pem, (int)keylen);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pk);
        fail(err, "not an RSA private key in PEM");
        return NULL;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t len = 0;
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1
        && EVP_DigestSign(ctx, NULL, &len, msg, msglen) == 1) {
        sig = wm_malloc(len);
        if (EVP_DigestSign(ctx, sig, &len, msg, msglen) != 1) {
            wm_free(sig);
            sig = NULL;
        }
    }
    if (!sig)
        fail(err, "signing failed");
    *siglen = len;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return sig;
}
