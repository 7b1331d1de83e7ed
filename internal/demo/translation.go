package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxTranslateStrings is how many strings one /translate call may carry.
const maxTranslateStrings = 128

// languages are the supported language codes; "en" is the pivot.
var languages = []string{"de", "en", "es", "fr"}

// lexicon maps, per language, a lowercased phrase to its English form
// (toEnglish) and, per language, a lowercased English phrase to its
// translation (fromEnglish).
var toEnglish, fromEnglish = func() (map[string]map[string]string, map[string]map[string]string) {
	to := map[string]map[string]string{}
	from := map[string]map[string]string{}
	for _, lang := range languages {
		to[lang], from[lang] = map[string]string{}, map[string]string{}
	}
	for _, t := range dictionary {
		for lang, s := range map[string]string{"en": t.en, "de": t.de, "fr": t.fr, "es": t.es} {
			from[lang][lookupKey(t.en)] = s
			// Several English phrases may share a translation ("Emmental");
			// the first one in the dictionary wins.
			if _, dup := to[lang][lookupKey(s)]; !dup {
				to[lang][lookupKey(s)] = t.en
			}
		}
	}
	return to, from
}()

func lookupKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// translate turns s from source into target through English. A phrase the
// dictionary does not know comes back unchanged.
func translate(s, source, target string) string {
	if source == target {
		return s
	}
	en, ok := toEnglish[source][lookupKey(s)]
	if !ok {
		return s
	}
	out, ok := fromEnglish[target][lookupKey(en)]
	if !ok {
		return s
	}
	return out
}

// language normalizes a language tag to a supported code: "DE", "de-DE" and
// "de_AT" are all "de". ok is false for an unsupported language.
func language(tag string) (code string, ok bool) {
	code = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(code, "-_"); i >= 0 {
		code = code[:i]
	}
	_, ok = fromEnglish[code]
	return code, ok
}

type translateRequest struct {
	Target string    `json:"target"`
	Source string    `json:"source"`
	Q      *[]string `json:"q"`
}

type translateResponse struct {
	Target       string   `json:"target"`
	Translations []string `json:"translations"`
}

// TranslationHandler serves the translation backend:
//
//	POST /translate  {"target":"de","q":["Whole Milk"],"source":"en"}
//	              -> {"target":"de","translations":["Vollmilch"]}
//
// It knows every product name and a few common words in en, de, fr and es;
// other strings come back unchanged, in the order of q.
func TranslationHandler() http.Handler {
	return wrap(translationMux(), 0)
}

func translationMux() *http.ServeMux {
	mux := newMux()
	handle(mux, http.MethodPost, "/translate", handleTranslate)
	return mux
}

func handleTranslate(w http.ResponseWriter, r *http.Request) {
	var req translateRequest
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(&req)
	if err == nil {
		if extra := dec.Decode(&json.RawMessage{}); !errors.Is(extra, io.EOF) {
			err = errors.New("unexpected data after the JSON object")
			if _, tooLarge := errors.AsType[*http.MaxBytesError](extra); tooLarge {
				err = extra
			}
		}
	}
	if err != nil {
		tooLarge, isTooLarge := errors.AsType[*http.MaxBytesError](err)
		switch {
		case isTooLarge:
			writeProblem(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit))
		case errors.Is(err, io.EOF):
			writeProblem(w, http.StatusBadRequest, `request body is required: {"target":"de","q":["Whole Milk"]}`)
		default:
			writeProblem(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		}
		return
	}

	supported := strings.Join(languages, ", ")
	if strings.TrimSpace(req.Target) == "" {
		writeProblem(w, http.StatusBadRequest, "target is required (one of "+supported+")")
		return
	}
	target, ok := language(req.Target)
	if !ok {
		writeProblem(w, http.StatusBadRequest,
			fmt.Sprintf("unsupported target language %q; supported: %s", req.Target, supported))
		return
	}
	source := "en"
	if strings.TrimSpace(req.Source) != "" {
		if source, ok = language(req.Source); !ok {
			writeProblem(w, http.StatusBadRequest,
				fmt.Sprintf("unsupported source language %q; supported: %s", req.Source, supported))
			return
		}
	}
	if req.Q == nil {
		writeProblem(w, http.StatusBadRequest, "q is required: the array of strings to translate")
		return
	}
	if n := len(*req.Q); n > maxTranslateStrings {
		writeProblem(w, http.StatusBadRequest,
			fmt.Sprintf("q holds %d strings; at most %d are allowed per request", n, maxTranslateStrings))
		return
	}

	out := make([]string, len(*req.Q))
	for i, s := range *req.Q {
		out[i] = translate(s, source, target)
	}
	writeJSON(w, http.StatusOK, translateResponse{Target: target, Translations: out})
}
