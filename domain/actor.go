package domain

// Role is the capacity in which an actor acts. Role names are recorded in
// event metadata and are permanent.
type Role string

// Roles.
const (
	RoleParticipant Role = "participant"
	RoleIntake      Role = "intake"     // registers contributions that arrive on paper, by e-mail, at meetings
	RoleModerator   Role = "moderator"  // decides on content with a statement of reasons
	RoleOfficial    Role = "official"   // tjänsteperson: forwards, answers, opens processes
	RoleAuditor     Role = "auditor"    // revisor, archive authority, ombudsman: reads everything
	RoleResearcher  Role = "researcher" // pseudonymised exports
	RoleAdmin       Role = "admin"      // tokens, disposals, erasure decisions
	RoleElected     Role = "elected"    // förtroendevald: reads results, records the body's feedback
	RoleSystem      Role = "system"     // the ledger itself and automated classifiers
)

// Roles returns every role, in a stable order.
func Roles() []Role {
	return []Role{RoleParticipant, RoleIntake, RoleModerator, RoleOfficial, RoleAuditor, RoleResearcher, RoleAdmin, RoleElected, RoleSystem}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles() {
		if r == k {
			return true
		}
	}
	return false
}

// Actor is who does something, in which role. For a participant the ID is
// the participant id; for staff it is their staff (token) name.
type Actor struct {
	ID   string `json:"id"`
	Role Role   `json:"role"`
}

func (a Actor) valid() error {
	if err := checkID("actor id", a.ID); err != nil {
		return err
	}
	if !a.Role.Valid() {
		return invalidf("unknown role %q", a.Role)
	}
	return nil
}

// is reports whether the actor acts in one of roles.
func (a Actor) is(roles ...Role) bool {
	for _, r := range roles {
		if a.Role == r {
			return true
		}
	}
	return false
}

// require returns ErrForbidden unless the actor acts in one of roles.
func (a Actor) require(what string, roles ...Role) error {
	if err := a.valid(); err != nil {
		return err
	}
	if !a.is(roles...) {
		return forbiddenf("%s: role %s may not do this", what, a.Role)
	}
	return nil
}
