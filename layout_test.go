package datavenue_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Domain packages hold the venue's rules; they must not depend on transport or drivers, so the
// rules can be tested and reused without them (STYLE.md, "A layout that follows from them").
func TestDomainPackagesImportNoTransportOrDriver(t *testing.T) {
	domain := []string{".", "./access", "./parties", "./audit", "./idempotency", "./auth", "./config", "./assets",
		"./certificates", "./listing", "./matching", "./settlement", "./subscriptions", "./money", "./civil", "./webhooks"}
	forbidden := []string{"github.com/gofiber/", "github.com/valyala/fasthttp", "github.com/jackc/pgx",
		"github.com/datavenue/datavenue/api", "github.com/datavenue/datavenue/postgres"}
	for _, pkg := range domain {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
	// Redis belongs to the matching engine and the rate limiter; the other domain packages do not
	// know it, and the API does not import it (it reaches the engine through matching).
	out, _ := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./parties", "./audit", "./idempotency",
		"./auth", "./assets", "./certificates", "./listing").CombinedOutput()
	if strings.Contains(string(out), "github.com/redis/go-redis") {
		t.Error("a domain package other than matching and ratelimit depends on go-redis")
	}
	out, _ = exec.Command("go", "list", "-f", "{{join .Imports \"\\n\"}}", "./api").CombinedOutput()
	for _, imp := range strings.Fields(string(out)) {
		if strings.HasPrefix(imp, "github.com/redis/go-redis") || strings.HasPrefix(imp, "github.com/jackc/pgx") {
			t.Errorf("api imports %s", imp)
		}
	}
}

// Every package says what it is for.
func TestEveryPackageHasADocComment(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dir := range strings.Fields(string(out)) {
		pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		for name, pkg := range pkgs {
			if strings.HasSuffix(name, "_test") {
				continue
			}
			documented := false
			for _, f := range pkg.Files {
				documented = documented || f.Doc != nil
			}
			if !documented {
				t.Errorf("package %s (%s) has no doc comment", name, filepath.Base(dir))
			}
		}
	}
}

// A Go comment inside a multi-line SQL string is not a comment: it is sent to PostgreSQL, which
// answers a syntax error (found once, when a comments-only change put one inside an INSERT: the
// allowed-revenue endpoint answered 500). SQL's own comments are "--".
func TestNoGoCommentInsideAStringLiteral(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "*.go").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, path := range strings.Fields(string(out)) {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || !strings.HasPrefix(lit.Value, "`") {
				return true
			}
			for i, line := range strings.Split(lit.Value, "\n") {
				if i > 0 && strings.HasPrefix(strings.TrimSpace(line), "//") {
					t.Errorf("%s:%d: a Go comment inside a string literal: %s", path, fset.Position(lit.Pos()).Line+i, strings.TrimSpace(line))
				}
			}
			return true
		})
	}
}
