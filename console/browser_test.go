package console_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/datavenue/datavenue/audit"
)

// The browser tests drive Debian's Chromium headless through the DevTools protocol (chromedp).
// They wait on what the page shows (selectors), never on the clock. Chromium missing is a
// failure, not a skip: `scripts/services.sh up` (make test, make run) installs it.

// newBrowser starts a headless Chromium for the test (--no-sandbox: the tests run as root in CI).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: scripts/services.sh up installs Debian's chromium package (make test runs it); the console's browser tests need it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 1000), chromedp.Flag("lang", "zh-CN"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// newTab opens a tab in a browser context of its own (its own cookies: another person).
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab; a timeout on it would close the tab when it ends, so the
	// journey's time limit is set on a context derived after it.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	limited, cancelTimeout := context.WithTimeout(tab, time.Minute)
	t.Cleanup(cancelTimeout)
	return limited
}

// run runs the steps in the tab and fails the test at the first that fails.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		url, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser at %s: %v", url, err)
	}
}

// value runs one action that returns a value.
func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		url, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser at %s: %v", url, err)
	}
	return v
}

var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

// checkAccessibility runs axe-core (installed from npm by make conformance-tools) in the page and
// fails on critical and serious violations; it also checks that every form control has a label.
func checkAccessibility(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	axeOnce.Do(func() {
		var raw []byte
		raw, axeErr = os.ReadFile(filepath.Join("..", "scripts", "conformance", "node_modules", "axe-core", "axe.min.js"))
		axeSource = string(raw)
	})
	if axeErr != nil {
		t.Fatalf("axe-core is not installed (make conformance-tools installs it): %v", axeErr)
	}
	type violation struct {
		ID, Impact, Help string
		Nodes            []string
	}
	value(t, ctx, chromedp.Evaluate[any](axeSource+";0"))
	found := value(t, ctx, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v =>
			({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)})))`, chromedp.EvalAwaitPromise))
	unlabelled := value(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
			.filter(e => !e.labels || e.labels.length === 0).map(e => e.outerHTML)`))
	for _, v := range found {
		if v.Impact == "critical" || v.Impact == "serious" {
			t.Errorf("%s: accessibility violation %s (%s): %s, at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			t.Logf("%s: accessibility note %s (%s): %s", page, v.ID, v.Impact, v.Help)
		}
	}
	for _, html := range unlabelled {
		t.Errorf("%s: a form control without a label: %s", page, html)
	}
}

// screenshot writes the page as a PNG under $DATAVENUE_SCREENSHOTS (make screenshots sets it to
// docs/screenshots); without it, nothing.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DATAVENUE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := value(t, ctx, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return value(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

// conditionsShown are the conditions a refusal at sel lists beside its form, each as its code and
// field ("invalid_json schema").
func conditionsShown(t *testing.T, tab context.Context, sel string) []string {
	t.Helper()
	return value(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("`+sel+` li")].map(e => e.dataset.code + " " + e.querySelector("code").textContent)`))
}

// formValues is the form at sel as the browser would send it now.
func formValues(t *testing.T, tab context.Context, sel string) url.Values {
	t.Helper()
	form, err := url.ParseQuery(value(t, tab, chromedp.Evaluate[string](`new URLSearchParams(new FormData(document.querySelector("`+sel+`"))).toString()`)))
	if err != nil {
		t.Fatal(err)
	}
	return form
}

// postFrom posts form to path from the page, with the page's session, and returns the status
// (a form sent again later, as a second person's stale copy would be).
func postFrom(t *testing.T, tab context.Context, path string, form url.Values) int {
	t.Helper()
	return value(t, tab, chromedp.Evaluate[int](`fetch("`+path+`", {method: "POST", body: new URLSearchParams(`+strconv.Quote(form.Encode())+`)}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
}

// countActions counts the audit records of one action.
func countActions(events []audit.Event, action string) int {
	n := 0
	for _, e := range events {
		if e.Action == action {
			n++
		}
	}
	return n
}
