/*
 * WireGuard primitives: libsodium for X25519 and XChaCha20-Poly1305,
 * OpenSSL 3 for BLAKE2s (HASH, HMAC and the keyed MAC), since libsodium
 * has no BLAKE2s.  ChaCha20-Poly1305 (RFC 8439) is put together here:
 * ChaCha20 from wg_chacha.c where the CPU has AVX-512 (Poly1305's key
 * and the message in shared passes, 24 blocks a 1424-byte message where
 * OpenSSL computes 33), else OpenSSL's, and OpenSSL's Poly1305, whose
 * AVX-512 code is the fastest here, both called through the provider's
 * own dispatch table.  Per 1424-byte message, CPU time on one core:
 * EVP's layers cost 145 ns of Poly1305's 212 and 40 of ChaCha20's
 * 131-ns start; libsodium's Poly1305 takes 360; a seal and an open of
 * 1420 bytes here take 1330 ns together (1480 with Poly1305's input in
 * three updates, see poly_tag()), and OpenSSL's whole AEAD through EVP
 * takes 1133 for a seal alone.  The unit tests
 * check it against libsodium's both ways, and libsodium's AEAD stands
 * in when OpenSSL offers neither.
 * The OpenSSL objects are fetched once and their contexts reused, so
 * neither a handshake nor a packet fetches or allocates.
 */
#include <sys/endian.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <sodium.h>

#include "wg.h"

#define WG_BLAKE2S_NAME		"BLAKE2S-256"
#define WG_BLAKE2SMAC_NAME	"BLAKE2SMAC"
#define WG_HMAC_NAME		"HMAC"
#define WG_BLAKE2S_KEY_MAX	32	/* BLAKE2s keyed mode */
#define WG_KDF_MAX		3
#define WG_CHACHA_NAME		"ChaCha20"
#define WG_POLY_NAME		"POLY1305"
#define WG_CHACHA_IV_LEN	16	/* block counter (LE32), then nonce */
#define WG_POLY_KEY_LEN		32	/* of block 0, the one-time key */
#define WG_POLY_PAD		16
#define WG_NAMES_SEP		':'	/* in an OSSL_ALGORITHM's names */

/*
 * The provider functions of ChaCha20 and Poly1305, looked up once by the
 * first wg_crypto_new() (before any sandbox, as fetching may read
 * OpenSSL's configuration) in the providers EVP fetched them from, and
 * their contexts, one pair per thread (crypto workers seal and open at
 * once), made by wg_crypto_new() or wg_aead_thread_init() and reused for
 * every message; the key and nonce are set per message.  A thread
 * without them, or a process whose OpenSSL has no such algorithms, uses
 * libsodium.
 */
struct aead_fns {
	void				*cprov, *mprov;
	OSSL_FUNC_cipher_newctx_fn	*c_new;
	OSSL_FUNC_cipher_freectx_fn	*c_free;
	OSSL_FUNC_cipher_encrypt_init_fn *c_init;
	OSSL_FUNC_cipher_update_fn	*c_update;
	OSSL_FUNC_mac_newctx_fn		*m_new;
	OSSL_FUNC_mac_freectx_fn	*m_free;
	OSSL_FUNC_mac_init_fn		*m_init;
	OSSL_FUNC_mac_update_fn		*m_update;
	OSSL_FUNC_mac_final_fn		*m_final;
};
static EVP_CIPHER		*aead_cipher;
static EVP_MAC			*aead_mac;
static struct aead_fns		 fns;
static int			 fns_ready;
static int			 aead_simd;	/* ChaCha20 of wg_chacha.c */
static __thread void		*chacha_ctx, *poly_ctx;

int
wg_aead_thread_init(void)
{
	if (chacha_ctx != NULL)
		return (0);
	if (!fns_ready)
		return (-1);
	if ((chacha_ctx = fns.c_new(fns.cprov)) == NULL ||
	    (poly_ctx = fns.m_new(fns.mprov)) == NULL) {
		wg_aead_thread_free();
		return (-1);
	}
	return (0);
}

