// Package kurrenttest is an in-process fake KurrentDB (EventStoreDB) server
// for tests: it serves the client module's own generated Streams gRPC service
// on a loopback port, with sparse $all positions, interleaved system events
// and injectable faults.
//
// It is faithful to the parts of KurrentDB the ledger relies on: per-stream
// revisions and expected-revision checks (with the server's
// WrongExpectedVersion details), idempotent re-appends of the same event ids,
// StreamNotFound, $all commit/prepare positions (events of one append share
// a commit position, as in a LogV2 transaction), forward reads of $all that
// include the event at the start position, catch-up subscriptions to $all
// with confirmation, server-side filters, checkpoints and caught-up
// messages, and hard deletion (Tombstone): a "$streamDeleted" record in
// $all, reads and appends of the stream failing with the server's
// "stream-deleted" exception, the stream's events still in $all until
// Scavenge removes them (the tombstone stays). It does not implement soft
// deletion, stream metadata ($maxAge, $maxCount, $tb, ACLs), persistent
// subscriptions, projections, authentication or clustering (gossip); the
// client accepts Unimplemented for ServerFeatures and carries on.
package kurrenttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// maxMessageBytes lets a 4 MiB event plus its metadata through, as the real
// server's 16 MiB append limit does; gRPC's default is 4 MiB.
const maxMessageBytes = 20 << 20

// Server is a running fake KurrentDB. All methods are safe for concurrent use.
type Server struct {
	addr string

	mu       sync.Mutex
	grpc     *grpc.Server
	rng      *rand.Rand
	log      []record         // $all, in (commit, prepare) order
	streams  map[string][]int // stream name -> indexes into log, by revision
	deleted  map[string]bool  // tombstoned streams
	cursor   uint64           // next free byte of the imaginary transaction file
	notify   chan struct{}    // closed and replaced on every commit
	drop     chan struct{}    // closed and replaced to drop every subscription
	faults   []AppendFault
	system   bool
	subs     int // subscriptions started
	appends  int // Append calls received
	sent     int // events sent by reads and subscriptions
	live     int // subscriptions running
	allReads int // reads of $all (not subscriptions)
	stopped  bool
	stopOnce sync.Once
}

// AppendFault describes how the fake misbehaves on one Append call.
type AppendFault struct {
	// Commit says the write is committed before the fault (an ambiguous
	// failure); otherwise it is committed only if Code is codes.OK, after
	// Delay.
	Commit bool
	// Delay holds the answer back, so that the client's deadline can expire
	// first.
	Delay time.Duration
	// Code, if not codes.OK, is returned as the call's gRPC status.
	Code codes.Code
}

// Option configures a Server.
type Option func(*Server)

// WithoutSystemEvents turns off the interleaved system events ($stats…,
// $metadata, link events) that the fake writes by default so that clients
// cannot assume $all holds only their own events.
func WithoutSystemEvents() Option { return func(s *Server) { s.system = false } }

// WithSeed sets the seed of the gaps between positions and of the system
// events' placement (1 by default).
func WithSeed(seed uint64) Option {
	return func(s *Server) { s.rng = rand.New(rand.NewPCG(seed, seed^0xa5a5a5a5)) }
}

// Start starts a fake server on 127.0.0.1 on a free port.
func Start(opts ...Option) (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		addr:    lis.Addr().String(),
		streams: make(map[string][]int),
		deleted: make(map[string]bool),
		cursor:  1 << 12, // KurrentDB's first records are its own
		notify:  make(chan struct{}),
		drop:    make(chan struct{}),
		system:  true,
	}
	WithSeed(1)(s)
	for _, o := range opts {
		o(s)
	}
	if s.system {
		s.mu.Lock()
		s.writeSystemLocked("$settings", "$settings")
		s.writeSystemLocked("$projections-$all", "$ProjectionsInitialized")
		s.mu.Unlock()
	}
	s.serve(lis)
	return s, nil
}

func (s *Server) serve(lis net.Listener) {
	g := grpc.NewServer(grpc.MaxRecvMsgSize(maxMessageBytes), grpc.MaxSendMsgSize(maxMessageBytes))
	api.RegisterStreamsServer(g, &streamsServer{s: s})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		_ = lis.Close()
		return
	}
	s.grpc = g
	go func() { _ = g.Serve(lis) }()
}

