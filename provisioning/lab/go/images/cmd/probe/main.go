// Command caas-probe is the network probe of caas-conformance.
//
//	caas-probe serve --tcp 8080,8081 --udp 8082
//	    answers every TCP connection and UDP datagram with the pod's host name.
//	caas-probe connect --timeout 2s '<json list of targets>'
//	    tries every target at once and prints one JSON result per target:
//	    connected, refused, unreachable, timeout, dns-failure or error (with the detail);
//	    a target of protocol "dns" is only looked up: resolved (the address) or dns-failure.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type target struct {
	ID       string `json:"id"`
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
}

type result struct {
	ID     string  `json:"id"`
	Result string  `json:"result"`
	Detail string  `json:"detail,omitempty"`
	Millis float64 `json:"ms"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: caas-probe serve|connect ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "connect":
		connect(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "caas-probe: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func ports(list string) []int {
	var out []int
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				fmt.Fprintf(os.Stderr, "caas-probe: bad port %q\n", p)
				os.Exit(2)
			}
			out = append(out, n)
		}
	}
	return out
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	tcp := fs.String("tcp", "8080,8081", "TCP ports to answer on")
	udp := fs.String("udp", "8082", "UDP ports to answer on")
	_ = fs.Parse(args)
	name, _ := os.Hostname()
	reply := []byte(name + "\n")
	for _, port := range ports(*tcp) {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			fmt.Fprintf(os.Stderr, "caas-probe: listen tcp %d: %v\n", port, err)
			os.Exit(1)
		}
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					continue
				}
				_, _ = conn.Write(reply)
				_ = conn.Close()
			}
		}()
	}
	for _, port := range ports(*udp) {
		pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", port))
		if err != nil {
			fmt.Fprintf(os.Stderr, "caas-probe: listen udp %d: %v\n", port, err)
			os.Exit(1)
		}
		go func() {
			buf := make([]byte, 512)
			for {
				_, addr, err := pc.ReadFrom(buf)
				if err == nil {
					_, _ = pc.WriteTo(reply, addr)
				}
			}
		}()
	}
	fmt.Printf("caas-probe serving tcp=%s udp=%s as %s\n", *tcp, *udp, name)
	select {}
}

func connect(args []string) {
	fs := flag.NewFlagSet("connect", flag.ExitOnError)
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each probe")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: caas-probe connect [--timeout 2s] '<json list of targets>'")
		os.Exit(2)
	}
	var targets []target
	if err := json.Unmarshal([]byte(fs.Arg(0)), &targets); err != nil {
		fmt.Fprintf(os.Stderr, "caas-probe: targets are not a JSON list: %v\n", err)
		os.Exit(2)
	}
	results := make([]result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = probe(t, *timeout)
		}()
	}
	wg.Wait()
	// One write at the end, not one a result: each write to an exec's stdout travels as its own frame
	// through the kubelet and the API server to the suite's websocket client, which reads frame by frame.
	buffered := bufio.NewWriterSize(os.Stdout, 1<<16)
	out := json.NewEncoder(buffered)
	for _, r := range results {
		_ = out.Encode(r)
	}
	_ = buffered.Flush()
}

func probe(t target, timeout time.Duration) result {
	started := time.Now()
	r := result{ID: t.ID}
	r.Result, r.Detail = attempt(t, timeout)
	r.Millis = float64(time.Since(started).Microseconds()) / 1000
	return r
}

// lookup asks A and AAAA apart and says "no such host" only when both did: Go's LookupHost reports the
// first error of its parallel A and AAAA queries for a rooted name, so an A query the server never
// answered, next to the AAAA NODATA of an IPv4 name ("no such host" too), read as a name that does
// not exist (net/dnsclient_unix.go goLookupIPCNAMEOrder).
func lookup(ctx context.Context, host string) (string, error) {
	type answer struct {
		ips []net.IP
		err error
	}
	answers := make(chan answer, 2)
	for _, network := range []string{"ip4", "ip6"} {
		go func() {
			ips, err := net.DefaultResolver.LookupIP(ctx, network, host)
			answers <- answer{ips, err}
		}()
	}
	first, second := <-answers, <-answers
	for _, a := range []answer{first, second} {
		if a.err == nil && len(a.ips) > 0 {
			return a.ips[0].String(), nil
		}
	}
	for _, a := range []answer{first, second} {
		var dnsErr *net.DNSError
		if a.err != nil && !(errors.As(a.err, &dnsErr) && dnsErr.IsNotFound) {
			return "", a.err // not answered: no verdict on the name
		}
	}
	if first.err != nil {
		return "", first.err // both not found
	}
	if second.err != nil {
		return "", second.err
	}
	return "", &net.DNSError{Err: "no address in the answers", Name: host}
}

func attempt(t target, timeout time.Duration) (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	host := t.Host
	if net.ParseIP(host) == nil {
		address, err := lookup(ctx, host)
		if err != nil {
			return "dns-failure", fmt.Sprint(err)
		}
		host = address
	}
	if t.Protocol == "dns" { // the name resolved: that is the verdict, no connection is tried
		return "resolved", host
	}
	address := net.JoinHostPort(host, strconv.Itoa(t.Port))
	var dialer net.Dialer
	switch t.Protocol {
	case "tcp":
		conn, err := dialer.DialContext(ctx, "tcp", address)
		if err != nil {
			return classify(err)
		}
		defer conn.Close()
		// The connection is established: that is the verdict. Read a banner if the server sends one.
		_ = conn.SetReadDeadline(time.Now().Add(timeout / 4))
		buf := make([]byte, 256)
		n, _ := conn.Read(buf)
		return "connected", strings.TrimSpace(string(buf[:n]))
	case "udp":
		conn, err := dialer.DialContext(ctx, "udp", address)
		if err != nil {
			return classify(err)
		}
		defer conn.Close()
		deadline, _ := ctx.Deadline()
		_ = conn.SetDeadline(deadline)
		buf := make([]byte, 256)
		// Resend a few times within the deadline: a lost datagram is not a denial.
		for {
			if _, err := conn.Write([]byte("probe")); err != nil {
				return classify(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(timeout / 4))
			n, err := conn.Read(buf)
			if err == nil {
				return "connected", strings.TrimSpace(string(buf[:n]))
			}
			if time.Now().After(deadline) || !isTimeout(err) {
				return classify(err)
			}
		}
	default:
		return "error", fmt.Sprintf("unknown protocol %q", t.Protocol)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func classify(err error) (string, string) {
	switch {
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return "timeout", err.Error()
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return "refused", err.Error()
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable", err.Error()
	default:
		return "error", err.Error()
	}
}
