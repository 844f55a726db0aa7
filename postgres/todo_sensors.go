package postgres

// Not written yet: each method fails with EUNAVAILABLE. This file is deleted
// when its methods are written.

import (
	"context"
	"time"

	"github.com/bluehelm/bluehelm"
)

var _ = time.Time{}

func (db *DB) AlarmRules(_ context.Context, _ int64) (r0 []*bluehelm.AlarmRule, err error) {
	err = todo("AlarmRules")
	return
}

func (db *DB) AppendReadings(_ context.Context, _ []bluehelm.Reading) (r0 int, r1 int, err error) {
	err = todo("AppendReadings")
	return
}

func (db *DB) AppendRollups(_ context.Context, _ []bluehelm.SensorRollup) (err error) {
	err = todo("AppendRollups")
	return
}

func (db *DB) AppendStockMovement(_ context.Context, _ *bluehelm.StockMovement, _ bluehelm.AuditEntry) (r0 float64, err error) {
	err = todo("AppendStockMovement")
	return
}

func (db *DB) CreateAlarmRule(_ context.Context, _ *bluehelm.AlarmRule, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateAlarmRule")
	return
}

func (db *DB) CreateSensor(_ context.Context, _ *bluehelm.Sensor, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateSensor")
	return
}

func (db *DB) CreateStockItem(_ context.Context, _ *bluehelm.StockItem, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateStockItem")
	return
}

func (db *DB) DeleteAlarmRule(_ context.Context, _ int64, _ int, _ bluehelm.AuditEntry) (err error) {
	err = todo("DeleteAlarmRule")
	return
}

func (db *DB) InsertReadings(_ context.Context, _ []bluehelm.Reading) (r0 []bool, err error) {
	err = todo("InsertReadings")
	return
}

func (db *DB) PruneReadings(_ context.Context, _ time.Time) (r0 int, err error) {
	err = todo("PruneReadings")
	return
}

func (db *DB) PruneRollups(_ context.Context, _ bluehelm.RollupResolution, _ time.Time) (r0 int, err error) {
	err = todo("PruneRollups")
	return
}

func (db *DB) QuarantineReadings(_ context.Context, _ []bluehelm.QuarantinedReading) (err error) {
	err = todo("QuarantineReadings")
	return
}

func (db *DB) QuarantinedReadings(_ context.Context, _ string, _ int) (r0 []bluehelm.QuarantinedReading, err error) {
	err = todo("QuarantinedReadings")
	return
}

func (db *DB) Readings(_ context.Context, _ int64, _ time.Time, _ time.Time, _ int) (r0 []bluehelm.Reading, err error) {
	err = todo("Readings")
	return
}

func (db *DB) Rollups(_ context.Context, _ []int64, _ bluehelm.RollupResolution, _ time.Time, _ time.Time) (r0 []bluehelm.SensorRollup, err error) {
	err = todo("Rollups")
	return
}

func (db *DB) Sensor(_ context.Context, _ int64) (r0 *bluehelm.Sensor, err error) {
	err = todo("Sensor")
	return
}

func (db *DB) SensorByCode(_ context.Context, _ string) (r0 *bluehelm.Sensor, err error) {
	err = todo("SensorByCode")
	return
}

func (db *DB) Sensors(_ context.Context) (r0 []*bluehelm.Sensor, err error) {
	err = todo("Sensors")
	return
}

func (db *DB) SetSensorSecret(_ context.Context, _ int64, _ []uint8, _ bluehelm.AuditEntry) (err error) {
	err = todo("SetSensorSecret")
	return
}

func (db *DB) StockBalance(_ context.Context, _ int64) (r0 float64, err error) {
	err = todo("StockBalance")
	return
}

func (db *DB) StockItem(_ context.Context, _ int64) (r0 *bluehelm.StockItem, err error) {
	err = todo("StockItem")
	return
}

func (db *DB) StockItems(_ context.Context) (r0 []*bluehelm.StockItem, err error) {
	err = todo("StockItems")
	return
}

func (db *DB) StockMovements(_ context.Context, _ int64, _ time.Time, _ time.Time) (r0 []bluehelm.StockMovement, err error) {
	err = todo("StockMovements")
	return
}