// Restart stops serving for down, as a restarting node does (every
// connection and subscription breaks), then serves again on the same
// address with its data intact.
func (s *Server) Restart(down time.Duration) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return errors.New("fake: stopped")
	}
	close(s.drop)
	s.drop = make(chan struct{})
	g := s.grpc
	s.mu.Unlock()
	g.Stop()
	time.Sleep(down)
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.serve(lis)
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns the connection string for the client.
func (s *Server) URL() string { return "esdb://" + s.Addr() + "?tls=false" }

// Close stops the server, ending every call in flight.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		close(s.drop)
		g := s.grpc
		s.mu.Unlock()
		g.Stop()
	})
}

// InjectAppendFault makes the next Append call that has no fault yet
// misbehave as f; faults are used in the order injected.
func (s *Server) InjectAppendFault(f AppendFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// DropSubscriptions ends every running subscription with Unavailable, as
// when a node restarts or loses leadership.
func (s *Server) DropSubscriptions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		close(s.drop)
		s.drop = make(chan struct{})
	}
}

// Subscriptions returns how many subscriptions have been started.
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs
}

// AllReads returns how many reads of $all (not subscriptions) the server
// has served. Each starts at a position and returns the record there, so a
// client checking for news gets the record it last saw once more per read.
func (s *Server) AllReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allReads
}

// LiveSubscriptions returns how many subscriptions are running now.
func (s *Server) LiveSubscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Appends returns how many Append calls the server has received.
func (s *Server) Appends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appends
}

// EventsSent returns how many events the server has sent to clients, by
// stream reads, $all reads and subscriptions together.
func (s *Server) EventsSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// AppendDirect commits events to stream as an append with expected
// revision Any does, without a client: a quick way to build a large log
// for a test. The events get positions, revisions and interleaved system
// events exactly as through Append.
func (s *Server) AppendDirect(stream string, evs ...esdb.EventData) {
	ps := make([]proposed, len(evs))
	for i, e := range evs {
		ct := "application/json"
		if e.ContentType == esdb.ContentTypeBinary {
			ct = "application/octet-stream"
		}
		ps[i] = proposed{id: e.EventID, typ: e.EventType, contentType: ct, data: e.Data, meta: e.Metadata}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitLocked(stream, ps)
}

// Scavenge removes the events of tombstoned streams from $all, keeping
// each stream's tombstone, as a KurrentDB scavenge does (on a real node
// only in completed chunks, and on each node of a cluster separately).
// Positions of the remaining records do not change.
func (s *Server) Scavenge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.log[:0]
	for _, r := range s.log {
		if s.deleted[r.stream] && r.typ != tombstoneType {
			continue
		}
		kept = append(kept, r)
	}
	clear(s.log[len(kept):])
	s.log = kept
	s.streams = make(map[string][]int)
	for i, r := range s.log {
		if r.typ != tombstoneType {
			s.streams[r.stream] = append(s.streams[r.stream], i)
		}
	}
}

// Holds reports whether any record in $all contains b in its data or
// metadata: what a scan of the database's files would find.
func (s *Server) Holds(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.log {
		if bytes.Contains(r.data, b) || bytes.Contains(r.meta, b) {
			return true
		}
	}
	return false
}

// Count returns how many events $all holds and how many of them are system
// events (type or stream starting with '$').
func (s *Server) Count() (all, system int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.log {
		if r.isSystem() {
			system++
		}
	}
	return len(s.log), system
}

// WriteSystemEvent appends a system event, as KurrentDB itself does at any
// time ($stats…, $scavenges, metadata of streams).
func (s *Server) WriteSystemEvent(stream, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeSystemLocked(stream, typ)
	s.signalLocked()
}

type record struct {
	id               uuid.UUID
	stream           string
	revision         uint64
	commit, prepare  uint64
	typ, contentType string
	created          int64 // .NET ticks since the Unix epoch, as the server stores it
	data, meta       []byte
}

func (r *record) isSystem() bool {
	return strings.HasPrefix(r.typ, "$") || strings.HasPrefix(r.stream, "$")
}

func (r *record) position() esdb.Position { return esdb.Position{Commit: r.commit, Prepare: r.prepare} }

func less(a, b esdb.Position) bool {
	return a.Commit < b.Commit || a.Commit == b.Commit && a.Prepare < b.Prepare
}

type proposed struct {
	id               uuid.UUID
	typ, contentType string
	data, meta       []byte
}

