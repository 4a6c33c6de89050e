#! /usr/bin/atf-sh
# Configuration promises checked from the outside: YAML aliases and
# multiple documents refused by cbp2pd -n and cbedged -n with one exact
# line; a node token minted by a tool we did not write (the openssl CLI)
# verified and used.  metrics_address is tested in t_metrics.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# one_line EXPECTED COMMAND...: COMMAND exits 1 and its standard error
# is exactly EXPECTED, one line.
one_line()
{
	want=$1
	shift
	"$@" > out 2> err && atf_fail "$* accepted it"
	[ "$(cat err)" = "$want" ] ||
	    atf_fail "$*: '$(cat err)', expected '$want'"
	[ "$(wc -l < err)" = 1 ] || atf_fail "more than one line"
	[ ! -s out ] || atf_fail "output on stdout"
}

atf_test_case yaml_refused
yaml_refused_head()
{
	atf_set descr "cbp2pd -n and cbedged -n refuse YAML aliases and a second document, with one exact line"
	atf_set require.user root
	atf_set timeout 60
}
yaml_refused_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys a
	cb_claims a server-server 10.99.0.1/24
	cb_token a ES256 keys
	cb_config a ES256 keys
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$CBP2PD" -n -f "$PWD/a.yaml"
	n=$(wc -l < a.yaml)
	P=cbp2pd

	# An alias as a value (its anchor is fine), in the edge mapping too.
	grep -v '^log_level' a.yaml > alias.yaml
	printf 'edge:\n  ca: &c %s/ca.crt\nlog_level: *c\n' "$PWD" \
	    >> alias.yaml
	one_line "$P: $PWD/alias.yaml:$((n + 2)): log_level: must be a scalar, found an alias (not supported)" \
	    "$CBP2PD" -n -f "$PWD/alias.yaml"
	grep -v '^verify_key' a.yaml > alias2.yaml
	printf 'verify_key: *nowhere\n' >> alias2.yaml
	one_line "$P: $PWD/alias2.yaml:$n: verify_key: must be a scalar, found an alias (not supported)" \
	    "$CBP2PD" -n -f "$PWD/alias2.yaml"
	printf 'edge:\n  registry: &r https://203.0.113.1\n  stun: *r\n' \
	    > alias3.yaml
	cat a.yaml >> alias3.yaml
	one_line "$P: $PWD/alias3.yaml:3: edge.stun: must be a scalar, found an alias (not supported)" \
	    "$CBP2PD" -n -f "$PWD/alias3.yaml"
	# An alias as a key, and a merge key.
	{ cat a.yaml; printf '*k: cb0\n'; } > akey.yaml
	one_line "$P: $PWD/akey.yaml:$((n + 1)): keys must be scalars, found an alias (not supported)" \
	    "$CBP2PD" -n -f "$PWD/akey.yaml"
	{ cat a.yaml; printf '<<: *k\n'; } > merge.yaml
	one_line "$P: $PWD/merge.yaml:$((n + 1)): <<: unknown key" \
	    "$CBP2PD" -n -f "$PWD/merge.yaml"
	# A second document, even one that is the same configuration.
	{ cat a.yaml; printf -- '---\n'; cat a.yaml; } > multi.yaml
	one_line "$P: $PWD/multi.yaml:$((n + 1)): more than one YAML document" \
	    "$CBP2PD" -n -f "$PWD/multi.yaml"
	{ printf -- '--- \n'; cat a.yaml; printf -- '...\n--- {}\n'; } \
	    > multi2.yaml
	one_line "$P: $PWD/multi2.yaml:$((n + 3)): more than one YAML document" \
	    "$CBP2PD" -n -f "$PWD/multi2.yaml"
	# One document between explicit markers is one document.
	{ printf -- '---\n'; cat a.yaml; printf -- '...\n'; } > one.yaml
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$CBP2PD" -n -f "$PWD/one.yaml"

	# cbedged: a good configuration, then the same refusals.
	cb_edge_certs
	mkdir -p empty
	chmod 755 empty
	cat > edge.yaml <<YAML
