package export

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/malmo/participation-ledger/eventstore"
)

// The research tables. Each struct is one table: the parquet tag names the
// column (the same in CSV, Parquet and datapackage.json), desc describes it
// in the data dictionary and enum lists its values. Column names follow
// the Decidim and Polis open-data exports where they overlap: id,
// author_id, participant_id, body, title, locale. Times are UTC. Every
// table has both clocks under the same names: occurred_at (when it
// happened, as the domain dates it) and recorded_at (when the ledger
// stored it); a later event folded into a row has <what>_occurred_at and
// <what>_recorded_at. Empty optional values are empty CSV fields and
// Parquet nulls.

type processRow struct {
	ID               string     `parquet:"id" desc:"Process id."`
	TitleSv          string     `parquet:"title_sv,optional" desc:"Title in Swedish (the municipality's own text)."`
	TitleEn          string     `parquet:"title_en,optional" desc:"Title in English."`
	DescriptionSv    string     `parquet:"description_sv,optional" desc:"Description in Swedish."`
	DescriptionEn    string     `parquet:"description_en,optional" desc:"Description in English."`
	Kind             string     `parquet:"kind" desc:"Form of participation." enum:"proposal,survey,dialogue,consultation"`
	OwnerBody        string     `parquet:"owner_body,optional" desc:"The committee (nämnd) that owns the process."`
	CaseNumber       string     `parquet:"case_number,optional" desc:"Case number (diarienummer)."`
	Administrations  string     `parquet:"administrations,optional" desc:"Participating administrations, separated by semicolons."`
	SupportThreshold int64      `parquet:"support_threshold" desc:"Supports a submission needs for the threshold event; 0 for none."`
	ModerationMode   string     `parquet:"moderation_mode" desc:"pre: contributions are public only after approval; post: public at once." enum:"pre,post"`
	PolicyReference  string     `parquet:"policy_reference,optional" desc:"The terms moderators apply."`
	CurrentPhase     string     `parquet:"current_phase,optional" desc:"Phase at the end of the exported range."`
	OccurredAt       time.Time  `parquet:"occurred_at,timestamp(microsecond)" desc:"When the process was opened, as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt       time.Time  `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the opening."`
	ClosedOccurredAt *time.Time `parquet:"closed_occurred_at,optional,timestamp(microsecond)" desc:"When the process was closed (occurred-at of ProcessClosed); empty while open."`
	ClosedRecordedAt *time.Time `parquet:"closed_recorded_at,optional,timestamp(microsecond)" desc:"When the ledger recorded the closing; empty while open."`
	Disposed         bool       `parquet:"disposed" desc:"A disposal decision (gallringsbeslut) covers the process."`
}

type submissionRow struct {
	ID           string    `parquet:"id" desc:"Submission (proposal) id."`
	ProcessID    string    `parquet:"process_id" desc:"Process id (processes.id)."`
	AuthorID     string    `parquet:"author_id" desc:"Author's pseudonym: HMAC-SHA-256 keyed for this recipient; stable across this recipient's exports, not joinable with another's."`
	Channel      string    `parquet:"channel" desc:"How it reached the municipality." enum:"web,paper,email,meeting"`
	Locale       string    `parquet:"locale,optional" desc:"Language of the text (BCP 47)."`
	OccurredAt   time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the submission was sent, as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt   time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the submission was sent."`
	Premoderated bool      `parquet:"premoderated" desc:"Held back until a moderator approved it."`
	Versions     int64     `parquet:"versions" desc:"Content versions (1 + revisions)."`
	Status       string    `parquet:"status" desc:"Visibility at the end of the range." enum:"pending,visible,hidden,demoted,labelled,interaction_restricted"`
	Published    bool      `parquet:"published" desc:"Shown publicly at the end of the range."`
	Disposed     bool      `parquet:"disposed" desc:"Content disposed (key destroyed under a disposal decision or granted erasure): title and body are gone."`
	Title        string    `parquet:"title,optional" desc:"Title of the current version; only for published, undisposed submissions (public records; see the text licence)."`
	Body         string    `parquet:"body,optional" desc:"Body of the current version; only for published, undisposed submissions (public records; see the text licence)."`
	Forwarded    bool      `parquet:"forwarded" desc:"Forwarded to another administration (remiss)."`
	Answered     bool      `parquet:"answered" desc:"An official response was published (responses)."`
}

