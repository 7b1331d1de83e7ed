package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/auth"
)

// keyPrefix starts every generated key, so that secret scanners and
// people recognise one.
const keyPrefix = "mfk_"

// consumerName is what `keys new` accepts as a consumer name: it becomes a
// YAML key and the name in logs and audit events.
var consumerName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

func keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Make and hash API keys for gateway.yaml's consumers"}
	cmd.AddCommand(keysNewCmd(), keysHashCmd())
	return cmd
}

func keysNewCmd() *cobra.Command {
	var roles []string
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Print a fresh random API key once, with the consumer line to paste into gateway.yaml",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !consumerName.MatchString(name) {
				return fmt.Errorf("consumer name %q: want a letter, then letters, digits, _ or -", name)
			}
			key, err := newKey(rand.Reader)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "API key for %s (shown once; only its hash is kept, so store it now):\n\n  %s\n\n", name, key)
			fmt.Fprintf(out, "Paste under consumers: in gateway.yaml:\n\n  %s\n", consumerLine(name, auth.HashKey(key), roles))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&roles, "roles", nil, "roles of the consumer, comma-separated (e.g. reader,buyer)")
	return cmd
}

func keysHashCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash",
		Short: "Read an existing API key on stdin and print its key_sha256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			key := strings.TrimSpace(line)
			if key == "" {
				return errors.New("no key on stdin")
			}
			fmt.Fprintln(cmd.OutOrStdout(), auth.HashKey(key))
			return nil
		},
	}
}

// newKey returns a key of 256 random bits, base64url-encoded behind the
// prefix: short enough to paste, far too long to guess.
func newKey(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("random key: %w", err)
	}
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func consumerLine(name, hash string, roles []string) string {
	line := fmt.Sprintf("%s: {key_sha256: %s", name, hash)
	if len(roles) > 0 {
		line += ", roles: [" + strings.Join(roles, ", ") + "]"
	}
	return line + "}"
}
