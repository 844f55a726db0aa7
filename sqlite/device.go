package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Devices are plain columns: they are looked up by unique keys (name, serial)
// on every TLS handshake. Username comes from the users row, not from what the
// caller passed, so a device always speaks under its user's current name.

const deviceSelect = `SELECT d.id, d.name, d.user_id, u.username, d.serial, d.fingerprint, d.groups_json, d.classification,
	d.not_after, d.created_at, d.revoked_at, d.revoke_reason
	FROM devices d JOIN users u ON u.id = d.user_id`

func scanDevice(s scanner) (*bluehelm.Device, error) {
	var (
		d                         bluehelm.Device
		groups                    string
		notAfter, created, revoke sql.NullInt64
	)
	if err := s.Scan(&d.ID, &d.Name, &d.UserID, &d.Username, &d.Serial, &d.Fingerprint, &groups, &d.Classification,
		&notAfter, &created, &revoke, &d.RevokeReason); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &d.Groups); err != nil {
		return nil, fmt.Errorf("sqlite: device %d: corrupt groups: %w", d.ID, err)
	}
	d.NotAfter, d.CreatedAt, d.RevokedAt = fromMicros(notAfter), fromMicros(created), fromMicrosPtr(revoke)
	return &d, nil
}

// CreateDevice stores d and sets d.ID. A taken name or serial is ECONFLICT; a
// user that does not exist is EINVALID. d must pass Validate.
func (db *DB) CreateDevice(ctx context.Context, d *bluehelm.Device, e bluehelm.AuditEntry) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if d.Serial == "" || d.Fingerprint == "" {
		// Validate leaves these to the CA, but an empty serial would make the
		// device unreachable by DeviceBySerial and block the next empty one.
		return bluehelm.Invalid("serial", "serial and fingerprint are required")
	}
	groups, err := json.Marshal(d.Groups)
	if err != nil {
		return bluehelm.Invalid("groups", "cannot encode: %v", err)
	}
	var id int64
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO devices (name, user_id, serial, fingerprint, groups_json, classification, not_after, created_at, revoked_at, revoke_reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Name, d.UserID, d.Serial, d.Fingerprint, string(groups), int(d.Classification), micros(d.NotAfter), micros(d.CreatedAt),
			microsPtr(d.RevokedAt), d.RevokeReason).Scan(&id)
		if err != nil {
			return dbErr(err)
		}
		return appendAudit(ctx, tx, e, "device/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("create device %q: %w", d.Name, err)
	}
	d.ID = id
	return nil
}

func (db *DB) queryDevice(ctx context.Context, where string, arg any) (*bluehelm.Device, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	d, err := scanDevice(r.QueryRowContext(ctx, deviceSelect+` WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("device", arg)
	}
	return d, dbErr(err)
}

// Device returns a device by id, revoked or not.
func (db *DB) Device(ctx context.Context, id int64) (*bluehelm.Device, error) {
	return db.queryDevice(ctx, "d.id = ?", id)
}

// DeviceByName returns a device by name, revoked or not.
func (db *DB) DeviceByName(ctx context.Context, name string) (*bluehelm.Device, error) {
	return db.queryDevice(ctx, "d.name = ?", name)
}

// DeviceBySerial returns a device by certificate serial, revoked or not: the
// handshake decides, and can log why it refuses.
func (db *DB) DeviceBySerial(ctx context.Context, serial string) (*bluehelm.Device, error) {
	return db.queryDevice(ctx, "d.serial = ?", serial)
}

// Devices returns all devices, or those of one user when userID is not 0,
// ordered by name.
func (db *DB) Devices(ctx context.Context, userID int64) ([]*bluehelm.Device, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	q, args := deviceSelect+` ORDER BY d.name`, []any(nil)
	if userID != 0 {
		q, args = deviceSelect+` WHERE d.user_id = ? ORDER BY d.name`, []any{userID}
	}
	return queryAll(ctx, r, q, args, scanDevice)
}

// RevokeDevice marks a device revoked at at. Unlike RevokeToken, revoking twice
// is ECONFLICT: the first revocation's time and reason are the record of when
// the certificate stopped being trusted, and a second call must not rewrite it.
func (db *DB) RevokeDevice(ctx context.Context, id int64, at time.Time, reason string, e bluehelm.AuditEntry) error {
	if at.IsZero() {
		return bluehelm.Invalid("revoked_at", "is required")
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
			at.UnixMicro(), reason, id)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			var revoked sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM devices WHERE id = ?`, id).Scan(&revoked)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("device", id)
			}
			if err != nil {
				return dbErr(err)
			}
			return bluehelm.Errorf(bluehelm.ECONFLICT, "device %d was already revoked at %s", id, fromMicros(revoked).Format(time.RFC3339))
		}
		return appendAudit(ctx, tx, e, "device/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("revoke device %d: %w", id, err)
	}
	return nil
}
