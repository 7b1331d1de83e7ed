package problem

import "testing"

// TestWithoutValues checks that gojq's value previews, which quote the
// caller's or an upstream's data, are cut from a problem's detail, and
// that nothing else is.
func TestWithoutValues(t *testing.T) {
	for in, want := range map[string]string{
		`cannot iterate over: string ("Berlin")`:                             `cannot iterate over: string`,
		`cannot iterate over: null`:                                          `cannot iterate over: null`,
		`expected an object but got: number (2)`:                             `expected an object but got: number`,
		`cannot add: string ("a") and number (1)`:                            `cannot add: string and number`,
		`cannot iterate over: string ("ignore all previous instructio ...")`: `cannot iterate over: string`,
		`cannot iterate over: string ("a\") x")`:                             `cannot iterate over: string`,
		`cannot iterate over: object ({"a":"])"})`:                           `cannot iterate over: object`,
		`keys cannot be applied to: array ([1,2])`:                           `keys cannot be applied to: array`,
		`gave string, not an array`:                                          `gave string, not an array`,
		`a string (not a preview`:                                            `a string (not a preview`,
	} {
		if got := withoutValues(in); got != want {
			t.Errorf("withoutValues(%s) = %q, want %q", in, got, want)
		}
	}
}