// commitLocked writes one transaction: each event gets its own prepare
// position and all share the commit record's position, with random gaps
// between records so that positions are nothing like ordinals.
func (s *Server) commitLocked(stream string, evs []proposed) {
	first := uint64(len(s.streams[stream]))
	start := len(s.log)
	now := time.Now().UnixNano() / 100
	for i, e := range evs {
		s.log = append(s.log, record{
			id: e.id, stream: stream, revision: first + uint64(i), prepare: s.cursor,
			typ: e.typ, contentType: e.contentType, created: now, data: e.data, meta: e.meta,
		})
		s.streams[stream] = append(s.streams[stream], len(s.log)-1)
		s.cursor += 80 + uint64(len(e.data)+len(e.meta)+len(stream)) + s.rng.Uint64N(300)
	}
	for i := start; i < len(s.log); i++ {
		s.log[i].commit = s.cursor
	}
	s.cursor += 40 + s.rng.Uint64N(100)
	if s.system && s.rng.IntN(3) == 0 {
		s.writeSystemLocked(s.systemEventLocked(stream))
	}
	s.signalLocked()
}

func (s *Server) systemEventLocked(stream string) (string, string) {
	switch s.rng.IntN(4) {
	case 0:
		return "$stats-127.0.0.1:2113", "$statsCollected"
	case 1:
		return "$$" + stream, "$metadata"
	case 2:
		// A link event in a category stream: its type is "$>".
		return "$ce-" + strings.SplitN(stream, "-", 2)[0], "$>"
	default:
		// A non-$ type in a system stream; a type filter lets it through.
		return "$scavenges", "ScavengeStarted"
	}
}

func (s *Server) writeSystemLocked(stream, typ string) {
	s.log = append(s.log, record{
		id: uuid.New(), stream: stream, revision: uint64(len(s.streams[stream])),
		prepare: s.cursor, commit: s.cursor, typ: typ, contentType: "application/json",
		created: time.Now().UnixNano() / 100, data: []byte(`{}`), meta: []byte{},
	})
	s.streams[stream] = append(s.streams[stream], len(s.log)-1)
	s.cursor += 120 + s.rng.Uint64N(200)
}

func (s *Server) signalLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

type streamsServer struct {
	api.UnimplementedStreamsServer
	s *Server
}

// Append implements the client-streaming Append RPC: options first, then
// one message per event.
func (ss *streamsServer) Append(stream api.Streams_AppendServer) error {
	s := ss.s
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "first message must be options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	var evs []proposed
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		p := m.GetProposedMessage()
		if p == nil {
			return status.Error(codes.InvalidArgument, "expected a proposed message")
		}
		id, err := fromProtoUUID(p.GetId())
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		evs = append(evs, proposed{
			id: id, typ: p.GetMetadata()["type"], contentType: p.GetMetadata()["content-type"],
			data: p.GetData(), meta: p.GetCustomMetadata(),
		})
	}
	if len(evs) == 0 {
		return status.Error(codes.InvalidArgument, "no events")
	}

	s.mu.Lock()
	s.appends++
	var fault AppendFault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	if s.deleted[name] {
		s.mu.Unlock()
		return streamDeleted(stream.SetTrailer, name)
	}
	var resp *api.AppendResp
	if fault.Commit || fault.Delay == 0 && fault.Code == codes.OK {
		resp = s.appendLocked(name, opts, evs)
	}
	s.mu.Unlock()

	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-stream.Context().Done():
			if !fault.Commit && fault.Code == codes.OK {
				// The server still processes a request whose client has
				// gone: the write lands although nobody hears of it.
				s.mu.Lock()
				if !s.deleted[name] {
					s.appendLocked(name, opts, evs)
				}
				s.mu.Unlock()
			}
			return stream.Context().Err()
		}
	}
	if fault.Code != codes.OK {
		return status.Error(fault.Code, "fake: injected fault")
	}
	if resp == nil {
		s.mu.Lock()
		if s.deleted[name] {
			s.mu.Unlock()
			return streamDeleted(stream.SetTrailer, name)
		}
		resp = s.appendLocked(name, opts, evs)
		s.mu.Unlock()
	}
	return stream.SendAndClose(resp)
}

