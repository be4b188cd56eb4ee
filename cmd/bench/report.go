package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ecommerce-go/ecommerce/orders"
)

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func orderIDForCart(cartID string) string { return orders.OrderIDForCart(cartID) }

// markdown renders the report.
func markdown(rep *Report) string {
	var b strings.Builder
	m := rep.Machine
	fleet := "the all-in-one fleet (embedded FerretDB/SQLite, Redis stand-in, in-process broker)"
	if rep.Backend == "servers" {
		fleet = "the all-in-one fleet's services on this machine's servers (FerretDB in the fleet's process on PostgreSQL, RabbitMQ, Redis)"
	}
	fmt.Fprintf(&b, "## Benchmark report (%s)\n\nMachine: %s, %d cores, %s, %s. Everything on this machine: %s, wrk and the load tool.\n\n",
		m.Date, m.CPU, m.Cores, m.OS, m.Go, fleet)

	b.WriteString("### Reads under wrk\n\n" +
		"CPU µs/req is what the bench's process (ceiling server and fleet, not wrk) spent per request; its share of the ceiling's hardly changes when other programs use the machine, unlike req/s.\n\n" +
		"| endpoint | req/s | % of ceiling | CPU µs/req | % of ceiling by CPU |\n|---|---:|---:|---:|---:|\n")
	for _, t := range rep.Throughput {
		fmt.Fprintf(&b, "| %s | %.0f | %.1f %% | %.1f | %.1f %% |\n", t.Endpoint, t.PerSecond, t.Ceiling, t.CPUus, t.CPUCeiling)
	}

	b.WriteString("\n### Store round trips of one checkout (3 lines, POST /cart/checkout → order validated)\n\n| service | round trips |\n|---|---:|\n")
	svcs := make([]string, 0, len(rep.Checkout))
	for s := range rep.Checkout {
		if s != "total" {
			svcs = append(svcs, s)
		}
	}
	slices.Sort(svcs)
	for _, s := range append(svcs, "total") {
		fmt.Fprintf(&b, "| %s | %d |\n", s, rep.Checkout[s])
	}

	if len(rep.History) > 0 {
		fmt.Fprintf(&b, "\n### History: median latency, fresh shop vs after seeding %d stock moves and %d orders (with carts and events) in %d s\n\n",
			rep.Seeded["stockMoves"], rep.Seeded["orders"], rep.Seeded["seedSeconds"])
		b.WriteString("| read | fresh p50 ms | history p50 ms | ratio |\n|---|---:|---:|---:|\n")
		for _, h := range rep.History {
			fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f× |\n", h.Endpoint, h.FreshMs, h.HistoryMs, h.Ratio)
		}
	}

	if len(rep.Load) > 0 {
		var load struct {
			Seconds    float64
			Total      int
			PerSecond  float64
			Operations []struct {
				Operation                      string
				OK, Errors                     int
				PerSecond, P50ms, P95ms, P99ms float64
			}
		}
		if err := json.Unmarshal(rep.Load, &load); err == nil {
			fmt.Fprintf(&b, "\n### Mixed load (cmd/load): %d requests in %.0f s, %.1f req/s\n\n", load.Total, load.Seconds, load.PerSecond)
			b.WriteString("| operation | ok | errors | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n")
			for _, o := range load.Operations {
				fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f |\n", o.Operation, o.OK, o.Errors, o.PerSecond, o.P50ms, o.P95ms, o.P99ms)
			}
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}
