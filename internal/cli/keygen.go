package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/keys"
)

func newKeygenCmd() *cobra.Command {
	var (
		out     string
		clients int
		rsaBits int
		force   bool
	)
	cmd := &cobra.Command{
		Use:   "keygen SCHEME N",
		Short: "Generate keys for N replicas and their clients",
		Long:  keygenLong(),
		Example: "  replbench keygen ed25519 4 --out keys\n" +
			"  replbench keygen hmac 4 --clients 40 --out keys\n" +
			"  replbench keygen rsa 7 --rsa-bits 3072 --out keys --force",
		Args: keygenArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			scheme, _ := keys.ParseScheme(args[0]) // checked by keygenArgs
			replicas, _ := keygenReplicas(args[1])
			if clients < 0 {
				return fmt.Errorf("--clients must not be negative, got %d", clients)
			}
			err := keys.Generate(scheme, out, replicas, clients, keys.GenOptions{RSABits: rsaBits, Force: force})
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%w; pass --force to replace the keys in %s", err, out)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			files := keys.Files(scheme, out, replicas, clients)
			if len(files) == 0 {
				fmt.Fprintf(w, "scheme %s needs no keys; nothing written\n", scheme)
				return nil
			}
			fmt.Fprintf(w, "wrote %s keys for %s and %s to %s:\n",
				scheme, keygenCount(replicas, "replica"), keygenCount(clients, "client"), out)
			width := 0
			for _, f := range files {
				width = max(width, len(f))
			}
			for _, f := range files {
				kind := "private, 0600"
				switch {
				case strings.HasSuffix(f, ".pub"):
					kind = "public, 0644"
				case scheme == keys.HMAC:
					kind = "shared secrets, 0600"
				}
				fmt.Fprintf(w, "  %-*s  (%s)\n", width, f, kind)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "keys", "directory to write the keys to (created 0700 if missing)")
	f.IntVar(&clients, "clients", 1, "number of clients (ids 0..M-1) to make keys for")
	f.IntVar(&rsaBits, "rsa-bits", keys.DefaultRSABits, "RSA modulus size in bits, at least 1024 (scheme rsa only)")
	f.BoolVar(&force, "force", false, "replace existing key files")
	return cmd
}

func keygenLong() string {
	var b strings.Builder
	b.WriteString("Generate key material for N replicas (ids 0..N-1) and --clients clients,\n" +
		"for one of the schemes:\n\n")
	for _, s := range keys.Schemes() {
		fmt.Fprintf(&b, "  %-8s %s\n", s, s.Description())
	}
	b.WriteString(`
Signature schemes write NAME.key (private key, PKCS#8 PEM, mode 0600) and
NAME.pub (public key, PKIX PEM, mode 0644) for every NAME in replica-0..,
client-0..; openssl reads both, and keys from openssl genpkey load too.
hmac writes NAME.key (mode 0600) with a 32-byte secret shared with each peer
(replicas share with everyone, clients only with replicas). none needs no
keys and writes nothing. Existing key files are kept unless --force is given.`)
	return b.String()
}

func keygenArgs(_ *cobra.Command, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("keygen takes SCHEME and N (the number of replicas), got %d argument(s); for example: replbench keygen ed25519 4 --out keys", len(args))
	}
	if _, err := keys.ParseScheme(args[0]); err != nil {
		return err
	}
	_, err := keygenReplicas(args[1])
	return err
}

func keygenReplicas(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("the number of replicas N must be a positive integer, got %q", s)
	}
	return n, nil
}

// keygenCount writes "1 client" or "4 clients".
func keygenCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
