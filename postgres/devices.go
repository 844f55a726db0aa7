package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Devices are plain columns: they are looked up by unique keys (name, serial)
// on every TLS handshake. Username comes from the users row, not from what the
// caller passed, so a device always speaks under its user's current name.

const deviceSelect = `SELECT d.id, d.name, d.user_id, u.username, d.serial, d.fingerprint, d.device_groups, d.classification,
	d.not_after, d.created_at, d.revoked_at, d.revoke_reason
	FROM devices d JOIN users u ON u.id = d.user_id`

func scanDevice(row pgx.Row) (*bluehelm.Device, error) {
	var (
		d                         bluehelm.Device
		notAfter, created, revoke *time.Time
	)
	if err := row.Scan(&d.ID, &d.Name, &d.UserID, &d.Username, &d.Serial, &d.Fingerprint, &d.Groups, &d.Classification,
		&notAfter, &created, &revoke, &d.RevokeReason); err != nil {
		return nil, err
	}
	d.NotAfter, d.CreatedAt, d.RevokedAt = timeOf(notAfter), timeOf(created), timePtrOf(revoke)
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
	var id int64
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO devices (name, user_id, serial, fingerprint, device_groups, classification, not_after, created_at, revoked_at, revoke_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			d.Name, d.UserID, d.Serial, d.Fingerprint, textArray(d.Groups), int(d.Classification), nullTime(d.NotAfter), nullTime(d.CreatedAt),
			nullTimePtr(d.RevokedAt), d.RevokeReason).Scan(&id)
		if err != nil {
			return err
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
	d, err := scanDevice(r.QueryRow(ctx, deviceSelect+` WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("device", arg)
	}
	return d, dbErr(err)
}

// Device returns a device by id, revoked or not.
func (db *DB) Device(ctx context.Context, id int64) (*bluehelm.Device, error) {
	return db.queryDevice(ctx, "d.id = $1", id)
}

// DeviceByName returns a device by name, revoked or not.
func (db *DB) DeviceByName(ctx context.Context, name string) (*bluehelm.Device, error) {
	return db.queryDevice(ctx, "d.name = $1", name)
}

// DeviceBySerial returns a device by certificate serial, revoked or not: the
// handshake decides, and can log why it refuses.
func (db *DB) DeviceBySerial(ctx context.Context, serial string) (*bluehelm.Device, error) {
	return db.queryDevice(ctx, "d.serial = $1", serial)
}

// Devices returns all devices, or those of one user when userID is not 0,
// ordered by name (byte order, as in the SQLite store).
func (db *DB) Devices(ctx context.Context, userID int64) ([]*bluehelm.Device, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	q, args := deviceSelect+` ORDER BY d.name COLLATE "C"`, []any(nil)
	if userID != 0 {
		q, args = deviceSelect+` WHERE d.user_id = $1 ORDER BY d.name COLLATE "C"`, []any{userID}
	}
	return collect(ctx, r, q, args, scanDevice)
}

// RevokeDevice marks a device revoked at at. Unlike RevokeToken, revoking twice
// is ECONFLICT: the first revocation's time and reason are the record of when
// the certificate stopped being trusted, and a second call must not rewrite it.
// The condition is in the UPDATE, so of two concurrent revocations one wins and
// the other sees the row already revoked.
func (db *DB) RevokeDevice(ctx context.Context, id int64, at time.Time, reason string, e bluehelm.AuditEntry) error {
	if at.IsZero() {
		return bluehelm.Invalid("revoked_at", "is required")
	}
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL`,
			utc(at), reason, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var revoked *time.Time
			err := tx.QueryRow(ctx, `SELECT revoked_at FROM devices WHERE id = $1`, id).Scan(&revoked)
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound("device", id)
			}
			if err != nil {
				return err
			}
			return bluehelm.Errorf(bluehelm.ECONFLICT, "device %d was already revoked at %s", id, timeOf(revoked).Format(time.RFC3339))
		}
		return appendAudit(ctx, tx, e, "device/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("revoke device %d: %w", id, err)
	}
	return nil
}
