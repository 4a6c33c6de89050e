/*
 * WireGuard X25519 keys, and wg(8)'s base64 of them.
 */

#include <sys/types.h>

#include <string.h>

#include <sodium.h>

#include "wgkey.h"

#define LOW_ORDER_PROBE		0x5a	/* any scalar will do, clamped */

static void
wgkey_clamp(uint8_t k[WG_KEY_LEN])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

void
wgkey_generate(uint8_t priv[WG_KEY_LEN])
{
	randombytes_buf(priv, WG_KEY_LEN);
	wgkey_clamp(priv);
}

/*
 * X25519 of the base point.  The scalar is clamped on a copy so that a
 * key given unclamped (as wg(8) accepts) still yields the public key
 * every WireGuard implementation derives from it.
 */
int
wgkey_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	uint8_t	 k[WG_KEY_LEN];
	int	 rc;

	memcpy(k, priv, sizeof(k));
	wgkey_clamp(k);
	rc = crypto_scalarmult_base(pub, k);
	sodium_memzero(k, sizeof(k));
	return (rc == 0 ? 0 : -1);
}

/*
 * X25519 of a low-order point is zero for every clamped scalar (a
 * multiple of the cofactor), and never zero for any other point: one
 * fixed scalar tells, with no private key at hand.
 */
int
wgkey_low_order(const uint8_t pub[WG_KEY_LEN])
{
	uint8_t	 k[WG_KEY_LEN], out[WG_KEY_LEN];
	int	 rc;

	memset(k, LOW_ORDER_PROBE, sizeof(k));
	wgkey_clamp(k);
	rc = crypto_scalarmult(out, k, pub);
	sodium_memzero(out, sizeof(out));
	return (rc != 0);
}

/*
 * Exactly 44 characters of standard base64 with padding that decode to
 * 32 bytes; anything else (URL-safe alphabet, whitespace, missing
 * padding, 31 or 33 bytes) is refused.  key is untouched on failure.
 */
int
wgkey_from_b64(uint8_t key[WG_KEY_LEN], const char *b64)
{
	uint8_t		 buf[WG_KEY_LEN + 1];
	size_t		 len, binlen;
	const char	*end;

	if (b64 == NULL)
		return (-1);
	len = strnlen(b64, WG_KEY_B64_LEN + 1);
	if (len != WG_KEY_B64_LEN)
		return (-1);
	if (sodium_base642bin(buf, sizeof(buf), b64, len, NULL, &binlen,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + len || binlen != WG_KEY_LEN) {
		sodium_memzero(buf, sizeof(buf));
		return (-1);
	}
	memcpy(key, buf, WG_KEY_LEN);
	sodium_memzero(buf, sizeof(buf));
	return (0);
}

void
wgkey_to_b64(char b64[WG_KEY_B64_LEN + 1], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(b64, WG_KEY_B64_LEN + 1, key, WG_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}
