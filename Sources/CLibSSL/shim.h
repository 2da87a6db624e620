#ifndef MOLECULE_CLIBSSL_SHIM_H
#define MOLECULE_CLIBSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>

// OpenSSL spells these as macros over SSL_ctrl, which Swift does not import.
static inline long molecule_ssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

static inline long molecule_ssl_ctx_require_tls12(SSL_CTX *ctx) {
    return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

// Servers that close after `Connection: close` without a TLS close_notify are common; the
// HTTP layer checks Content-Length instead, so a truncated reply is still caught.
static inline void molecule_ssl_ctx_allow_unannounced_close(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}
#endif
