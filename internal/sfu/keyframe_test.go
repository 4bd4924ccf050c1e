package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
)

func TestKeyframeDetection(t *testing.T) {
	cases := []struct {
		name string
		fn   func([]byte) bool
		b    []byte
		want bool
	}{
		{"vp8 keyframe", isVP8Keyframe, []byte{0x10, 0x00}, true},
		{"vp8 interframe", isVP8Keyframe, []byte{0x10, 0x01}, false},
		{"vp8 not start of partition", isVP8Keyframe, []byte{0x00, 0x00}, false},
		{"vp8 keyframe with 15-bit picture id", isVP8Keyframe, []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"vp8 interframe with 7-bit picture id, tl0 and tid", isVP8Keyframe, []byte{0x90, 0xe0, 0x05, 0x01, 0x20, 0x01}, false},
		{"vp8 truncated", isVP8Keyframe, []byte{0x90}, false},
		{"vp8 empty", isVP8Keyframe, nil, false},
		{"h264 idr", isH264Keyframe, []byte{0x65}, true},
		{"h264 sps", isH264Keyframe, []byte{0x67}, true},
		{"h264 non-idr slice", isH264Keyframe, []byte{0x41}, false},
		{"h264 stap-a with sps", isH264Keyframe, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68}, true},
		{"h264 stap-a truncated", isH264Keyframe, []byte{0x78, 0x00}, false},
		{"h264 fu-a idr start", isH264Keyframe, []byte{0x7c, 0x85}, true},
		{"h264 fu-a idr middle", isH264Keyframe, []byte{0x7c, 0x05}, false},
		{"h264 empty", isH264Keyframe, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fn(tc.b); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTURNCredentialsAreBoundToUserAndExpiry(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	s, _ := newTestSFU(t, func(c *Config) {
		c.Clock = fake
		c.TURN = &TURNConfig{UDPAddr: "127.0.0.1:0", Secret: testSecret(), CredentialTTL: time.Hour}
	})
	creds, err := s.TURNCredentials("bob")
	if err != nil {
		t.Fatal(err)
	}
	if want := "1700003600:bob"; creds.Username != want {
		t.Errorf("username = %q, want %q", creds.Username, want)
	}
	if !creds.Expires.Equal(fake.Now().Add(time.Hour)) {
		t.Errorf("expires = %v", creds.Expires)
	}
	if _, ok := s.turn.auth(creds.Username, "kaigi", nil); !ok {
		t.Error("fresh credentials refused")
	}
	for _, bad := range []string{"bob", "notanumber:bob", ""} {
		if _, ok := s.turn.auth(bad, "kaigi", nil); ok {
			t.Errorf("username %q accepted", bad)
		}
	}
	if strings.Contains(testSecret().String(), "Z") || strings.Contains(creds.Credential, string(testSecret().b)) {
		t.Error("secret leaks")
	}
	off, _ := newTestSFU(t, nil)
	if _, err := off.TURNCredentials("bob"); err == nil {
		t.Error("credentials without TURN")
	}
}