type commentRow struct {
	ID           string    `parquet:"id" desc:"Comment id."`
	SubmissionID string    `parquet:"submission_id" desc:"Submission commented on (submissions.id); Decidim's commentable_id."`
	ProcessID    string    `parquet:"process_id" desc:"Process id."`
	ParentID     string    `parquet:"parent_id,optional" desc:"Comment replied to; empty for a top-level comment."`
	AuthorID     string    `parquet:"author_id" desc:"Author's pseudonym (as submissions.author_id)."`
	Channel      string    `parquet:"channel" desc:"How it reached the municipality." enum:"web,paper,email,meeting"`
	Locale       string    `parquet:"locale,optional" desc:"Language of the text."`
	OccurredAt   time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the comment was posted, as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt   time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the comment was posted."`
	Premoderated bool      `parquet:"premoderated" desc:"Held back until a moderator approved it."`
	Status       string    `parquet:"status" desc:"Visibility at the end of the range." enum:"pending,visible,hidden,demoted,labelled,interaction_restricted"`
	Published    bool      `parquet:"published" desc:"Shown publicly at the end of the range."`
	Disposed     bool      `parquet:"disposed" desc:"Content disposed: the body is gone."`
	Body         string    `parquet:"body,optional" desc:"Text; only for published, undisposed comments (public records; see the text licence)."`
}

type supportRow struct {
	ID            string    `parquet:"id" desc:"Event id."`
	SubmissionID  string    `parquet:"submission_id" desc:"Submission supported."`
	ProcessID     string    `parquet:"process_id" desc:"Process id."`
	ParticipantID string    `parquet:"participant_id" desc:"Supporter's pseudonym (Polis: voter-id)."`
	Action        string    `parquet:"action" desc:"given or withdrawn." enum:"given,withdrawn"`
	OccurredAt    time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the support was given or withdrawn, as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt    time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the support was given or withdrawn."`
}

type surveyAnswerRow struct {
	ResponseID    string    `parquet:"response_id" desc:"Event id of the answer set; one row per answered question."`
	ProcessID     string    `parquet:"process_id" desc:"Process id."`
	SurveyID      string    `parquet:"survey_id" desc:"Survey id."`
	ParticipantID string    `parquet:"participant_id" desc:"Respondent's pseudonym."`
	Channel       string    `parquet:"channel" desc:"How the answers arrived." enum:"web,paper,email,meeting"`
	QuestionID    string    `parquet:"question_id" desc:"Question id (see the survey in events.ndjson, SurveyPublished)."`
	Choices       string    `parquet:"choices,optional" desc:"Chosen option ids, separated by semicolons (choice questions)."`
	Scale         *int64    `parquet:"scale,optional" desc:"Value (scale questions)."`
	HasText       bool      `parquet:"has_text" desc:"A free-text answer was given; its text is personal data and not exported."`
	OccurredAt    time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the answers were given, as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt    time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the answers were given."`
}

type statementRow struct {
	ID           string    `parquet:"id" desc:"Statement id (dialogue processes; Polis: comment)."`
	ProcessID    string    `parquet:"process_id" desc:"Process id."`
	AuthorID     string    `parquet:"author_id" desc:"Author's pseudonym (as submissions.author_id); the seeding official's pseudonym for a seed."`
	Seed         bool      `parquet:"seed" desc:"Seeded by an official."`
	Channel      string    `parquet:"channel" desc:"How it reached the municipality." enum:"web,paper,email,meeting"`
	Locale       string    `parquet:"locale,optional" desc:"Language of the text."`
	SourceID     string    `parquet:"source_id,optional" desc:"Its id in the system it was imported from (Polis comment-id); empty when posted here."`
	OccurredAt   time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the statement was posted (in the source system for an import), as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt   time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the statement was posted (in the source system for an import)."`
	Premoderated bool      `parquet:"premoderated" desc:"Held back until a moderator approved it."`
	Status       string    `parquet:"status" desc:"Visibility at the end of the range." enum:"pending,visible,hidden,demoted,labelled,interaction_restricted"`
	Published    bool      `parquet:"published" desc:"Shown publicly at the end of the range."`
	Disposed     bool      `parquet:"disposed" desc:"Content disposed: the body is gone."`
	Body         string    `parquet:"body,optional" desc:"Text; only for published, undisposed statements (public records; see the text licence)."`
}

