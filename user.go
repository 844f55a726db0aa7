package bluehelm

import (
	"regexp"
	"slices"
	"time"
)

// Role is what a user does in the mission; it decides which actions they may take.
// What they may read is decided by clearance and component (see Principal.CanSee).
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleCommander  Role = "commander"
	RoleOperations Role = "operations" // JOC duty officer, U3/S3
	RoleAnalyst    Role = "analyst"    // JMAC
	RoleReporter   Role = "reporter"   // patrol leader, UNPOL officer, device
	RoleCamp       Role = "camp_manager"
	RoleMedical    Role = "medical"
	RoleViewer     Role = "viewer"
	// RoleLiaison is the community liaison assistant who runs the community alert
	// network: the one role that may see who sent a community alert.
	RoleLiaison Role = "community_liaison"
)

// Roles lists the valid roles.
var Roles = []Role{RoleAdmin, RoleCommander, RoleOperations, RoleAnalyst, RoleReporter, RoleCamp, RoleMedical, RoleViewer, RoleLiaison}

func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Action is something a principal may be allowed to do.
type Action string

const (
	ActReportIncident  Action = "incident.report"  // create, edit own drafts, submit
	ActEditIncident    Action = "incident.edit"    // edit anyone's incident before approval
	ActVerifyIncident  Action = "incident.verify"  // first authoriser
	ActApproveIncident Action = "incident.approve" // second authoriser
	ActRejectIncident  Action = "incident.reject"
	ActPostPosition    Action = "position.post"
	ActWriteArea       Action = "area.write"
	ActRaiseAlert      Action = "alert.raise"
	ActHandleAlert     Action = "alert.handle" // acknowledge, resolve
	ActExport          Action = "export"
	ActImport          Action = "import"
	ActManageUsers     Action = "user.manage"
	ActManageDevices   Action = "device.manage"  // issue and revoke TAK device certificates
	ActSendMessage     Action = "message.send"   // GeoChat and file shares from TAK devices
	ActPlanPatrol      Action = "patrol.plan"    // draft, change and submit patrol plans
	ActApprovePatrol   Action = "patrol.approve" // approve or reject plans of others
	ActDispatch        Action = "task.dispatch"  // send units to incidents and alerts
	ActManageUnits     Action = "unit.manage"
	ActManageMedical   Action = "medical.manage" // the medical facility registry
	// ActManageCamp covers a camp's sensors, alarm rules, assets, stock book and
	// work orders: the camp manager's own records.
	ActManageCamp Action = "camp.manage"
	// CASEVAC: anyone in the field may request one; the medical cell and the
	// JOC run it (approve, choose the destination, launch, record its steps).
	ActRequestCasevac Action = "casevac.request"
	ActManageCasevac  Action = "casevac.manage"
	// ActNotifyCasualty verifies or confirms a casualty notification; the two
	// steps need two different people.
	ActNotifyCasualty Action = "casualty.notify"
	// ActTriageCommunity takes community alerts in (hotline) and triages them.
	ActTriageCommunity Action = "community.triage"
	// ActSeeSender reveals a community alert's sender (to reply, or to protect
	// them); nobody else ever sees more than a pseudonym.
	ActSeeSender Action = "community.sender"
)

// Actions lists every action, in the order /api/v1/me reports them.
var Actions = []Action{ActReportIncident, ActEditIncident, ActVerifyIncident, ActApproveIncident, ActRejectIncident,
	ActPostPosition, ActWriteArea, ActRaiseAlert, ActHandleAlert, ActExport, ActImport, ActManageUsers, ActManageDevices,
	ActSendMessage, ActPlanPatrol, ActApprovePatrol, ActDispatch, ActManageUnits, ActManageMedical, ActManageCamp,
	ActRequestCasevac, ActManageCasevac, ActNotifyCasualty, ActTriageCommunity, ActSeeSender}

