/* pki.h unit holds the public-key operations libsodium cannot do, on
 * OpenSSL's libcrypto: ECDSA P-256 verification (SendGrid's signed event
 * webhook), X.509 certificates (Amazon SNS signs with the key of a
 * certificate it publishes) and RSA-SHA256 signing (DKIM). Every function
 * is synchronous and cheap (one signature), so it runs on the loop. */
#ifndef WM_PKI_H
#define WM_PKI_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#define WM_PKI_ERR_MAX 160

/* Verifies an ECDSA P-256 / SHA-256 signature of msg. `key` is a public key
 * as PEM text, DER SubjectPublicKeyInfo, or that DER in base64 (SendGrid's
 * form); `sig` is DER (what SendGrid sends, once base64-decoded) or the raw
 * 64-byte r||s. 1 valid, 0 invalid, -1 unusable key (err says why). */
int wm_pki_ecdsa_p256_verify(const void *key, size_t keylen, const void *msg, size_t msglen,
                             const void *sig, size_t siglen, char err[WM_PKI_ERR_MAX]);

/* Verifies sig over msg with the public key of a PEM certificate, hashing
 * with "sha1" or "sha256" (PKCS#1 v1.5 for RSA keys). 1 / 0 / -1 as above. */
int wm_pki_x509_verify(const char *cert_pem, size_t certlen, const void *msg, size_t msglen,
                       const void *sig, size_t siglen, const char *hash,
                       char err[WM_PKI_ERR_MAX]);

typedef struct {
    char subject[256];
    char issuer[256];
    int64_t not_before; /* unix seconds */
    int64_t not_after;
} wm_pki_cert_info_t;

/* Reads subject, issuer and validity of a PEM certificate. 0 or -1. */
int wm_pki_x509_info(const char *cert_pem, size_t certlen, wm_pki_cert_info_t *out,
                     char err[WM_PKI_ERR_MAX]);

/* RSA PKCS#1 v1.5 / SHA-256 signature of msg with a PEM private key.
 * Returns a wm_malloc'd buffer (length in *siglen) or NULL with err. */
unsigned char *wm_pki_rsa_sign_sha256(const char *key_pem, size_t keylen, const void *msg,
                                      size_t msglen, size_t *siglen, char err[WM_PKI_ERR_MAX]);

/* wm.crypto.ecdsa_p256_verify, x509_verify, x509_info, rsa_sign_sha256 into
 * the table on top. */
void wm_pki_lua_register(lua_State *L);

#endif
