package inproc_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/inproc"
)

// A subscriber reads C until it is closed, then asks Err why.
func Example() {
	ctx := context.Background()
	b := inproc.New(inproc.Options{})
	defer b.Close()

	sub, err := b.Subscribe(ctx, "tenant.t1.>", bus.SubscribeOptions{Buffer: 2})
	if err != nil {
		panic(err)
	}
	for _, ch := range []string{"c1", "c2", "c3"} {
		if err := b.Publish(ctx, "tenant.t1.channel."+ch, []byte("sealed")); err != nil {
			panic(err)
		}
	}

	for m := range sub.C() {
		fmt.Println(m.Subject)
	}
	if errors.Is(sub.Err(), bus.ErrSlowConsumer) {
		fmt.Println("dropped as slow: catch up from the store, then subscribe again")
	}
	// Output:
	// tenant.t1.channel.c1
	// tenant.t1.channel.c2
	// dropped as slow: catch up from the store, then subscribe again
}
