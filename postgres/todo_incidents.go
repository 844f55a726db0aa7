package postgres

// Not written yet: each method fails with EUNAVAILABLE. This file is deleted
// when its methods are written.

import (
	"context"
	"time"

	"github.com/bluehelm/bluehelm"
)

var _ = time.Time{}

func (db *DB) CreateIncident(_ context.Context, _ *bluehelm.Incident, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateIncident")
	return
}

func (db *DB) FindIncidentSummaries(_ context.Context, _ bluehelm.IncidentFilter) (r0 *bluehelm.IncidentSummaryPage, err error) {
	err = todo("FindIncidentSummaries")
	return
}

func (db *DB) FindIncidents(_ context.Context, _ bluehelm.IncidentFilter) (r0 *bluehelm.IncidentPage, err error) {
	err = todo("FindIncidents")
	return
}

func (db *DB) ImportIncidents(_ context.Context, _ []*bluehelm.Incident, _ bluehelm.AuditEntry) (r0 int, r1 int, err error) {
	err = todo("ImportIncidents")
	return
}

func (db *DB) Incident(_ context.Context, _ int64) (r0 *bluehelm.Incident, err error) {
	err = todo("Incident")
	return
}

func (db *DB) IncidentByExternalID(_ context.Context, _ string) (r0 *bluehelm.Incident, err error) {
	err = todo("IncidentByExternalID")
	return
}

func (db *DB) IncidentRevisions(_ context.Context, _ int64) (r0 []bluehelm.Revision, err error) {
	err = todo("IncidentRevisions")
	return
}

func (db *DB) UpdateIncident(_ context.Context, _ *bluehelm.Incident, _ string, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateIncident")
	return
}

func (db *DB) Area(_ context.Context, _ int64) (r0 *bluehelm.Area, err error) {
	err = todo("Area")
	return
}

func (db *DB) Areas(_ context.Context) (r0 []*bluehelm.Area, err error) {
	err = todo("Areas")
	return
}

func (db *DB) CreateArea(_ context.Context, _ *bluehelm.Area, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateArea")
	return
}

func (db *DB) DeleteArea(_ context.Context, _ int64, _ int, _ bluehelm.AuditEntry) (err error) {
	err = todo("DeleteArea")
	return
}

func (db *DB) UpdateArea(_ context.Context, _ *bluehelm.Area, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateArea")
	return
}

func (db *DB) Alert(_ context.Context, _ int64) (r0 *bluehelm.Alert, err error) {
	err = todo("Alert")
	return
}

func (db *DB) Alerts(_ context.Context, _ bluehelm.AlertFilter) (r0 []*bluehelm.Alert, err error) {
	err = todo("Alerts")
	return
}

func (db *DB) CreateAlert(_ context.Context, _ *bluehelm.Alert, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateAlert")
	return
}

func (db *DB) UpdateAlert(_ context.Context, _ *bluehelm.Alert, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateAlert")
	return
}