void
wg_aead_thread_free(void)
{
	if (chacha_ctx != NULL)
		fns.c_free(chacha_ctx);
	if (poly_ctx != NULL)
		fns.m_free(poly_ctx);
	chacha_ctx = poly_ctx = NULL;
}

/* Whether name is one of an algorithm's colon-separated names. */
static int
names_have(const char *names, const char *name)
{
	size_t		 len = strlen(name);
	const char	*p;

	for (p = names; p != NULL; p = strchr(p, WG_NAMES_SEP)) {
		if (*p == WG_NAMES_SEP)
			p++;
		if (strncasecmp(p, name, len) == 0 &&
		    (p[len] == '\0' || p[len] == WG_NAMES_SEP))
			return (1);
	}
	return (0);
}

/* The dispatch table of name among prov's algorithms of operation op. */
static const OSSL_DISPATCH *
dispatch_find(const OSSL_PROVIDER *prov, int op, const char *name)
{
	const OSSL_ALGORITHM	*a;
	int			 nocache;

	if (prov == NULL ||
	    (a = OSSL_PROVIDER_query_operation(prov, op, &nocache)) == NULL)
		return (NULL);
	for (; a->algorithm_names != NULL; a++)
		if (names_have(a->algorithm_names, name))
			return (a->implementation);
	return (NULL);
}

static void
aead_init(void)
{
	const OSSL_PROVIDER	*cp, *mp;
	const OSSL_DISPATCH	*d;

	if (fns_ready)
		return;
	if (aead_cipher == NULL &&
	    (aead_cipher = EVP_CIPHER_fetch(NULL, WG_CHACHA_NAME, NULL)) ==
	    NULL)
		return;
	if (aead_mac == NULL &&
	    (aead_mac = EVP_MAC_fetch(NULL, WG_POLY_NAME, NULL)) == NULL)
		return;
	cp = EVP_CIPHER_get0_provider(aead_cipher);
	mp = EVP_MAC_get0_provider(aead_mac);
	memset(&fns, 0, sizeof(fns));
	for (d = dispatch_find(cp, OSSL_OP_CIPHER, WG_CHACHA_NAME);
	    d != NULL && d->function_id != 0; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CIPHER_NEWCTX:
			fns.c_new = OSSL_FUNC_cipher_newctx(d);
			break;
		case OSSL_FUNC_CIPHER_FREECTX:
			fns.c_free = OSSL_FUNC_cipher_freectx(d);
			break;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
			fns.c_init = OSSL_FUNC_cipher_encrypt_init(d);
			break;
		case OSSL_FUNC_CIPHER_UPDATE:
			fns.c_update = OSSL_FUNC_cipher_update(d);
			break;
		}
	}
	for (d = dispatch_find(mp, OSSL_OP_MAC, WG_POLY_NAME);
	    d != NULL && d->function_id != 0; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_MAC_NEWCTX:
			fns.m_new = OSSL_FUNC_mac_newctx(d);
			break;
		case OSSL_FUNC_MAC_FREECTX:
			fns.m_free = OSSL_FUNC_mac_freectx(d);
			break;
		case OSSL_FUNC_MAC_INIT:
			fns.m_init = OSSL_FUNC_mac_init(d);
			break;
		case OSSL_FUNC_MAC_UPDATE:
			fns.m_update = OSSL_FUNC_mac_update(d);
			break;
		case OSSL_FUNC_MAC_FINAL:
			fns.m_final = OSSL_FUNC_mac_final(d);
			break;
		}
	}
	fns.cprov = OSSL_PROVIDER_get0_provider_ctx(cp);
	fns.mprov = OSSL_PROVIDER_get0_provider_ctx(mp);
	if (fns.c_new == NULL || fns.c_free == NULL || fns.c_init == NULL ||
	    fns.c_update == NULL || fns.m_new == NULL || fns.m_free == NULL ||
	    fns.m_init == NULL || fns.m_update == NULL || fns.m_final == NULL)
		return;
	fns_ready = 1;
	aead_simd = wg_chacha_simd();
	(void)wg_aead_thread_init();
}

