/*
 * The TLS client side the sandboxed children share (cbdiscod to the
 * registry, cbrelayd to the relay): TLS 1.3 only, the server's
 * certificate verified against the CA the parent read for the child
 * (PEM bytes; the child cannot open files) and against the configured
 * name, a host name (also sent as SNI) or an IP address.
 */
#ifndef CBP2P_TLSCLIENT_H
#define CBP2P_TLSCLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

/*
 * A client context trusting only the certificates of the PEM bytes.
 * NULL when none of them is a usable certificate.
 */
SSL_CTX	*tls_client_ctx(const char *, size_t);

/*
 * A connection of that context that accepts only a certificate for
 * host ("a.b.c.d", an IPv6 address, or a DNS name).  NULL on failure.
 */
SSL	*tls_client_ssl(SSL_CTX *, const char *);

#endif /* CBP2P_TLSCLIENT_H */
