//go:build usergraph_patched

// This file is not part of the wrapper: the embedded store's build copies it
// into FerretDB's internal/backends/sqlite package (see patches.json) and
// builds with the usergraph_patched tag.

package sqlite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// maxPushedDownIDs bounds an IN list (SQLite allows 32,766 parameters).
const maxPushedDownIDs = 1000

// plainField is a top-level field name that needs no quoting in a JSON path.
var plainField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// keyWhereClause returns a WHERE clause that selects, through SQLite
// indexes, every document the filter can match, or "" when the filter gives
// no key. The handler applies the whole filter to what the backend returns
// ("Filter may be ignored, or safely applied partially or entirely",
// backends.QueryParams), so selecting more than the filter matches is
// correct; selecting less never happens.
//
// Stock FerretDB v1 pushes down only `{ _id: <string | ObjectId> }` as the
// whole filter. This pushes down, in order of preference:
//   - `_id: <string | ObjectId>` or `_id: { $in: [...] }`, whatever else the
//     filter holds (tools/ferretdb/key_index.go indexes `_id`);
//   - else `field: <string>` for each top-level field that leads one of the
//     collection's declared indexes (tools/ferretdb/key_index.go gives those an
//     SQLite index on fieldKey).
func keyWhereClause(filter *types.Document, meta *metadata.Collection) (string, []any) {
	if where, args := idWhereClause(filter); where != "" {
		return where, args
	}

	indexed := map[string]bool{}
	for _, index := range meta.Settings.Indexes {
		if len(index.Key) > 0 {
			indexed[index.Key[0].Field] = true
		}
	}

	var conditions []string
	var args []any
	for _, key := range filter.Keys() {
		if key == "_id" || !indexed[key] || !plainField.MatchString(key) || countKey(filter, key) != 1 {
			continue
		}
		if value, ok := must.NotFail(filter.Get(key)).(string); ok {
			// An array holding the value matches too, as on MongoDB: arrays all share one key (fieldKey).
			conditions = append(conditions, fmt.Sprintf(`%s IN (?, X'00')`, fieldKey(key)))
			args = append(args, value)
		}
	}
	if len(conditions) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(conditions, ` AND `), args
}

// fieldKey is the expression a top-level field is indexed and looked up by:
// its text value, or X'00' (a blob, equal to no text) when it is an array.
// tools/ferretdb/key_index.go writes the same expression.
func fieldKey(field string) string {
	return fmt.Sprintf(`(CASE json_type(_ferretdb_sjson, '$.%[1]s') WHEN 'array' THEN X'00' ELSE _ferretdb_sjson->>'$.%[1]s' END)`, field)
}

// idWhereClause is the `_id` part of keyWhereClause.
func idWhereClause(filter *types.Document) (string, []any) {
	if countKey(filter, "_id") != 1 { // none, or a malformed filter with the key twice
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

// countKey counts a key in the filter (types.Document.Get panics on a duplicated key).
func countKey(filter *types.Document, key string) int {
	n := 0
	for _, k := range filter.Keys() {
		if k == key {
			n++
		}
	}
	return n
}

// idArg is an `_id` value as the IDColumn expression yields it.
func idArg(id any) any {
	return string(must.NotFail(sjson.MarshalSingleValue(id)))
}
