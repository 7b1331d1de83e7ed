// Package redact hides the credentials a URL carries in its user part
// (user@, user:password@, a token such as nats://TOKEN@host or
// https://ghp_xxx@host) wherever the gateway shows a URL: admin answers,
// logs, errors. Every place that shows configuration or an error that may
// hold a URL goes through URLs, so that no place forgets the user part.
package redact

import "regexp"

// Marker replaces the whole user part of a URL: the URL stays readable
// (and still says that it carries credentials), the credentials do not.
const Marker = "redacted"

// userinfo matches a scheme's "://" and the user part after it: the
// characters up to the last "@" before the host ends (a path, query,
// fragment, space, quote or angle bracket ends the authority). Greedy, so
// that an unescaped "@" inside a password is taken whole.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s"'<>]*@`)

// URLs returns s with the user part of every URL in it replaced by
// Marker: s may be one URL, a comma-separated list (NATS servers) or any
// text that quotes URLs (an error message). Text without a URL is
// returned as is.
func URLs(s string) string {
	return userinfo.ReplaceAllString(s, "${1}"+Marker+"@")
}

// Error returns err with the user part of every URL in its text
// redacted; errors.Is and errors.As still see err. Nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	return urlError{err}
}

// urlError is an error whose text is shown through URLs.
type urlError struct{ err error }

func (e urlError) Error() string { return URLs(e.err.Error()) }
func (e urlError) Unwrap() error { return e.err }