// appendLocked checks the expected revision, recognises an idempotent
// repeat the way KurrentDB does, and commits.
func (s *Server) appendLocked(name string, opts *api.AppendReq_Options, evs []proposed) *api.AppendResp {
	revs := s.streams[name]
	exists := len(revs) > 0
	current := uint64(len(revs)) - 1

	// KurrentDB recognises a retried write by its event ids: if the events
	// right after the expected revision (or anywhere, for Any) are the same
	// ids in the same order, it answers success without writing.
	if at, ok := s.idempotentStartLocked(name, opts, evs); ok {
		last := s.log[revs[at+len(evs)-1]]
		return success(last.revision, last.position())
	}

	ok := false
	switch opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		ok = true
	case *api.AppendReq_Options_NoStream:
		ok = !exists
	case *api.AppendReq_Options_StreamExists:
		ok = exists
	case *api.AppendReq_Options_Revision:
		ok = exists && current == opts.GetRevision()
	}
	if !ok {
		return wrongExpected(opts, current, exists)
	}
	s.commitLocked(name, evs)
	last := s.log[s.streams[name][len(s.streams[name])-1]]
	return success(last.revision, last.position())
}

func (s *Server) idempotentStartLocked(name string, opts *api.AppendReq_Options, evs []proposed) (int, bool) {
	revs := s.streams[name]
	match := func(at int) bool {
		if at < 0 || at+len(evs) > len(revs) {
			return false
		}
		for i, e := range evs {
			if s.log[revs[at+i]].id != e.id {
				return false
			}
		}
		return true
	}
	switch opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		at := int(opts.GetRevision()) + 1
		return at, match(at)
	case *api.AppendReq_Options_NoStream:
		return 0, match(0)
	default:
		for at, i := range revs {
			if s.log[i].id == evs[0].id {
				return at, match(at)
			}
		}
	}
	return 0, false
}

func success(revision uint64, pos esdb.Position) *api.AppendResp {
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: revision},
		PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: pos.Commit, PreparePosition: pos.Prepare,
		}},
	}}}
}

func wrongExpected(opts *api.AppendReq_Options, current uint64, exists bool) *api.AppendResp {
	w := &api.AppendResp_WrongExpectedVersion{}
	if exists {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: current}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: current}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	}
	switch opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case *api.AppendReq_Options_NoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case *api.AppendReq_Options_StreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	case *api.AppendReq_Options_Revision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: opts.GetRevision()}
	}
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// tombstoneType is the type of the record a hard deletion writes.
const tombstoneType = "$streamDeleted"

// streamDeleted is KurrentDB's answer to any read or write of a hard-deleted
// stream: an error whose trailers name the exception, which the client turns
// into ErrorCodeStreamDeleted.
func streamDeleted(setTrailer func(metadata.MD), name string) error {
	setTrailer(metadata.Pairs("exception", "stream-deleted", "stream-name", name))
	return status.Errorf(codes.FailedPrecondition, "Event stream '%s' is deleted.", name)
}

// Tombstone implements hard deletion: the expected revision is checked as
// for an append, then a "$streamDeleted" record ends the stream for good.
// A stream that never existed can be tombstoned too (with Any or NoStream).
func (ss *streamsServer) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	s := ss.s
	o := req.GetOptions()
	name := string(o.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted[name] {
		return nil, streamDeleted(func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) }, name)
	}
	revs := s.streams[name]
	exists, current := len(revs) > 0, uint64(len(revs))-1
	ok := true
	switch o.GetExpectedStreamRevision().(type) {
	case *api.TombstoneReq_Options_NoStream:
		ok = !exists
	case *api.TombstoneReq_Options_StreamExists:
		ok = exists
	case *api.TombstoneReq_Options_Revision:
		ok = exists && current == o.GetRevision()
	}
	if !ok {
		_ = grpc.SetTrailer(ctx, metadata.Pairs("exception", "wrong-expected-version"))
		return nil, status.Error(codes.FailedPrecondition, "fake: wrong expected version")
	}
	s.deleted[name] = true
	s.log = append(s.log, record{
		id: uuid.New(), stream: name, revision: math.MaxInt64, prepare: s.cursor, commit: s.cursor,
		typ: tombstoneType, contentType: "application/octet-stream", created: time.Now().UnixNano() / 100,
		data: []byte{}, meta: []byte{},
	})
	pos := s.cursor
	s.cursor += 100 + s.rng.Uint64N(100)
	s.signalLocked()
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{
		CommitPosition: pos, PreparePosition: pos,
	}}}, nil
}

