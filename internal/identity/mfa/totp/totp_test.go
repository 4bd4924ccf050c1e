package totp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
)

// t0 is the fixed "now" of the tests, 15 seconds into its time step.
var t0 = time.Date(2026, 3, 10, 12, 0, 15, 0, time.UTC)

func step(at time.Time) uint64 { return uint64(at.Unix()) / 30 }

func TestVerifyAcceptsOathtoolCodesWithinOneStep(t *testing.T) {
	s := mustSecret(t)
	v := NewVerifier(clock.NewFake(t0))
	tests := []struct {
		name    string
		at      time.Time // when oathtool computes the code
		want    error
		wantOut uint64
	}{
		{name: "current step", at: t0, wantOut: step(t0)},
		{name: "current step, last second", at: t0.Add(14 * time.Second), wantOut: step(t0)},
		{name: "previous step", at: t0.Add(-30 * time.Second), wantOut: step(t0) - 1},
		{name: "next step", at: t0.Add(30 * time.Second), wantOut: step(t0) + 1},
		{name: "two steps back", at: t0.Add(-60 * time.Second), want: ErrIncorrectCode},
		{name: "two steps ahead", at: t0.Add(60 * time.Second), want: ErrIncorrectCode},
		{name: "an hour back", at: t0.Add(-time.Hour), want: ErrIncorrectCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := oathtool(t, s.base32(), tt.at)
			got, err := v.Verify(s, code, 0)
			if tt.want != nil {
				// A code of another step may by chance (1 in 10⁶) equal one
				// in the window; then the refusal cannot be tested.
				if err == nil {
					t.Skipf("code of %v collides with a code in the window", tt.at)
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify: %v, want %v", err, tt.want)
				}
				if !errs.Is(err, errs.Unauthenticated) {
					t.Fatalf("code %s, want %s", errs.CodeOf(err), errs.Unauthenticated)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.wantOut {
				t.Fatalf("step %d, want %d", got, tt.wantOut)
			}
		})
	}
}

func TestVerifyRefusesReplay(t *testing.T) {
	s := mustSecret(t)
	v := NewVerifier(clock.NewFake(t0))
	prev := oathtool(t, s.base32(), t0.Add(-30*time.Second))
	cur := oathtool(t, s.base32(), t0)
	next := oathtool(t, s.base32(), t0.Add(30*time.Second))
	if prev == cur || cur == next || prev == next {
		t.Skip("two codes of the window collide (1 in 10⁶)")
	}

	type attempt struct {
		code string
		want error // nil: accepted
	}
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{name: "same code twice", attempts: []attempt{{cur, nil}, {cur, ErrCodeUsed}}},
		{name: "previous code after the current one", attempts: []attempt{{cur, nil}, {prev, ErrCodeUsed}}},
		{name: "current and previous code after the next one", attempts: []attempt{{next, nil}, {cur, ErrCodeUsed}, {prev, ErrCodeUsed}, {next, ErrCodeUsed}}},
		{name: "later codes after an earlier one", attempts: []attempt{{prev, nil}, {cur, nil}, {next, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var last uint64
			for i, a := range tt.attempts {
				got, err := v.Verify(s, a.code, last)
				if a.want != nil {
					if !errors.Is(err, a.want) {
						t.Fatalf("attempt %d: %v, want %v", i, err, a.want)
					}
					continue
				}
				if err != nil {
					t.Fatalf("attempt %d: %v", i, err)
				}
				if got <= last {
					t.Fatalf("attempt %d: step %d not after %d", i, got, last)
				}
				last = got
			}
		})
	}
}

func TestVerifyAfterClockMoves(t *testing.T) {
	s := mustSecret(t)
	c := clock.NewFake(t0)
	v := NewVerifier(c)
	code := oathtool(t, s.base32(), t0)
	last, err := v.Verify(s, code, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(30 * time.Second) // the code is now the previous step's
	if _, err := v.Verify(s, code, last); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("replay a step later: %v, want ErrCodeUsed", err)
	}
	c.Advance(30 * time.Second) // two steps later: out of the window
	if _, err := v.Verify(s, code, 0); !errors.Is(err, ErrIncorrectCode) {
		t.Fatalf("code two steps old: %v, want ErrIncorrectCode", err)
	}
	next := oathtool(t, s.base32(), c.Now())
	if _, err := v.Verify(s, next, last); err != nil {
		t.Fatalf("a new code after the clock moved: %v", err)
	}
}

func TestVerifyNormalisesInput(t *testing.T) {
	s := mustSecret(t)
	v := NewVerifier(clock.NewFake(t0))
	code := oathtool(t, s.base32(), t0)
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{name: "plain", input: code},
		{name: "space in the middle", input: code[:3] + " " + code[3:]},
		{name: "dash in the middle", input: code[:3] + "-" + code[3:]},
		{name: "surrounding spaces and tab", input: " \t" + code + " "},
		{name: "full-width digits", input: fullWidth(code)},
		{name: "full-width digits and ideographic space", input: fullWidth(code[:3]) + "\u3000" + fullWidth(code[3:])},
		{name: "empty", input: "", want: ErrMalformedCode},
		{name: "five digits", input: code[:5], want: ErrMalformedCode},
		{name: "seven digits", input: code + "0", want: ErrMalformedCode},
		{name: "letter", input: code[:5] + "a", want: ErrMalformedCode},
		{name: "letter O for zero", input: "O" + code[1:], want: ErrMalformedCode},
		{name: "Arabic-Indic digits", input: "١٢٣٤٥٦", want: ErrMalformedCode},
		{name: "superscript digit", input: code[:5] + "²", want: ErrMalformedCode},
		{name: "NUL byte", input: code[:5] + "\x00", want: ErrMalformedCode},
		{name: "invalid UTF-8", input: code[:5] + "\xff", want: ErrMalformedCode},
		{name: "very long", input: strings.Repeat(" ", 1<<20) + code, want: ErrMalformedCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(s, tt.input, 0)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify(%q): %v", tt.input, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%q): %v, want %v", tt.input, err, tt.want)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("code %s, want %s", errs.CodeOf(err), errs.Invalid)
			}
			if strings.Contains(err.Error(), code) {
				t.Fatal("error contains the code")
			}
		})
	}
}

