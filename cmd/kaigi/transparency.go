package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/kaigi/kaigi/internal/transparency"
)

// transparencyVerify checks a bundle of a tenant's access-transparency log,
// fetched from GET /api/v1/transparency/bundle, with nothing but the
// service's public verifier key and the state kept from the last check. It
// needs no database, no configuration and no trust in the server: a tenant
// runs it on its own machine.
func transparencyVerify(args []string, stdout, stderr io.Writer) error {
	set := flag.NewFlagSet("kaigi transparency verify", flag.ContinueOnError)
	set.SetOutput(stderr)
	bundlePath := set.String("bundle", "", "the bundle (JSON) fetched from /api/v1/transparency/bundle?since=<state size>&first=<0 or state size>; - for standard input")
	keyArg := set.String("key", "", "the service's verifier key (the verifier_key of GET /api/v1/service), or a file holding it")
	statePath := set.String("state", "", "a file keeping the last checked state; read when it exists, written after a successful check")
	if err := set.Parse(args); err != nil {
		return err
	}
	if *bundlePath == "" || *keyArg == "" {
		return fmt.Errorf("kaigi transparency verify needs --bundle and --key")
	}
	vkey := strings.TrimSpace(*keyArg)
	if b, err := os.ReadFile(vkey); err == nil {
		vkey = strings.TrimSpace(string(b))
	}
	var raw []byte
	var err error
	if *bundlePath == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(*bundlePath)
	}
	if err != nil {
		return fmt.Errorf("read the bundle: %w", err)
	}
	var b transparency.Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("the bundle is not the JSON of /api/v1/transparency/bundle: %w", err)
	}
	var prev *transparency.State
	if *statePath != "" {
		sb, err := os.ReadFile(*statePath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("read the state: %w", err)
		default:
			prev = new(transparency.State)
			if err := json.Unmarshal(sb, prev); err != nil {
				return fmt.Errorf("the state file %s is damaged: %w", *statePath, err)
			}
		}
	}
	next, rep, err := transparency.VerifyBundle(prev, b, vkey)
	if err != nil {
		fmt.Fprintf(stdout, "FAILED: %v\n", err)
		return errBroken
	}
	from := uint64(0)
	if prev != nil {
		from = prev.Size
	}
	fmt.Fprintf(stdout, "OK: log %s has %d entries; %d new since size %d, all included and consistent with what was seen before\n", next.Origin, rep.Size, len(rep.New), from)
	for _, e := range rep.New {
		fmt.Fprintf(stdout, "  #%d %s %s %s\n", e.Index, e.Time.Format("2006-01-02T15:04:05Z07:00"), e.Kind, e.Body)
	}
	if *statePath != "" {
		sb, _ := json.MarshalIndent(next, "", "  ")
		tmp := *statePath + ".tmp"
		if err := os.WriteFile(tmp, append(sb, '\n'), 0o600); err != nil {
			return fmt.Errorf("write the state: %w", err)
		}
		if err := os.Rename(tmp, *statePath); err != nil {
			return fmt.Errorf("write the state: %w", err)
		}
	}
	return nil
}
