package ledger

import (
	"context"

	"github.com/malmo/participation-ledger/domain"
)

// ExportID returns the id of the export a request with this idempotency
// key creates. The export's files are written under that id before the
// ExportIssued event is recorded (the event carries the manifest's hash),
// so a retried request finds the same directory and the same event.
func ExportID(actor domain.Actor, idempotencyKey string) string {
	return meta{actor: actor, key: idempotencyKey}.newID("export")
}

// IssueExport records an export on the "exports" stream. Command.ExportID
// is set by the caller (ExportID), since the files exist before the event.
func (s *Service) IssueExport(ctx context.Context, actor domain.Actor, r Request[domain.IssueExport]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.execute(ctx, m, c.ExportID, domain.ExportsStream, nil, func([]domain.Event) ([]domain.Event, error) {
		return domain.IssueExportEvent(c)
	})
}

// RecordDSASubmission records a call to the DSA Transparency Database on
// the "dsa-submissions" stream. Command.SubmissionID defaults to an id
// derived from the idempotency key.
func (s *Service) RecordDSASubmission(ctx context.Context, actor domain.Actor, r Request[domain.RecordDSASubmission]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.SubmissionID = orDefault(c.SubmissionID, m.newID("dsa-submission"))
	return s.execute(ctx, m, c.SubmissionID, domain.DSASubmissionsStream, nil, func([]domain.Event) ([]domain.Event, error) {
		return domain.RecordDSASubmissionEvent(c)
	})
}