func TestVerifyWrongCode(t *testing.T) {
	s := mustSecret(t)
	v := NewVerifier(clock.NewFake(t0))
	window := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		window[oathtool(t, s.base32(), t0.Add(d))] = true
	}
	wrong := "000000"
	for n := 0; window[wrong]; n++ {
		wrong = fmt.Sprintf("%06d", n+1)
	}
	if _, err := v.Verify(s, wrong, 0); !errors.Is(err, ErrIncorrectCode) {
		t.Fatalf("wrong code: %v, want ErrIncorrectCode", err)
	}
	other := mustSecret(t)
	code := oathtool(t, other.base32(), t0)
	if !window[code] {
		if _, err := v.Verify(s, code, 0); !errors.Is(err, ErrIncorrectCode) {
			t.Fatalf("another secret's code: %v, want ErrIncorrectCode", err)
		}
	}
	if _, err := v.Verify(Secret{}, code, 0); err == nil {
		t.Fatal("empty secret accepted")
	}
}

func TestEnrolURL(t *testing.T) {
	tests := []struct {
		name    string
		account string
	}{
		{name: "email", account: "alice@example.com"},
		{name: "space", account: "Jane Doe"},
		{name: "reserved characters", account: "a+b/c?d&e#f%g=h"},
		{name: "Japanese", account: "田中 倫"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Enrol(tt.account)
			if err != nil {
				t.Fatal(err)
			}
			u := e.URL()
			if !strings.HasPrefix(u, "otpauth://totp/Kaigi:") {
				t.Fatalf("URL %q lacks the Kaigi label prefix", u)
			}
			label := u[len("otpauth://totp/"):strings.IndexByte(u, '?')]
			if strings.ContainsAny(label, " +/?#&") {
				t.Fatalf("label %q has an unescaped reserved character", label)
			}
			key, err := otp.NewKeyFromURL(u)
			if err != nil {
				t.Fatal(err)
			}
			b32 := e.Secret().base32()
			checks := []struct {
				what      string
				got, want any
			}{
				{"type", key.Type(), "totp"},
				{"issuer", key.Issuer(), Issuer},
				{"account", key.AccountName(), tt.account},
				{"secret", key.Secret(), b32},
				{"period", key.Period(), uint64(30)},
				{"digits", key.Digits(), otp.DigitsSix},
				{"algorithm", key.Algorithm(), otp.AlgorithmSHA1},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
				}
			}
			if len(ExportSecret(e.Secret())) != SecretSize {
				t.Errorf("secret is %d bytes, want %d", len(ExportSecret(e.Secret())), SecretSize)
			}
			if got := strings.ReplaceAll(e.ManualKey(), " ", ""); got != b32 {
				t.Errorf("manual key %q, want %q in groups", e.ManualKey(), b32)
			}
			if e.Account() != tt.account {
				t.Errorf("Account() = %q", e.Account())
			}
		})
	}
}

