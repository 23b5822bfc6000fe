//go:build usergraph_patched

// This file is not part of the wrapper: the embedded store's build copies it
// into FerretDB's internal/backends/sqlite package (see patches.json) and
// builds with the usergraph_patched tag.

package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// maxPushedDownIDs bounds an IN list (SQLite allows 32,766 parameters).
const maxPushedDownIDs = 1000

// idWhereClause returns a WHERE clause that selects, by the `_id` key, every
// document the filter can match, or "" when the filter gives no such key.
// Stock FerretDB v1 pushes `_id` down only when `{ _id: <string | ObjectId> }`
// is the whole filter; this also pushes it down beside other conditions, and
// for `_id: { $in: [...] }`. The handler applies the whole filter to what the
// backend returns ("Filter may be ignored, or safely applied partially or
// entirely", backends.QueryParams), so the other conditions still decide.
func idWhereClause(filter *types.Document) (string, []any) {
	ids := 0
	for _, key := range filter.Keys() {
		if key == "_id" {
			ids++
		}
	}
	if ids != 1 { // none, or a malformed filter with the key twice
		return "", nil
	}

	switch v := must.NotFail(filter.Get("_id")).(type) {
	case string, types.ObjectID:
		return fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn), []any{idArg(v)}

	case *types.Document:
		if v.Len() != 1 || v.Keys()[0] != "$in" {
			return "", nil
		}
		in, ok := must.NotFail(v.Get("$in")).(*types.Array)
		if !ok || in.Len() > maxPushedDownIDs {
			return "", nil
		}
		if in.Len() == 0 {
			return ` WHERE 0`, nil // matches nothing, as on MongoDB
		}
		args := make([]any, 0, in.Len())
		for i := 0; i < in.Len(); i++ {
			switch id := must.NotFail(in.Get(i)).(type) {
			case string, types.ObjectID:
				args = append(args, idArg(id))
			default: // a regex or another type: not a key lookup
				return "", nil
			}
		}
		placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
		return fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, placeholders), args
	}

	return "", nil
}

// idArg is an `_id` value as the IDColumn expression yields it.
func idArg(id any) any {
	return string(must.NotFail(sjson.MarshalSingleValue(id)))
}
