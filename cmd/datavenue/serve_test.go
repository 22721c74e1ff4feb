package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/testenv"
)

// TestEveryRouteOfTheWiredVenueAnswersWithoutA500 wires the venue exactly as `datavenue serve`
// does and sends every route in its OpenAPI document a request with a valid token, unknown ids and
// an empty JSON object: whatever the answer, it is never a 500 (which a missing dependency would
// cause) and always problem+json when it is an error.
func TestEveryRouteOfTheWiredVenueAnswersWithoutA500(t *testing.T) {
	_, dbURL := testenv.NewDBWithURL(t)
	keyDir := t.TempDir()
	env := venueRedisEnv(t) // the single test Redis or the cluster (see venueOnCluster)
	for k, v := range map[string]string{"DATAVENUE_DATABASE_URL": dbURL, "DATAVENUE_KEY_DIR": keyDir, "DATAVENUE_RATE_PER_SECOND": "0"} {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.close)
	kr, _ := auth.LoadKeyring(keyDir, false)
	minter := auth.Minter{Keys: kr, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, Clock: datavenue.SystemClock{}}
	resp, err := srv.app.Test(httptest.NewRequest("GET", "/openapi.json", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			if strings.HasSuffix(path, "/feed") {
				continue // a stream: its route answers 404 for an unknown auction, checked in the API tests
			}
			for _, role := range datavenue.Roles {
				tok, _ := minter.Mint("smoke", role, "org_01JDEM00000000000000000001", time.Hour)
				url := strings.NewReplacer("{id}", "x", "{number}", "DR-2026-000001").Replace(path)
				var body io.Reader
				if method != "get" {
					body = strings.NewReader(`{}`)
				}
				req := httptest.NewRequest(strings.ToUpper(method), url, body)
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				res, err := srv.app.Test(req, -1)
				if err != nil {
					t.Fatalf("%s %s: %v", method, url, err)
				}
				if res.StatusCode >= 500 && !(path == "/readyz" && res.StatusCode == 503) {
					raw, _ := io.ReadAll(res.Body)
					t.Errorf("%s %s as %s: %d %s", method, url, role, res.StatusCode, raw)
				}
				if res.StatusCode >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") && path != "/readyz" {
					t.Errorf("%s %s as %s: %d with %s", method, url, role, res.StatusCode, res.Header.Get("Content-Type"))
				}
				checked++
			}
		}
	}
	if checked < 50*len(datavenue.Roles) {
		t.Fatalf("checked only %d requests", checked)
	}
}