struct wg_crypto {
	EVP_MD		*md;
	EVP_MD_CTX	*mdctx;
	EVP_MAC		*hmac;
	EVP_MAC_CTX	*hmacctx;
	EVP_MAC		*b2mac;
	EVP_MAC_CTX	*b2ctx;
};

struct wg_crypto *
wg_crypto_new(void)
{
	struct wg_crypto	*c;
	OSSL_PARAM		 params[2];

	if (sodium_init() < 0)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	aead_init();
	if ((c->md = EVP_MD_fetch(NULL, WG_BLAKE2S_NAME, NULL)) == NULL ||
	    (c->mdctx = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if ((c->hmac = EVP_MAC_fetch(NULL, WG_HMAC_NAME, NULL)) == NULL ||
	    (c->hmacctx = EVP_MAC_CTX_new(c->hmac)) == NULL)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)WG_BLAKE2S_NAME, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(c->hmacctx, params))
		goto fail;
	if ((c->b2mac = EVP_MAC_fetch(NULL, WG_BLAKE2SMAC_NAME, NULL)) == NULL ||
	    (c->b2ctx = EVP_MAC_CTX_new(c->b2mac)) == NULL)
		goto fail;
	return (c);

 fail:
	wg_crypto_free(c);
	return (NULL);
}

void
wg_crypto_free(struct wg_crypto *c)
{
	if (c == NULL)
		return;
	EVP_MAC_CTX_free(c->b2ctx);
	EVP_MAC_free(c->b2mac);
	EVP_MAC_CTX_free(c->hmacctx);
	EVP_MAC_free(c->hmac);
	EVP_MD_CTX_free(c->mdctx);
	EVP_MD_free(c->md);
	free(c);
}

int
wg_hash(struct wg_crypto *c, uint8_t out[WG_HASH_LEN], const void *a,
    size_t alen, const void *b, size_t blen)
{
	unsigned int	 outlen = 0;

	if (!EVP_DigestInit_ex(c->mdctx, c->md, NULL) ||
	    !EVP_DigestUpdate(c->mdctx, a, alen) ||
	    (b != NULL && !EVP_DigestUpdate(c->mdctx, b, blen)) ||
	    !EVP_DigestFinal_ex(c->mdctx, out, &outlen) ||
	    outlen != WG_HASH_LEN)
		return (WG_ECRYPTO);
	return (WG_OK);
}

int
wg_hmac(struct wg_crypto *c, uint8_t out[WG_HASH_LEN], const uint8_t *key,
    size_t keylen, const void *in, size_t inlen)
{
	size_t	 outlen = 0;

	if (!EVP_MAC_init(c->hmacctx, key, keylen, NULL) ||
	    !EVP_MAC_update(c->hmacctx, in, inlen) ||
	    !EVP_MAC_final(c->hmacctx, out, &outlen, WG_HASH_LEN) ||
	    outlen != WG_HASH_LEN)
		return (WG_ECRYPTO);
	return (WG_OK);
}

int
wg_mac(struct wg_crypto *c, uint8_t out[WG_MAC_LEN], const uint8_t *key,
    size_t keylen, const void *in, size_t inlen)
{
	OSSL_PARAM	 params[2];
	size_t		 size = WG_MAC_LEN, outlen = 0;

	if (keylen == 0 || keylen > WG_BLAKE2S_KEY_MAX)
		return (WG_EINVAL);
	/* Stack parameters: the size must be set before the key. */
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(c->b2ctx, key, keylen, params) ||
	    !EVP_MAC_update(c->b2ctx, in, inlen) ||
	    !EVP_MAC_final(c->b2ctx, out, &outlen, WG_MAC_LEN) ||
	    outlen != WG_MAC_LEN)
		return (WG_ECRYPTO);
	return (WG_OK);
}

