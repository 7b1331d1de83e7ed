// Package docs holds Manifold's reference (the *.md files beside this one)
// and its examples (examples/). It has no code of its own: its tests load
// and run every example against canned backends, check that each example
// shown in the markdown is byte for byte the file it names, and check that
// no link in the repository points outside it.
package docs
