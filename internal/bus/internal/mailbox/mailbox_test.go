package mailbox_test

import (
	"errors"
	"testing"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/internal/mailbox"
	"github.com/kaigi/kaigi/internal/errs"
)

func TestFullBoxEndsWithSlowConsumer(t *testing.T) {
	b, err := mailbox.New("a.>", bus.SubscribeOptions{Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []mailbox.Result{mailbox.Delivered, mailbox.Delivered, mailbox.Dropped, mailbox.Ended}
	for i, w := range want {
		if got := b.Deliver(bus.Message{Subject: "a.b", Payload: []byte{byte(i)}}); got != w {
			t.Fatalf("Deliver %d = %v, want %v", i, got, w)
		}
	}
	if !errors.Is(b.Err(), bus.ErrSlowConsumer) {
		t.Fatalf("Err() = %v, want ErrSlowConsumer", b.Err())
	}
	var got []byte
	for m := range b.C() { // closed after the buffered messages
		got = append(got, m.Payload...)
	}
	if string(got) != "\x00\x01" {
		t.Fatalf("buffered messages %v, want [0 1]", got)
	}
	if b.End(bus.ErrClosed) {
		t.Fatal("End on an ended box reported that it ended it")
	}
	if !errors.Is(b.Err(), bus.ErrSlowConsumer) {
		t.Fatalf("a later End changed the reason to %v", b.Err())
	}
}

func TestEndNil(t *testing.T) {
	b, err := mailbox.New("a", bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Cap() != bus.DefaultBuffer {
		t.Fatalf("Cap() = %d, want DefaultBuffer %d", b.Cap(), bus.DefaultBuffer)
	}
	if b.Err() != nil || !b.End(nil) || b.Err() != nil {
		t.Fatal("End(nil) must end the box with no error")
	}
	if _, ok := <-b.C(); ok {
		t.Fatal("channel open after End")
	}
	if got := b.Deliver(bus.Message{}); got != mailbox.Ended {
		t.Fatalf("Deliver after End = %v", got)
	}
}

func TestBufferBounds(t *testing.T) {
	tests := []struct {
		name   string
		buffer int
		ok     bool
	}{
		{"default", 0, true},
		{"one", 1, true},
		{"max", bus.MaxBuffer, true},
		{"negative", -1, false},
		{"over max", bus.MaxBuffer + 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mailbox.New("a", bus.SubscribeOptions{Buffer: tc.buffer})
			if (err == nil) != tc.ok || err != nil && errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("New with buffer %d: %v", tc.buffer, err)
			}
		})
	}
}
