package demo

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestTranslate(t *testing.T) {
	h := TranslationHandler()
	tests := []struct {
		name       string
		body       string
		wantTarget string
		want       []string
	}{
		{"example", `{"target":"de","q":["Whole Milk","Sourdough Bread"],"source":"en"}`,
			"de", []string{"Vollmilch", "Sauerteigbrot"}},
		{"source defaults to en", `{"target":"fr","q":["Sourdough Bread","Whole Milk"]}`,
			"fr", []string{"Pain au levain", "Lait entier"}},
		{"spanish", `{"target":"es","q":["Orange Juice","Serrano Ham"]}`,
			"es", []string{"Zumo de naranja", "Jamón serrano"}},
		{"unknown strings pass through, in order", `{"target":"de","q":["Quantum Cheese","Whole Milk","","Bananas"]}`,
			"de", []string{"Quantum Cheese", "Vollmilch", "", "Bananen"}},
		{"case-insensitive lookup", `{"target":"de","q":["whole milk","  BANANAS "]}`,
			"de", []string{"Vollmilch", "Bananen"}},
		{"common words", `{"target":"es","q":["deals","opening hours"]}`,
			"es", []string{"ofertas", "horario de apertura"}},
		{"target en is unchanged", `{"target":"en","q":["Whole Milk","whatever"]}`,
			"en", []string{"Whole Milk", "whatever"}},
		{"region subtag", `{"target":"de-AT","q":["Lemons"]}`,
			"de", []string{"Zitronen"}},
		{"from German", `{"source":"de","target":"en","q":["Vollmilch","Brot"]}`,
			"en", []string{"Whole Milk", "bread"}},
		{"German to Spanish", `{"source":"de","target":"es","q":["Sauerteigbrot"]}`,
			"es", []string{"Pan de masa madre"}},
		{"empty q", `{"target":"de","q":[]}`, "de", []string{}},
		{"unknown fields ignored", `{"target":"fr","q":["Cola"],"format":"text"}`, "fr", []string{"Cola"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got translateResponse
			do(t, h, http.MethodPost, "/translate", tt.body).wantJSON(t, &got)
			if got.Target != tt.wantTarget {
				t.Errorf("target = %q, want %q", got.Target, tt.wantTarget)
			}
			if got.Translations == nil || !slices.Equal(got.Translations, tt.want) {
				t.Errorf("translations = %q, want %q", got.Translations, tt.want)
			}
		})
	}
}

func TestTranslateEveryProduct(t *testing.T) {
	h := TranslationHandler()
	names := ids(products, func(p product) string { return p.Name })
	for _, lang := range []string{"de", "fr", "es"} {
		body, _ := json.Marshal(map[string]any{"target": lang, "q": names})
		var got translateResponse
		do(t, h, http.MethodPost, "/translate", string(body)).wantJSON(t, &got)
		if len(got.Translations) != len(names) {
			t.Fatalf("%s: %d translations for %d names", lang, len(got.Translations), len(names))
		}
		changed := 0
		for i, tr := range got.Translations {
			if tr == "" {
				t.Errorf("%s: empty translation of %q", lang, names[i])
			}
			if tr != names[i] {
				changed++
			}
		}
		// A few names are the same in every language (Mozzarella, Spaghetti).
		if changed < len(names)*3/4 {
			t.Errorf("%s: only %d of %d names were translated", lang, changed, len(names))
		}
	}
}

func TestTranslateErrors(t *testing.T) {
	h := TranslationHandler()
	tooMany, _ := json.Marshal(map[string]any{"target": "de", "q": make([]string, 129)})
	huge := `{"target":"de","q":["` + strings.Repeat("a", 2<<20) + `"]}`
	tests := []struct {
		name   string
		method string
		body   string
		status int
		detail string
	}{
		{"unsupported target", http.MethodPost, `{"target":"it","q":["Whole Milk"]}`, 400, `unsupported target language "it"`},
		{"missing target", http.MethodPost, `{"q":["Whole Milk"]}`, 400, "target is required"},
		{"unsupported source", http.MethodPost, `{"source":"ja","target":"de","q":["x"]}`, 400, `unsupported source language "ja"`},
		{"missing q", http.MethodPost, `{"target":"de"}`, 400, "q is required"},
		{"q not an array", http.MethodPost, `{"target":"de","q":"Whole Milk"}`, 400, "malformed JSON"},
		{"malformed JSON", http.MethodPost, `{"target":"de","q":[`, 400, "malformed JSON"},
		{"not an object", http.MethodPost, `["de"]`, 400, "malformed JSON"},
		{"trailing data", http.MethodPost, `{"target":"de","q":[]} {}`, 400, "unexpected data"},
		{"empty body", http.MethodPost, ``, 400, "request body is required"},
		{"too many strings", http.MethodPost, string(tooMany), 400, "at most 128"},
		{"body over 1 MiB", http.MethodPost, huge, 413, "larger than"},
		{"GET", http.MethodGet, ``, 405, "use POST"},
		{"PUT", http.MethodPut, `{"target":"de","q":[]}`, 405, "use POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, h, tt.method, "/translate", tt.body)
			a.wantProblem(t, tt.status, tt.detail)
			if tt.status == http.StatusMethodNotAllowed && a.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", a.header.Get("Allow"))
			}
		})
	}
}

func TestTranslateExactly128(t *testing.T) {
	q := make([]string, 128)
	for i := range q {
		q[i] = products[i%len(products)].Name
	}
	body, _ := json.Marshal(map[string]any{"target": "es", "q": q})
	var got translateResponse
	do(t, TranslationHandler(), http.MethodPost, "/translate", string(body)).wantJSON(t, &got)
	if len(got.Translations) != 128 || got.Translations[0] != "Leche entera" {
		t.Errorf("got %d translations, first %q", len(got.Translations), got.Translations[0])
	}
}
