package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/datavenue/datavenue/api"
)

// openapiCommand writes the OpenAPI document without a running venue (no database, no Redis):
// client/openapi.json is made with it (`make client`), and integrators can generate clients
// from it offline.
func openapiCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	out := fs.String("o", "", "write to this file instead of standard output")
	var servers serverList
	fs.Var(&servers, "server", "a base URL of the venue to name in servers (repeatable; none: the document's own origin, \"/\")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The document embeds the version of the binary; with no --server it names "/" as its server,
	// so a client resolves paths against wherever it fetched the document from.
	doc, err := api.PublishedDocument(version, servers...)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(doc)
		return err
	}
	return os.WriteFile(*out, doc, 0o644)
}

// serverList collects a repeatable --server flag (flag.Value).
type serverList []string

func (s *serverList) String() string     { return fmt.Sprint([]string(*s)) }
func (s *serverList) Set(v string) error { *s = append(*s, v); return nil }
