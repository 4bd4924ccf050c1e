package store_test

import (
	"testing"

	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/keys/keystest"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

func TestDataKeyStore(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			keystest.Run(t, func(t *testing.T) keys.Store { return e.Open(t) })
		})
	}
}
