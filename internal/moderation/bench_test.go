package moderation

import (
	"slices"
	"sort"
	"testing"
	"time"
)

// typicalMessages are chat-sized messages in both languages, mostly clean.
var typicalMessages = []string{
	"Good morning everyone, stand-up is in five minutes.",
	"Can you review my PR when you get a chance? It touches the auth middleware.",
	"this bug is killing me, three days and still no repro",
	"you are such an idiot",
	"I will kill you",
	"明日の会議は十時からです。資料は共有フォルダにあります。",
	"カスタマーサポートから問い合わせがありました",
	"お前はバカだ、早く死ね",
	"lol that demo was 🔥🔥🔥",
	"Deploy finished, rollback plan is in the runbook: https://example.invalid/runbook#deploy",
}

func BenchmarkClassify(b *testing.B) {
	l := testLocal(b)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := l.Classify(ctx, Input{Text: typicalMessages[i%len(typicalMessages)]}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestClassifyLatencyP99 reports the p99 latency over typical messages. It
// only logs (machines differ); the target is 1 ms on the team's
// machine, and BenchmarkClassify gives the mean.
func TestClassifyLatencyP99(t *testing.T) {
	if testing.Short() {
		t.Skip("latency measurement skipped under -short")
	}
	l := testLocal(t)
	ctx := t.Context()
	var d []time.Duration
	for i := range 5000 {
		start := time.Now()
		if _, err := l.Classify(ctx, Input{Text: typicalMessages[i%len(typicalMessages)]}); err != nil {
			t.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	t.Logf("classify latency over %d typical messages: p50 %v, p99 %v, max %v", len(d), d[len(d)/2], d[len(d)*99/100], slices.Max(d))
}
