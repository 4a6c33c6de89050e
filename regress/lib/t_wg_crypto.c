/*
 * WireGuard primitives: BLAKE2s HASH/HMAC/MAC and the KDF against values
 * computed independently (Python hashlib and hmac), the AEAD nonce layout
 * against Python cryptography, X25519 against RFC 7748, TAI64N layout.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atf-c.h>
#include <sodium.h>

#include "wg.h"
#include "wg_test.h"

#define CONSTRUCTION	"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define IDENTIFIER	"WireGuard v1 zx2c4 Jason@zx2c4.com"

ATF_TC_WITHOUT_HEAD(hash_check_value);
ATF_TC_BODY(hash_check_value, tc)
{
	struct wg_crypto	*c;
	uint8_t			 ck[WG_HASH_LEN], h[WG_HASH_LEN];

	ATF_REQUIRE((c = wg_crypto_new()) != NULL);
	ATF_REQUIRE_EQ(wg_hash(c, ck, CONSTRUCTION, strlen(CONSTRUCTION),
	    NULL, 0), WG_OK);
	/* The initial chaining key, from NOTES.md. */
	check_hex(ck, sizeof(ck),
	    "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	ATF_REQUIRE_EQ(wg_hash(c, h, ck, sizeof(ck), IDENTIFIER,
	    strlen(IDENTIFIER)), WG_OK);
	/* The initial hash, BLAKE2s(ck || identifier). */
	check_hex(h, sizeof(h),
	    "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
	wg_crypto_free(c);
}

ATF_TC_WITHOUT_HEAD(hmac_kdf);
ATF_TC_BODY(hmac_kdf, tc)
{
	struct wg_crypto	*c;
	uint8_t			 ck[WG_HASH_LEN], in[32], out[WG_HASH_LEN];
	uint8_t			 t1[WG_HASH_LEN], t2[WG_HASH_LEN];
	uint8_t			 t3[WG_HASH_LEN], u1[WG_HASH_LEN];
	uint8_t			 u2[WG_HASH_LEN];
	size_t			 i;

	ATF_REQUIRE((c = wg_crypto_new()) != NULL);
	ATF_REQUIRE_EQ(wg_hash(c, ck, CONSTRUCTION, strlen(CONSTRUCTION),
	    NULL, 0), WG_OK);
	ATF_REQUIRE_EQ(wg_hmac(c, out, ck, sizeof(ck), "abc", 3), WG_OK);
	check_hex(out, sizeof(out),
	    "413251c89ee6a157c0d51df8f2b06a2d6b3451d52d9a870a7b40d4da4c2b27dc");

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	ATF_REQUIRE_EQ(wg_kdf(c, t1, t2, t3, ck, in, sizeof(in)), WG_OK);
	check_hex(t1, sizeof(t1),
	    "c84b602256edf8cb02f4c85e186dd022766e0d04f81da9b3b1237333ec7f852f");
	check_hex(t2, sizeof(t2),
	    "d58cc632deb7a04c4447024b071b3eea96d09729a96c48117240bf28b54d5a0f");
	check_hex(t3, sizeof(t3),
	    "563457f9624f515acd75040684241962ad46d9a892427dbf306c38d81560a610");
	ATF_CHECK(memcmp(t1, t2, sizeof(t1)) != 0);
	ATF_CHECK(memcmp(t2, t3, sizeof(t2)) != 0);

	/* Deterministic, and KDF2 is a prefix of KDF3. */
	ATF_REQUIRE_EQ(wg_kdf(c, u1, u2, NULL, ck, in, sizeof(in)), WG_OK);
	ATF_CHECK(memcmp(u1, t1, sizeof(u1)) == 0);
	ATF_CHECK(memcmp(u2, t2, sizeof(u2)) == 0);

	/* The output may alias the key (ck = KDF1(ck, x)). */
	memcpy(u1, ck, sizeof(u1));
	ATF_REQUIRE_EQ(wg_kdf(c, u1, NULL, NULL, u1, in, sizeof(in)), WG_OK);
	ATF_CHECK(memcmp(u1, t1, sizeof(u1)) == 0);

	/* A different input changes everything. */
	in[0] ^= 1;
	ATF_REQUIRE_EQ(wg_kdf(c, u1, u2, NULL, ck, in, sizeof(in)), WG_OK);
	ATF_CHECK(memcmp(u1, t1, sizeof(u1)) != 0);
	ATF_CHECK(memcmp(u2, t2, sizeof(u2)) != 0);
	wg_crypto_free(c);
}

