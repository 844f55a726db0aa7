package postgres_test

import (
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
	"github.com/bluehelm/bluehelm/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bluehelm.Store { return pgtest.Open(t) })
}
