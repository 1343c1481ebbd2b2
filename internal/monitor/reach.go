package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Reachable reports whether the server of a ping URL can be reached, without
// pinging it: any request to the check's URL counts as a ping (healthchecks.io takes
// HEAD and GET as success), so it resolves the host and opens a TCP connection, to
// the proxy when the environment names one. The error never holds the URL's path.
func Reachable(ctx context.Context, raw string, timeout time.Duration) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("health check %s: not an http(s) URL", Redact(raw))
	}
	target := u
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err == nil && proxy != nil {
		target = proxy
	}
	host := target.Host
	if target.Port() == "" {
		port := "80"
		if target.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(target.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		var oerr *net.OpError
		if errors.As(err, &oerr) && oerr.Err != nil {
			err = oerr.Err
		}
		return fmt.Errorf("health check %s unreachable: %w", Redact(raw), err)
	}
	return conn.Close()
}
