package main

import (
	"fmt"
	"io"
	"strings"
)

// helpAsked reports whether a command's arguments ask for its usage: -h, -help or --help anywhere
// before a "--". run answers that before it reads the configuration or dispatches, so that
// `datavenue serve --help` prints instead of serving, and no command's --help opens a database,
// Redis, a key folder or a file.
func helpAsked(args []string) bool {
	// A "--" ends the search so that an argument meant for the command (a file named "-h") is not
	// taken for a help request.
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// commandHelp prints the usage of the command args names: its lines of the usage text, for the
// longest run of its words that names one (`cert verify`, `parked show` falls back to `parked`),
// then where the configuration is described. An unknown command is the same error as without
// --help.
func commandHelp(args []string, stdout io.Writer) error {
	// Only the leading words count: the first flag ends the command's name, so
	// `cert verify --jwks k.json --help` asks for `cert verify`.
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, a)
	}
	// Longest match first, so `parked show 3 --help` finds `parked show` if it has its own entry,
	// and `parked` (whose entry lists show) otherwise.
	for n := len(words); n > 0; n-- {
		if lines := usageOf(words[:n]); lines != "" {
			fmt.Fprintf(stdout, "Usage:\n%s\nConfiguration is environment variables only: `datavenue --help` lists them with their defaults.\n", lines)
			return nil
		}
	}
	return fmt.Errorf("unknown command %q (see datavenue --help)", strings.Join(words, " "))
}

// usageOf is the usage text's entries for the command words (with their continuation lines), or "".
func usageOf(words []string) string {
	// It scans the one usage text rather than a second table, so the top-level help and each command's
	// help cannot drift apart; an entry is its "  datavenue …" line and the indented lines under it.
	prefix := "  datavenue " + strings.Join(words, " ")
	var b strings.Builder
	in := false
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "  datavenue "):
			rest := strings.TrimPrefix(line, prefix)
			in = strings.HasPrefix(line, prefix) && (rest == "" || rest[0] == ' ')
		case !strings.HasPrefix(line, "   "): // a blank line or a heading ends an entry
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
