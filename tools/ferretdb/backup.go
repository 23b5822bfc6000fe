package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// backupDatabases copies every database file (one per MongoDB database) in
// dataDir into outDir with SQLite's `VACUUM INTO`. It runs while the store
// serves: each copy is read inside one read transaction, so it is that
// database's state at one instant, whatever writes go on meanwhile (WAL mode
// lets readers and the writer proceed together). The copy is a compact,
// self-contained file with no WAL beside it, ready to be put back as is.
//
// It lives in the store's own binary because that binary already links the
// SQLite driver FerretDB writes with (modernc.org/sqlite): no other tool or
// download is needed, and the file format is read by the same code.
func backupDatabases(dataDir, outDir string) error {
	files, err := filepath.Glob(filepath.Join(dataDir, "*.sqlite"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return err
	}
	for _, file := range files {
		target := filepath.Join(outDir, filepath.Base(file))
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s already exists", target)
		}
		if err := vacuumInto(file, target); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(file), err)
		}
		fmt.Println(filepath.Base(file))
	}
	return nil
}

func vacuumInto(file, target string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("VACUUM INTO '" + strings.ReplaceAll(target, "'", "''") + "'")
	return err
}
