package keys

import "fmt"

// noneAuth authenticates nothing: it is the floor against which the cost of
// the real schemes is measured. It still insists on an empty authenticator,
// so a peer configured with another scheme is caught instead of trusted.
type noneAuth struct {
	self              Principal
	replicas, clients int
}

var _ Authenticator = (*noneAuth)(nil)

// NewNoneAuthenticator returns the authenticator of scheme none for self. It
// knows the deployment's size only to reject senders outside it.
func NewNoneAuthenticator(self Principal, replicas, clients int) (Authenticator, error) {
	if err := checkSelf(self, replicas, clients); err != nil {
		return nil, fmt.Errorf("none authenticator: %w", err)
	}
	return &noneAuth{self, replicas, clients}, nil
}

func (a *noneAuth) Scheme() Scheme                                     { return None }
func (a *noneAuth) Self() Principal                                    { return a.self }
func (a *noneAuth) MaxSize() int                                       { return 0 }
func (a *noneAuth) Sign(dst, _ []byte) ([]byte, error)                 { return dst, nil }
func (a *noneAuth) SignFor(dst, _ []byte, _ Principal) ([]byte, error) { return dst, nil }

func (a *noneAuth) Verify(from Principal, _, auth []byte) error {
	if !inRange(from, a.replicas, a.clients) {
		return unknownSender(None, from)
	}
	if len(auth) != 0 {
		return badAuth(None, from, fmt.Sprintf("%d bytes of authenticator where scheme none sends none (is the peer configured with another scheme?)", len(auth)))
	}
	return nil
}
