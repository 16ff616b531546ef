package domain

// Fold applies events, in order, to the zero state of S:
// domain.Fold[domain.Submission](events).
func Fold[S any, P interface {
	*S
	Apply(Event)
}](events []Event) S {
	var s S
	for _, e := range events {
		P(&s).Apply(e)
	}
	return s
}