int
wg_kdf(struct wg_crypto *c, uint8_t *t1, uint8_t *t2, uint8_t *t3,
    const uint8_t key[WG_HASH_LEN], const void *in, size_t inlen)
{
	uint8_t	 t0[WG_HASH_LEN], t[WG_KDF_MAX][WG_HASH_LEN];
	uint8_t	 buf[WG_HASH_LEN + 1];
	uint8_t	*outs[WG_KDF_MAX] = { t1, t2, t3 };
	int	 i, rc = WG_ECRYPTO;

	/* Extract. */
	if (wg_hmac(c, t0, key, WG_HASH_LEN, in, inlen) != WG_OK)
		goto fail;
	/* Expand: t1 = HMAC(t0, 0x1), t_i = HMAC(t0, t_{i-1} || i). */
	for (i = 0; i < WG_KDF_MAX && outs[i] != NULL; i++) {
		if (i == 0) {
			buf[0] = 1;
			if (wg_hmac(c, t[0], t0, sizeof(t0), buf, 1) != WG_OK)
				goto fail;
		} else {
			memcpy(buf, t[i - 1], WG_HASH_LEN);
			buf[WG_HASH_LEN] = (uint8_t)(i + 1);
			if (wg_hmac(c, t[i], t0, sizeof(t0), buf,
			    sizeof(buf)) != WG_OK)
				goto fail;
		}
	}
	/* Copy out last: an output may alias the input key. */
	for (i = 0; i < WG_KDF_MAX && outs[i] != NULL; i++)
		memcpy(outs[i], t[i], WG_HASH_LEN);
	rc = WG_OK;
 fail:
	sodium_memzero(t0, sizeof(t0));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(buf, sizeof(buf));
	return (rc);
}

int
wg_dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
    const uint8_t pub[WG_KEY_LEN])
{
	/* libsodium refuses an all-zero result; check again regardless. */
	if (crypto_scalarmult(out, priv, pub) != 0 ||
	    sodium_is_zero(out, WG_KEY_LEN)) {
		sodium_memzero(out, WG_KEY_LEN);
		return (WG_EDH);
	}
	return (WG_OK);
}

int
wg_pubkey(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	if (crypto_scalarmult_base(pub, priv) != 0)
		return (WG_EDH);
	return (WG_OK);
}

void
wg_keygen(uint8_t priv[WG_KEY_LEN], uint8_t pub[WG_KEY_LEN],
    wg_random_fn *rnd, void *rndarg)
{
	if (rnd != NULL)
		rnd(rndarg, priv, WG_KEY_LEN);
	else
		randombytes_buf(priv, WG_KEY_LEN);
	/* Curve25519 clamping, as wg genkey does. */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	crypto_scalarmult_base(pub, priv);
}

