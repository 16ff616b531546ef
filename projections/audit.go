package projections

import (
	"fmt"
	"maps"
	"slices"
)

// The registry's Audit functions: each model as `ledger replay` prints it
// for an auditor. item narrows the view; an id the model does not know is
// an error naming what was looked for.

func notFound(what, id string) error { return fmt.Errorf("no %s %q", what, id) }

func auditProcesses(m Model, item string, _ Opener) (any, error) {
	p := m.(*Processes)
	if item == "" {
		return p.List(), nil
	}
	o, ok := p.Process(item)
	if !ok {
		return nil, notFound("process", item)
	}
	return o, nil
}

func auditSubmissions(m Model, item string, _ Opener) (any, error) {
	s := m.(*Submissions)
	if item != "" {
		v, ok := s.Internal(item)
		if !ok {
			return nil, notFound("submission", item)
		}
		return v, nil
	}
	out := []InternalSubmission{}
	for _, id := range s.ids("") {
		v, _ := s.Internal(id)
		out = append(out, v)
	}
	return out, nil
}

func auditTrails(m Model, item string, _ Opener) (any, error) {
	t := m.(*Trails)
	if item == "" {
		return t, nil // every item's trail, actors named
	}
	es, ok := t.Internal(item, Latest)
	if !ok {
		return nil, notFound("item", item)
	}
	return es, nil
}

func auditQueue(m Model, item string, _ Opener) (any, error) {
	return m.(*Queue).Entries(item), nil
}

func auditTransparency(m Model, item string, _ Opener) (any, error) {
	return m.(*Transparency).Report(ReportQuery{ProcessID: item}), nil
}

func auditParticipation(m Model, item string, open Opener) (any, error) {
	p := m.(*Participation)
	ids := []string{item}
	if item == "" {
		ids = slices.Sorted(maps.Keys(p.st.Processes))
	}
	out := []Stats{}
	for _, id := range ids {
		st, ok := p.Stats(id, open)
		if !ok {
			return nil, notFound("process", id)
		}
		out = append(out, st)
	}
	return out, nil
}

func auditActors(m Model, item string, _ Opener) (any, error) {
	a := m.(*Actors)
	if item == "" {
		return a, nil
	}
	return a.Trail(item, 0, Latest, 0), nil
}

func auditDialogue(m Model, item string, _ Opener) (any, error) {
	d := m.(*Dialogue)
	if item == "" {
		return d, nil
	}
	sum, ok := d.Counts(item, false)
	if !ok {
		return nil, notFound("dialogue process", item)
	}
	return sum, nil
}
