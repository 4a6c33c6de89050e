# Independent reference of the WireGuard handshake from the whitepaper,
# using Python hashlib/hmac and pyca/cryptography primitives.
import hashlib, hmac, struct
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization as S
def HASH(*a): return hashlib.blake2s(b''.join(a)).digest()
def HMAC(k,x): return hmac.new(k,x,hashlib.blake2s).digest()
def MAC(k,x): return hashlib.blake2s(x,key=k,digest_size=16).digest()
def KDF(n,k,x):
    t0=HMAC(k,x); out=[]; prev=b''
    for i in range(1,n+1):
        prev=HMAC(t0,prev+bytes([i])); out.append(prev)
    return out
def AEAD(k,c,p,ad): return ChaCha20Poly1305(k).encrypt(b'\0'*4+struct.pack('<Q',c),p,ad)
def priv(b): return X25519PrivateKey.from_private_bytes(b)
def pub(b): return priv(b).public_key().public_bytes(S.Encoding.Raw,S.PublicFormat.Raw)
def DH(a,B): return priv(a).exchange(X25519PublicKey.from_public_bytes(B))
Si=bytes([0x11])*32; Sr=bytes([0x22])*32; Ei=bytes(range(0x40,0x60)); Er=bytes(range(0x80,0xa0))
Q=bytes([0x33])*32
Si_pub=pub(Si); Sr_pub=pub(Sr)
# TAI64N as the protocol has it: label 2**62 + 10 for the Unix epoch
# (the kernel's and wireguard-go's 0x400000000000000a), then nanoseconds.
TAI64_EPOCH=2**62+10
ts=struct.pack('>QI',TAI64_EPOCH+1700000000,0x12000000)
I_idx=0x04030201; R_idx=0x0d0c0b0a
C=HASH(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
H=HASH(C,b"WireGuard v1 zx2c4 Jason@zx2c4.com"); H=HASH(H,Sr_pub)
Ei_pub=pub(Ei)
C=KDF(1,C,Ei_pub)[0]; H=HASH(H,Ei_pub)
C,k=KDF(2,C,DH(Ei,Sr_pub)); st=AEAD(k,0,Si_pub,H); H=HASH(H,st)
C,k=KDF(2,C,DH(Si,Sr_pub)); tsx=AEAD(k,0,ts,H); H=HASH(H,tsx)
m=struct.pack('<II',1,I_idx)+Ei_pub+st+tsx
m+=MAC(HASH(b"mac1----",Sr_pub),m); m+=b'\0'*16
print("m1", m.hex())
Er_pub=pub(Er)
C=KDF(1,C,Er_pub)[0]; H=HASH(H,Er_pub)
C=KDF(1,C,DH(Er,Ei_pub))[0]
C=KDF(1,C,DH(Er,Si_pub))[0]
C,tau,k=KDF(3,C,Q); H=HASH(H,tau)
e=AEAD(k,0,b'',H); H=HASH(H,e)
r=struct.pack('<III',2,R_idx,I_idx)+Er_pub+e
r+=MAC(HASH(b"mac1----",Si_pub),r); r+=b'\0'*16
print("m2", r.hex())
T1,T2=KDF(2,C,b'')
print("isend", T1.hex()); print("irecv", T2.hex())
d=struct.pack('<IIQ',4,R_idx,0)+AEAD(T1,0,b'hello, wireguard'+b'\0'*0,b'')
print("data", d.hex())