var permissions = map[Role][]Action{
	RoleAdmin:      {ActManageUsers, ActManageDevices, ActSendMessage, ActImport, ActExport, ActWriteArea, ActPostPosition, ActManageUnits, ActManageMedical, ActManageCamp},
	RoleCommander:  {ActSendMessage, ActReportIncident, ActEditIncident, ActVerifyIncident, ActApproveIncident, ActRejectIncident, ActWriteArea, ActRaiseAlert, ActHandleAlert, ActExport, ActPostPosition, ActPlanPatrol, ActApprovePatrol, ActDispatch, ActRequestCasevac, ActManageCasevac, ActNotifyCasualty},
	RoleOperations: {ActSendMessage, ActReportIncident, ActEditIncident, ActVerifyIncident, ActApproveIncident, ActRejectIncident, ActWriteArea, ActRaiseAlert, ActHandleAlert, ActExport, ActPostPosition, ActImport, ActPlanPatrol, ActApprovePatrol, ActDispatch, ActManageUnits, ActRequestCasevac, ActManageCasevac, ActNotifyCasualty, ActTriageCommunity},
	RoleAnalyst:    {ActSendMessage, ActReportIncident, ActEditIncident, ActVerifyIncident, ActRejectIncident, ActExport, ActImport, ActTriageCommunity},
	RoleReporter:   {ActSendMessage, ActReportIncident, ActPostPosition, ActRaiseAlert, ActPlanPatrol, ActRequestCasevac},
	RoleCamp:       {ActSendMessage, ActReportIncident, ActPostPosition, ActWriteArea, ActRaiseAlert, ActHandleAlert, ActManageCamp, ActRequestCasevac},
	RoleMedical:    {ActSendMessage, ActReportIncident, ActPostPosition, ActRaiseAlert, ActHandleAlert, ActManageMedical, ActRequestCasevac, ActManageCasevac, ActNotifyCasualty},
	RoleViewer:     {},
	RoleLiaison:    {ActSendMessage, ActReportIncident, ActTriageCommunity, ActSeeSender},
}

// Can reports whether the principal's role allows the action. The system principal
// may do everything.
func (p Principal) Can(a Action) bool {
	if p.System {
		return true
	}
	return slices.Contains(permissions[p.Role], a)
}

// Require returns EFORBIDDEN unless p.Can(a).
func (p Principal) Require(a Action) error {
	if p.Can(a) {
		return nil
	}
	return Errorf(EFORBIDDEN, "role %q may not %s", p.Role, a)
}

// RequireTokenOwner allows a principal to manage the API tokens of user userID: their
// own, or anyone's for an administrator.
func (p Principal) RequireTokenOwner(userID int64) error {
	if !p.System && p.UserID == userID {
		return nil
	}
	return p.Require(ActManageUsers)
}

// User is a person (or a device account) who signs in.
type User struct {
	ID        int64          `json:"id"`
	Username  string         `json:"username"`
	Name      string         `json:"name"`
	Role      Role           `json:"role"`
	Component Component      `json:"component"`
	Clearance Classification `json:"clearance"`
	Disabled  bool           `json:"disabled"`
	CreatedAt time.Time      `json:"created_at"`
	// Language is the user's choice of interface language, remembered across
	// devices; "" means none yet (the browser's own preference applies).
	Language string `json:"language"`
	// PasswordHash is never serialised.
	PasswordHash string `json:"-"`
}

// Languages lists the interface languages a user may choose: the mission
// languages the catalogue is written in (Arabic is planned; its layout is ready).
var Languages = []string{"en", "fr", "ar"}

// ValidLanguage reports whether lang is "" (no preference) or one of Languages.
func ValidLanguage(lang string) bool { return lang == "" || slices.Contains(Languages, lang) }

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

// Validate checks a user record.
func (u *User) Validate() error {
	if !usernameRE.MatchString(u.Username) {
		return Invalid("username", "must be 2-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
	}
	if len(u.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if !u.Role.Valid() {
		return Invalid("role", "unknown role %q", u.Role)
	}
	if !u.Component.Valid() {
		return Invalid("component", "unknown component %q", u.Component)
	}
	if u.Clearance < Unclassified || u.Clearance > StrictlyConfidential {
		return Invalid("clearance", "unknown clearance")
	}
	if !ValidLanguage(u.Language) {
		return Invalid("language", "unknown language %q (want en, fr or ar)", u.Language)
	}
	return nil
}

// Principal returns the principal acting as this user.
func (u *User) Principal() Principal {
	return Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Component: u.Component, Clearance: u.Clearance}
}

// Token is an API bearer token. Only a hash of the secret is stored.
type Token struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Name      string     `json:"name"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Revoked   bool       `json:"revoked"`
}

// Session is a browser sign-in. Only a hash of the cookie value is stored; the CSRF
// token is sent back in a header on every unsafe request.
type Session struct {
	Hash      string
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}