type voteRow struct {
	ID            string    `parquet:"id" desc:"Event id; one row per vote cast, changes included (the latest per participant and statement counts)."`
	ProcessID     string    `parquet:"process_id" desc:"Process id."`
	StatementID   string    `parquet:"statement_id" desc:"Statement voted on (statements.id)."`
	ParticipantID string    `parquet:"participant_id" desc:"Voter's pseudonym (Polis: voter-id)."`
	Vote          string    `parquet:"vote" desc:"The vote." enum:"agree,disagree,pass"`
	Registered    bool      `parquet:"registered" desc:"Registered by intake or an import rather than cast by the participant."`
	OccurredAt    time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the vote was cast (in the source system for an import), as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt    time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the vote was cast (in the source system for an import)."`
}

type moderationRow struct {
	ID                 string    `parquet:"id" desc:"Decision id."`
	ItemID             string    `parquet:"item_id" desc:"Submission, comment or statement decided on."`
	ItemKind           string    `parquet:"item_kind" desc:"submission, comment or statement." enum:"submission,comment,statement"`
	ProcessID          string    `parquet:"process_id,optional" desc:"Process of the item."`
	ContentVersion     int64     `parquet:"content_version" desc:"The exact content version decided on."`
	Visibility         string    `parquet:"visibility" desc:"DSA decision on visibility (DSA Transparency Database vocabulary)."`
	Ground             string    `parquet:"ground,optional" desc:"DSA decision ground: illegal content or incompatible with terms."`
	LegalGround        string    `parquet:"legal_ground,optional" desc:"The law, when the ground is illegal content."`
	PolicyClause       string    `parquet:"policy_clause,optional" desc:"The terms' clause, when incompatible with terms."`
	Category           string    `parquet:"category,optional" desc:"DSA statement category."`
	Explanation        string    `parquet:"explanation,optional" desc:"Facts and circumstances (the published statement of reasons)."`
	AutomatedDetection bool      `parquet:"automated_detection" desc:"Detected by automated means."`
	AutomatedDecision  string    `parquet:"automated_decision,optional" desc:"DSA automated decision value."`
	Source             string    `parquet:"source,optional" desc:"DSA source of the notice."`
	Notices            int64     `parquet:"notices" desc:"Number of notices (flags) decided on."`
	ModeratorID        string    `parquet:"moderator_id" desc:"Moderator's pseudonym."`
	OccurredAt         time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the decision was taken: its DSA application date, which starts the appeal window."`
	RecordedAt         time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the decision."`
}

type appealRow struct {
	ID                string     `parquet:"id" desc:"Appeal id."`
	DecisionID        string     `parquet:"decision_id" desc:"Decision appealed (moderation_decisions.id)."`
	ItemID            string     `parquet:"item_id" desc:"Submission, comment or statement."`
	ItemKind          string     `parquet:"item_kind" desc:"submission, comment or statement." enum:"submission,comment,statement"`
	ProcessID         string     `parquet:"process_id,optional" desc:"Process of the item."`
	AppellantID       string     `parquet:"appellant_id" desc:"Appellant's pseudonym (the author)."`
	OccurredAt        time.Time  `parquet:"occurred_at,timestamp(microsecond)" desc:"When the appeal was filed, as the domain dates it (e.g. the date of a letter); otherwise recorded_at."`
	RecordedAt        time.Time  `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the appeal."`
	Outcome           string     `parquet:"outcome,optional" desc:"upheld (the decision stands) or overturned; empty while open." enum:"upheld,overturned"`
	DecidedOccurredAt *time.Time `parquet:"decided_occurred_at,optional,timestamp(microsecond)" desc:"When the appeal was decided (occurred-at of AppealDecided); empty while open."`
	DecidedRecordedAt *time.Time `parquet:"decided_recorded_at,optional,timestamp(microsecond)" desc:"When the ledger recorded the appeal decision; empty while open."`
	ModeratorID       string     `parquet:"moderator_id,optional" desc:"Pseudonym of the moderator who decided the appeal."`
	Explanation       string     `parquet:"explanation,optional" desc:"The appeal decision's published explanation."`
}

