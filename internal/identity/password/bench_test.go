package password_test

import (
	"testing"

	"github.com/kaigi/kaigi/internal/identity/password"
)

// BenchmarkHash is the cost of setting a password with DefaultParams.
func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := password.Hash("purple monkey dishwasher lamp"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is the cost of one sign-in with DefaultParams.
func BenchmarkVerify(b *testing.B) {
	h, err := password.Hash("purple monkey dishwasher lamp")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := password.Verify(h, "purple monkey dishwasher lamp"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkDummyVerify is the cost of answering a sign-in to an unknown
// account; it should match BenchmarkVerify.
func BenchmarkDummyVerify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		password.DummyVerify("purple monkey dishwasher lamp")
	}
}

// BenchmarkCheck is the cost of judging a new password.
func BenchmarkCheck(b *testing.B) {
	ctx := []string{"jane.doe@example.com", "Jane Doe", "Globex Corporation"}
	for _, bb := range []struct {
		name, pw string
	}{
		{"passphrase", "purple monkey dishwasher lamp"},
		{"common", "qwerty123456"},
		{"weak", "mypassword2024"},
		{"max length", repeat("Velvet-Otter-Quietly-Hums-42 ", password.MaxBytes)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = password.Check(bb.pw, ctx)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, s...)
	}
	return string(out[:n])
}
