// Command lighthouse measures the storefront with Lighthouse (`make lighthouse`): it starts the
// all-in-one fleet on free loopback ports, stocks it with pictured articles and a shopper whose
// cart holds two of them, then runs Lighthouse (from npm, in .tools) in Debian's headless
// Chromium on the catalog, an article and the cart, as a phone and as a desktop, three times
// each, and writes each category's median score as a table to bench/lighthouse.md (the full
// reports go to bench/lighthouse/, not kept in git).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ecommerce-go/ecommerce/internal/benchkit"
)

// categories are the Lighthouse categories measured, in the table's order.
var categories = []struct{ id, title string }{
	{"performance", "Performance"}, {"accessibility", "Accessibility"},
	{"best-practices", "Best practices"}, {"seo", "SEO"},
}

func main() {
	out := flag.String("out", "bench", "folder of lighthouse.md (and lighthouse/, the full reports)")
	bin := flag.String("lighthouse", filepath.Join(".tools", "node_modules", ".bin", "lighthouse"), "the Lighthouse command")
	target := flag.Int("target", 98, "the score every category should reach; lower ones are marked in the table")
	runs := flag.Int("runs", 3, "runs of each page and form factor; the table shows each category's median")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *bin, *out, *target, max(*runs, 1)); err != nil {
		fmt.Fprintln(os.Stderr, "lighthouse:", err)
		os.Exit(1)
	}
}

type page struct{ name, path string }

func run(ctx context.Context, bin, out string, target, runs int) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w (make lighthouse installs it with npm)", err)
	}
	if os.Getenv("CHROME_PATH") == "" {
		os.Setenv("CHROME_PATH", "/usr/bin/chromium")
	}
	fmt.Println("lighthouse: starting the all-in-one fleet")
	f, err := benchkit.StartFleet(ctx)
	if err != nil {
		return err
	}
	defer f.Stop()
	if err := benchkit.WaitReady(ctx, map[string]string{"web": f.Web}); err != nil {
		return err
	}
	article, token, err := stock(ctx, f)
	if err != nil {
		return err
	}
	pages := []page{{"Catalog", "/"}, {"Article", "/articles/" + article}, {"Cart", "/cart"}}

	reports := filepath.Join(out, "lighthouse")
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return err
	}
	// The shopper's session cookie, so the cart is theirs (sent with every request of the run).
	headers := filepath.Join(reports, "headers.json")
	if err := os.WriteFile(headers, []byte(`{"Cookie": "session=`+token+`"}`), 0o600); err != nil {
		return err
	}
	defer os.Remove(headers)

	var rows []string
	var benchmarks []int // Lighthouse's measure of this machine's speed in each run
	for _, form := range []string{"mobile", "desktop"} {
		for _, p := range pages {
			all := map[string][]int{}
			for i := range runs {
				fmt.Printf("lighthouse: %s, %s, run %d of %d\n", p.name, form, i+1, runs)
				report := filepath.Join(reports, fmt.Sprintf("%s-%s-%d.json", strings.ToLower(p.name), form, i+1))
				scores, benchmark, err := lighthouse(ctx, bin, f.Web+p.path, form, headers, report)
				if err != nil {
					return fmt.Errorf("%s (%s): %w", p.name, form, err)
				}
				for id, s := range scores {
					all[id] = append(all[id], s)
				}
				benchmarks = append(benchmarks, benchmark)
			}
			row := "| " + p.name + " | " + form + " |"
			for _, c := range categories {
				score, mark := median(all[c.id]), ""
				if score < target {
					mark = " ✗"
				}
				row += fmt.Sprintf(" %d%s |", score, mark)
			}
			rows = append(rows, row)
		}
	}
	md := "| Page | Form factor |"
	for _, c := range categories {
		md += " " + c.title + " |"
	}
	md += "\n|---|---|" + strings.Repeat("---:|", len(categories)) + "\n" + strings.Join(rows, "\n") + "\n\n" +
		fmt.Sprintf("Median of %d runs of Lighthouse %s in %s, headless, on this machine (Lighthouse's benchmark index of its CPU: median %d, from %d to %d); "+
			"the mobile runs emulate a mid-range phone on a slow 4G network with the CPU slowed down fourfold, so their performance score follows the machine's load. "+
			"`make lighthouse` measures it again; ✗ marks a score under %d.\n",
			runs, version(ctx, bin), chromiumVersion(ctx), median(benchmarks), slices.Min(benchmarks), slices.Max(benchmarks), target)
	fmt.Println()
	fmt.Print(md)
	return os.WriteFile(filepath.Join(out, "lighthouse.md"), []byte(md), 0o644)
}