static void
wg_nonce(uint8_t nonce[WG_AEAD_NONCE_LEN], uint64_t counter)
{
	int	 i;

	/* 32 zero bits, then the counter little-endian. */
	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/*
 * The ChaCha20 stream for counter at block 0, whose first bytes are
 * Poly1305's one-time key; the stream then goes on at block 1, where
 * the message's own keystream starts.  -1 if OpenSSL failed.
 */
static int
chacha_start(uint64_t counter, const uint8_t key[WG_KEY_LEN],
    uint8_t block0[WG_CHACHA_BLOCK])
{
	static const uint8_t	 zero[WG_CHACHA_BLOCK];
	uint8_t			 iv[WG_CHACHA_IV_LEN];
	size_t			 outl;

	/* Block counter 0, then the nonce: 32 zero bits, le64(counter). */
	memset(iv, 0, sizeof(iv));
	le64enc(iv + WG_CHACHA_IV_LEN - sizeof(counter), counter);
	if (chacha_ctx == NULL ||
	    !fns.c_init(chacha_ctx, key, WG_KEY_LEN, iv, sizeof(iv), NULL) ||
	    !fns.c_update(chacha_ctx, block0, &outl, WG_CHACHA_BLOCK, zero,
	    sizeof(zero)))
		return (-1);
	return (0);
}

static int
chacha_xor(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t	 outl;

	return (len == 0 || fns.c_update(chacha_ctx, dst, &outl, len, src,
	    len) ? 0 : -1);
}

/* The tag's input through libsodium, when OpenSSL's Poly1305 failed. */
static void
poly_tag_sodium(uint8_t tag[WG_TAG_LEN], const uint8_t *polykey,
    const uint8_t *ad, size_t adlen, const uint8_t *c, size_t clen,
    const uint8_t *lens)
{
	static const uint8_t			 pad[WG_POLY_PAD];
	crypto_onetimeauth_poly1305_state	 st;

	crypto_onetimeauth_poly1305_init(&st, polykey);
	crypto_onetimeauth_poly1305_update(&st, ad, adlen);
	crypto_onetimeauth_poly1305_update(&st, pad,
	    (WG_POLY_PAD - adlen % WG_POLY_PAD) % WG_POLY_PAD);
	crypto_onetimeauth_poly1305_update(&st, c, clen);
	crypto_onetimeauth_poly1305_update(&st, pad,
	    (WG_POLY_PAD - clen % WG_POLY_PAD) % WG_POLY_PAD);
	crypto_onetimeauth_poly1305_update(&st, lens, 2 * sizeof(uint64_t));
	crypto_onetimeauth_poly1305_final(&st, tag);
	sodium_memzero(&st, sizeof(st));
}

/*
 * RFC 8439's tag: over ad, padded, the ciphertext, padded, both lengths.
 * How OpenSSL's Poly1305 is fed matters.  WireGuard's messages have no
 * ad and take two updates: the text's blocks but the last, then a copy
 * of the last with its pad and the lengths.  With three (text, pad,
 * lengths), a pair of 1420-byte messages took 647 ns a message to seal
 * against 546, and a refused open 674 against 517: a short update
 * after the vector code's long one is dear.  A handshake's fields,
 * with ad, take the long way.
 */
static void
poly_tag(uint8_t tag[WG_TAG_LEN], const uint8_t *polykey,
    const uint8_t *ad, size_t adlen, const uint8_t *c, size_t clen)
{
	static const uint8_t	 pad[WG_POLY_PAD];
	uint8_t			 lens[2 * sizeof(uint64_t)];
	uint8_t			 last[WG_POLY_PAD + sizeof(lens)];
	size_t			 outl, adpad, cpad, lead, tail;
	int			 ok;

	le64enc(lens, adlen);
	le64enc(lens + sizeof(uint64_t), clen);
	adpad = (WG_POLY_PAD - adlen % WG_POLY_PAD) % WG_POLY_PAD;
	cpad = (WG_POLY_PAD - clen % WG_POLY_PAD) % WG_POLY_PAD;
	ok = poly_ctx != NULL &&
	    fns.m_init(poly_ctx, polykey, WG_POLY_KEY_LEN, NULL);
	if (ok && adlen == 0) {
		/* The last block of text, whole or part, with its pad. */
		tail = clen == 0 ? 0 : WG_POLY_PAD;
		lead = clen + cpad - tail;
		memset(last, 0, sizeof(last));
		if (clen > 0)
			memcpy(last, c + lead, clen - lead);
		memcpy(last + tail, lens, sizeof(lens));
		ok = (lead == 0 || fns.m_update(poly_ctx, c, lead)) &&
		    fns.m_update(poly_ctx, last, tail + sizeof(lens));
	} else if (ok)
		ok = fns.m_update(poly_ctx, ad, adlen) &&
		    (adpad == 0 || fns.m_update(poly_ctx, pad, adpad)) &&
		    (clen == 0 || fns.m_update(poly_ctx, c, clen)) &&
		    (cpad == 0 || fns.m_update(poly_ctx, pad, cpad)) &&
		    fns.m_update(poly_ctx, lens, sizeof(lens));
	ok = ok && fns.m_final(poly_ctx, tag, &outl, WG_TAG_LEN) &&
	    outl == WG_TAG_LEN;
	if (!ok)
		poly_tag_sodium(tag, polykey, ad, adlen, c, clen, lens);
}

/* The seal with stream cs, fresh (block 0 next) or filled by a pair. */
static void
aead_seal(struct wg_chacha *cs, uint8_t *dst, const uint8_t *src,
    size_t len, const uint8_t *ad, size_t adlen)
{
	uint8_t	 block0[WG_CHACHA_BLOCK];

	wg_chacha_xor(cs, block0, NULL, sizeof(block0), sizeof(block0) + len);
	wg_chacha_xor(cs, dst, src, len, len);
	poly_tag(dst + len, block0, ad, adlen, dst, len);
	sodium_memzero(block0, sizeof(block0));
}

/* The open likewise, clen the ciphertext without its tag. */
static int
aead_open(struct wg_chacha *cs, uint8_t *dst, const uint8_t *src,
    size_t clen, const uint8_t *ad, size_t adlen)
{
	uint8_t	 block0[WG_CHACHA_BLOCK], tag[WG_TAG_LEN];
	int	 rc = WG_EDECRYPT;

	wg_chacha_xor(cs, block0, NULL, sizeof(block0), sizeof(block0) +
	    clen);
	/* The tag first: nothing is decrypted that is not genuine. */
	poly_tag(tag, block0, ad, adlen, src, clen);
	if (CRYPTO_memcmp(tag, src + clen, WG_TAG_LEN) == 0) {
		wg_chacha_xor(cs, dst, src, clen, clen);
		rc = WG_OK;
	}
	sodium_memzero(block0, sizeof(block0));
	return (rc);
}

void
wg_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
    const uint8_t *ad, size_t adlen, uint64_t counter,
    const uint8_t key[WG_KEY_LEN])
{
	struct wg_chacha cs;
	uint8_t	 nonce[WG_AEAD_NONCE_LEN], block0[WG_CHACHA_BLOCK];

	if (aead_simd) {
		wg_chacha_init(&cs, key, counter);
		aead_seal(&cs, dst, src, len, ad, adlen);
		wg_chacha_done(&cs);
		return;
	}
	if (chacha_start(counter, key, block0) == 0 &&
	    chacha_xor(dst, src, len) == 0) {
		poly_tag(dst + len, block0, ad, adlen, dst, len);
		sodium_memzero(block0, sizeof(block0));
		return;
	}
	sodium_memzero(block0, sizeof(block0));
	/* Only before any byte was written: OpenSSL fails at its start. */
	wg_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len,
	    NULL, src, len, ad, adlen, NULL, nonce, key);
}

