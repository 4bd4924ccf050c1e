package password_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/password"
)

// cheap are small parameters that keep most tests fast (under -race too);
// the hashing code path is the same as with DefaultParams.
var cheap = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func mustHash(t testing.TB, p password.Params, pw string) string {
	t.Helper()
	h, err := p.Hash(pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

// fields splits a PHC string into its five '$'-separated fields.
func fields(t testing.TB, h string) []string {
	t.Helper()
	f := strings.Split(h, "$")
	if len(f) != 6 || f[0] != "" {
		t.Fatalf("not a PHC string: %q", h)
	}
	return f[1:]
}

func TestHashPHCRoundTrip(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(h, want) {
		t.Errorf("Hash = %q, want prefix %q", h, want)
	}
	f := fields(t, h)
	for i, want := range map[int]int{3: 16, 4: 32} {
		b, err := base64.RawStdEncoding.Strict().DecodeString(f[i])
		if err != nil {
			t.Fatalf("field %d is not unpadded base64: %v", i, err)
		}
		if len(b) != want {
			t.Errorf("field %d decodes to %d bytes, want %d", i, len(b), want)
		}
	}
	ok, rehash, err := password.Verify(h, pw)
	if err != nil || !ok || rehash {
		t.Errorf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	if strings.Contains(h, pw) {
		t.Error("hash contains the password")
	}
}

// TestHashUniqueSalts: the same password hashes differently every time, so
// equal passwords cannot be spotted in the database.
func TestHashUniqueSalts(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		f := fields(t, mustHash(t, cheap, "same password every time"))
		if seen[f[3]] {
			t.Fatalf("salt %s repeated", f[3])
		}
		seen[f[3]] = true
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	const pw = "Blue Whale Sings At Dawn"
	h := mustHash(t, cheap, pw)
	tests := []struct {
		name, pw string
	}{
		{"different", "Red Whale Sings At Dawn"},
		{"case", "blue whale sings at dawn"},
		{"trailing space", pw + " "},
		{"truncated", pw[:len(pw)-1]},
		{"empty", ""},
		{"the hash itself", h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := cheap.Verify(h, tt.pw)
			if ok || rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyIntegrity: changing any part of a stored hash (salt, key or a
// parameter) makes the right password fail, without an error.
func TestVerifyIntegrity(t *testing.T) {
	const pw = "integrity of stored hashes"
	h := mustHash(t, cheap, pw)
	f := fields(t, h)
	flip := func(s string, i int) string { // change one base64 character
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	join := func(f ...string) string { return "$" + strings.Join(f, "$") }
	tests := []struct {
		name, encoded string
	}{
		{"salt first byte", join(f[0], f[1], f[2], flip(f[3], 0), f[4])},
		{"salt middle", join(f[0], f[1], f[2], flip(f[3], 10), f[4])},
		{"key first byte", join(f[0], f[1], f[2], f[3], flip(f[4], 0))},
		{"key middle", join(f[0], f[1], f[2], f[3], flip(f[4], 20))},
		{"memory", join(f[0], f[1], "m=72,t=1,p=1", f[3], f[4])},
		{"iterations", join(f[0], f[1], "m=64,t=2,p=1", f[3], f[4])},
		{"parallelism", join(f[0], f[1], "m=64,t=1,p=2", f[3], f[4])},
		{"shorter key", join(f[0], f[1], f[2], f[3], f[4][:32])}, // 24 bytes
		{"other salt", join(f[0], f[1], f[2], fields(t, mustHash(t, cheap, pw))[3], f[4])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.encoded == h {
				t.Fatal("test did not change the hash")
			}
			ok, _, err := cheap.Verify(tt.encoded, pw)
			if ok {
				t.Errorf("Verify(tampered %q) = true", tt.encoded)
			}
			if err != nil {
				t.Errorf("Verify(tampered) error %v, want a plain mismatch", err)
			}
		})
	}
}

// TestVerifyMalformed: malformed stored strings are refused with a sentinel
// error, never a panic and never a match.
func TestVerifyMalformed(t *testing.T) {
	good := mustHash(t, cheap, "whatever it was")
	f := fields(t, good)
	salt, key := f[3], f[4]
	pre := "$argon2id$v=19$"
	tests := []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", password.ErrMalformedHash},
		{"dollar", "$", password.ErrMalformedHash},
		{"plain text", "hunter2", password.ErrMalformedHash},
		{"too few fields", pre + "m=64,t=1,p=1$" + salt, password.ErrMalformedHash},
		{"too many fields", good + "$x", password.ErrMalformedHash},
		{"no leading dollar", good[1:], password.ErrMalformedHash},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", password.ErrMalformedHash},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, password.ErrUnsupportedHash},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key, password.ErrUnsupportedHash},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, password.ErrUnsupportedHash},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"params order", pre + "t=1,m=64,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"missing param", pre + "m=64,t=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"extra param", pre + "m=64,t=1,p=1,keyid=x$" + salt + "$" + key, password.ErrMalformedHash},
		{"empty number", pre + "m=,t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"negative", pre + "m=-64,t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"plus sign", pre + "m=+64,t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"leading zero", pre + "m=064,t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"hex", pre + "m=0x40,t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"overflow", pre + "m=99999999999,t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"space", pre + "m=64, t=1,p=1$" + salt + "$" + key, password.ErrMalformedHash},
		{"padded salt", pre + "m=64,t=1,p=1$" + salt + "==$" + key, password.ErrMalformedHash},
		{"url base64", pre + "m=64,t=1,p=1$" + strings.NewReplacer("+", "-", "/", "_").Replace(salt) + "_-$" + key, password.ErrMalformedHash},
		{"bad base64 key", pre + "m=64,t=1,p=1$" + salt + "$!!!!", password.ErrMalformedHash},
		{"non-canonical base64", pre + "m=64,t=1,p=1$" + salt + "$" + key[:len(key)-1] + "B", password.ErrMalformedHash},
		{"empty salt", pre + "m=64,t=1,p=1$$" + key, password.ErrUnsafeParams},
		{"short salt", pre + "m=64,t=1,p=1$" + salt[:8] + "$" + key, password.ErrUnsafeParams},
		{"empty key", pre + "m=64,t=1,p=1$" + salt + "$", password.ErrUnsafeParams},
		{"short key", pre + "m=64,t=1,p=1$" + salt + "$" + key[:8], password.ErrUnsafeParams},
		{"huge", strings.Repeat("$argon2id", 1000), password.ErrMalformedHash},
		{"nul bytes", pre + "m=64,t=1,p=1$\x00$\x00", password.ErrMalformedHash},
		{"not utf-8", pre + "m=64,t=1,p=1$\xff\xfe$" + key, password.ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := cheap.Verify(tt.encoded, "whatever it was")
			if ok || rehash {
				t.Errorf("Verify = %v, %v; want false, false", ok, rehash)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify error = %v, want %v", err, tt.want)
			}
			if errs.CodeOf(err) != errs.Internal {
				t.Errorf("code = %q, want internal", errs.CodeOf(err))
			}
		})
	}
}

// TestVerifyRefusesAbsurdParams: a stored hash asking for gigabytes of
// memory or hours of work is refused before any hashing (DoS guard).
func TestVerifyRefusesAbsurdParams(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, params string
	}{
		{"4 GiB memory", "m=4194304,t=1,p=1"},
		{"max uint32 memory", "m=4294967295,t=1,p=1"},
		{"257 MiB memory", "m=263168,t=1,p=1"},
		{"many iterations", "m=19456,t=1000,p=1"},
		{"max uint32 iterations", "m=64,t=4294967295,p=1"},
		{"memory times iterations", "m=262144,t=16,p=1"},
		{"many lanes", "m=19456,t=2,p=255"},
		{"lanes overflow uint8", "m=19456,t=2,p=257"},
		{"zero memory", "m=0,t=1,p=1"},
		{"memory below 8 KiB per lane", "m=64,t=1,p=16"},
		{"zero iterations", "m=64,t=0,p=1"},
		{"zero lanes", "m=64,t=1,p=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ok, _, err := password.Verify("$argon2id$v=19$"+tt.params+"$"+salt+"$"+key, "anything at all")
			if ok || !errors.Is(err, password.ErrUnsafeParams) {
				t.Errorf("Verify = %v, %v; want false, ErrUnsafeParams", ok, err)
			}
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("refusing took %v: work was done before the check", d)
			}
		})
	}
}

func TestHashRefusesUnsafeParams(t *testing.T) {
	tests := []struct {
		name string
		p    password.Params
	}{
		{"zero", password.Params{}},
		{"short salt", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 8, KeyLength: 32}},
		{"short key", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 8}},
		{"huge memory", password.Params{Memory: 1 << 22, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.p.Hash("some password"); !errors.Is(err, password.ErrUnsafeParams) {
				t.Errorf("Hash error = %v, want ErrUnsafeParams", err)
			}
		})
	}
}

