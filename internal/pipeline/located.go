package pipeline

import "github.com/goccy/go-yaml/token"

// located builds an Error at a token's position.
func located(file string, tok *token.Token, msg string) *Error {
	e := &Error{File: file, Msg: msg}
	if tok != nil && tok.Position != nil {
		e.Line, e.Column = tok.Position.Line, tok.Position.Column
	}
	return e
}
