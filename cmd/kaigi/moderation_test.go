package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModerationClassifyPrintsOneVerdictPerLine(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(pol, []byte(`{"rules":[{"name":"threats","action":"block","categories":{"threat":0.5}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	in := strings.NewReader("I will kill you\nthe build is green\n\nお前なんか死ね")
	if err := moderationClassify(t.Context(), []string{"--policy", pol}, in, &out, &errb); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"block", "none", "none", "block"}
	if len(lines) != len(want) {
		t.Fatalf("%d verdicts for 4 lines:\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		var v classifyVerdict
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		if string(v.Action) != want[i] {
			t.Errorf("line %d: action %q, want %q (%s)", i+1, v.Action, want[i], l)
		}
	}
	if !strings.Contains(lines[0], `"text":"I will kill you"`) {
		t.Errorf("spans must quote the text: %s", lines[0])
	}
	if err := moderationClassify(t.Context(), []string{"--lang", "fr"}, strings.NewReader(""), &out, &errb); err == nil {
		t.Error("--lang fr was accepted")
	}
}