func TestEnrolRefusesBadAccount(t *testing.T) {
	tests := []struct {
		name    string
		account string
	}{
		{name: "empty", account: ""},
		{name: "colon", account: "evil:Kaigi"},
		{name: "newline", account: "alice\n@example.com"},
		{name: "NUL", account: "alice\x00"},
		{name: "invalid UTF-8", account: "alice\xff"},
		{name: "too long", account: strings.Repeat("a", 257)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Enrol(tt.account)
			if !errors.Is(err, ErrInvalidAccount) || !errs.Is(err, errs.Invalid) {
				t.Fatalf("Enrol(%q): %v, want ErrInvalidAccount", tt.account, err)
			}
		})
	}
}

func TestEnrolmentConfirmedByOathtoolCode(t *testing.T) {
	e, err := Enrol("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// The caller stores the exported secret sealed, then reads it back.
	stored, err := ImportSecret(ExportSecret(e.Secret()))
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(clock.NewFake(t0))
	code := oathtool(t, strings.ReplaceAll(e.ManualKey(), " ", ""), t0)
	last, err := v.Verify(stored, code, 0)
	if err != nil {
		t.Fatalf("confirming code: %v", err)
	}
	if _, err := v.Verify(stored, code, last); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("confirming code reused to sign in: %v, want ErrCodeUsed", err)
	}
}

func TestQRCodePNG(t *testing.T) {
	e, err := Enrol("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.QRCodePNG(256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Dx(); got != 256 {
		t.Fatalf("width %d, want 256", got)
	}
	for _, size := range []int{0, 99, 4096} {
		if _, err := e.QRCodePNG(size); !errs.Is(err, errs.Invalid) {
			t.Errorf("size %d: %v, want Invalid", size, err)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	e, err := Enrol("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s := e.Secret()
	raw := ExportSecret(s)
	b32 := s.base32()
	leaks := []string{b32, strings.ToLower(b32), hex.EncodeToString(raw), fmt.Sprint(raw), string(raw)}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("enrol", "secret", s, "enrolment", e)
	holder := struct {
		S Secret
		E *Enrolment
	}{s, e}
	outputs := map[string]string{"slog": logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs[verb+" secret"] = fmt.Sprintf(verb, s)
		outputs[verb+" enrolment"] = fmt.Sprintf(verb, e)
		outputs[verb+" struct"] = fmt.Sprintf(verb, holder)
	}
	for name, out := range outputs {
		for _, leak := range leaks {
			if leak != "" && strings.Contains(out, leak) {
				t.Errorf("%s output %q contains the secret", name, out)
			}
		}
	}
	if _, err := json.Marshal(s); err == nil {
		t.Error("json.Marshal(Secret) succeeded")
	}
	if _, err := json.Marshal(holder); err == nil {
		t.Error("json.Marshal of a struct holding the secret succeeded")
	}
}

func TestSecretImportExport(t *testing.T) {
	s := mustSecret(t)
	tests := []struct {
		name    string
		raw     []byte
		wantErr bool
	}{
		{name: "exported", raw: ExportSecret(s)},
		{name: "16 bytes", raw: make([]byte, 16)},
		{name: "64 bytes", raw: make([]byte, 64)},
		{name: "15 bytes", raw: make([]byte, 15), wantErr: true},
		{name: "65 bytes", raw: make([]byte, 65), wantErr: true},
		{name: "nil", raw: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ImportSecret(tt.raw)
			if tt.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ExportSecret(got), tt.raw) {
				t.Fatal("round trip changed the bytes")
			}
		})
	}
	// The Secret holds a copy: changing the input or output changes nothing.
	raw := ExportSecret(s)
	got, _ := ImportSecret(raw)
	raw[0] ^= 0xff
	ExportSecret(got)[1] ^= 0xff
	if !got.Equal(s) {
		t.Fatal("Secret shares memory with the bytes it was imported from or exported to")
	}
	if s.Equal(mustSecret(t)) || !(Secret{}).Equal(Secret{}) || s.Equal(Secret{}) || !(Secret{}).IsZero() {
		t.Fatal("Equal or IsZero is wrong")
	}
	if ExportSecret(Secret{}) != nil {
		t.Fatal("zero Secret exported bytes")
	}
}
