package projections

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
)

// checkpoint is the file form of a model's state at a position. Checkpoints
// (one per model, overwritten) let a restart resume; snapshots (one per
// model and position, kept) let as-of queries start near the position
// asked for instead of at zero.
type checkpoint struct {
	Model    string              `json:"model"`
	Position eventstore.Position `json:"position"`
	State    json.RawMessage     `json:"state"`
}

func checkpointPath(dir, model string) string { return filepath.Join(dir, model+".json") }

func snapshotDir(dir, model string) string { return filepath.Join(dir, "snapshots", model) }

func snapshotPath(dir, model string, pos eventstore.Position) string {
	// Zero-padded so that names sort by position.
	return filepath.Join(snapshotDir(dir, model), fmt.Sprintf("%020d.json", uint64(pos)))
}

// writeCheckpoint writes m's state at pos to path atomically: a reader (or
// a restart after a crash) sees the old file or the new one, never a torn
// one.
func writeCheckpoint(path string, m Model, pos eventstore.Position) error {
	b, err := encodeCheckpoint(m, pos)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// encodeCheckpoint returns the file form of m's state at pos: the JSON of
// checkpoint. The envelope is written around the state's own bytes by
// hand, because json.Marshal would validate and compact them, a second
// pass over what is hundreds of megabytes on a big log.
func encodeCheckpoint(m Model, pos eventstore.Position) ([]byte, error) {
	state, err := m.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("projections: marshal %s: %w", m.Name(), err)
	}
	name, err := json.Marshal(m.Name())
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(state)+len(name)+48)
	b = append(b, `{"model":`...)
	b = append(b, name...)
	b = append(b, `,"position":`...)
	b = strconv.AppendUint(b, uint64(pos), 10)
	b = append(b, `,"state":`...)
	b = append(b, state...)
	return append(b, '}'), nil
}

// decodeCheckpoint splits a checkpoint file into its parts without a
// pass over the state: the model's UnmarshalJSON checks the state. Files
// in any other JSON layout go through encoding/json.
func decodeCheckpoint(b []byte) (model string, pos eventstore.Position, state []byte, err error) {
	if rest, ok := bytes.CutPrefix(b, []byte(`{"model":"`)); ok {
		if name, rest, ok := bytes.Cut(rest, []byte(`","position":`)); ok && !bytes.ContainsAny(name, `\"`) {
			if num, rest, ok := bytes.Cut(rest, []byte(`,"state":`)); ok && len(rest) > 1 && rest[len(rest)-1] == '}' {
				if p, perr := strconv.ParseUint(string(num), 10, 64); perr == nil {
					return string(name), eventstore.Position(p), rest[:len(rest)-1], nil
				}
			}
		}
	}
	var c checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return "", 0, nil, err
	}
	return c.Model, c.Position, c.State, nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := durable.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return durable.WriteFile(path, b, 0o644)
}

// readCheckpoint loads the checkpoint at path into m and returns its
// position; a missing file is position 0 with m untouched.
func readCheckpoint(path string, m Model) (eventstore.Position, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	model, pos, state, err := decodeCheckpoint(b)
	if err != nil {
		return 0, fmt.Errorf("projections: checkpoint %s: %w", path, err)
	}
	if model != m.Name() {
		return 0, fmt.Errorf("projections: checkpoint %s is for model %q, not %q", path, model, m.Name())
	}
	if err := m.UnmarshalJSON(state); err != nil {
		return 0, fmt.Errorf("projections: checkpoint %s: %w", path, err)
	}
	return pos, nil
}

// snapshotAtOrBefore returns the position of the newest snapshot of model
// in dir at or before pos (0 when there is none).
func snapshotAtOrBefore(dir, model string, pos eventstore.Position) (eventstore.Position, error) {
	if dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(snapshotDir(dir, model))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var best eventstore.Position
	for _, e := range entries {
		p, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			continue
		}
		if eventstore.Position(n) <= pos && eventstore.Position(n) > best {
			best = eventstore.Position(n)
		}
	}
	return best, nil
}

// removeSnapshots deletes every snapshot of model: after a rebuild they may
// describe events folded by code that has since changed.
func removeSnapshots(dir, model string) error {
	return os.RemoveAll(snapshotDir(dir, model))
}

// snapshotPositions lists the snapshot positions of model, ascending (for
// tests and for operators).
func snapshotPositions(dir, model string) ([]eventstore.Position, error) {
	entries, err := os.ReadDir(snapshotDir(dir, model))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []eventstore.Position
	for _, e := range entries {
		if p, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			if n, err := strconv.ParseUint(p, 10, 64); err == nil {
				out = append(out, eventstore.Position(n))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
