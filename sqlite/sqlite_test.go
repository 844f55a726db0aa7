package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/storetest"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bluehelm.Store { return openTest(t) })
}