// Read implements stream reads, $all reads and $all subscriptions.
func (ss *streamsServer) Read(req *api.ReadReq, stream api.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "no options")
	}
	filter, err := newFilter(o.GetFilter())
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	switch {
	case o.GetSubscription() != nil && o.GetAll() != nil:
		return ss.subscribeAll(o, filter, stream)
	case o.GetSubscription() != nil:
		return status.Error(codes.Unimplemented, "fake: stream subscriptions are not implemented")
	case o.GetStream() != nil:
		return ss.readStream(o, stream)
	case o.GetAll() != nil:
		return ss.readAll(o, filter, stream)
	}
	return status.Error(codes.InvalidArgument, "no stream option")
}

func (ss *streamsServer) readStream(o *api.ReadReq_Options, stream api.Streams_ReadServer) error {
	s := ss.s
	so := o.GetStream()
	count := o.GetCount()

	name := string(so.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	if s.deleted[name] {
		s.mu.Unlock()
		return streamDeleted(stream.SetTrailer, name)
	}
	revs := s.streams[name]
	var out []*api.ReadResp
	if len(revs) == 0 {
		out = append(out, &api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: so.GetStreamIdentifier(),
		}}})
	} else if o.GetReadDirection() == api.ReadReq_Options_Forwards {
		from := uint64(0)
		switch so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = so.GetRevision()
		case *api.ReadReq_Options_StreamOptions_End:
			from = uint64(len(revs))
		}
		for r := from; r < uint64(len(revs)) && uint64(len(out)) < count; r++ {
			out = append(out, eventResp(&s.log[revs[r]]))
		}
	} else {
		from := int64(len(revs)) - 1
		if _, ok := so.GetRevisionOption().(*api.ReadReq_Options_StreamOptions_Revision); ok && so.GetRevision() < uint64(len(revs)) {
			from = int64(so.GetRevision())
		}
		if _, ok := so.GetRevisionOption().(*api.ReadReq_Options_StreamOptions_Start); ok {
			from = 0
		}
		for r := from; r >= 0 && uint64(len(out)) < count; r-- {
			out = append(out, eventResp(&s.log[revs[r]]))
		}
	}
	s.mu.Unlock()
	return s.sendAll(stream, out)
}

func (ss *streamsServer) readAll(o *api.ReadReq_Options, f *filter, stream api.Streams_ReadServer) error {
	s := ss.s
	ao := o.GetAll()
	count := o.GetCount()
	s.mu.Lock()
	s.allReads++
	var out []*api.ReadResp
	if o.GetReadDirection() == api.ReadReq_Options_Forwards {
		// Forwards from a position includes the event at that position.
		i := 0
		switch ao.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			i = s.searchLocked(allPosition(ao.GetPosition()))
		case *api.ReadReq_Options_AllOptions_End:
			i = len(s.log)
		}
		for ; i < len(s.log) && uint64(len(out)) < count; i++ {
			if f.match(&s.log[i]) {
				out = append(out, eventResp(&s.log[i]))
			}
		}
	} else {
		// Backwards from a position excludes it.
		i := len(s.log) - 1
		switch ao.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			i = s.searchLocked(allPosition(ao.GetPosition())) - 1
		case *api.ReadReq_Options_AllOptions_Start:
			i = -1
		}
		for ; i >= 0 && uint64(len(out)) < count; i-- {
			if f.match(&s.log[i]) {
				out = append(out, eventResp(&s.log[i]))
			}
		}
	}
	s.mu.Unlock()
	return s.sendAll(stream, out)
}

