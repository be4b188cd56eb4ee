// Command healthcheck is the container health check of the service images (deploy/Dockerfile):
// the images have no shell, curl or wget, so Docker runs this instead. It GETs the service's
// /healthz on the loopback address and exits 0 when the answer is 200, 1 otherwise.
//
//	healthcheck            checks http://127.0.0.1:$PORT/healthz
//	healthcheck URL        checks URL
//
// It imports only the standard library so the Dockerfile can build it on its own.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	url, err := target(os.Args[1:], os.Getenv("PORT"))
	if err == nil {
		err = check(url, 3*time.Second)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		os.Exit(1)
	}
}

// target is the URL to check: the argument if given, else /healthz on the loopback port.
func target(args []string, port string) (string, error) {
	switch {
	case len(args) > 1:
		return "", fmt.Errorf("usage: healthcheck [URL]")
	case len(args) == 1:
		return args[0], nil
	case port == "":
		return "", fmt.Errorf("PORT is not set")
	}
	return "http://127.0.0.1:" + port + "/healthz", nil
}

// check GETs url and reports an error unless it answers 200 within timeout.
func check(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
