// Command vcsim runs VMware's vCenter simulator (govmomi's simulator package) for the
// vSphere adapter's tests: a vCenter with one datacenter, one cluster and --datastores
// local datastores, answering plain HTTP on --listen. If VCSIM_USERNAME and
// VCSIM_PASSWORD are set, only that login is accepted (otherwise any). It prints "ready <url>" once it
// serves, and on SIGINT/SIGTERM stops and removes its datastore directories.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (host:port)")
	datastores := flag.Int("datastores", 2, "number of local datastores (LocalDS_0, LocalDS_1, ...)")
	flag.Parse()

	model := simulator.VPX()
	model.Datastore = *datastores
	model.Machine = 0
	if err := model.Create(); err != nil {
		fmt.Fprintf(os.Stderr, "vcsim: create model: %v\n", err)
		os.Exit(1)
	}
	defer model.Remove()
	model.Service.Listen = &url.URL{Host: *listen}
	if user, password := os.Getenv("VCSIM_USERNAME"), os.Getenv("VCSIM_PASSWORD"); user != "" && password != "" {
		model.Service.Listen.User = url.UserPassword(user, password) // only this login is accepted
	}
	server := model.Service.NewServer()
	defer server.Close()

	address := *server.URL
	address.User = nil // the simulator's login is not printed
	fmt.Printf("ready %s\n", address.String())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}