type responseRow struct {
	ID                string    `parquet:"id" desc:"Response id."`
	SubmissionID      string    `parquet:"submission_id" desc:"Submission answered."`
	ProcessID         string    `parquet:"process_id,optional" desc:"Process id."`
	Body              string    `parquet:"body,optional" desc:"The municipality's answer (an official text)."`
	ResponsibleBody   string    `parquet:"responsible_body,optional" desc:"Body responsible for the answer."`
	DecisionReference string    `parquet:"decision_reference,optional" desc:"The decision it rests on, e.g. KS 2024-09-09 §418."`
	Outcome           string    `parquet:"outcome" desc:"Outcome." enum:"approved,partially_approved,rejected,answered"`
	PublishedBy       string    `parquet:"published_by" desc:"Pseudonym of the official who published it."`
	OccurredAt        time.Time `parquet:"occurred_at,timestamp(microsecond)" desc:"When the response was published, as the domain dates it (the date of a letter, a time in an imported history); otherwise the same as recorded_at."`
	RecordedAt        time.Time `parquet:"recorded_at,timestamp(microsecond)" desc:"When the ledger recorded the response was published."`
}

// column is one column of a table.
type column struct {
	name     string
	field    int
	typ      reflect.Type
	optional bool
	desc     string
	enum     []string
}

// table writes one table's CSV while the log streams by, and converts it
// to Parquet at the end, so both hold the same rows and an interrupted
// export resumes by cutting the CSV back.
type table struct {
	name, desc string
	typ        reflect.Type
	cols       []column
	out        *sink
	cw         *csv.Writer
	rows       int64
	record     []string
	parquet    func(r io.Reader, w io.Writer) (int64, error)
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
	int64PtrTyp = reflect.TypeFor[*int64]()
)

func newTable[T any](name, desc string) *table {
	t := &table{name: name, desc: desc, typ: reflect.TypeFor[T]()}
	for i := range t.typ.NumField() {
		f := t.typ.Field(i)
		tag := strings.Split(f.Tag.Get("parquet"), ",")
		c := column{name: tag[0], field: i, typ: f.Type, desc: f.Tag.Get("desc")}
		for _, o := range tag[1:] {
			c.optional = c.optional || o == "optional"
		}
		if e := f.Tag.Get("enum"); e != "" {
			c.enum = strings.Split(e, ",")
		}
		t.cols = append(t.cols, c)
	}
	t.parquet = func(r io.Reader, w io.Writer) (int64, error) {
		pw := parquet.NewGenericWriter[T](w, parquet.Compression(&parquet.Zstd))
		cr := csv.NewReader(r)
		cr.ReuseRecord = true
		if _, err := cr.Read(); err != nil { // header
			return 0, err
		}
		buf := make([]T, 0, 1024)
		var n int64
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, err
			}
			var v T
			if err := t.parse(reflect.ValueOf(&v).Elem(), rec); err != nil {
				return n, fmt.Errorf("%s row %d: %w", name, n+1, err)
			}
			if buf = append(buf, v); len(buf) == cap(buf) {
				if _, err := pw.Write(buf); err != nil {
					return n, err
				}
				buf = buf[:0]
			}
			n++
		}
		if _, err := pw.Write(buf); err != nil {
			return n, err
		}
		return n, pw.Close()
	}
	return t
}

