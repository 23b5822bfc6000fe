package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
// idIndexer adds, to every collection table, an index on the expression the
// queries use. FerretDB does not know about it (it lists indexes from its own
// metadata), SQLite maintains it, and dropping the collection drops it.

const idIndexSuffix = "_usergraph_id"

type idIndexer struct {
	dir    string
	logger *slog.Logger
	// The write serializer: its mutex is held while an index is created, so
	// no FerretDB write waits on SQLite's write lock; its flag says when a
	// collection may have been created.
	serializer *writeSerializer
}

// run sweeps at once, then every interval in which a collection may have
// been created (collections are created at runtime, by their first write),
// until ctx ends.
func (x *idIndexer) run(ctx context.Context, interval time.Duration) {
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

// sweep indexes every table that lacks the index, in every database file.
func (x *idIndexer) sweep(ctx context.Context) {
	started := time.Now()
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return
	}
	for _, file := range files {
		if err := x.sweepFile(ctx, file); err != nil && ctx.Err() == nil {
			x.logger.Warn("cannot index _id", slog.String("file", filepath.Base(file)), slog.String("error", err.Error()))
		}
	}
	x.logger.Debug("swept for _id indexes", slog.Int("files", len(files)), slog.Duration("took", time.Since(started)))
}

// missingIndexes lists collection tables without the index. FerretDB's own
// tables start with "_ferretdb_"; SQLite's with "sqlite_".
const missingIndexes = `
SELECT t.name FROM sqlite_master AS t
WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND t.name NOT LIKE '\_ferretdb\_%' ESCAPE '\'
  AND NOT EXISTS (SELECT 1 FROM sqlite_master AS i WHERE i.type = 'index' AND i.name = t.name || '` + idIndexSuffix + `')`

func (x *idIndexer) sweepFile(ctx context.Context, file string) error {
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

	rows, err := db.QueryContext(ctx, missingIndexes)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	for _, table := range tables {
		if err := x.createIndex(ctx, db, table); err != nil {
			return err
		}
	}
	return nil
}

func (x *idIndexer) createIndex(ctx context.Context, db *sql.DB, table string) error {
	x.serializer.writes.Lock()
	defer x.serializer.writes.Unlock()
	q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`, quote(table+idIndexSuffix), quote(table))
	if _, err := db.ExecContext(ctx, q); err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // dropped meanwhile
		}
		return err
	}
	x.logger.Debug("indexed _id", slog.String("table", table))
	return nil
}

// quote makes an SQLite identifier.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
