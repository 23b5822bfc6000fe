// Command usergraph-ferretdb is the embedded MongoDB-compatible store used in
// development and tests: FerretDB v1, imported as a library, with its SQLite
// backend, listening on a loopback address only.
//
// It is a wrapper module of our own because `go install .../cmd/ferretdb`
// builds a binary that panics at start for want of generated version files;
// the embeddable `ferretdb` package does not need them, and keeps telemetry off.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	// `usergraph-ferretdb backup -data-dir DIR -out DIR`: an online copy of every database.
	if len(os.Args) > 1 && os.Args[1] == "backup" {
		fs := flag.NewFlagSet("backup", flag.ExitOnError)
		dataDir := fs.String("data-dir", ".data/ferretdb", "directory of the SQLite database files")
		out := fs.String("out", "", "directory to write the copies into")
		_ = fs.Parse(os.Args[2:])
		if *out == "" {
			fmt.Fprintln(os.Stderr, "usergraph-ferretdb backup: -out is required")
			os.Exit(2)
		}
		if err := backupDatabases(*dataDir, *out); err != nil {
			fmt.Fprintln(os.Stderr, "usergraph-ferretdb backup:", err)
			os.Exit(1)
		}
		return
	}
	listen := flag.String("listen", "127.0.0.1:27017", "loopback TCP address to listen on")
	dataDir := flag.String("data-dir", ".data/ferretdb", "directory for the SQLite database files")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	parentPid := flag.Int("parent-pid", 0, "stop when this process (the launcher) is gone, even if it was killed with SIGKILL")
	flag.Parse()

	if err := run(*listen, *dataDir, *logLevel, *parentPid); err != nil {
		fmt.Fprintln(os.Stderr, "usergraph-ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dataDir, logLevel string, parentPid int) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("bad -listen %q: %w", listen, err)
	}
	// The store has no authentication: never expose it beyond this machine.
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen must be a loopback address, got %q", listen)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	absDir, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absDir, 0o700); err != nil {
		return err
	}

	// FerretDB itself listens on a private unix socket; clients reach it
	// through the write serializer on the loopback TCP address.
	socket := filepath.Join(absDir, "ferretdb.sock")
	_ = os.Remove(socket) // left behind if the previous run was killed
	front, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	defer front.Close()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{Unix: socket},
		Logger:   logger,
		Handler:  "sqlite",
		// WAL (FerretDB's default) with synchronous=NORMAL: a commit no longer
		// waits for an fsync, which cost ~2.5 ms per written document. A crash
		// of this process loses nothing; a power loss may lose the last
		// commits (the database stays consistent) — MongoDB's default
		// journal commit interval has the same window.
		SQLiteURL: "file:" + absDir + "/?_pragma=synchronous(normal)",
	})
	if err != nil {
		return err
	}

	// SIGINT/SIGTERM cancel the context; Run then closes the listener and the
	// SQLite databases so that no write is lost.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A launcher killed outright sends no signal: its children are re-parented, and the
	// store stops as if told to, instead of running on unsupervised.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if parentPid > 0 {
		go func() {
			for ctx.Err() == nil && os.Getppid() == parentPid {
				time.Sleep(500 * time.Millisecond)
			}
			if ctx.Err() == nil {
				logger.Warn("the launcher is gone: stopping", slog.Int("parentPid", parentPid))
				cancel()
			}
		}()
	}

	serializer := &writeSerializer{upstream: socket, logger: logger}
	indexer := &keyIndexer{dir: absDir, logger: logger, serializer: serializer}
	go indexer.run(ctx, 250*time.Millisecond)
	go func() {
		if err := serializer.serve(front); err != nil {
			logger.Error("listener failed", slog.String("error", err.Error()))
		}
	}()
	go func() {
		<-ctx.Done()
		front.Close()
	}()

	logger.Info("usergraph-ferretdb listening", slog.String("address", listen), slog.String("dataDir", absDir))
	return f.Run(ctx)
}