// TestNeedsRehash: a hash made with other parameters verifies and asks to
// be replaced; one made with the current parameters does not.
func TestNeedsRehash(t *testing.T) {
	const pw = "upgrade me when I sign in"
	tests := []struct {
		name       string
		made, want password.Params
		wantRehash bool
	}{
		{"same", cheap, cheap, false},
		{"memory raised", cheap, password.Params{Memory: 128, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, true},
		{"iterations raised", cheap, password.Params{Memory: 64, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, true},
		{"parallelism changed", cheap, password.Params{Memory: 64, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}, true},
		{"key length changed", cheap, password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 64}, true},
		{"salt length changed", cheap, password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 32, KeyLength: 32}, true},
		{"to defaults", cheap, password.DefaultParams(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHash(t, tt.made, pw)
			ok, rehash, err := tt.want.Verify(h, pw)
			if err != nil || !ok || rehash != tt.wantRehash {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.wantRehash)
			}
			ok, rehash, err = tt.want.Verify(h, pw+"x")
			if err != nil || ok || rehash {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyNFKC: the same password typed in another Unicode form (a
// Japanese input method's full-width letters, a decomposed accent, a
// ligature, an ideographic space) is the same password.
func TestVerifyNFKC(t *testing.T) {
	tests := []struct {
		name, stored, typed string
	}{
		{"full-width letters and digits", "password2024 tokyo", "ｐａｓｓｗｏｒｄ２０２４ ｔｏｋｙｏ"},
		{"ideographic space", "kaigi meeting room", "kaigi\u3000meeting\u3000room"},
		{"half-width katakana", "ｶｲｷﾞの会議室", "カイギの会議室"},
		{"decomposed accent", "caf\u00e9 au lait", "cafe\u0301 au lait"},
		{"ligature", "\ufb01ne and dandy", "fine and dandy"},
		{"full-width punctuation", "hello, world!", "hello，\u3000ｗｏｒｌｄ！"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, dir := range [][2]string{{tt.stored, tt.typed}, {tt.typed, tt.stored}} {
				h := mustHash(t, cheap, dir[0])
				ok, _, err := cheap.Verify(h, dir[1])
				if err != nil || !ok {
					t.Errorf("Verify(Hash(%q), %q) = %v, %v; want true", dir[0], dir[1], ok, err)
				}
			}
		})
	}
}

func TestHashLengthLimit(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"at limit", strings.Repeat("a", password.MaxBytes), true},
		{"at limit, multibyte", strings.Repeat("会", password.MaxBytes/3), true},
		{"one over", strings.Repeat("a", password.MaxBytes+1), false},
		{"multibyte over", strings.Repeat("会", password.MaxBytes/3+1), false},
		{"grows over when normalised", strings.Repeat("\ufdfa", 100), false}, // 300 bytes, NFKC 18 runes each
		{"huge", strings.Repeat("a", 10<<20), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := cheap.Hash(tt.pw)
			if tt.ok {
				if err != nil {
					t.Fatalf("Hash: %v", err)
				}
				if ok, _, err := cheap.Verify(h, tt.pw); !ok || err != nil {
					t.Errorf("Verify = %v, %v", ok, err)
				}
				return
			}
			if password.ReasonOf(err) != password.ReasonTooLong || errs.CodeOf(err) != errs.Invalid {
				t.Errorf("Hash error = %v, want invalid/too_long", err)
			}
			good := mustHash(t, cheap, "x")
			if ok, _, err := cheap.Verify(good, tt.pw); ok || password.ReasonOf(err) != password.ReasonTooLong {
				t.Errorf("Verify = %v, %v; want false, too_long", ok, err)
			}
		})
	}
}

func TestHashRefusesInvalidUTF8(t *testing.T) {
	if _, err := cheap.Hash("abc\xffdef"); password.ReasonOf(err) != password.ReasonInvalid {
		t.Errorf("Hash error = %v, want reason invalid", err)
	}
}

// TestDummyVerifyTiming: DummyVerify takes as long as a real Verify with the
// default parameters, so unknown accounts answer as slowly as known ones.
func TestDummyVerifyTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test skipped under -short")
	}
	const pw = "timing is everything here"
	h, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	// Interleave the two and keep each one's fastest run: the machine may
	// be busy with other work, which only ever adds time.
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	// A busy machine (CI runs packages side by side) can slow every run of
	// one of them: keep measuring, up to 21 runs each, until the fastest
	// runs agree. A real difference in cost fails however long it runs.
	verify, dummy := time.Duration(1<<62), time.Duration(1<<62)
	ratio := 0.0
	for i := range 21 {
		verify = min(verify, timed(func() { _, _, _ = password.Verify(h, "wrong password here") }))
		dummy = min(dummy, timed(func() { password.DummyVerify("wrong password here") }))
		ratio = float64(dummy) / float64(verify)
		if i >= 6 && ratio >= 0.67 && ratio <= 1.5 {
			break
		}
	}
	t.Logf("fastest Verify %v, DummyVerify %v, ratio %.2f", verify, dummy, ratio)
	if ratio < 0.67 || ratio > 1.5 {
		t.Errorf("DummyVerify takes %v, Verify %v: not the same cost", dummy, verify)
	}
}