/* len is the ciphertext length including the tag. */
int
wg_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
    const uint8_t *ad, size_t adlen, uint64_t counter,
    const uint8_t key[WG_KEY_LEN])
{
	struct wg_chacha cs;
	uint8_t	 nonce[WG_AEAD_NONCE_LEN], block0[WG_CHACHA_BLOCK];
	uint8_t	 tag[WG_TAG_LEN];
	size_t	 clen;
	int	 rc = WG_EDECRYPT;

	if (len < WG_TAG_LEN)
		return (WG_EDECRYPT);
	clen = len - WG_TAG_LEN;
	if (aead_simd) {
		wg_chacha_init(&cs, key, counter);
		rc = aead_open(&cs, dst, src, clen, ad, adlen);
		wg_chacha_done(&cs);
		return (rc);
	}
	if (chacha_start(counter, key, block0) == 0) {
		/* The tag first: nothing is decrypted that is not genuine. */
		poly_tag(tag, block0, ad, adlen, src, clen);
		if (CRYPTO_memcmp(tag, src + clen, WG_TAG_LEN) == 0 &&
		    chacha_xor(dst, src, clen) == 0)
			rc = WG_OK;
		sodium_memzero(block0, sizeof(block0));
		return (rc);
	}
	wg_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL,
	    src, clen, src + clen, ad, adlen, nonce, key) != 0)
		return (WG_EDECRYPT);
	return (WG_OK);
}

/*
 * Whether two messages whose text is a and b bytes share ChaCha20
 * passes with gain: each needs more than one pass of 16 blocks with
 * block 0, and no more than a pair fills.
 */
