/*
 * WireGuard keys: X25519 via libsodium, in base64 as wg(8) prints them.
 */
#ifndef CBP2P_WGKEY_H
#define CBP2P_WGKEY_H

#include <stdint.h>

#define WG_KEY_LEN		32
#define WG_KEY_B64_LEN		44	/* base64 of 32 bytes, with padding */

void	 wgkey_generate(uint8_t [WG_KEY_LEN]);	/* clamped private key */
int	 wgkey_public(uint8_t [WG_KEY_LEN], const uint8_t [WG_KEY_LEN]);
/* 1 if a public key is a low-order point: no DH with it is possible. */
int	 wgkey_low_order(const uint8_t [WG_KEY_LEN]);
/*
 * Exactly 44 characters of standard base64 with padding that decode to
 * 32 bytes; the key is untouched on failure.
 */
int	 wgkey_from_b64(uint8_t [WG_KEY_LEN], const char *);
void	 wgkey_to_b64(char [WG_KEY_B64_LEN + 1], const uint8_t [WG_KEY_LEN]);

#endif /* CBP2P_WGKEY_H */
