package sfu

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the SFU's Prometheus collectors. The zero value is not usable;
// build one with NewMetrics. All counters are safe for concurrent use and cost
// one atomic add on the forwarding path.
type Metrics struct {
	// PacketsForwarded counts RTP packets written to subscribers.
	PacketsForwarded prometheus.Counter
	// BytesForwarded counts RTP payload and header bytes written to subscribers.
	BytesForwarded prometheus.Counter
	// PacketsReceived counts RTP packets read from publishers.
	PacketsReceived prometheus.Counter
	// NACKsReceived counts NACK packets received from subscribers (answered by
	// the NACK responder from its buffer).
	NACKsReceived prometheus.Counter
	// KeyframeRequestsReceived counts PLI and FIR packets received from subscribers.
	KeyframeRequestsReceived prometheus.Counter
	// PLIsSent counts PLIs sent to publishers (after rate limiting).
	PLIsSent prometheus.Counter
	// EventsDropped counts room events dropped because the event handler fell behind.
	EventsDropped prometheus.Counter
	// Rooms, Participants and Tracks are the current numbers of open rooms,
	// joined participants and published tracks.
	Rooms, Participants, Tracks prometheus.Gauge
}

// NewMetrics creates the collectors and registers them with reg, if reg is not
// nil. It returns the error of a failed registration (e.g. a duplicate).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "kaigi", Subsystem: "sfu", Name: name, Help: help})
	}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kaigi", Subsystem: "sfu", Name: name, Help: help})
	}
	m := &Metrics{
		PacketsForwarded:         c("forwarded_packets_total", "RTP packets written to subscribers."),
		BytesForwarded:           c("forwarded_bytes_total", "RTP bytes written to subscribers."),
		PacketsReceived:          c("received_packets_total", "RTP packets read from publishers."),
		NACKsReceived:            c("nacks_received_total", "NACK packets received from subscribers."),
		KeyframeRequestsReceived: c("keyframe_requests_received_total", "PLI and FIR packets received from subscribers."),
		PLIsSent:                 c("plis_sent_total", "PLIs sent to publishers."),
		EventsDropped:            c("events_dropped_total", "Room events dropped because the handler fell behind."),
		Rooms:                    g("rooms", "Open rooms."),
		Participants:             g("participants", "Joined participants."),
		Tracks:                   g("tracks", "Published tracks."),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{
			m.PacketsForwarded, m.BytesForwarded, m.PacketsReceived, m.NACKsReceived,
			m.KeyframeRequestsReceived, m.PLIsSent, m.EventsDropped, m.Rooms, m.Participants, m.Tracks,
		} {
			if err := reg.Register(col); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
