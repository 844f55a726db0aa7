package postgres

// Not written yet: each method fails with EUNAVAILABLE. This file is deleted
// when its methods are written.

import (
	"context"
	"time"

	"github.com/bluehelm/bluehelm"
)

var _ = time.Time{}

func (db *DB) CreateSession(_ context.Context, _ *bluehelm.Session) (err error) {
	err = todo("CreateSession")
	return
}

func (db *DB) CreateToken(_ context.Context, _ *bluehelm.Token, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateToken")
	return
}

func (db *DB) CreateUser(_ context.Context, _ *bluehelm.User, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateUser")
	return
}

func (db *DB) DeleteSession(_ context.Context, _ string) (err error) {
	err = todo("DeleteSession")
	return
}

func (db *DB) RevokeToken(_ context.Context, _ int64, _ bluehelm.AuditEntry) (err error) {
	err = todo("RevokeToken")
	return
}

func (db *DB) SessionByHash(_ context.Context, _ string) (r0 *bluehelm.Session, err error) {
	err = todo("SessionByHash")
	return
}

func (db *DB) SetUserLanguage(_ context.Context, _ int64, _ string, _ bluehelm.AuditEntry) (err error) {
	err = todo("SetUserLanguage")
	return
}

func (db *DB) TokenByHash(_ context.Context, _ string) (r0 *bluehelm.Token, err error) {
	err = todo("TokenByHash")
	return
}

func (db *DB) Tokens(_ context.Context, _ int64) (r0 []*bluehelm.Token, err error) {
	err = todo("Tokens")
	return
}

func (db *DB) UpdateUser(_ context.Context, _ *bluehelm.User, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateUser")
	return
}

func (db *DB) User(_ context.Context, _ int64) (r0 *bluehelm.User, err error) {
	err = todo("User")
	return
}

func (db *DB) UserByUsername(_ context.Context, _ string) (r0 *bluehelm.User, err error) {
	err = todo("UserByUsername")
	return
}

func (db *DB) Users(_ context.Context) (r0 []*bluehelm.User, err error) {
	err = todo("Users")
	return
}

func (db *DB) CreateDevice(_ context.Context, _ *bluehelm.Device, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateDevice")
	return
}

func (db *DB) Device(_ context.Context, _ int64) (r0 *bluehelm.Device, err error) {
	err = todo("Device")
	return
}

func (db *DB) DeviceByName(_ context.Context, _ string) (r0 *bluehelm.Device, err error) {
	err = todo("DeviceByName")
	return
}

func (db *DB) DeviceBySerial(_ context.Context, _ string) (r0 *bluehelm.Device, err error) {
	err = todo("DeviceBySerial")
	return
}

func (db *DB) Devices(_ context.Context, _ int64) (r0 []*bluehelm.Device, err error) {
	err = todo("Devices")
	return
}

func (db *DB) RevokeDevice(_ context.Context, _ int64, _ time.Time, _ string, _ bluehelm.AuditEntry) (err error) {
	err = todo("RevokeDevice")
	return
}

func (db *DB) AppendChat(_ context.Context, _ *bluehelm.ChatMessage) (err error) {
	err = todo("AppendChat")
	return
}

func (db *DB) Chat(_ context.Context, _ bluehelm.ChatFilter) (r0 []*bluehelm.ChatMessage, err error) {
	err = todo("Chat")
	return
}

func (db *DB) Attachment(_ context.Context, _ int64) (r0 *bluehelm.Attachment, err error) {
	err = todo("Attachment")
	return
}

func (db *DB) Attachments(_ context.Context, _ bluehelm.AttachmentFilter) (r0 []*bluehelm.Attachment, err error) {
	err = todo("Attachments")
	return
}

func (db *DB) AttachmentsByHash(_ context.Context, _ string) (r0 []*bluehelm.Attachment, err error) {
	err = todo("AttachmentsByHash")
	return
}

func (db *DB) CreateAttachment(_ context.Context, _ *bluehelm.Attachment, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateAttachment")
	return
}

func (db *DB) LinkAttachment(_ context.Context, _ int64, _ int64, _ bluehelm.AuditEntry) (err error) {
	err = todo("LinkAttachment")
	return
}

func (db *DB) Casevac(_ context.Context, _ int64) (r0 *bluehelm.Casevac, err error) {
	err = todo("Casevac")
	return
}

func (db *DB) CreateCasevac(_ context.Context, _ *bluehelm.Casevac, _ bluehelm.AuditEntry) (err error) {
	err = todo("CreateCasevac")
	return
}

func (db *DB) FindCasevacs(_ context.Context, _ bluehelm.CasevacFilter) (r0 []*bluehelm.Casevac, err error) {
	err = todo("FindCasevacs")
	return
}

func (db *DB) UpdateCasevac(_ context.Context, _ *bluehelm.Casevac, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateCasevac")
	return
}

func (db *DB) CommunityAlert(_ context.Context, _ int64) (r0 *bluehelm.CommunityAlert, err error) {
	err = todo("CommunityAlert")
	return
}

func (db *DB) CreateCommunityAlert(_ context.Context, _ *bluehelm.CommunityAlert, _ bluehelm.CommunityGrouping, _ bluehelm.AuditEntry) (r0 bool, err error) {
	err = todo("CreateCommunityAlert")
	return
}

func (db *DB) FindCommunityAlerts(_ context.Context, _ bluehelm.CommunityFilter) (r0 []*bluehelm.CommunityAlert, err error) {
	err = todo("FindCommunityAlerts")
	return
}

func (db *DB) UpdateCommunityAlert(_ context.Context, _ *bluehelm.CommunityAlert, _ bluehelm.AuditEntry) (err error) {
	err = todo("UpdateCommunityAlert")
	return
}

func (db *DB) FatalityCounts(_ context.Context) (r0 []bluehelm.FatalityCount, err error) {
	err = todo("FatalityCounts")
	return
}

func (db *DB) ImportFatalities(_ context.Context, _ []*bluehelm.Fatality, _ bluehelm.AuditEntry) (r0 int, r1 int, err error) {
	err = todo("ImportFatalities")
	return
}