ATF_TC_WITHOUT_HEAD(mac);
ATF_TC_BODY(mac, tc)
{
	struct wg_crypto	*c;
	uint8_t			 ck[WG_HASH_LEN], out[WG_MAC_LEN], k16[16];
	size_t			 i;

	ATF_REQUIRE((c = wg_crypto_new()) != NULL);
	ATF_REQUIRE_EQ(wg_hash(c, ck, CONSTRUCTION, strlen(CONSTRUCTION),
	    NULL, 0), WG_OK);
	ATF_REQUIRE_EQ(wg_mac(c, out, ck, sizeof(ck), "hello mac", 9), WG_OK);
	check_hex(out, sizeof(out), "c2d8b13126253a77c544653f2b16ef95");
	/* A 16-byte key, as mac2 uses the cookie. */
	for (i = 0; i < sizeof(k16); i++)
		k16[i] = (uint8_t)i;
	ATF_REQUIRE_EQ(wg_mac(c, out, k16, sizeof(k16), "hello mac", 9),
	    WG_OK);
	check_hex(out, sizeof(out), "4ad77e80b78086a2010ae8e62c4c2b2d");
	wg_crypto_free(c);
}

ATF_TC_WITHOUT_HEAD(aead);
ATF_TC_BODY(aead, tc)
{
	uint8_t	 key[WG_KEY_LEN], buf[11 + WG_TAG_LEN], nonce[WG_XNONCE_LEN];

	memset(key, 0x42, sizeof(key));
	/* Reference from Python cryptography, counter 0x0102030405060708. */
	wg_aead_encrypt(buf, (const uint8_t *)"hello world", 11,
	    (const uint8_t *)"ad", 2, UINT64_C(0x0102030405060708), key);
	check_hex(buf, sizeof(buf),
	    "84975019199011ad8288e11d175a1753ffe6dc7b627ebc4155ea1d");
	/* In place decryption, then tampering and a wrong counter fail. */
	ATF_CHECK_EQ(wg_aead_decrypt(buf, buf, sizeof(buf),
	    (const uint8_t *)"ad", 2, UINT64_C(0x0102030405060708), key),
	    WG_OK);
	ATF_CHECK(memcmp(buf, "hello world", 11) == 0);
	wg_aead_encrypt(buf, buf, 11, NULL, 0, 7, key);
	ATF_CHECK_EQ(wg_aead_decrypt(buf, buf, sizeof(buf), NULL, 0, 8, key),
	    WG_EDECRYPT);
	buf[0] ^= 1;
	ATF_CHECK_EQ(wg_aead_decrypt(buf, buf, sizeof(buf), NULL, 0, 7, key),
	    WG_EDECRYPT);

	memset(nonce, 7, sizeof(nonce));
	wg_xaead_encrypt(buf, (const uint8_t *)"hello world", 11,
	    (const uint8_t *)"ad", 2, nonce, key);
	ATF_CHECK_EQ(wg_xaead_decrypt(buf, buf, sizeof(buf),
	    (const uint8_t *)"ad", 2, nonce, key), WG_OK);
	ATF_CHECK(memcmp(buf, "hello world", 11) == 0);
	wg_xaead_encrypt(buf, buf, 11, (const uint8_t *)"ad", 2, nonce, key);
	ATF_CHECK_EQ(wg_xaead_decrypt(buf, buf, sizeof(buf),
	    (const uint8_t *)"xx", 2, nonce, key), WG_EDECRYPT);
}