// allTables lists the research tables in the order of the data dictionary.
func allTables() []*table {
	return []*table{
		newTable[processRow]("processes", "Participation processes, as they stood at the end of the exported range."),
		newTable[submissionRow]("submissions", "Submissions (proposals, opinions), one row per submission, state at the end of the range (Decidim: proposals)."),
		newTable[commentRow]("comments", "Comments on submissions, one row per comment (Decidim: comments; Polis: comments)."),
		newTable[supportRow]("supports", "Supports given and withdrawn, one row per event (Decidim: proposal votes; Polis: votes)."),
		newTable[surveyAnswerRow]("survey_answers", "Survey answers, one row per answered question."),
		newTable[statementRow]("statements", "Statements of dialogue processes, one row per statement, state at the end of the range (Polis: comments; the Polis-format files are under polis/)."),
		newTable[voteRow]("votes", "Votes on statements, one row per vote cast (Polis: votes)."),
		newTable[moderationRow]("moderation_decisions", "Moderation decisions with their statement of reasons (EU DSA art. 17 vocabulary)."),
		newTable[appealRow]("appeals", "Appeals against moderation decisions (DSA art. 20) and their outcome."),
		newTable[responseRow]("responses", "Official responses to submissions, with the decision they rest on."),
	}
}

func (t *table) header() []string {
	h := make([]string, len(t.cols))
	for i, c := range t.cols {
		h[i] = c.name
	}
	return h
}

// write appends one row (a pointer to the table's struct).
func (t *table) write(row any) error {
	v := reflect.ValueOf(row).Elem()
	if v.Type() != t.typ {
		return fmt.Errorf("export: %T is not a row of %s", row, t.name)
	}
	t.record = t.record[:0]
	for _, c := range t.cols {
		t.record = append(t.record, format(v.Field(c.field)))
	}
	t.rows++
	return t.cw.Write(t.record)
}

