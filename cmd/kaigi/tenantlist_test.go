package main

import (
	"strings"
	"testing"
)

// TestTenantListShowsContractAndHealth: `kaigi tenant list` lists every
// tenant with its contract state and counts — no content.
func TestTenantListShowsContractAndHealth(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"Acme", "Globex"} {
		if out, err := kaigi(t, noEnv, "tenant", "create", "--data", dir, "--name", n, "--domain", strings.ToLower(n)+".example", "--admin-email", "admin@"+strings.ToLower(n)+".example"); err != nil {
			t.Fatalf("create %s: %v\n%s", n, err, out)
		}
	}
	out, err := kaigi(t, noEnv, "tenant", "list", "--data", dir)
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("list:\n%s", out)
	}
	for i, n := range []string{"Acme", "Globex"} {
		f := strings.Fields(lines[i+1])
		if len(f) != 10 || f[1] != n || f[2] != "active" || f[5] != "0" || f[7] != "0" {
			t.Fatalf("row %d: %q", i, lines[i+1])
		}
	}
}
