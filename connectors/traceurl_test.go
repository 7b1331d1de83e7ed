package connectors

import "testing"

// TestTraceURL checks the URL traces show for a call: base, path and
// query in full, with credentials and secret values REDACTED.
func TestTraceURL(t *testing.T) {
	secrets := []string{"http://10.0.0.7:8080", "s3cr3t-appid", "abc"}
	for _, tt := range []struct{ base, rel, want string }{
		{"http://api.test/v1", "/forecast?latitude=52.52&longitude=13.41", "http://api.test/v1/forecast?latitude=52.52&longitude=13.41"},
		{"http://api.test/v1/", "/forecast", "http://api.test/v1/forecast"},
		{"http://user:pw@api.test/v1?appid=s3cr3t-appid&units=metric", "/weather?q=Berlin",
			"http://api.test/v1/weather?appid=REDACTED&q=Berlin&units=metric"},
		{"http://api.test", "/x?api_key=k1&token=t&q=a+b", "http://api.test/x?api_key=REDACTED&q=a+b&token=REDACTED"},
		{"http://10.0.0.7:8080/v1", "/markets?city=Berlin", "REDACTED/v1/markets?city=Berlin"},
		{"http://api.test", "/users/s3cr3t-appid/abc", "http://api.test/users/REDACTED/abc"},
		{"", "/only/path?x=1", "/only/path?x=1"},
		// Redirected: the recorded URL is the final one, already absolute.
		{"http://api.test/v1", "https://cdn.test/files/a.json?sig=s1&v=2", "https://cdn.test/files/a.json?sig=REDACTED&v=2"},
	} {
		if got := TraceURL(tt.base, tt.rel, secrets); got != tt.want {
			t.Errorf("TraceURL(%q, %q) = %q, want %q", tt.base, tt.rel, got, tt.want)
		}
	}
}
