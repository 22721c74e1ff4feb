package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datavenue/datavenue/api"
)

// documentVersion is the version `go run ../cmd/datavenue openapi` writes (the binary's version
// when not built with -ldflags).
const documentVersion = "dev"

// TestClientIsUpToDate fails when the checked-in document is not what the route table gives, or
// when the generated code is not what oapi-codegen (the version go.mod pins) makes of it: a
// change to a route, a schema or the generator's configuration needs `make client`.
func TestClientIsUpToDate(t *testing.T) {
	want, err := api.PublishedDocument(documentVersion)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("client/openapi.json is not the document the code gives (%d bytes, want %d): run `make client`", len(got), len(want))
	}
	// The generator writes where the configuration says (output:), relative to where it runs: run it
	// on copies in a directory of its own.
	dir := t.TempDir()
	for _, name := range []string{"oapi-codegen.yaml", "openapi.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tool, err := exec.Command("go", "tool", "-n", "oapi-codegen").Output() // builds it if need be, prints its path
	if err != nil {
		t.Fatalf("go tool -n oapi-codegen: %v", err)
	}
	cmd := exec.Command(strings.TrimSpace(string(tool)), "-config", "oapi-codegen.yaml", "openapi.json")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, msg)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "client.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	checkedIn, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(checkedIn, generated) {
		t.Fatal("client/client.gen.go is not what oapi-codegen makes of client/openapi.json: run `make client` (and never edit it by hand)")
	}
}
