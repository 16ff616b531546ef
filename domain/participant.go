package domain

import "strings"

// Participant is the state of a participant, folded from their stream. It
// holds no plaintext: the domain never needs it.
type Participant struct {
	ID          string
	Exists      bool
	Pseudonym   string
	PublishName bool
	ResearchUse bool
	// Erasure requests by id; an entry's Outcome is "" while undecided.
	Erasures map[string]*ErasureRequest
	Erased   bool // an erasure was granted (keys shredded after it)
	Disposed bool
}

// ErasureRequest is the state of one erasure request.
type ErasureRequest struct {
	ID      string
	Outcome string // "", ErasureGranted or ErasureRefused
}

// Apply folds one event into the state.
func (p *Participant) Apply(ev Event) {
	switch e := ev.(type) {
	case *ParticipantRegistered:
		*p = Participant{ID: e.ParticipantID, Exists: true, Pseudonym: e.Pseudonym,
			PublishName: e.PublishName, ResearchUse: e.ResearchUse, Erasures: map[string]*ErasureRequest{}}
	case *ConsentChanged:
		p.PublishName, p.ResearchUse = e.PublishName, e.ResearchUse
	case *ErasureRequested:
		if p.Erasures == nil {
			p.Erasures = map[string]*ErasureRequest{}
		}
		p.Erasures[e.RequestID] = &ErasureRequest{ID: e.RequestID}
	case *ErasureDecided:
		if r := p.Erasures[e.RequestID]; r != nil {
			r.Outcome = e.Outcome
		}
		if e.Outcome == ErasureGranted {
			p.Erased = true
		}
	case *DisposalDecided:
		p.Disposed = true
	}
}

// gone reports whether the participant's data is erased or disposed, so
// nothing new can be recorded for them.
func (p Participant) gone() error {
	if !p.Exists {
		return notFoundf("participant %q does not exist", p.ID)
	}
	if p.Erased || p.Disposed {
		return conflictf("participant %s's data has been erased or disposed", p.ID)
	}
	return nil
}

// selfOrStaff allows the participant themself or intake (acting on their
// behalf), and also admin for administrative corrections.
func selfOrStaff(what string, by Actor, participantID string) error {
	if err := by.valid(); err != nil {
		return err
	}
	if by.Role == RoleParticipant && by.ID == participantID {
		return nil
	}
	if by.is(RoleIntake, RoleAdmin) {
		return nil
	}
	return forbiddenf("%s: only the participant or intake may do this", what)
}

// RegisterParticipant registers a participant. Name, e-mail, district and
// age band are plaintext here; the events carry them as Personal fields
// for the command service to seal with the participant's key.
type RegisterParticipant struct {
	ParticipantID string
	Pseudonym     string
	Name          string
	Email         string
	District      string
	AgeBand       string
	Language      string
	PublishName   bool
	ResearchUse   bool
	By            Actor
}

// Register decides RegisterParticipant against the (empty) stream.
func (p Participant) Register(cmd RegisterParticipant) ([]Event, error) {
	if err := checkID("participant id", cmd.ParticipantID); err != nil {
		return nil, err
	}
	if err := selfOrStaff("register", cmd.By, cmd.ParticipantID); err != nil {
		return nil, err
	}
	if p.Exists {
		return nil, conflictf("participant %s already exists", cmd.ParticipantID)
	}
	if err := checkText("pseudonym", cmd.Pseudonym, maxShort); err != nil {
		return nil, err
	}
	if err := checkLanguage(cmd.Language); err != nil {
		return nil, err
	}
	for _, f := range []struct{ what, v string }{{"name", cmd.Name}, {"e-mail", cmd.Email}, {"district", cmd.District}, {"age band", cmd.AgeBand}} {
		if err := checkOptionalText(f.what, f.v, maxShort); err != nil {
			return nil, err
		}
	}
	if err := checkEmail(cmd.Email); err != nil {
		return nil, err
	}
	if cmd.PublishName && cmd.Name == "" {
		return nil, invalidf("consent to publish a name needs a name")
	}
	registeredBy := ""
	if cmd.By.Role != RoleParticipant {
		registeredBy = cmd.By.ID
	}
	id := cmd.ParticipantID
	return []Event{&ParticipantRegistered{
		ParticipantID: id, Pseudonym: cmd.Pseudonym,
		Name: NewPersonal(id, cmd.Name), Email: NewPersonal(id, cmd.Email), District: NewPersonal(id, cmd.District), AgeBand: NewPersonal(id, cmd.AgeBand),
		Language: cmd.Language, PublishName: cmd.PublishName, ResearchUse: cmd.ResearchUse, RegisteredBy: registeredBy,
	}}, nil
}

// ChangeConsent sets both consents.
type ChangeConsent struct {
	PublishName bool
	ResearchUse bool
	By          Actor
}

// ChangeConsent decides ChangeConsent. Withdrawing consent to publish the
// name is always possible (it does not erase the public record).
func (p Participant) ChangeConsent(cmd ChangeConsent) ([]Event, error) {
	if err := selfOrStaff("change consent", cmd.By, p.ID); err != nil {
		return nil, err
	}
	if err := p.gone(); err != nil {
		return nil, err
	}
	if cmd.PublishName == p.PublishName && cmd.ResearchUse == p.ResearchUse {
		return nil, conflictf("consent is already as requested")
	}
	return []Event{&ConsentChanged{ParticipantID: p.ID, PublishName: cmd.PublishName, ResearchUse: cmd.ResearchUse, ChangedBy: cmd.By.ID}}, nil
}

