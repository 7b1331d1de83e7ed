package redact

import "testing"

func TestURLs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nats://Token@host:4222", "nats://redacted@host:4222"},
		{"http://ghp_xxx@host/api", "http://redacted@host/api"},
		{"https://user:pass@host/x?q=1", "https://redacted@host/x?q=1"},
		{"https://user:p@ss@host", "https://redacted@host"},
		{"nats://a:b@h1:4222,nats://tok@h2:4222,nats://h3:4222", "nats://redacted@h1:4222,nats://redacted@h2:4222,nats://h3:4222"},
		{`parse "http://tok en@host": invalid character " " in host name`, `parse "http://tok en@host": invalid character " " in host name`},
		{`Get "https://key@idp.example/jwks": dial tcp: refused`, `Get "https://redacted@idp.example/jwks": dial tcp: refused`},
		{"https://host/users/@me and mail a@b.example", "https://host/users/@me and mail a@b.example"},
		{"no url here: user@host", "no url here: user@host"},
		{"", ""},
	} {
		if got := URLs(c.in); got != c.want {
			t.Errorf("URLs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
