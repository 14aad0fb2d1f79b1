package cli

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/msgdump"
)

func newMsgdumpCmd() *cobra.Command {
	var (
		opt     msgdump.Options
		verify  bool
		keyDir  string
		as      string
		clients []uint
		types   []string
		ports   []uint
		local   bool
	)
	cmd := &cobra.Command{
		Use:   "msgdump [FILE...]",
		Short: "Decode captured traffic: capture files, pcap/pcapng from tcpdump, raw frames",
		Long: `Decode what clients and replicas sent each other, one line per frame: time,
ends, type, and for requests client, request number, flags, payload size and
a hex/ASCII preview of the payload. FILE may be:

  a capture file written with --capture (self-describing: who captured, when),
  a pcap or pcapng file from tcpdump on replica ports (TCP streams reassembled,
    retransmissions dropped, lost segments reported as gaps),
  a bare stream of frames (what docs/wire.md's hex dumps turn into),

each optionally gzip-compressed; with no FILE, or "-", standard input.
Damaged input is reported on a line starting with "!" with its byte offset
(in the file, or in the TCP stream for pcap), and decoding goes on with the
next frame it can find.

Exit status: 0 when everything decoded (and verified), 2 when the input held
damage or authenticators that do not verify, 1 when it could not be read.`,
		Example: `  replbench msgdump client-0.rbcap
  replbench msgdump --json --type request --client 3 replica-0.rbcap
  tcpdump -i lo -w trace.pcap 'tcp port 7000 or tcp port 7001'
  replbench msgdump --stats --port 7000 --port 7001 trace.pcap
  replbench msgdump --verify --keys keys/clients replica-0.rbcap`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opt.Types, err = parseTypes(types); err != nil {
				return err
			}
			for _, c := range clients {
				if c > math.MaxUint32 {
					return fmt.Errorf("--client %d: client ids are 32-bit", c)
				}
				opt.Clients = append(opt.Clients, uint32(c))
			}
			for _, p := range ports {
				if p > math.MaxUint16 {
					return fmt.Errorf("--port %d: ports are 16-bit", p)
				}
				opt.Ports = append(opt.Ports, uint16(p))
			}
			if opt.Preview < 0 {
				return fmt.Errorf("--bytes must not be negative, got %d", opt.Preview)
			}
			if local {
				opt.Location = time.Local
			}
			if verify || keyDir != "" {
				if keyDir == "" {
					return fmt.Errorf("--verify needs the keys: --keys DIR, as written by 'replbench keygen'")
				}
				self, err := keys.ParsePrincipal(as)
				if err != nil {
					return fmt.Errorf("--as: %w", err)
				}
				v, info, err := msgdump.LoadVerifier(keyDir, self)
				if err != nil {
					return err
				}
				how := "the public keys"
				if !info.Scheme.Signs() {
					how = "the secrets of " + self.String()
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "msgdump: verifying %s authenticators with %s from %s (%d replicas, %d clients)\n",
					info.Scheme, how, keyDir, info.Replicas, info.Clients)
				opt.Verifier = v
			}
			d := msgdump.New(cmd.OutOrStdout(), opt)
			if len(args) == 0 {
				if in, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(in.Fd())) {
					return fmt.Errorf("no input: name capture or pcap files, or pipe one in")
				}
				args = []string{"-"}
			}
			for _, name := range args {
				if err := dumpFile(d, cmd, name); err != nil {
					d.Close()
					return err
				}
			}
			if err := d.Close(); err != nil {
				return err
			}
			return foundProblems(d.Summary())
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opt.JSON, "json", false, "write JSON lines instead of text (damage: lines with a \"problem\" key)")
	fl.BoolVar(&opt.Stats, "stats", false, "summarise instead of listing: counts per client and type, payload sizes, request rate over time")
	fl.BoolVar(&verify, "verify", false, "check request authenticators (and replies' under signature schemes) against --keys")
	fl.StringVar(&keyDir, "keys", "", "key directory of the client scheme, from 'replbench keygen' (implies --verify)")
	fl.StringVar(&as, "as", "replica-0", "hmac only: the replica whose MAC in each request's vector is checked")
	fl.UintSliceVar(&clients, "client", nil, "only frames of these clients (repeat or comma-separate)")
	fl.StringSliceVar(&types, "type", nil, "only frames of these types: names (request, reply, pre-prepare, ...) or numbers (0x10)")
	fl.UintSliceVar(&ports, "port", nil, "pcap: only TCP segments from or to these ports")
	fl.IntVar(&opt.Preview, "bytes", 16, "payload bytes shown in hex and ASCII (JSON: in hex); 0 shows none")
	fl.IntVar(&opt.MaxFrame, "max-frame", wire.DefaultMaxFrame, "largest frame believed in a stream, in bytes")
	fl.BoolVar(&local, "local", false, "show times in local time instead of UTC")
	return cmd
}

// dumpFile decodes one input; "-" is standard input.
func dumpFile(d *msgdump.Dumper, cmd *cobra.Command, name string) error {
	if name == "-" {
		return d.Dump("-", cmd.InOrStdin())
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return d.Dump(name, f)
}

// parseTypes reads --type values: wire type names or numbers.
func parseTypes(names []string) ([]wire.Type, error) {
	var out []wire.Type
	for _, name := range names {
		t, ok := typeByName(name)
		if !ok {
			return nil, fmt.Errorf("--type %q: not a frame type (want a name such as request, reply, pre-prepare, or a number such as 0x10)", name)
		}
		out = append(out, t)
	}
	return out, nil
}

func typeByName(name string) (wire.Type, bool) {
	if n, err := strconv.ParseUint(name, 0, 8); err == nil {
		return wire.Type(n), true
	}
	for i := range 256 {
		if t := wire.Type(i); strings.EqualFold(t.String(), name) {
			return t, true
		}
	}
	return 0, false
}

// problemsFound is the error for input that decoded with damage or bad
// authenticators: the output says what, the exit status says that.
type problemsFound struct{ msg string }

func (e problemsFound) Error() string { return e.msg }
func (e problemsFound) ExitCode() int { return 2 }

func foundProblems(s msgdump.Summary) error {
	var parts []string
	if s.Problems > 0 {
		parts = append(parts, keygenCount(s.Problems, "problem")+" in the input")
	}
	if s.BadAuth > 0 {
		parts = append(parts, keygenCount(s.BadAuth, "authenticator")+" did not verify")
	}
	if len(parts) == 0 {
		return nil
	}
	return problemsFound{strings.Join(parts, ", ")}
}