func (db *DB) UpdateAlarmRule(_ context.Context, _ *bluehelm.AlarmRule, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateAlarmRule")
	return
}

func (db *DB) UpdateSensor(_ context.Context, _ *bluehelm.Sensor, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateSensor")
	return
}

func (db *DB) UpdateStockItem(_ context.Context, _ *bluehelm.StockItem, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateStockItem")
	return
}

func (db *DB) VerifySensorSecret(_ context.Context, _ string, _ string) (r0 *bluehelm.Sensor, err error) {
	err = todo("VerifySensorSecret")
	return
}

func (db *DB) Asset(_ context.Context, _ int64) (r0 *bluehelm.Asset, err error) {
	err = todo("Asset")
	return
}

func (db *DB) Assets(_ context.Context, _ int64) (r0 []*bluehelm.Asset, err error) {
	err = todo("Assets")
	return
}

func (db *DB) CampProfile(_ context.Context, _ int64) (r0 *bluehelm.CampProfile, err error) {
	err = todo("CampProfile")
	return
}

func (db *DB) CampProfiles(_ context.Context) (r0 []*bluehelm.CampProfile, err error) {
	err = todo("CampProfiles")
	return
}

func (db *DB) CampSensors(_ context.Context, _ int64) (r0 []*bluehelm.Sensor, err error) {
	err = todo("CampSensors")
	return
}

func (db *DB) CompleteWorkOrder(_ context.Context, _ *bluehelm.WorkOrder, _ *bluehelm.Asset, _ bluehelm.AuditEntry) (err error) {
	err = todo("CompleteWorkOrder")
	return
}

func (db *DB) CreateAsset(_ context.Context, _ *bluehelm.Asset, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateAsset")
	return
}

func (db *DB) CreateWorkOrder(_ context.Context, _ *bluehelm.WorkOrder, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateWorkOrder")
	return
}

func (db *DB) DeleteAsset(_ context.Context, _ int64, _ int, _ bluehelm.AuditEntry) (err error) {
	err = todo("DeleteAsset")
	return
}

func (db *DB) DueWebhooks(_ context.Context, _ time.Time, _ int) (r0 []bluehelm.WebhookDelivery, err error) {
	err = todo("DueWebhooks")
	return
}

func (db *DB) EnqueueWebhook(_ context.Context, _ *bluehelm.WebhookDelivery) (err error) {
	err = todo("EnqueueWebhook")
	return
}

func (db *DB) LatestRollups(_ context.Context, _ []int64, _ bluehelm.RollupResolution) (r0 []bluehelm.SensorRollup, err error) {
	err = todo("LatestRollups")
	return
}

func (db *DB) PutCampProfile(_ context.Context, _ *bluehelm.CampProfile, _ bluehelm.AuditEntry) (err error) {
	err = todo("PutCampProfile")
	return
}

func (db *DB) RunningHours(_ context.Context, _ []int64, _ time.Time, _ time.Time) (r0 float64, err error) {
	err = todo("RunningHours")
	return
}

func (db *DB) UpdateAsset(_ context.Context, _ *bluehelm.Asset, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateAsset")
	return
}

func (db *DB) UpdateWorkOrder(_ context.Context, _ *bluehelm.WorkOrder, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateWorkOrder")
	return
}

func (db *DB) Webhook(_ context.Context, _ int64) (r0 *bluehelm.WebhookDelivery, err error) {
	err = todo("Webhook")
	return
}

func (db *DB) WebhookDelivered(_ context.Context, _ int64, _ time.Time) (err error) {
	err = todo("WebhookDelivered")
	return
}

func (db *DB) WebhookFailed(_ context.Context, _ int64, _ int, _ time.Time, _ string) (err error) {
	err = todo("WebhookFailed")
	return
}

func (db *DB) WorkOrder(_ context.Context, _ int64) (r0 *bluehelm.WorkOrder, err error) {
	err = todo("WorkOrder")
	return
}

func (db *DB) WorkOrders(_ context.Context, _ bluehelm.WorkOrderFilter) (r0 []*bluehelm.WorkOrder, err error) {
	err = todo("WorkOrders")
	return
}
