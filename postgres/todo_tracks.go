package postgres

// Not written yet: each method fails with EUNAVAILABLE. This file is deleted
// when its methods are written.

import (
	"context"
	"time"

	"github.com/bluehelm/bluehelm"
)

var _ = time.Time{}

func (db *DB) AppendPositions(_ context.Context, _ []bluehelm.Track, _ []bluehelm.Position) (err error) {
	err = todo("AppendPositions")
	return
}

func (db *DB) LatestStates(_ context.Context) (r0 []bluehelm.TrackState, err error) {
	err = todo("LatestStates")
	return
}

func (db *DB) Positions(_ context.Context, _ bluehelm.PositionQuery) (r0 []bluehelm.Position, err error) {
	err = todo("Positions")
	return
}

func (db *DB) SamplePositions(_ context.Context, _ bluehelm.PositionQuery, _ time.Duration) (r0 []bluehelm.Position, err error) {
	err = todo("SamplePositions")
	return
}

func (db *DB) Tracks(_ context.Context) (r0 []bluehelm.Track, err error) {
	err = todo("Tracks")
	return
}

func (db *DB) CreateUnit(_ context.Context, _ *bluehelm.Unit, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateUnit")
	return
}

func (db *DB) Unit(_ context.Context, _ int64) (r0 *bluehelm.Unit, err error) {
	err = todo("Unit")
	return
}

func (db *DB) UnitByCode(_ context.Context, _ string) (r0 *bluehelm.Unit, err error) {
	err = todo("UnitByCode")
	return
}

func (db *DB) Units(_ context.Context) (r0 []*bluehelm.Unit, err error) {
	err = todo("Units")
	return
}

func (db *DB) UpdateUnit(_ context.Context, _ *bluehelm.Unit, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateUnit")
	return
}

func (db *DB) CreatePatrol(_ context.Context, _ *bluehelm.Patrol, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreatePatrol")
	return
}

func (db *DB) FindPatrols(_ context.Context, _ bluehelm.PatrolFilter) (r0 []*bluehelm.Patrol, err error) {
	err = todo("FindPatrols")
	return
}

func (db *DB) Patrol(_ context.Context, _ int64) (r0 *bluehelm.Patrol, err error) {
	err = todo("Patrol")
	return
}

func (db *DB) UpdatePatrol(_ context.Context, _ *bluehelm.Patrol, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdatePatrol")
	return
}

func (db *DB) CreateTask(_ context.Context, _ *bluehelm.Task, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateTask")
	return
}

func (db *DB) FindTasks(_ context.Context, _ bluehelm.TaskFilter) (r0 []*bluehelm.Task, err error) {
	err = todo("FindTasks")
	return
}

func (db *DB) Task(_ context.Context, _ int64) (r0 *bluehelm.Task, err error) {
	err = todo("Task")
	return
}

func (db *DB) UpdateTask(_ context.Context, _ *bluehelm.Task, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateTask")
	return
}

func (db *DB) CreateFacility(_ context.Context, _ *bluehelm.MedicalFacility, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateFacility")
	return
}

func (db *DB) Facilities(_ context.Context) (r0 []*bluehelm.MedicalFacility, err error) {
	err = todo("Facilities")
	return
}

func (db *DB) Facility(_ context.Context, _ int64) (r0 *bluehelm.MedicalFacility, err error) {
	err = todo("Facility")
	return
}

func (db *DB) UpdateFacility(_ context.Context, _ *bluehelm.MedicalFacility, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateFacility")
	return
}

func (db *DB) CreateProximityRule(_ context.Context, _ *bluehelm.ProximityRule, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateProximityRule")
	return
}

func (db *DB) DeleteProximityRule(_ context.Context, _ int64, _ int, _ bluehelm.AuditEntry) (err error) {
	err = todo("DeleteProximityRule")
	return
}

func (db *DB) ProximityRule(_ context.Context, _ int64) (r0 *bluehelm.ProximityRule, err error) {
	err = todo("ProximityRule")
	return
}

func (db *DB) ProximityRules(_ context.Context) (r0 []*bluehelm.ProximityRule, err error) {
	err = todo("ProximityRules")
	return
}

func (db *DB) UpdateProximityRule(_ context.Context, _ *bluehelm.ProximityRule, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateProximityRule")
	return
}
