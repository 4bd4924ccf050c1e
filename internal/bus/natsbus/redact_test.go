package natsbus

import "testing"

func TestRedactURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"user and password", "nats://kaigi:s3cret@nats.internal:4222", "nats://nats.internal:4222"},
		{"token", "nats://t0ken@nats.internal:4222", "nats://nats.internal:4222"},
		{"no scheme", "kaigi:s3cret@host:4222", "host:4222"},
		{"password with slash and at", "tls://u:p/a@ss@host:4222", "tls://host:4222"},
		{"websocket path", "wss://u:p@host:443/nats", "wss://host:443/nats"},
		{"list", "nats://a:b@h1:4222, nats://h2:4222,nats://tok@h3:4222", "nats://h1:4222,nats://h2:4222,nats://h3:4222"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redactURL(tc.in); got != tc.want {
				t.Fatalf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
