// Package metrics holds the Prometheus collectors every service exposes on /metrics: HTTP
// requests by route and status, messages published, consumed and failed, and store round trips.
// Each service owns a registry, so several services can run in one process (the all-in-one
// launcher) without clashing.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one service's set of collectors.
type Metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	published *prometheus.CounterVec
	consumed  *prometheus.CounterVec
	failed    *prometheus.CounterVec
	store     *prometheus.CounterVec
	dead      *prometheus.CounterVec
}

// New returns the collectors of service, registered in a registry of their own.
func New(service string) *Metrics {
	labels := prometheus.Labels{"service": service}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests served, by route, method and status.", ConstLabels: labels,
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency, by route and method.", ConstLabels: labels,
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messages_published_total", Help: "Messages published, by exchange and type.", ConstLabels: labels,
		}, []string{"exchange", "type"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messages_consumed_total", Help: "Messages handled successfully, by queue and type.", ConstLabels: labels,
		}, []string{"queue", "type"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messages_failed_total", Help: "Message deliveries whose handler failed, by queue and type.", ConstLabels: labels,
		}, []string{"queue", "type"}),
		store: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "store_round_trips_total", Help: "Commands sent to the store (each one round trip), by collection and command.", ConstLabels: labels,
		}, []string{"collection", "command"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messages_dead_lettered_total", Help: "Messages moved to the dead-letter queue, by queue and type.", ConstLabels: labels,
		}, []string{"queue", "type"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.published, m.consumed, m.failed, m.dead, m.store,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveRequest records one served HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(took.Seconds())
}

// Published counts a message published to exchange.
func (m *Metrics) Published(exchange, msgType string) {
	m.published.WithLabelValues(exchange, msgType).Inc()
}

// Consumed counts a message handled successfully from queue.
func (m *Metrics) Consumed(queue, msgType string) { m.consumed.WithLabelValues(queue, msgType).Inc() }

// DeadLettered counts a message of queue moved to its dead-letter queue; msgType is "" for a
// message that was not even an envelope (its handler never ran, so Failed did not count it).
func (m *Metrics) DeadLettered(queue, msgType string) {
	if msgType == "" {
		msgType = "(malformed)"
	}
	m.dead.WithLabelValues(queue, msgType).Inc()
}

// Failed counts a delivery from queue whose handler failed.
func (m *Metrics) Failed(queue, msgType string) { m.failed.WithLabelValues(queue, msgType).Inc() }

// StoreRoundTrip counts one command sent to the store (pass it to mongox.Connect).
func (m *Metrics) StoreRoundTrip(collection, command string) {
	m.store.WithLabelValues(collection, command).Inc()
}