// TestConstantTimeCompare is a review turned into a test: the package
// compares derived keys with crypto/subtle and never with bytes.Equal,
// string comparison or reflect.DeepEqual.
func TestConstantTimeCompare(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var subtleCalls int
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch call := x.Name + "." + sel.Sel.Name; call {
			case "subtle.ConstantTimeCompare":
				subtleCalls++
			case "bytes.Equal", "bytes.Compare", "reflect.DeepEqual", "slices.Equal":
				t.Errorf("%s: %s used; compare secrets with subtle.ConstantTimeCompare", fset.Position(sel.Pos()), call)
			}
			return true
		})
	}
	if subtleCalls == 0 {
		t.Error("subtle.ConstantTimeCompare is not used")
	}
}

// FuzzVerify: no stored string or password makes Verify panic, and a
// string that is not exactly a hash of the password never matches.
func FuzzVerify(f *testing.F) {
	// A fixed hash of "fuzzing passwords" under cheap: fuzz workers must all
	// see the same one.
	const good = "$argon2id$v=19$m=64,t=1,p=1$B3axKInFDzyjFir85xqtig$lqvignaEnEkUVhMMh8UjkmSihZo0Lj6xp+8tkr65Yjk"
	if ok, _, err := cheap.Verify(good, "fuzzing passwords"); !ok || err != nil {
		f.Fatalf("fixed hash does not verify: %v, %v", ok, err)
	}
	for _, s := range []string{good, "", "$", "$argon2id$v=19$m=64,t=1,p=1$$", good + "$", strings.ToUpper(good)} {
		f.Add(s, "fuzzing passwords")
	}
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		ok, _, err := cheap.Verify(encoded, pw)
		if ok && err != nil {
			t.Fatalf("ok with error %v", err)
		}
		// Parsing is canonical, so only the very string Hash wrote can
		// carry its salt and key.
		if ok && encoded != good {
			t.Fatalf("matched a different string: %q", encoded)
		}
	})
}

func ExampleVerify() {
	stored, err := password.Hash("a long phrase that only I know")
	if err != nil {
		panic(err)
	}
	ok, needsRehash, err := password.Verify(stored, "a long phrase that only I know")
	fmt.Println(ok, needsRehash, err)
	// Output: true false <nil>
}

// TestDummyVerifyOddInput: DummyVerify copes with any input and parameters.
func TestDummyVerifyOddInput(t *testing.T) {
	cheap.DummyVerify(strings.Repeat("x", 2*password.MaxBytes))
	cheap.DummyVerify("\xff")
	password.Params{Memory: 1 << 30}.DummyVerify("out-of-bounds parameters fall back to the defaults")
}