// RequestErasure records a GDPR erasure request.
type RequestErasure struct {
	RequestID string
	Reason    string // the participant's own words; may be empty
	Channel   Channel
	By        Actor
}

// RequestErasure decides RequestErasure.
func (p Participant) RequestErasure(cmd RequestErasure) ([]Event, error) {
	if err := selfOrStaff("request erasure", cmd.By, p.ID); err != nil {
		return nil, err
	}
	if err := checkID("request id", cmd.RequestID); err != nil {
		return nil, err
	}
	if err := p.gone(); err != nil {
		return nil, err
	}
	if _, dup := p.Erasures[cmd.RequestID]; dup {
		return nil, conflictf("erasure request %s already exists", cmd.RequestID)
	}
	for _, r := range p.Erasures {
		if r.Outcome == "" {
			return nil, conflictf("erasure request %s is still open", r.ID)
		}
	}
	if err := checkChannel(cmd.Channel, cmd.By); err != nil {
		return nil, err
	}
	if err := checkOptionalText("reason", cmd.Reason, maxLong); err != nil {
		return nil, err
	}
	return []Event{&ErasureRequested{ParticipantID: p.ID, RequestID: cmd.RequestID, Reason: NewPersonal(p.ID, cmd.Reason),
		Channel: cmd.Channel, RegisteredBy: registeredBy(cmd.By)}}, nil
}

// DecideErasure decides an erasure request.
type DecideErasure struct {
	RequestID   string
	Outcome     string // ErasureGranted or ErasureRefused
	Basis       string // legal basis, e.g. "GDPR art. 17(3)(b), arkivlagen (1990:782)"
	Explanation string
	By          Actor
}

// DecideErasure decides DecideErasure. A granted erasure is followed by the
// command service shredding the participant's keys (RecordShredding).
func (p Participant) DecideErasure(cmd DecideErasure) ([]Event, error) {
	if err := cmd.By.require("decide an erasure request", RoleAdmin); err != nil {
		return nil, err
	}
	if !p.Exists {
		return nil, notFoundf("participant %q does not exist", p.ID)
	}
	r := p.Erasures[cmd.RequestID]
	if r == nil {
		return nil, notFoundf("erasure request %q does not exist", cmd.RequestID)
	}
	if r.Outcome != "" {
		return nil, conflictf("erasure request %s was already decided (%s)", r.ID, r.Outcome)
	}
	if cmd.Outcome != ErasureGranted && cmd.Outcome != ErasureRefused {
		return nil, invalidf("outcome %q is not granted or refused", cmd.Outcome)
	}
	if err := checkText("basis", cmd.Basis, maxShort); err != nil {
		return nil, err
	}
	if err := checkOptionalText("explanation", cmd.Explanation, maxLong); err != nil {
		return nil, err
	}
	return []Event{&ErasureDecided{ParticipantID: p.ID, RequestID: r.ID, Outcome: cmd.Outcome, Basis: cmd.Basis,
		Explanation: cmd.Explanation, DecidedBy: cmd.By.ID}}, nil
}

// registeredBy is the staff member who registered something on a
// participant's behalf, or "" when they did it themself.
func registeredBy(by Actor) string {
	if by.Role == RoleParticipant {
		return ""
	}
	return by.ID
}

// checkChannel: participants act on the web; paper, e-mail and meetings go
// through intake.
func checkChannel(c Channel, by Actor) error {
	switch c {
	case ChannelWeb:
		return nil
	case ChannelPaper, ChannelEmail, ChannelMeeting:
		if by.Role == RoleParticipant {
			return invalidf("channel %s is registered by intake, not by the participant", c)
		}
		return nil
	}
	return invalidf("channel %q is not web, paper, email or meeting", c)
}

// checkLanguage accepts a BCP 47-like tag ("sv", "en", "ar", "so", "sv-SE").
func checkLanguage(tag string) error {
	if len(tag) < 2 || len(tag) > 35 {
		return invalidf("language %q is not a language tag", tag)
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return invalidf("language %q is not a language tag", tag)
		}
	}
	return nil
}

// checkEmail accepts an empty address or one plain address, local@domain
// with a dot in the domain, no spaces or angle brackets: a notice sent to it
// must reach the person. (net/mail would pull the network into the domain.)
func checkEmail(addr string) error {
	if addr == "" {
		return nil
	}
	at := strings.LastIndexByte(addr, '@')
	local, host := "", ""
	if at > 0 {
		local, host = addr[:at], addr[at+1:]
	}
	ok := local != "" && len(addr) <= 254 && len(local) <= 64 &&
		strings.Contains(host, ".") && !strings.HasPrefix(host, ".") && !strings.HasSuffix(host, ".") &&
		!strings.ContainsAny(addr, " \t\r\n<>()[],;:\"\\") && !strings.Contains(local, "@")
	if !ok {
		return invalidf("e-mail %q is not an address like namn@example.se", addr)
	}
	return nil
}
