package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
)

// signedCertificate writes a certificate signed by a fresh key in keyDir and returns its path.
func signedCertificate(t *testing.T, keyDir string, until civil.Date) string {
	t.Helper()
	kr, err := auth.LoadKeyring(keyDir, true)
	if err != nil {
		t.Fatal(err)
	}
	today := civil.Of(time.Now())
	c := certificates.Certificate{ID: "crt_01JTEST", Number: "DR-2026-000042", Version: 1, Kind: certificates.KindResource,
		Amendment: certificates.AmendOriginal, AssetID: "ast_01JTEST", AssetVersion: 1, AssetName: "公交刷卡客流数据",
		HolderID: "org_01JDEM00000000000000000003", HolderName: "市交通运输局",
		Scope:     certificates.Scope{Scenarios: []string{"交通规划"}, ProductTypes: []string{"dataset"}},
		IssuerOrg: "org_01JDEM00000000000000000001", IssuerName: "市数据管理局", IssuedAt: time.Now(),
		ValidFrom: today.AddDays(-10), ValidUntil: until}
	_, doc, err := certificates.Signer{Keys: kr, Issuer: "urn:datavenue:test"}.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "DR-2026-000042-v1.jws")
	if err := os.WriteFile(path, []byte(doc+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCertVerifyOffline(t *testing.T) {
	keyDir := t.TempDir()
	env := map[string]string{"DATAVENUE_KEY_DIR": keyDir}
	file := signedCertificate(t, keyDir, civil.Of(time.Now()).AddDays(30))
	out, err := runCmd(t, env, "cert", "verify", file)
	if err != nil || !strings.Contains(out, "signature valid") || !strings.Contains(out, "市交通运输局") {
		t.Fatalf("verify with the key folder: %q, %v", out, err)
	}

	// With a JWKS file only, as a third party with no access to the venue would.
	kr, _ := auth.LoadKeyring(keyDir, false)
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, auth.MarshalJWKS(kr.JWKS()), 0o600); err != nil {
		t.Fatal(err)
	}
	noKeys := map[string]string{"DATAVENUE_KEY_DIR": filepath.Join(t.TempDir(), "none")}
	if out, err := runCmd(t, noKeys, "cert", "verify", file, "--jwks", jwks); err != nil {
		t.Fatalf("verify with --jwks: %q, %v", out, err)
	}

	// One altered byte in the payload.
	raw, _ := os.ReadFile(file)
	doc := []byte(strings.TrimSpace(string(raw)))
	i := strings.IndexByte(string(doc), '.') + 10
	if doc[i] == 'A' {
		doc[i] = 'B'
	} else {
		doc[i] = 'A'
	}
	tampered := filepath.Join(t.TempDir(), "tampered.jws")
	_ = os.WriteFile(tampered, doc, 0o600)
	_, err = runCmd(t, env, "cert", "verify", tampered, "--jwks", jwks)
	if err == nil || !strings.Contains(err.Error(), "NOT VALID") {
		t.Fatalf("tampered file: %v", err)
	}

	// Signed by a key that the JWKS does not hold.
	strangerFile := signedCertificate(t, t.TempDir(), civil.Of(time.Now()).AddDays(30))
	_, err = runCmd(t, env, "cert", "verify", strangerFile, "--jwks", jwks)
	if err == nil || !strings.Contains(err.Error(), "unknown kid") {
		t.Fatalf("unknown key: %v", err)
	}

	// Expired yesterday.
	expired := signedCertificate(t, keyDir, civil.Of(time.Now()).AddDays(-1))
	_, err = runCmd(t, env, "cert", "verify", expired)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired certificate: %v", err)
	}
}

func TestCertVerifyOnlineSeesCancellation(t *testing.T) {
	keyDir := t.TempDir()
	env := map[string]string{"DATAVENUE_KEY_DIR": keyDir}
	file := signedCertificate(t, keyDir, civil.Of(time.Now()).AddDays(30))
	status := certificates.StatusValid
	venue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/public/certificates/DR-2026-000042/status" || r.URL.Query().Get("version") != "1" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(certificates.StatusReport{Number: "DR-2026-000042", Version: 1, LatestVersion: 1,
			Status: status, Reason: "数据灭失", CheckedOn: civil.Of(time.Now())})
	}))
	defer venue.Close()
	if out, err := runCmd(t, env, "cert", "verify", file, "--online", venue.URL); err != nil || !strings.Contains(out, "status at the venue") {
		t.Fatalf("online, valid: %q, %v", out, err)
	}
	status = certificates.StatusCancelled
	_, err := runCmd(t, env, "cert", "verify", file, "--online", venue.URL)
	if err == nil || !strings.Contains(err.Error(), "cancelled: 数据灭失") {
		t.Fatalf("online, cancelled: %v", err)
	}
}
