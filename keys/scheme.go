package keys

// Description says in a few words what a scheme is, for help text and tables.
func (s Scheme) Description() string {
	switch s {
	case RSA:
		return "RSA signatures, PKCS#1 v1.5 over SHA-256"
	case ECDSA:
		return "ECDSA signatures on P-256 over SHA-256, ASN.1 encoded"
	case Ed25519:
		return "Ed25519 signatures (pure)"
	case HMAC:
		return "HMAC-SHA256 with pairwise secrets, MAC vectors for multicast"
	case None:
		return "no authentication, the cost floor"
	}
	return "unknown scheme"
}

// Signs reports whether s is a signature scheme (one key pair per principal,
// authenticators anyone can check) rather than hmac or none.
func (s Scheme) Signs() bool { return s == RSA || s == ECDSA || s == Ed25519 }
