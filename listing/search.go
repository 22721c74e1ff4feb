package listing

import (
	"strings"
	"unicode"
)

// Search works the same for Chinese and English without an external search server and without
// depending on the database's locale: the venue computes the index terms itself and stores them
// as a PostgreSQL tsvector (GIN-indexed), and builds tsqueries from the same rules.
//
//   - A run of CJK characters (Han, kana, Hangul) is indexed as its single characters and its
//     overlapping pairs (bigrams), the usual way to search unsegmented text: "公交客流" gives
//     公, 交, 客, 流, 公交, 交客, 客流. A query run of two or more characters must match all its
//     bigrams, so "客流" finds it and "流客" does not; a one-character query matches the character.
//   - A run of other letters and digits is one word, lower-cased; a query word matches as a prefix
//     ("traff" finds "traffic").
//
// Everything else separates terms, so SQL metacharacters or tsquery operators in a query are
// never more than separators.

// maxTermRunes drops longer "words" (hashes, base64, pasted garbage): nobody searches for them,
// and they would only grow the index. The same rule applies to products and queries.
const maxTermRunes = 64

// isCJK reports the scripts written without spaces between words, which are indexed by bigrams.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// runs splits text into CJK runs and word runs. Letters and digits of every other script (Latin,
// Cyrillic, full-width digits …) make words; a switch between CJK and them ends a run, so "5G基站"
// gives the word "5g" and the run 基站.
func runs(text string) (cjk [][]rune, words []string) {
	var cur []rune
	var curCJK bool
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if curCJK {
			cjk = append(cjk, cur)
		} else if len(cur) <= maxTermRunes {
			words = append(words, strings.ToLower(string(cur)))
		}
		cur = nil
	}
	for _, r := range text {
		switch {
		case isCJK(r):
			if !curCJK {
				flush()
			}
			curCJK = true
			cur = append(cur, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if curCJK {
				flush()
			}
			curCJK = false
			cur = append(cur, unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return cjk, words
}

// IndexTerms returns the distinct index terms of texts, in first-seen order, ready to be stored as
// a tsvector (the store indexes a product's titles with its keywords, and its descriptions apart).
func IndexTerms(texts ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, text := range texts {
		cjk, words := runs(text)
		for _, run := range cjk {
			for i := range run {
				add(string(run[i]))
				if i+1 < len(run) {
					add(string(run[i : i+2]))
				}
			}
		}
		for _, w := range words {
			add(w)
		}
	}
	return out
}

// Query turns a user's query into tsquery text (every term must match), or "" when the query has
// no terms. Terms are quoted, and contain only letters and digits, so the text is always valid.
func Query(q string) string {
	cjk, words := runs(q)
	var terms []string
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	for _, run := range cjk {
		if len(run) == 1 {
			add("'" + string(run) + "'")
			continue
		}
		for i := 0; i+1 < len(run); i++ {
			add("'" + string(run[i:i+2]) + "'")
		}
	}
	// Words match as prefixes (someone typing is mid-word); CJK needs no prefix form, since its
	// bigrams already match inside longer runs.
	for _, w := range words {
		add("'" + w + "':*")
	}
	if len(terms) > 32 {
		terms = terms[:32] // a query longer than this adds cost, not precision
	}
	return strings.Join(terms, " & ")
}