ATF_TC_WITHOUT_HEAD(x25519);
ATF_TC_BODY(x25519, tc)
{
	uint8_t	 a[WG_KEY_LEN], bpub[WG_KEY_LEN], out[WG_KEY_LEN];
	uint8_t	 zero[WG_KEY_LEN];

	/* RFC 7748 section 6.1. */
	unhex(a, sizeof(a),
	    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(bpub, sizeof(bpub),
	    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	ATF_REQUIRE_EQ(wg_dh(out, a, bpub), WG_OK);
	check_hex(out, sizeof(out),
	    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	ATF_REQUIRE_EQ(wg_pubkey(out, a), WG_OK);
	check_hex(out, sizeof(out),
	    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	/* A low-order point gives zeros: refused. */
	memset(zero, 0, sizeof(zero));
	ATF_CHECK_EQ(wg_dh(out, a, zero), WG_EDH);
}

ATF_TC_WITHOUT_HEAD(tai64n);
ATF_TC_BODY(tai64n, tc)
{
	struct timespec	 ts;
	uint8_t		 t[WG_TIMESTAMP_LEN], u[WG_TIMESTAMP_LEN];

	/*
	 * Expected bytes written by hand from the protocol, not from the
	 * code: TAI64 labels 1970-01-01 00:00:00 TAI as 2^62, and UTC was
	 * 10 s behind TAI then, so WireGuard (the kernel, wireguard-go:
	 * 0x400000000000000a) stamps the Unix epoch 2^62 + 10, big-endian,
	 * then the nanoseconds as a big-endian 32-bit number.
	 */
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	wg_tai64n(t, &ts);
	check_hex(t, sizeof(t), "40000000000000" "0a" "00000000");
	/* 2020-07-04T04:05:20Z is 0x5f000000 s: 2^62 + 10 + 0x5f000000. */
	ts.tv_sec = 0x5f000000;
	ts.tv_nsec = 0x12345678;
	wg_tai64n(t, &ts);
	check_hex(t, sizeof(t), "400000005f00000a" "12345678");
	/* Later times compare greater bytewise. */
	ts.tv_nsec++;
	wg_tai64n(u, &ts);
	ATF_CHECK(memcmp(u, t, sizeof(t)) > 0);
	ts.tv_sec++;
	ts.tv_nsec = 0;
	wg_tai64n(t, &ts);
	ATF_CHECK(memcmp(t, u, sizeof(t)) > 0);
}

/*
 * The data AEAD (OpenSSL's ChaCha20-Poly1305 once a wg_crypto exists)
 * against libsodium's, an implementation of its own: each opens what
 * the other seals, in place or not, with and without associated data,
 * at every length around the block and message sizes; a flipped bit
 * anywhere is refused, and the message comes back as it was.
 */
ATF_TC_WITHOUT_HEAD(aead_against_libsodium);
ATF_TC_BODY(aead_against_libsodium, tc)
{
	static const size_t	 lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 255,
				    1420, 1436, 2000 };
	uint8_t			 key[WG_KEY_LEN], ad[13], nonce[12];
	uint8_t			 pt[2048], ct[2048 + WG_TAG_LEN];
	uint8_t			 out[2048 + WG_TAG_LEN], in[2048 + WG_TAG_LEN];
	struct wg_crypto	*c;
	uint64_t		 ctr = UINT64_C(0x0102030405060708);
	size_t			 i, j, len, adl;

	ATF_REQUIRE((c = wg_crypto_new()) != NULL);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(pt, sizeof(pt));
	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(ctr >> (8 * i));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (adl = 0; adl <= sizeof(ad); adl += sizeof(ad)) {
			len = lens[i];
			/* Ours seals, libsodium opens. */
			wg_aead_encrypt(ct, pt, len, ad, adl, ctr, key);
			ATF_CHECK_MSG(crypto_aead_chacha20poly1305_ietf_decrypt(
			    out, NULL, NULL, ct, len + WG_TAG_LEN, ad, adl,
			    nonce, key) == 0 && memcmp(out, pt, len) == 0,
			    "len %zu ad %zu: libsodium refused ours", len, adl);
			/* libsodium seals, ours opens, in place. */
			crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt,
			    len, ad, adl, NULL, nonce, key);
			memcpy(out, ct, len + WG_TAG_LEN);
			ATF_CHECK_EQ(wg_aead_decrypt(out, out, len + WG_TAG_LEN,
			    ad, adl, ctr, key), WG_OK);
			ATF_CHECK(memcmp(out, pt, len) == 0);
			/* Out of place: the message is only read. */
			memcpy(in, ct, len + WG_TAG_LEN);
			ATF_CHECK_EQ(wg_aead_decrypt(out, in, len + WG_TAG_LEN,
			    ad, adl, ctr, key), WG_OK);
			ATF_CHECK(memcmp(out, pt, len) == 0);
			ATF_CHECK(memcmp(in, ct, len + WG_TAG_LEN) == 0);
			/* A flipped bit, in the text or the tag: refused. */
			for (j = 0; j < len + WG_TAG_LEN; j += 7) {
				memcpy(out, ct, len + WG_TAG_LEN);
				out[j] ^= 0x01;
				ATF_CHECK_EQ(wg_aead_decrypt(out, out,
				    len + WG_TAG_LEN, ad, adl, ctr, key),
				    WG_EDECRYPT);
				/* Checked before decrypting: left as it came. */
				out[j] ^= 0x01;
				ATF_CHECK(memcmp(out, ct, len + WG_TAG_LEN) ==
				    0);
			}
			/* The wrong counter: refused. */
			memcpy(out, ct, len + WG_TAG_LEN);
			ATF_CHECK_EQ(wg_aead_decrypt(out, out, len + WG_TAG_LEN,
			    ad, adl, ctr + 1, key), WG_EDECRYPT);
		}
	}
	wg_crypto_free(c);
}

/*
 * wg_chacha.c's keystream against libsodium's ChaCha20 (RFC 8439, the
 * same 32 zero bits and 64-bit counter as nonce) at every length up to
 * 200 bytes past block 0 and then every 37th up to 3100, taken whole,
 * as block 0 and the rest (as the AEAD takes it), and in uneven pieces
 * that cross every pass boundary; src NULL gives the keystream itself.
 */
ATF_TC_WITHOUT_HEAD(chacha_against_libsodium);
ATF_TC_BODY(chacha_against_libsodium, tc)
{
	static const uint64_t	 ctrs[] = { 0, 1, UINT64_C(0x0123456789abcdef),
				    UINT64_MAX };
	static uint8_t		 src[3200], want[3200], got[3200];
	static const uint8_t	 zero[3200];
	uint8_t			 key[WG_KEY_LEN], nonce[12];
	struct wg_chacha	 c;
	size_t			 len, off, step, n, i, k;

	if (!wg_chacha_simd())
		atf_tc_skip("no AVX-512 here: the AEAD uses OpenSSL's");
	ATF_REQUIRE(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(src, sizeof(src));
	for (k = 0; k < sizeof(ctrs) / sizeof(ctrs[0]); k++) {
		memset(nonce, 0, 4);
		for (i = 0; i < 8; i++)
			nonce[4 + i] = (uint8_t)(ctrs[k] >> (8 * i));
		for (len = 0; len < 3100; len += len < 200 ? 1 : 37) {
			crypto_stream_chacha20_ietf_xor_ic(want, src,
			    WG_CHACHA_BLOCK + len, nonce, 0, key);
			wg_chacha_init(&c, key, ctrs[k]);
			wg_chacha_xor(&c, got, src, WG_CHACHA_BLOCK,
			    WG_CHACHA_BLOCK + len);
			wg_chacha_xor(&c, got + WG_CHACHA_BLOCK,
			    src + WG_CHACHA_BLOCK, len, len);
			ATF_CHECK_MSG(memcmp(got, want, WG_CHACHA_BLOCK +
			    len) == 0, "ctr %zu len %zu", k, len);
			wg_chacha_init(&c, key, ctrs[k]);
			for (off = 0, step = len % 7 + 1; off < len;
			    off += n, step = step * 3 % 101 + 1) {
				n = step < len - off ? step : len - off;
				wg_chacha_xor(&c, got + off, src + off, n,
				    len - off);
			}
			ATF_CHECK_MSG(memcmp(got, want, len) == 0,
			    "ctr %zu len %zu in pieces", k, len);
		}
		crypto_stream_chacha20_ietf_xor_ic(want, zero, sizeof(zero),
		    nonce, 0, key);
		wg_chacha_init(&c, key, ctrs[k]);
		wg_chacha_xor(&c, got, NULL, sizeof(got), sizeof(got));
		ATF_CHECK(memcmp(got, want, sizeof(got)) == 0);
		wg_chacha_done(&c);
	}
}

/*
 * Two messages sealed and opened as a pair give what each gives alone
 * (libsodium's), at lengths on both sides of where pairing starts and
 * ends, with different keys and counters; a flipped bit in one refuses
 * that one only and leaves it as it came.
 */
ATF_TC_WITHOUT_HEAD(aead_pairs);
ATF_TC_BODY(aead_pairs, tc)
{
	static const size_t	 lens[] = { 100, 959, 960, 961, 1200, 1424,
				    1440, 1471, 1472, 1473, 2000 };
	static uint8_t		 pt[2][2048], want[2][2048 + WG_TAG_LEN];
	static uint8_t		 buf[2][2048 + WG_TAG_LEN];
	uint8_t			 key[2][WG_KEY_LEN], nonce[12];
	struct wg_aead_job	 j[2];
	struct wg_crypto	*c;
	size_t			 a, b, k, i, n = sizeof(lens) / sizeof(lens[0]);

	ATF_REQUIRE((c = wg_crypto_new()) != NULL);
	ATF_CHECK(wg_aead_pairable(1424) == wg_chacha_simd());
	ATF_CHECK(!wg_aead_pairable(100) && !wg_aead_pairable(2000));
	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, sizeof(pt));
	for (a = 0; a < n; a++)
		for (b = 0; b < n; b++) {
			for (k = 0; k < 2; k++) {
				j[k].len = k == 0 ? lens[a] : lens[b];
				j[k].ctr = 1000 * a + 7 * b + k;
				j[k].key = key[k];
				j[k].buf = buf[k];
				memcpy(buf[k], pt[k], j[k].len);
				memset(nonce, 0, 4);
				for (i = 0; i < 8; i++)
					nonce[4 + i] = (uint8_t)(j[k].ctr >>
					    (8 * i));
				crypto_aead_chacha20poly1305_ietf_encrypt(
				    want[k], NULL, pt[k], j[k].len, NULL, 0,
				    NULL, nonce, key[k]);
			}
			wg_aead_seal_pair(&j[0], &j[1]);
			for (k = 0; k < 2; k++)
				ATF_CHECK_MSG(memcmp(buf[k], want[k],
				    j[k].len + WG_TAG_LEN) == 0,
				    "seal %zu/%zu: message %zu", a, b, k);
			/* Open: the second with a flipped bit. */
			for (k = 0; k < 2; k++) {
				j[k].len += WG_TAG_LEN;
				j[k].rc = -1;
			}
			buf[1][j[1].len / 2] ^= 0x04;
			wg_aead_open_pair(&j[0], &j[1]);
			ATF_CHECK_EQ(j[0].rc, WG_OK);
			ATF_CHECK(memcmp(buf[0], pt[0], lens[a]) == 0);
			ATF_CHECK_EQ(j[1].rc, WG_EDECRYPT);
			buf[1][j[1].len / 2] ^= 0x04;
			ATF_CHECK(memcmp(buf[1], want[1], j[1].len) == 0);
			j[1].rc = -1;
			j[0].rc = -1;
			memcpy(buf[0], want[0], j[0].len);
			wg_aead_open_pair(&j[0], &j[1]);
			ATF_CHECK(j[0].rc == WG_OK && j[1].rc == WG_OK);
			ATF_CHECK(memcmp(buf[1], pt[1], lens[b]) == 0);
		}
	wg_crypto_free(c);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, aead_pairs);
	ATF_TP_ADD_TC(tp, chacha_against_libsodium);
	ATF_TP_ADD_TC(tp, aead_against_libsodium);
	ATF_TP_ADD_TC(tp, hash_check_value);
	ATF_TP_ADD_TC(tp, hmac_kdf);
	ATF_TP_ADD_TC(tp, mac);
	ATF_TP_ADD_TC(tp, aead);
	ATF_TP_ADD_TC(tp, x25519);
	ATF_TP_ADD_TC(tp, tai64n);
	return (atf_no_error());
}
