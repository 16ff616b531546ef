package domain

// Comment is the state of a comment, folded from its stream.
type Comment struct {
	Item
	SubmissionID string
	ParentID     string
	Body         Personal // sealed; hiding never touches it
}

// Apply folds one event into the state.
func (c *Comment) Apply(ev Event) {
	switch e := ev.(type) {
	case *CommentPosted:
		*c = Comment{SubmissionID: e.SubmissionID, ParentID: e.ParentID, Body: e.Body}
		c.init(ItemComment, e.CommentID, e.ProcessID, e.Author, e.Premoderated)
	default:
		if c.Exists {
			c.applyModeration(ev)
		}
	}
}

// PostComment posts a comment on a submission, optionally in reply to
// another comment on it.
type PostComment struct {
	CommentID string
	ParentID  string // "" for a top-level comment
	Author    string
	Channel   Channel
	Language  string
	Body      string
	By        Actor
}

// Post decides PostComment against the (empty) comment stream, the
// process, the submission and (for a reply) the parent comment's state;
// pass a zero Comment when there is no parent.
func (c Comment) Post(p Process, s Submission, parent Comment, cmd PostComment) ([]Event, error) {
	if err := checkID("comment id", cmd.CommentID); err != nil {
		return nil, err
	}
	if err := checkContributor(cmd.By, cmd.Author, cmd.Channel); err != nil {
		return nil, err
	}
	if err := checkLanguage(cmd.Language); err != nil {
		return nil, err
	}
	if err := checkText("body", cmd.Body, maxLong); err != nil {
		return nil, err
	}
	if err := s.usable(); err != nil {
		return nil, err
	}
	if p.ID != s.ProcessID {
		return nil, invalidf("submission %s belongs to process %s, not %s", s.ID, s.ProcessID, p.ID)
	}
	if err := p.Accepting(AcceptsComments); err != nil {
		return nil, err
	}
	if !s.Status.Public() {
		return nil, conflictf("submission %s is %s and cannot be commented on", s.ID, s.Status)
	}
	if cmd.ParentID != "" {
		if !parent.Exists || parent.ID != cmd.ParentID {
			return nil, notFoundf("parent comment %q does not exist", cmd.ParentID)
		}
		if parent.SubmissionID != s.ID {
			return nil, invalidf("parent comment %s is on another submission", parent.ID)
		}
		if parent.Disposed {
			return nil, conflictf("parent comment %s was disposed", parent.ID)
		}
	}
	if c.Exists {
		return nil, conflictf("comment %s already exists", cmd.CommentID)
	}
	id := cmd.CommentID
	return []Event{&CommentPosted{CommentID: id, SubmissionID: s.ID, ProcessID: p.ID, ParentID: cmd.ParentID,
		Author: cmd.Author, Channel: cmd.Channel, Language: cmd.Language, Body: NewPersonal(id, cmd.Body),
		RegisteredBy: registeredBy(cmd.By), Premoderated: p.ModerationMode == ModerationPre}}, nil
}