listen: 127.0.0.1:8443
stun_listen: 127.0.0.1:3478
certificate: $PWD/edge.crt
key: $PWD/edge.key
verify_key: $PWD/keys/es256.pub
verify_alg: ES256
issuer: cbp2p-test
user: _cbp2p
chroot: $PWD/empty
YAML
	E=cbedged
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$OBJ/cbedged" -n -f "$PWD/edge.yaml"
	m=$(wc -l < edge.yaml)
	{ cat edge.yaml; printf 'rate: &r 20\nburst: *r\n'; } > ealias.yaml
	one_line "$E: $PWD/ealias.yaml:$((m + 2)): burst: must be a scalar, found an alias (not supported)" \
	    "$OBJ/cbedged" -n -f "$PWD/ealias.yaml"
	{ cat edge.yaml; printf '*r: 20\n'; } > ekey.yaml
	one_line "$E: $PWD/ekey.yaml:$((m + 1)): keys must be scalars, found an alias (not supported)" \
	    "$OBJ/cbedged" -n -f "$PWD/ekey.yaml"
	{ cat edge.yaml; printf -- '---\nttl: 60\n'; } > emulti.yaml
	one_line "$E: $PWD/emulti.yaml:$((m + 1)): more than one YAML document" \
	    "$OBJ/cbedged" -n -f "$PWD/emulti.yaml"
	{ printf -- '---\n'; cat edge.yaml; printf -- '...\n'; } > eone.yaml
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$OBJ/cbedged" -n -f "$PWD/eone.yaml"
}

# b64url: standard input as base64url without padding (RFC 7515 2).
b64url()
{
	basenc --base64url -w 0 | tr -d '='
}

# openssl_token ALG CLAIMS: a JWS made with the openssl CLI alone: the
# header and payload encoded, the signing input signed with `openssl
# dgst`, an ECDSA signature converted from DER to the raw r||s of RFC
# 7518 3.4 (each 32 bytes, big-endian, left-padded).  $DER=1 keeps the
# DER signature (what a careless tool would send).
openssl_token()
{
	alg=$1 claims=$2
	# Another header than cbp2pctl's: members reordered, spaces.
	h=$(printf '{"typ": "JWT", "alg": "%s"}' "$alg" | b64url)
	# The claims as the file has them, newlines and tabs included.
	p=$(b64url < "$claims")
	printf '%s.%s' "$h" "$p" > input
	case $alg in
	RS256)	openssl dgst -sha256 -sign keys/rs256.key -out sig input ;;
	ES256)	openssl dgst -sha256 -sign keys/es256.key -out sig.der input &&
		if [ -n "${DER:-}" ]; then cp sig.der sig; else
			openssl asn1parse -inform DER -in sig.der |
			    sed -n 's/.*prim: INTEGER *://p' > rs
			[ "$(wc -l < rs)" = 2 ] || atf_fail "ECDSA: not r, s"
			while read -r n; do
				printf '%064s' "$n" | tr ' ' 0
			done < rs | xxd -r -p > sig
			[ "$(wc -c < sig)" = 64 ] || atf_fail "r||s length"
		fi ;;
	HS256)	openssl dgst -sha256 -mac HMAC \
		    -macopt "key:$(cat keys/hs256.secret)" -binary \
		    -out sig input ;;
	esac || atf_fail "openssl dgst $alg"
	printf '%s.%s.%s' "$h" "$p" "$(b64url < sig)"
}

