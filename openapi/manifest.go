package openapi

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Manifest is the legacy ChatGPT plugin manifest,
// /.well-known/ai-plugin.json: the plugin section of gateway.yaml, the
// auth the gateway accepts, and where the OpenAPI document is.
type Manifest struct {
	SchemaVersion       string       `json:"schema_version"`
	NameForHuman        string       `json:"name_for_human"`
	NameForModel        string       `json:"name_for_model"`
	DescriptionForHuman string       `json:"description_for_human"`
	DescriptionForModel string       `json:"description_for_model"`
	Auth                ManifestAuth `json:"auth"`
	API                 ManifestAPI  `json:"api"`
	LogoURL             string       `json:"logo_url,omitempty"`
	ContactEmail        string       `json:"contact_email,omitempty"`
	LegalInfoURL        string       `json:"legal_info_url,omitempty"`
}

// ManifestAuth is the manifest's auth: none, service_http or user_http
// with a bearer token, or oauth.
type ManifestAuth struct {
	Type                     string `json:"type"`
	AuthorizationType        string `json:"authorization_type,omitempty"`
	ClientURL                string `json:"client_url,omitempty"`
	AuthorizationURL         string `json:"authorization_url,omitempty"`
	Scope                    string `json:"scope,omitempty"`
	AuthorizationContentType string `json:"authorization_content_type,omitempty"`
}

// ManifestAPI points at the OpenAPI document.
type ManifestAPI struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Fallbacks for a gateway.yaml without a plugin section.
const (
	defaultNameForHuman = "Manifold gateway"
	defaultNameForModel = "manifold"
)

// NewManifest fills the manifest from gateway.yaml. Names and descriptions
// left out of the plugin section fall back to generic ones built from the
// pipelines' summaries (`manifold validate` warns about them).
func NewManifest(plan *pipeline.Plan) Manifest {
	gw := plan.Gateway
	pl := gw.Plugin
	m := Manifest{
		SchemaVersion:       "v1",
		NameForHuman:        pl.NameForHuman,
		NameForModel:        pl.NameForModel,
		DescriptionForHuman: strings.TrimSpace(pl.DescriptionForHuman),
		DescriptionForModel: strings.TrimSpace(pl.DescriptionForModel),
		Auth:                manifestAuth(gw),
		API:                 ManifestAPI{Type: "openapi", URL: gw.Server.PublicURL + "/openapi.yaml"},
		LogoURL:             gw.LogoURL(),
		ContactEmail:        pl.ContactEmail,
		LegalInfoURL:        gw.LegalInfoURL(),
	}
	if m.NameForHuman == "" {
		m.NameForHuman = defaultNameForHuman
	}
	if m.NameForModel == "" {
		m.NameForModel = defaultNameForModel
	}
	var summaries []string
	for _, p := range plan.Pipelines {
		s := strings.TrimSpace(p.Summary)
		if s == "" {
			s = strings.TrimSpace(p.Description)
		}
		summaries = append(summaries, p.Name+": "+s)
	}
	if m.DescriptionForModel == "" {
		m.DescriptionForModel = trim("Operations: "+strings.Join(summaries, "; ")+".", gateway.MaxDescriptionForModel)
	}
	if m.DescriptionForHuman == "" {
		m.DescriptionForHuman = trim(m.NameForHuman+" through Manifold.", gateway.MaxDescriptionForHuman)
	}
	return m
}

// JSON writes the manifest, indented.
func (m Manifest) JSON() []byte {
	out, _ := json.MarshalIndent(m, "", "  ") // only strings: cannot fail
	return append(out, '\n')
}

// manifestAuth says how ChatGPT authenticates: with one service API key
// when the gateway takes API keys, with each user's token for JWT or
// introspection, with OAuth when the authorization server is described.
func manifestAuth(gw *gateway.Config) ManifestAuth {
	sec := securityOf(gw)
	keys := gw.Auth.APIKey != nil || len(gw.Consumers) > 0
	switch {
	case sec.name == SchemeOAuth:
		o := gw.Auth.OAuth
		return ManifestAuth{
			Type:                     "oauth",
			ClientURL:                o.AuthorizationURL,
			AuthorizationURL:         o.TokenURL,
			Scope:                    strings.Join(sortedKeys(o.Scopes), " "),
			AuthorizationContentType: "application/x-www-form-urlencoded",
		}
	case sec.name != "" && keys:
		return ManifestAuth{Type: "service_http", AuthorizationType: "bearer"}
	case sec.name != "":
		return ManifestAuth{Type: "user_http", AuthorizationType: "bearer"}
	}
	return ManifestAuth{Type: "none"}
}

// trim shortens s to at most limit characters, at a word boundary, with
// an ellipsis.
func trim(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)[:limit-1]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.") + "…"
}
