package domain

import "testing"

func TestRegistrationChecksTheEmailAddress(t *testing.T) {
	for addr, ok := range map[string]bool{
		"": true, "anna@example.se": true, "a.b+c@malmo.se": true,
		"anna": false, "anna@": false, "@example.se": false, "anna@localhost": false,
		"Anna <anna@example.se>": false, "anna @example.se": false, "anna@example.se.": false,
		"a@b@example.se": false,
	} {
		_, err := Participant{}.Register(RegisterParticipant{ParticipantID: "p", Pseudonym: "Blå Häger", Language: "sv", Email: addr,
			By: Actor{ID: "intake-1", Role: RoleIntake}})
		if (err == nil) != ok {
			t.Errorf("e-mail %q: accepted=%v, want %v (%v)", addr, err == nil, ok, err)
		}
	}
}