static int
aead_pairs(size_t a, size_t b)
{
	return (aead_simd &&
	    a + WG_CHACHA_BLOCK > WG_CHACHA_PASS_MAX &&
	    a + WG_CHACHA_BLOCK <= WG_CHACHA_PAIR_MAX &&
	    b + WG_CHACHA_BLOCK > WG_CHACHA_PASS_MAX &&
	    b + WG_CHACHA_BLOCK <= WG_CHACHA_PAIR_MAX);
}

int
wg_aead_pairable(size_t len)
{
	return (aead_pairs(len, len));
}

void
wg_aead_seal_pair(struct wg_aead_job *j0, struct wg_aead_job *j1)
{
	struct wg_chacha	 c0, c1;

	if (!aead_pairs(j0->len, j1->len)) {
		wg_aead_encrypt(j0->buf, j0->buf, j0->len, NULL, 0, j0->ctr,
		    j0->key);
		wg_aead_encrypt(j1->buf, j1->buf, j1->len, NULL, 0, j1->ctr,
		    j1->key);
		return;
	}
	wg_chacha_init(&c0, j0->key, j0->ctr);
	wg_chacha_init(&c1, j1->key, j1->ctr);
	(void)wg_chacha_pair(&c0, &c1);
	aead_seal(&c0, j0->buf, j0->buf, j0->len, NULL, 0);
	aead_seal(&c1, j1->buf, j1->buf, j1->len, NULL, 0);
	wg_chacha_done(&c0);
	wg_chacha_done(&c1);
}

void
wg_aead_open_pair(struct wg_aead_job *j0, struct wg_aead_job *j1)
{
	struct wg_chacha	 c0, c1;

	if (j0->len < WG_TAG_LEN || j1->len < WG_TAG_LEN ||
	    !aead_pairs(j0->len - WG_TAG_LEN, j1->len - WG_TAG_LEN)) {
		j0->rc = wg_aead_decrypt(j0->buf, j0->buf, j0->len, NULL, 0,
		    j0->ctr, j0->key);
		j1->rc = wg_aead_decrypt(j1->buf, j1->buf, j1->len, NULL, 0,
		    j1->ctr, j1->key);
		return;
	}
	wg_chacha_init(&c0, j0->key, j0->ctr);
	wg_chacha_init(&c1, j1->key, j1->ctr);
	(void)wg_chacha_pair(&c0, &c1);
	j0->rc = aead_open(&c0, j0->buf, j0->buf, j0->len - WG_TAG_LEN,
	    NULL, 0);
	j1->rc = aead_open(&c1, j1->buf, j1->buf, j1->len - WG_TAG_LEN,
	    NULL, 0);
	wg_chacha_done(&c0);
	wg_chacha_done(&c1);
}

void
wg_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
    const uint8_t *ad, size_t adlen, const uint8_t nonce[WG_XNONCE_LEN],
    const uint8_t key[WG_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len,
	    NULL, src, len, ad, adlen, NULL, nonce, key);
}

int
wg_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
    const uint8_t *ad, size_t adlen, const uint8_t nonce[WG_XNONCE_LEN],
    const uint8_t key[WG_KEY_LEN])
{
	if (len < WG_TAG_LEN)
		return (WG_EDECRYPT);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL,
	    src, len - WG_TAG_LEN, src + len - WG_TAG_LEN, ad, adlen, nonce,
	    key) != 0)
		return (WG_EDECRYPT);
	return (WG_OK);
}

/*
 * The TAI64 label of 1970-01-01 00:00:00 UTC as WireGuard writes it: 2^62
 * plus the 10 s TAI was ahead of UTC then (the kernel's and
 * wireguard-go's 0x400000000000000a).  A peer compares the timestamps of
 * one key's initiations whoever sent them, so a base that differs from
 * theirs makes a key moved to us from them look 10 s in the past.
 */
#define WG_TAI64_BASE	UINT64_C(0x400000000000000a)

void
wg_tai64n(uint8_t out[WG_TIMESTAMP_LEN], const struct timespec *ts)
{
	be64enc(out, WG_TAI64_BASE + (uint64_t)ts->tv_sec);
	be32enc(out + 8, (uint32_t)ts->tv_nsec);
}
