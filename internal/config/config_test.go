package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/config"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md's table")

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./kaigi-data" || c.DatabaseURL != "" || c.NATSURL != "" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.URL() != "http://localhost:8080" {
		t.Fatalf("URL %q", c.URL())
	}
	if time.Duration(c.ShutdownTimeout) != 20*time.Second || c.MaxBodyBytes != 1<<20 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kaigi.json")
	if err := os.WriteFile(file, []byte(`{"addr":"127.0.0.1:9000","log_format":"json","shutdown_timeout":"5s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load([]string{"--config", file, "--data", "/tmp/x"}, env(map[string]string{"KAIGI_ADDR": "127.0.0.1:9100", "KAIGI_DATA": "/tmp/env"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9100" {
		t.Errorf("env should beat the file: %s", c.Addr)
	}
	if c.DataDir != "/tmp/x" {
		t.Errorf("flag should beat env: %s", c.DataDir)
	}
	if c.LogFormat != "json" || time.Duration(c.ShutdownTimeout) != 5*time.Second {
		t.Errorf("file values lost: %+v", c)
	}
}

func TestBadConfigSaysWhat(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknown, []byte(`{"adress":"x"}`), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown key in file", []string{"--config", unknown}, nil, `unknown field "adress"`},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.json")}, nil, "cannot read the config file"},
		{"bad addr", []string{"--addr", "nonsense"}, nil, "not host:port"},
		{"bad bool env", nil, map[string]string{"KAIGI_TLS_SELF_SIGNED": "perhaps"}, "KAIGI_TLS_SELF_SIGNED"},
		{"bad database", nil, map[string]string{"KAIGI_DATABASE_URL": "mysql://x"}, "postgres://"},
		{"half tls", []string{"--tls-cert", "c.pem"}, nil, "go together"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "text or json"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"bad proxies", []string{"--trusted-proxies", "10.0.0.0/99"}, nil, "CIDR"},
		{"profiler on the network", []string{"--debug-addr", "0.0.0.0:6060"}, nil, "loopback"},
		{"profiler by name", nil, map[string]string{"KAIGI_DEBUG_ADDR": "localhost:6060"}, "loopback"},
		{"profiler without port", []string{"--debug-addr", "127.0.0.1"}, nil, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.args, env(tt.env))
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestProfilerOnLoopbackIsAccepted(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "127.0.0.1:0"} {
		c, err := config.Load([]string{"--debug-addr", addr}, env(nil))
		if err != nil || c.DebugAddr != addr {
			t.Errorf("--debug-addr %s: %v", addr, err)
		}
	}
}

func TestEveryKeyIsDocumented(t *testing.T) {
	for _, f := range config.Fields() {
		if f.Key == "" || f.Env == "" || f.Flag == "" || f.Doc == "" {
			t.Errorf("field %+v lacks a key, variable, flag or doc", f)
		}
	}
	path := filepath.Join("..", "..", "docs", "configuration.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- begin generated table -->\n", "<!-- end generated table -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-table markers", path)
	}
	want := config.Markdown()
	if got := doc[i+len(begin) : j]; got != want {
		if *update {
			doc = doc[:i+len(begin)] + want + doc[j:]
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s is out of date; run go test ./internal/config -update", path)
	}
}
