package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses
)

// FerretDB v1's SQLite backend pushes a filter on `_id` down as
// `WHERE _ferretdb_sjson->'$._id' = ?` (backends/sqlite/collection.go), but it
// indexes `_id` as `_ferretdb_sjson->"_id"` (metadata/registry.go). SQLite
// uses an expression index only for the very same expression, so every read
// and every write by `_id` scanned the whole table: 1.8 ms at 1,000
// documents, 26 ms at 50,000.
//
// keyIndexer adds, to every collection table, an index on the expression the
// queries use; and, for every index the application declared (createIndexes)
// whose first key is a top-level field, an index on that field's key
// expression, which the patched backend looks string equalities up by
// (patches/key_filter.go, fieldKey). FerretDB does not know about these
// indexes (it lists indexes from its own metadata), SQLite maintains them,
// and dropping the collection drops them.

const (
	idIndexSuffix    = "_usergraph_id"
	fieldIndexSuffix = "_usergraph_f_"
)

// plainField is a top-level field name that needs no quoting in a JSON path
// (the same rule as patches/key_filter.go).
var plainField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fieldKey must stay the very expression of fieldKey in patches/key_filter.go:
// SQLite uses an expression index only for the same expression.
func fieldKey(field string) string {
	return fmt.Sprintf(`(CASE json_type(_ferretdb_sjson, '$.%[1]s') WHEN 'array' THEN X'00' ELSE _ferretdb_sjson->>'$.%[1]s' END)`, field)
}

type keyIndexer struct {
	dir    string
	logger *slog.Logger
	// The write serializer: its mutex is held while an index is created, so
	// no FerretDB write waits on SQLite's write lock; its flag says when a
	// collection or an index may have been created.
	serializer *writeSerializer
}

// run sweeps at once, then every interval in which a collection or an index
// may have been created (collections are created at runtime, by their first
// write), until ctx ends.
func (x *keyIndexer) run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	x.sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if x.serializer.mayHaveCreated.Swap(false) {
				x.sweep(ctx)
			}
		}
	}
}

// sweep creates the missing indexes in every database file.
func (x *keyIndexer) sweep(ctx context.Context) {
	started := time.Now()
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return
	}
	for _, file := range files {
		if err := x.sweepFile(ctx, file); err != nil && ctx.Err() == nil {
			x.logger.Warn("cannot create key indexes", slog.String("file", filepath.Base(file)), slog.String("error", err.Error()))
		}
	}
	x.logger.Debug("swept for key indexes", slog.Int("files", len(files)), slog.Duration("took", time.Since(started)))
}

// wantedIndexes names, for every collection table, its `_id` index and the
// field indexes of its declared indexes, with their expressions. FerretDB's
// metadata table lists the collections and the indexes declared on them.
func wantedIndexes(ctx context.Context, db *sql.DB) (map[string][2]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT table_name, settings FROM "_ferretdb_collections"`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, nil // a database file FerretDB has not set up yet
		}
		return nil, err
	}
	defer rows.Close()

	wanted := map[string][2]string{} // index name -> {table, expression}
	for rows.Next() {
		var table, settings string
		if err := rows.Scan(&table, &settings); err != nil {
			return nil, err
		}
		wanted[table+idIndexSuffix] = [2]string{table, `_ferretdb_sjson->'$._id'`}
		var parsed struct {
			Indexes []struct {
				Key []struct {
					Field string `json:"field"`
				} `json:"key"`
			} `json:"indexes"`
		}
		if err := json.Unmarshal([]byte(settings), &parsed); err != nil {
			return nil, fmt.Errorf("collection table %s: %w", table, err)
		}
		for _, index := range parsed.Indexes {
			if len(index.Key) == 0 {
				continue
			}
			if field := index.Key[0].Field; field != "_id" && plainField.MatchString(field) {
				wanted[table+fieldIndexSuffix+field] = [2]string{table, fieldKey(field)}
			}
		}
	}
	return wanted, rows.Err()
}

func (x *keyIndexer) sweepFile(ctx context.Context, file string) error {
	if _, err := os.Stat(file); err != nil {
		return nil // dropped meanwhile
	}
	// mode=rw: never create a file FerretDB does not have; a fresh handle per
	// sweep, because a dropped database's file is deleted and made anew.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()

	wanted, err := wantedIndexes(ctx, db)
	if err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		delete(wanted, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	for name, index := range wanted {
		if err := x.createIndex(ctx, db, name, index[0], index[1]); err != nil {
			return err
		}
	}
	return nil
}

func (x *keyIndexer) createIndex(ctx context.Context, db *sql.DB, name, table, expression string) error {
	x.serializer.writes.Lock()
	defer x.serializer.writes.Unlock()
	q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s)`, quote(name), quote(table), expression)
	if _, err := db.ExecContext(ctx, q); err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // dropped meanwhile
		}
		return err
	}
	x.logger.Debug("created key index", slog.String("index", name))
	return nil
}

// quote makes an SQLite identifier.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
