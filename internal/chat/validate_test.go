package chat

import (
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/errs"
)

func TestCheckBody(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		code     errs.Code
		mentions int
	}{
		{"plain", "hello", "", 0},
		{"markdown and newlines", "**hi**\n\n- a\n- b\t!", "", 0},
		{"japanese", "こんにちは、世界", "", 0},
		{"mentions deduplicated", "<@abc> and <@abc> and <@def>", "", 2},
		{"mention with zero-width inside is no mention", "<@ab\u200Bc>", "", 0},
		{"empty", " \n\t ", errs.Invalid, 0},
		{"invalid UTF-8", "a\xffb", errs.Invalid, 0},
		{"right-to-left override", "abc\u202Efed", errs.Invalid, 0},
		{"left-to-right isolate", "\u2066x\u2069", errs.Invalid, 0},
		{"escape", "\x1b[31mred", errs.Invalid, 0},
		{"too long", strings.Repeat("あ", MaxMessageBytes/3+1), errs.TooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := checkBody(tt.body)
			if errs.CodeOf(err) != tt.code {
				t.Fatalf("err = %v, want code %q", err, tt.code)
			}
			if err == nil && len(m) != tt.mentions {
				t.Fatalf("mentions %v, want %d", m, tt.mentions)
			}
		})
	}
}

func TestCheckTypeRefusesFilesThatLie(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	pdf := []byte("%PDF-1.7\n")
	html := []byte("<!DOCTYPE html><script>alert(1)</script>")
	tests := []struct {
		name, file string
		head       []byte
		ok         bool
	}{
		{"png is png", "a.png", png, true},
		{"pdf is pdf", "a.PDF", pdf, true},
		{"text is text", "notes.txt", []byte("hello"), true},
		{"unknown extension, binary", "data.bin", []byte{0, 1, 2, 3}, true},
		{"html named html", "page.html", html, true},
		{"html named png", "a.png", html, false},
		{"html named txt", "a.txt", html, false},
		{"html named without extension", "README", html, false},
		{"png named pdf", "a.pdf", png, false},
		{"text named jpg", "a.jpg", []byte("not a picture"), false},
		{"empty file", "empty.png", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkType(tt.file, tt.head)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && errs.CodeOf(err) != errs.Unsupported {
				t.Fatalf("code %q", errs.CodeOf(err))
			}
		})
	}
}

func TestCheckFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\me\plan.docx`, "plan.docx"},
		{"  spaced.txt  ", "spaced.txt"},
	}
	for _, tt := range tests {
		if got, err := checkFileName(tt.in); err != nil || got != tt.want {
			t.Errorf("%q → %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "/", "a\x00b", "evil\u202Etxt.exe", strings.Repeat("x", 256)} {
		if _, err := checkFileName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestPeerOfAOneToOneChat: the other person of a one-to-one chat comes from
// its key; other channels, and people not in the pair, have none.
func TestPeerOfAOneToOneChat(t *testing.T) {
	c := Channel{Kind: Chat, ChatKey: "ada+max"}
	if p, ok := c.Peer("ada"); !ok || p != "max" {
		t.Errorf("ada's peer = %q, %v", p, ok)
	}
	if p, ok := c.Peer("max"); !ok || p != "ada" {
		t.Errorf("max's peer = %q, %v", p, ok)
	}
	if _, ok := c.Peer("eve"); ok {
		t.Error("someone outside the pair has a peer")
	}
	if _, ok := (Channel{Kind: Chat, Name: "group"}).Peer("ada"); ok {
		t.Error("a group chat has a peer")
	}
	if _, ok := (Channel{Kind: Standard, ChatKey: "ada+max"}).Peer("ada"); ok {
		t.Error("a channel has a peer")
	}
}
