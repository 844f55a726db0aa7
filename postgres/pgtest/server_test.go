package pgtest_test

import (
	"context"
	"testing"

	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

func TestServerStartRestart(t *testing.T) {
	s := pgtest.StartServer(t)
	db, err := postgres.Open(context.Background(), s.URL(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s.Restart("immediate")
	if err := db.Ping(context.Background()); err != nil {
		t.Log("first ping after restart:", err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
