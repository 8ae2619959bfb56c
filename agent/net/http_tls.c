/*
 * TLS settings through libcurl's options. Certificates and keys are
 * passed as in-memory PEM blobs, which libcurl 7.77 and later accept with
 * the OpenSSL backend that Debian's libcurl4 uses. CA fingerprint pinning
 * needs a certificate verification callback on OpenSSL's SSL_CTX, so it
 * is done with OpenSSL, the library libcurl itself links.
 */
#include "agent/net/http_tls.h"
#include "lf/error.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <stdint.h>
#include <string.h>

static CURLcode set_blob(CURL *easy, CURLoption option, const char *pem)
{
    struct curl_blob blob = {
        .data = (void *)(uintptr_t)pem,
        .len = strlen(pem),
        .flags = CURL_BLOB_COPY,
    };

    return curl_easy_setopt(easy, option, &blob);
}

/* Returns the CA certificate of the peer's chain whose digest is pinned. */
static X509 *find_pinned_ca(X509_STORE_CTX *store_ctx,
                            const struct lf_http_tls *tls)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(store_ctx);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len;

    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        X509 *cert = sk_X509_value(chain, i);

        if (X509_digest(cert, EVP_sha256(), digest, &len) == 1 &&
            len == LF_TLS_SHA256_LEN &&
            memcmp(digest, tls->ca_sha256, LF_TLS_SHA256_LEN) == 0 &&
            X509_check_ca(cert) != 0) {
            return cert;
        }
    }
    return NULL;
}

/*
 * SSL_CTX_set_cert_verify_callback(): when the server's chain contains
 * the pinned CA, the chain is verified with that CA as its only trust
 * anchor. Otherwise the configured or system CAs verify it, as without a
 * pin. libcurl checks the host name afterwards in both cases.
 */
static int verify_chain(X509_STORE_CTX *store_ctx, void *arg)
{
    const struct lf_http_tls *tls = arg;
    X509 *pinned = find_pinned_ca(store_ctx, tls);
    STACK_OF(X509) * anchors;
    int rc;

    if (pinned == NULL) {
        return X509_verify_cert(store_ctx);
    }
    anchors = sk_X509_new_null();
    if (anchors == NULL || sk_X509_push(anchors, pinned) == 0) {
        sk_X509_free(anchors);
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
    /* The store context does not take ownership of the stack. */
    X509_STORE_CTX_set0_trusted_stack(store_ctx, anchors);
    rc = X509_verify_cert(store_ctx);
    sk_X509_free(anchors);
    return rc;
}

/* CURLOPT_SSL_CTX_FUNCTION: runs once per new connection. */
static CURLcode on_ssl_ctx(CURL *easy, void *ssl_ctx, void *arg)
{
    (void)easy;
    SSL_CTX_set_cert_verify_callback(ssl_ctx, verify_chain, arg);
    return CURLE_OK;
}

static bool curl_uses_openssl(void)
{
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);

    return info->ssl_version != NULL &&
           strncmp(info->ssl_version, "OpenSSL/", 8) == 0;
}

static CURLcode set_verification(CURL *easy, const struct lf_http_tls *tls)
{
    long peer = tls->verify == LF_TLS_VERIFY_NONE ? 0L : 1L;
    long host = tls->verify == LF_TLS_VERIFY_FULL ? 2L : 0L;
    CURLcode rc;

    rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, peer);
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, host);
    }
    if (rc == CURLE_OK && tls->pin_ca) {
        if (!curl_uses_openssl()) {
            return CURLE_NOT_BUILT_IN;
        }
        rc = curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA,
                                  (void *)(uintptr_t)tls);
        }
    }
    return rc;
}

CURLcode lf_http_tls_apply(CURL *easy, const struct lf_http_tls *tls)
{
    CURLcode rc = set_verification(easy, tls);

    if (rc == CURLE_OK && tls->ca_pem != NULL) {
        /* The configured CAs replace the system bundle and folder. */
        rc = curl_easy_setopt(easy, CURLOPT_CAINFO, NULL);
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
        }
        if (rc == CURLE_OK) {
            rc = set_blob(easy, CURLOPT_CAINFO_BLOB, tls->ca_pem);
        }
    }
    if (rc == CURLE_OK && tls->cert_pem != NULL) {
        rc = curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        if (rc == CURLE_OK) {
            rc = set_blob(easy, CURLOPT_SSLCERT_BLOB, tls->cert_pem);
        }
    }
    if (rc == CURLE_OK && tls->key_pem != NULL) {
        rc = curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
        if (rc == CURLE_OK) {
            rc = set_blob(easy, CURLOPT_SSLKEY_BLOB, tls->key_pem);
        }
    }
    return rc;
}

/* A PEM password callback that supplies none, so OpenSSL never prompts. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return 0;
}

int lf_http_tls_check_client_key(const char *cert_pem, const char *key_pem)
{
    BIO *cert_bio = BIO_new_mem_buf(cert_pem, -1);
    BIO *key_bio = BIO_new_mem_buf(key_pem, -1);
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    int rc = LF_EPARSE;

    if (cert_bio == NULL || key_bio == NULL) {
        rc = LF_ENOMEM;
        goto fail;
    }
    cert = PEM_read_bio_X509(cert_bio, NULL, no_passphrase, NULL);
    key = PEM_read_bio_PrivateKey(key_bio, NULL, no_passphrase, NULL);
    if (cert == NULL || key == NULL) {
        goto fail;
    }
    rc = X509_check_private_key(cert, key) == 1 ? 0 : LF_EINVAL;

fail:
    /* Failed reads leave errors on this thread's OpenSSL error queue. */
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(cert);
    BIO_free(key_bio);
    BIO_free(cert_bio);
    return rc;
}