func format(f reflect.Value) string {
	switch f.Type() {
	case timeType:
		if t := f.Interface().(time.Time); !t.IsZero() {
			return eventstore.FormatTime(t)
		}
		return ""
	case timePtrType:
		if f.IsNil() {
			return ""
		}
		return eventstore.FormatTime(*f.Interface().(*time.Time))
	case int64PtrTyp:
		if f.IsNil() {
			return ""
		}
		return strconv.FormatInt(f.Elem().Int(), 10)
	}
	switch f.Kind() {
	case reflect.String:
		return f.String()
	case reflect.Int64:
		return strconv.FormatInt(f.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(f.Bool())
	}
	panic("export: unsupported column type " + f.Type().String())
}

// parse fills v from a CSV record written by write.
func (t *table) parse(v reflect.Value, rec []string) error {
	if len(rec) != len(t.cols) {
		return fmt.Errorf("%d fields, want %d", len(rec), len(t.cols))
	}
	for i, c := range t.cols {
		s, f := rec[i], v.Field(c.field)
		if s == "" && c.typ.Kind() != reflect.String {
			if c.typ.Kind() == reflect.Pointer {
				continue
			}
			return fmt.Errorf("column %s is empty", c.name)
		}
		switch c.typ {
		case timeType, timePtrType:
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			if c.typ == timeType {
				f.Set(reflect.ValueOf(tm))
			} else {
				f.Set(reflect.ValueOf(&tm))
			}
			continue
		case int64PtrTyp:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			f.Set(reflect.ValueOf(&n))
			continue
		}
		switch c.typ.Kind() {
		case reflect.String:
			f.SetString(s)
		case reflect.Int64:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			f.SetInt(n)
		case reflect.Bool:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			f.SetBool(b)
		}
	}
	return nil
}

// tables are the research tables of one export.
type tables struct {
	list   []*table
	byName map[string]*table
}

func openTables(dir string, mark func(string) *fileMark) (*tables, error) {
	ts := &tables{list: allTables(), byName: map[string]*table{}}
	for _, t := range ts.list {
		name := t.name + ".csv"
		m := mark(name)
		s, err := openSink(dir, name, m)
		if err != nil {
			ts.close()
			return nil, err
		}
		t.out = s
		t.cw = csv.NewWriter(s)
		t.cw.UseCRLF = true // RFC 4180
		ts.byName[t.name] = t
		if m == nil || m.Size == 0 {
			if err := t.cw.Write(t.header()); err != nil {
				return nil, err
			}
		}
	}
	return ts, nil
}

func (ts *tables) restoreRows(rows map[string]int64) {
	for _, t := range ts.list {
		t.rows = rows[t.name]
	}
}

func (ts *tables) rows() map[string]int64 {
	m := map[string]int64{}
	for _, t := range ts.list {
		m[t.name] = t.rows
	}
	return m
}

func (ts *tables) sinks() []*sink {
	var out []*sink
	for _, t := range ts.list {
		if t.out != nil {
			out = append(out, t.out)
		}
	}
	return out
}

func (ts *tables) flushCSV() error {
	for _, t := range ts.list {
		t.cw.Flush()
		if err := t.cw.Error(); err != nil {
			return fmt.Errorf("export: %s.csv: %w", t.name, err)
		}
	}
	return nil
}

func (ts *tables) close() {
	for _, t := range ts.list {
		if t.out != nil && t.out.f != nil {
			t.out.f.Close()
			t.out.f = nil
		}
	}
}

func (ts *tables) write(name string, row any) error { return ts.byName[name].write(row) }

// finish closes the CSVs, derives the Parquet files from them, and writes
// datapackage.json and the licence.
func (ts *tables) finish(dir string, opt Options, events ManifestFile, polisFiles []ManifestFile) ([]ManifestFile, error) {
	var files []ManifestFile
	csvFiles := map[string]ManifestFile{}
	for _, t := range ts.list {
		mf := ManifestFile{Name: t.name + ".csv", Bytes: t.out.n, SHA256: t.out.sum()}
		csvFiles[t.name] = mf
		files = append(files, mf)
	}
	ts.close()
	pqFiles := map[string]ManifestFile{}
	for _, t := range ts.list {
		mf, err := t.toParquet(dir)
		if err != nil {
			return nil, err
		}
		pqFiles[t.name] = mf
		files = append(files, mf)
	}
	lic, err := writeFile(dir, LicenceFile, []byte(licenceText(opt)))
	if err != nil {
		return nil, err
	}
	extra, err := polisResources(dir, polisFiles)
	if err != nil {
		return nil, err
	}
	dp, err := json.MarshalIndent(dataPackage(ts, opt, events, csvFiles, pqFiles, extra), "", "  ")
	if err != nil {
		return nil, err
	}
	dpf, err := writeFile(dir, DataPackageFile, append(dp, '\n'))
	if err != nil {
		return nil, err
	}
	return append(files, lic, dpf), nil
}

func (t *table) toParquet(dir string) (ManifestFile, error) {
	in, err := os.Open(filepath.Join(dir, t.name+".csv"))
	if err != nil {
		return ManifestFile{}, err
	}
	defer in.Close()
	out, err := openSink(dir, t.name+".parquet", nil)
	if err != nil {
		return ManifestFile{}, err
	}
	defer out.f.Close()
	n, err := t.parquet(in, out)
	if err == nil && n != t.rows {
		err = fmt.Errorf("export: %s.parquet has %d rows, the CSV %d", t.name, n, t.rows)
	}
	if err == nil {
		err = out.flush()
	}
	if err != nil {
		return ManifestFile{}, fmt.Errorf("export: %s.parquet: %w", t.name, err)
	}
	return ManifestFile{Name: out.name, Bytes: out.n, SHA256: out.sum()}, nil
}

func licenceText(opt Options) string {
	return fmt.Sprintf(`Participation Ledger research export

Data (tables, events, and any aggregate): %s
Free texts of public records (the title and body columns of submissions,
comments and statements, and comment-body in the Polis files under polis/): %s. These texts are public records (allmänna handlingar) written by
residents; they are included only where the content was published and not
disposed. Names, e-mail addresses and other personal fields are never
included; participant and staff ids are replaced by pseudonyms keyed for the
recipient (%s), which must not be combined with other data to re-identify
anyone.
`, opt.Licence, opt.TextLicence, opt.Recipient)
}

// Frictionless Data Package (https://specs.frictionlessdata.io/): the data
// dictionary.
func dataPackage(ts *tables, opt Options, events ManifestFile, csvFiles, pqFiles map[string]ManifestFile, extra []any) map[string]any {
	var resources []any
	resources = append(resources, map[string]any{
		"name": "events", "path": EventsFile, "format": "ndjson", "mediatype": "application/x-ndjson", "encoding": "utf-8",
		"bytes": events.Bytes, "hash": "sha256:" + events.SHA256,
		"description": "Every exported event in position order, one JSON object per line: position, id, stream, revision, type, version, recorded_at, occurred_at, actor (pseudonym), role, data. " +
			"Personal fields are {\"removed\":true}, or {\"disposed\":true} where the content was disposed; participant and staff ids are pseudonyms.",
	})
	for _, t := range ts.list {
		fields := make([]any, 0, len(t.cols))
		for _, c := range t.cols {
			f := map[string]any{"name": c.name, "type": frictionlessType(c.typ), "description": c.desc}
			if f["type"] == "datetime" {
				f["format"] = "%Y-%m-%dT%H:%M:%S.%fZ"
			}
			cons := map[string]any{}
			if !c.optional && c.typ.Kind() != reflect.Pointer {
				cons["required"] = true
			}
			if c.enum != nil {
				cons["enum"] = c.enum
			}
			if len(cons) > 0 {
				f["constraints"] = cons
			}
			fields = append(fields, f)
		}
		schema := map[string]any{"fields": fields, "missingValues": []string{""}}
		if t.cols[0].name == "id" {
			schema["primaryKey"] = "id"
		}
		c, p := csvFiles[t.name], pqFiles[t.name]
		resources = append(resources, map[string]any{
			"name": t.name, "path": c.Name, "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv",
			"encoding": "utf-8", "dialect": map[string]any{"delimiter": ",", "lineTerminator": "\r\n", "header": true, "doubleQuote": true},
			"bytes": c.Bytes, "hash": "sha256:" + c.SHA256, "description": t.desc, "schema": schema,
		}, map[string]any{
			"name": t.name + "_parquet", "path": p.Name, "format": "parquet", "mediatype": "application/vnd.apache.parquet",
			"bytes": p.Bytes, "hash": "sha256:" + p.SHA256, "description": t.desc + " The same rows and columns as " + c.Name + ".",
			"schema": schema,
		})
	}
	resources = append(resources, extra...)
	return map[string]any{
		"profile": "tabular-data-package",
		"name":    "participation-ledger-research-export",
		"title":   "Participation Ledger research export (pseudonymised)",
		"description": "Clocks: every table has occurred_at (when it happened, as the domain dates it: the date on a letter, a vote's time in an imported history; otherwise the same as recorded_at) " +
			"and recorded_at (when the ledger stored it), both UTC timestamps; a later event folded into a row adds <what>_occurred_at and <what>_recorded_at (processes.closed_*, appeals.decided_*). " +
			"events.ndjson carries the same two fields per event. Consent: " + consentRule,
		"consent_rule": consentRule,
		"created":      eventstore.FormatTime(opt.Now()),
		"version":      strconv.Itoa(SchemaVersion),
		"licenses": []any{
			map[string]any{"name": opt.Licence, "title": "Data and aggregates"},
			map[string]any{"name": opt.TextLicence, "title": "Free texts of public records (title, body and comment-body columns)"},
		},
		"resources": resources,
	}
}

func frictionlessType(t reflect.Type) string {
	switch t {
	case timeType, timePtrType:
		return "datetime"
	case int64PtrTyp:
		return "integer"
	}
	switch t.Kind() {
	case reflect.Int64:
		return "integer"
	case reflect.Bool:
		return "boolean"
	}
	return "string"
}