atf_test_case foreign_token cleanup
foreign_token_head()
{
	atf_set descr "a token minted with the openssl CLI (RS256, ES256, HS256) is verified and starts a node"
	atf_set require.user root
	atf_set timeout 60
}
foreign_token_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys a
	cb_claims a server-server 10.99.0.1/24
	umask 077
	for alg in RS256 ES256 HS256; do
		openssl_token $alg a.claims > a.jwt
		cb_config a $alg keys
		atf_check -s exit:0 -e match:"configuration OK" \
		    "$CBP2PD" -n -f "$PWD/a.yaml"
	done
	# Where it can go wrong: a DER signature, a signature over other
	# bytes, padding.
	cb_config a ES256 keys
	DER=1 openssl_token ES256 a.claims > a.jwt
	atf_check -s exit:1 -e match:"token: signature: verification" \
	    "$CBP2PD" -n -f "$PWD/a.yaml"
	openssl_token ES256 a.claims > good.jwt
	sed 's/"exp": /"exp": 1/' a.claims > other.claims
	{ cut -d. -f1 good.jwt | tr -d '\n'; printf .
	  b64url < other.claims; printf .
	  cut -d. -f3 good.jwt; } > a.jwt
	atf_check -s exit:1 -e match:"token: signature: verification" \
	    "$CBP2PD" -n -f "$PWD/a.yaml"
	printf '%s==\n' "$(cat good.jwt)" > a.jwt
	atf_check -s exit:1 -e match:"token: malformed" \
	    "$CBP2PD" -n -f "$PWD/a.yaml"

	# The ES256 one starts a node that shows the token's identity.
	cp good.jwt a.jwt
	cb_start a
	cb_ctl a -j status > st.json
	[ "$(jq -r .public_key st.json)" = "$(cat a.pub)" ] ||
	    atf_fail "public key $(jq -r .public_key st.json)"
	[ "$(jq -r .connection_type st.json)" = server-server ] ||
	    atf_fail "connection type"
	ip -n "$(cat a.ns)" -br addr show "cb$$a" | grep -q 10.99.0.1/24 ||
	    atf_fail "the tun has not the token's address"
}
foreign_token_cleanup()
{
	common
	cb_kill a
}

atf_test_case rsa_short
rsa_short_head()
{
	atf_set descr "cbp2pd -n and cbedged -n refuse an RSA verify_key under 2048 bits, naming it"
	atf_set require.user root
	atf_set timeout 60
}
rsa_short_body()
{
	common
	cb_user
	cb_issuer_keys keys
	openssl genrsa -out keys/rs1024.key 1024 2>/dev/null ||
	    atf_fail "openssl genrsa"
	openssl rsa -in keys/rs1024.key -pubout -out keys/rs1024.pub \
	    2>/dev/null || atf_fail "openssl rsa -pubout"
	cb_wgkeys a
	cb_claims a server-server 10.99.0.1/24
	cb_token a RS256 keys
	cb_config a RS256 keys
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$CBP2PD" -n -f "$PWD/a.yaml"
	sed -i "s|^verify_key: .*|verify_key: $PWD/keys/rs1024.pub|" a.yaml
	"$CBP2PD" -n -f "$PWD/a.yaml" 2> err && atf_fail "a 1024-bit key accepted"
	cat err
	grep -q "verify_key: $PWD/keys/rs1024.pub: an RSA key of 1024 bits; RS256 needs at least 2048$" err ||
	    atf_fail "not the line expected"
	[ "$(wc -l < err)" = 1 ] || atf_fail "more than one line"

	cb_edge_certs
	mkdir -p empty
	chmod 755 empty
	cat > edge.yaml <<YAML
listen: 127.0.0.1:8443
stun_listen: 127.0.0.1:3478
certificate: $PWD/edge.crt
key: $PWD/edge.key
verify_key: $PWD/keys/rs1024.pub
verify_alg: RS256
user: _cbp2p
chroot: $PWD/empty
YAML
	atf_check -s exit:1 \
	    -e match:"verify_key: $PWD/keys/rs1024.pub: an RSA key of 1024 bits; RS256 needs at least 2048" \
	    "$OBJ/cbedged" -n -f "$PWD/edge.yaml"
	# The key minted with cbp2pctl: refused too.
	atf_check -s exit:1 -e match:"RSA key of 1024 bits" \
	    "$CBP2PCTL" token -a RS256 -k keys/rs1024.key a.claims
}

atf_init_test_cases()
{
	atf_add_test_case yaml_refused
	atf_add_test_case foreign_token
	atf_add_test_case rsa_short
}
