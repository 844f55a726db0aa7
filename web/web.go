// Package web holds the browser app, embedded in the binary so that a team site needs
// nothing but the executable: no build step, no internet.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS returns the app's files, rooted at the site root.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
