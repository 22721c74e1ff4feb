package client_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bidTS is a TypeScript buyer placing a bid through the client openapi-typescript generates from
// the same document (with openapi-fetch): tsc --strict checks the path, its parameters, the body
// and the answer's and the problem's types against it.
const bidTS = `import createClient from "openapi-fetch";
import type { paths, components } from "./venue.js";

type BidResult = components["schemas"]["BidResult"];

export async function bid(baseUrl: string, token: string, auction: string, amount: string, key: string): Promise<BidResult> {
  const venue = createClient<paths>({ baseUrl, headers: { Authorization: "Bearer " + token } });
  const { data, error, response } = await venue.POST("/v1/auctions/{id}/bids", {
    params: { path: { id: auction }, header: { "Idempotency-Key": key } },
    body: { amount },
  });
  if (error) {
    throw new Error(response.status + " " + error.code + ": " + error.detail);
  }
  return data;
}
`

// TestTypeScriptClientCompiles is the second generator of issue 12: openapi-typescript (npm,
// pinned by scripts/conformance/package-lock.json) generates types from client/openapi.json with
// no edits, and a client over them compiles under tsc --strict.
func TestTypeScriptClientCompiles(t *testing.T) {
	if os.Getenv("DATAVENUE_CONFORMANCE") == "" {
		t.Skip("DATAVENUE_CONFORMANCE unset: run through make test (it installs scripts/conformance's packages)")
	}
	modules := filepath.Join("..", "scripts", "conformance")
	// Inside scripts/conformance, so that the generated code finds openapi-fetch in its node_modules.
	dir, err := os.MkdirTemp(modules, "tsclient-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	node := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("node", args...).CombinedOutput(); err != nil {
			t.Fatalf("node %v: %v\n%s", args, err, out)
		}
	}
	node(filepath.Join(modules, "node_modules", "openapi-typescript", "bin", "cli.js"), "openapi.json", "-o", filepath.Join(dir, "venue.ts"))
	if err := os.WriteFile(filepath.Join(dir, "bid.ts"), []byte(bidTS), 0o644); err != nil {
		t.Fatal(err)
	}
	node(filepath.Join(modules, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--strict", "--target", "es2022",
		"--module", "nodenext", "--moduleResolution", "nodenext", filepath.Join(dir, "venue.ts"), filepath.Join(dir, "bid.ts"))
}
