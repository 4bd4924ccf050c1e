package store_test

import (
	"os"
	"testing"

	"github.com/kaigi/kaigi/internal/store"
)

func statMode(path string) (os.FileMode, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Mode().Perm(), nil
}

func TestRebind(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"none", "SELECT 1", "SELECT 1"},
		{"two", "SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"quoted left alone", "SELECT '?' , \"?\" FROM t WHERE x = ?", "SELECT '?' , \"?\" FROM t WHERE x = $1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.Rebind(store.Postgres, tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if got := store.Rebind(store.SQLite, tt.in); got != tt.in {
				t.Fatalf("sqlite must not rebind: %q", got)
			}
		})
	}
}
