package main

import (
	"context"
	"time"
)

// casevacEvery is how often the CASEVAC clocks are checked (alerts before and
// at each 10-1-2 deadline) and the evacuating assets' positions read for
// pick-up and arrival.
const casevacEvery = 5 * time.Second

// runCasevac runs the CASEVAC checks until ctx ends (issue 8).
func (a *app) runCasevac(ctx context.Context) { a.pipeline.RunCasevac(ctx, casevacEvery) }
