/*
 * TLS client contexts and connections for the children that talk to
 * the edge (tlsclient.h).
 */

#include <sys/types.h>

#include <limits.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "tlsclient.h"

SSL_CTX *
tls_client_ctx(const char *ca, size_t calen)
{
	SSL_CTX		*ctx;
	X509_STORE	*store;
	X509		*x;
	BIO		*bio;
	int		 n = 0;

	if (ca == NULL || calen == 0 || calen > INT_MAX)
		return (NULL);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	store = SSL_CTX_get_cert_store(ctx);
	if ((bio = BIO_new_mem_buf(ca, (int)calen)) == NULL)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) == 1)
			n++;
		X509_free(x);
	}
	/* The loop ends on the error "no more PEM". */
	ERR_clear_error();
	BIO_free(bio);
	if (n == 0)
		goto fail;
	return (ctx);
fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

SSL *
tls_client_ssl(SSL_CTX *ctx, const char *host)
{
	struct ipaddr	 ip;
	SSL		*ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return (NULL);
	/* The certificate must name the server as configured. */
	if (ipaddr_parse(host, &ip) == 0) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    host) != 1)
			goto fail;
	} else {
		if (SSL_set_tlsext_host_name(ssl, host) != 1 ||
		    X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host,
		    0) != 1)
			goto fail;
	}
	return (ssl);
fail:
	SSL_free(ssl);
	return (NULL);
}
