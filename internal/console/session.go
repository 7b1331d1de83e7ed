package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// Session bounds.
const (
	// CookieName is the console's session cookie.
	CookieName = "manifold_console"
	// SessionTTL is how long a sign-in lasts.
	SessionTTL = 8 * time.Hour
	// MaxSessions bounds the sessions kept: a new sign-in beyond it ends
	// the session closest to expiry.
	MaxSessions = 64
)

// session is one signed-in browser.
type session struct {
	csrf    string // synchronizer token every POST must carry
	expires time.Time
	flash   string // a message for the next page (an action's outcome)
}

// sessions holds the signed-in browsers, keyed by the SHA-256 of their
// cookie, so that the map holds nothing a reader could replay.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

// token returns 32 random bytes, base64url.
func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session and returns its cookie value.
func (s *sessions) create() string {
	id := token()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var soonest string
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
			continue
		}
		if soonest == "" || v.expires.Before(s.m[soonest].expires) {
			soonest = k
		}
	}
	if len(s.m) >= MaxSessions {
		delete(s.m, soonest)
	}
	s.m[hashID(id)] = &session{csrf: token(), expires: now.Add(SessionTTL)}
	return id
}

// get returns r's live session and its key, or nil.
func (s *sessions) get(r *http.Request) (*session, string) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, ""
	}
	key := hashID(c.Value)
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.m[key]
	if se == nil {
		return nil, ""
	}
	if !s.now().Before(se.expires) {
		delete(s.m, key)
		return nil, ""
	}
	return se, key
}

// drop ends the session with key.
func (s *sessions) drop(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// flash sets or takes the session's one-time message.
func (s *sessions) setFlash(se *session, msg string) {
	s.mu.Lock()
	se.flash = msg
	s.mu.Unlock()
}

func (s *sessions) takeFlash(se *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := se.flash
	se.flash = ""
	return msg
}

// validCSRF reports whether r's form carries se's token.
func validCSRF(se *session, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) == 1
}

// setCookie writes the session cookie (an empty value with a past
// expiry ends it in the browser).
func setCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: value, Path: Prefix, Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