// searchLocked returns the index of the first record at or after p.
func (s *Server) searchLocked(p esdb.Position) int {
	lo, hi := 0, len(s.log)
	for lo < hi {
		m := (lo + hi) / 2
		if less(s.log[m].position(), p) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// subscribeAll serves a catch-up subscription to $all: a confirmation, the
// events after the start position that pass the filter, a checkpoint every
// window×multiplier records searched, caught-up once at the end, then live
// events until the client leaves or the subscription is dropped.
func (ss *streamsServer) subscribeAll(o *api.ReadReq_Options, f *filter, stream api.Streams_ReadServer) error {
	s := ss.s
	ao := o.GetAll()
	s.mu.Lock()
	s.subs++
	s.live++
	defer func() {
		s.mu.Lock()
		s.live--
		s.mu.Unlock()
	}()
	id := fmt.Sprintf("fake-sub-%d", s.subs)
	// after is the last record looked at; positions, not indexes into the
	// log, because a scavenge may remove records meanwhile.
	var after esdb.Position
	started := false
	switch ao.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		// A subscription starts after the given position.
		after, started = allPosition(ao.GetPosition()), true
	case *api.ReadReq_Options_AllOptions_End:
		if len(s.log) > 0 {
			after, started = s.log[len(s.log)-1].position(), true
		}
	}
	drop := s.drop
	s.mu.Unlock()

	if err := stream.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: id}}}); err != nil {
		return err
	}
	every := 0
	if fo := o.GetFilter(); fo != nil {
		every = int(max(fo.GetMax(), 1) * max(fo.GetCheckpointIntervalMultiplier(), 1))
	}
	searched, caughtUp := 0, false
	for {
		s.mu.Lock()
		next := 0
		if started {
			next = s.searchLocked(after)
			if next < len(s.log) && s.log[next].position() == after {
				next++
			}
		}
		recs := append([]record(nil), s.log[next:]...)
		notify := s.notify
		s.mu.Unlock()
		if len(recs) > 0 {
			after, started = recs[len(recs)-1].position(), true
		}

		for i := range recs {
			r := &recs[i]
			if f.match(r) {
				if err := s.sendEvent(stream, eventResp(r)); err != nil {
					return err
				}
			}
			searched++
			if every > 0 && searched%every == 0 {
				cp := &api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition: r.commit, PreparePosition: r.prepare,
				}}}
				if err := stream.Send(cp); err != nil {
					return err
				}
			}
		}
		if len(recs) == 0 && !caughtUp {
			caughtUp = true
			if err := stream.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		if len(recs) > 0 {
			continue
		}
		select {
		case <-notify:
		case <-drop:
			return status.Error(codes.Unavailable, "fake: subscription dropped")
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
}

func (s *Server) sendAll(stream api.Streams_ReadServer, out []*api.ReadResp) error {
	for _, m := range out {
		if err := s.sendEvent(stream, m); err != nil {
			return err
		}
	}
	return nil
}

// sendEvent sends m and counts it if it is an event.
func (s *Server) sendEvent(stream api.Streams_ReadServer, m *api.ReadResp) error {
	if err := stream.Send(m); err != nil {
		return err
	}
	if m.GetEvent() != nil {
		s.mu.Lock()
		s.sent++
		s.mu.Unlock()
	}
	return nil
}

func eventResp(r *record) *api.ReadResp {
	most, least := esdb.UUIDAsInt64(r.id)
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id: &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
				MostSignificantBits: most, LeastSignificantBits: least,
			}}},
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.prepare,
			CommitPosition:   r.commit,
			Metadata: map[string]string{
				"type": r.typ, "content-type": r.contentType, "created": strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.meta,
			Data:           r.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit},
	}}}
}

func allPosition(p *api.ReadReq_Options_Position) esdb.Position {
	return esdb.Position{Commit: p.GetCommitPosition(), Prepare: p.GetPreparePosition()}
}

func fromProtoUUID(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		return esdb.ParseUUIDFromInt64(st.GetMostSignificantBits(), st.GetLeastSignificantBits())
	}
	return uuid.Parse(u.GetString_())
}

// filter is a server-side $all filter on event type or stream name, by
// regular expression or prefixes.
type filter struct {
	onType   bool
	re       *regexp.Regexp
	prefixes []string
}

func newFilter(fo *api.ReadReq_Options_FilterOptions) (*filter, error) {
	if fo == nil {
		return nil, nil
	}
	var e *api.ReadReq_Options_FilterOptions_Expression
	f := &filter{}
	if fo.GetEventType() != nil {
		e, f.onType = fo.GetEventType(), true
	} else {
		e = fo.GetStreamIdentifier()
	}
	if e.GetRegex() != "" {
		re, err := regexp.Compile(e.GetRegex())
		if err != nil {
			return nil, err
		}
		f.re = re
	}
	f.prefixes = e.GetPrefix()
	return f, nil
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	v := r.stream
	if f.onType {
		v = r.typ
	}
	if f.re != nil {
		return f.re.MatchString(v)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// compile-time check that the fake serves the client's own service.
var _ api.StreamsServer = (*streamsServer)(nil)