// median is the middle value of scores (the upper one of the middle two).
func median(scores []int) int {
	sorted := slices.Sorted(slices.Values(scores))
	return sorted[len(sorted)/2]
}

// lighthouse runs one measurement and returns each category's score out of 100, and the
// benchmark index Lighthouse measured the machine's CPU at.
func lighthouse(ctx context.Context, bin, url, form, headers, report string) (map[string]int, int, error) {
	args := []string{url, "--quiet", "--output=json", "--output-path=" + report, "--extra-headers=" + headers,
		"--only-categories=performance,accessibility,best-practices,seo",
		"--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking " +
			"--disable-component-update --disable-sync --no-first-run --no-default-browser-check"}
	if form == "desktop" {
		args = append(args, "--preset=desktop")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, err
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		return nil, 0, err
	}
	var r struct {
		RuntimeError *struct{ Code, Message string } `json:"runtimeError"`
		Environment  struct {
			BenchmarkIndex float64 `json:"benchmarkIndex"`
		} `json:"environment"`
		Categories map[string]struct {
			Score *float64 `json:"score"`
		} `json:"categories"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, 0, err
	}
	if r.RuntimeError != nil {
		return nil, 0, fmt.Errorf("%s: %s", r.RuntimeError.Code, r.RuntimeError.Message)
	}
	scores := map[string]int{}
	for _, c := range categories {
		s := r.Categories[c.id].Score
		if s == nil {
			return nil, 0, fmt.Errorf("no %s score", c.id)
		}
		scores[c.id] = int(*s*100 + 0.5)
	}
	return scores, int(r.Environment.BenchmarkIndex + 0.5), nil
}

// stock gives the shop eight pictured articles and a shopper with two of them in the cart; it
// returns an article's id and the shopper's token.
func stock(ctx context.Context, f *benchkit.Fleet) (article, token string, err error) {
	login, password, _ := strings.Cut(f.Admin, ":")
	var tok struct{ Token string }
	if err := call(ctx, f.URLs["auth"], "", "POST", "/users/signin", map[string]string{"login": login, "password": password}, &tok); err != nil {
		return "", "", err
	}
	admin := tok.Token
	names := []string{"Reading lamp", "Ceramic mug", "Linen towel", "Wool scarf", "Tea sampler", "Bike light", "Water bottle", "Desk plant"}
	var ids []string
	for i, name := range names {
		// Photo-sized pictures: the image pipeline's sizes and formats are what is measured.
		var img struct{ ID string }
		if err := call(ctx, f.URLs["image"], admin, "POST", "/images/create", map[string]string{"image": benchkit.Picture(i, 800, 600)}, &img); err != nil {
			return "", "", err
		}
		var a struct {
			ID string `json:"_id"`
		}
		body := map[string]any{"name": name, "description": "A good " + strings.ToLower(name) + ", made to last.",
			"image": img.ID, "price": 12.5 + float64(i), "stock": 20 + i}
		if err := call(ctx, f.URLs["catalog"], admin, "POST", "/articles", body, &a); err != nil {
			return "", "", err
		}
		ids = append(ids, a.ID)
	}
	if err := call(ctx, f.URLs["auth"], "", "POST", "/users/signup",
		map[string]string{"name": "Lighthouse shopper", "login": "lighthouse-shopper", "password": "lighthouse password"}, &tok); err != nil {
		return "", "", err
	}
	for _, id := range ids[:2] {
		if err := call(ctx, f.URLs["cart"], tok.Token, "POST", "/cart/article", map[string]any{"articleId": id, "quantity": 2}, nil); err != nil {
			return "", "", err
		}
	}
	return ids[0], tok.Token, nil
}

func call(ctx context.Context, base, token, method, path string, body, out any) error {
	return benchkit.Call(ctx, http.DefaultClient, method, base+path, token, body, out)
}

func version(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(string(out))
}

func chromiumVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, os.Getenv("CHROME_PATH"), "--version").Output()
	if err != nil {
		return "unknown version"
	}
	return strings.TrimSpace(string(out))
}
