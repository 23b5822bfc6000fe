package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
)

// FerretDB v1 runs a write command as a query followed by a separate write
// (internal/handler/msg_update.go: Query, then UpdateAll), with no lock
// between them. Two concurrent conditional updates of one document can then
// both match and one update is lost, so "a conditional single-document
// update" is not atomic on it as it is on MongoDB.
//
// writeSerializer fronts FerretDB: it relays the MongoDB wire protocol
// message by message and runs write commands one at a time, which restores
// per-document atomicity. Reads are relayed concurrently.

const (
	opQuery = 2004
	opMsg   = 2013

	msgFlagMoreToCome = 1 << 1
	maxMessageSize    = 48 * 1024 * 1024
)

var writeCommands = map[string]bool{
	"insert":        true,
	"update":        true,
	"delete":        true,
	"findAndModify": true,
	"findandmodify": true,
}

// Commands that may create a collection (besides the writes).
var createCommands = map[string]bool{
	"create":        true,
	"createIndexes": true,
	"createindexes": true,
}

type writeSerializer struct {
	upstream string // FerretDB's unix socket
	logger   *slog.Logger
	writes   sync.Mutex
	// Set when a command may have created a collection or an index: the key indexer looks then.
	mayHaveCreated atomic.Bool
}

func (s *writeSerializer) serve(l net.Listener) error {
	for {
		client, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.relay(client)
	}
}

func (s *writeSerializer) relay(client net.Conn) {
	defer client.Close()
	upstream, err := net.Dial("unix", s.upstream)
	if err != nil {
		s.logger.Error("cannot reach FerretDB", slog.String("error", err.Error()))
		return
	}
	defer upstream.Close()

	for {
		request, err := readMessage(client)
		if err != nil {
			return // client closed the connection
		}
		if err := s.roundTrip(request, upstream, client); err != nil {
			if !errors.Is(err, io.EOF) {
				s.logger.Warn("relay failed", slog.String("error", err.Error()))
			}
			return
		}
	}
}

// roundTrip forwards one request and, unless the client asked for no reply,
// the reply (and any further replies FerretDB streams with moreToCome).
func (s *writeSerializer) roundTrip(request []byte, upstream, client net.Conn) error {
	name := commandName(request)
	if writeCommands[name] {
		s.writes.Lock()
		defer s.writes.Unlock()
	}
	if writeCommands[name] || createCommands[name] {
		defer s.mayHaveCreated.Store(true)
	}
	if _, err := upstream.Write(request); err != nil {
		return err
	}
	if moreToCome(request) {
		return nil
	}
	for {
		reply, err := readMessage(upstream)
		if err != nil {
			return err
		}
		if _, err := client.Write(reply); err != nil {
			return err
		}
		if !moreToCome(reply) {
			return nil
		}
	}
}

func readMessage(r io.Reader) ([]byte, error) {
	header := make([]byte, 16)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, err
	}
	length := int(int32(binary.LittleEndian.Uint32(header)))
	if length < 16 || length > maxMessageSize {
		return nil, fmt.Errorf("bad message length %d", length)
	}
	msg := make([]byte, length)
	copy(msg, header)
	if _, err := io.ReadFull(r, msg[16:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func opCode(msg []byte) int32 { return int32(binary.LittleEndian.Uint32(msg[12:16])) }

func moreToCome(msg []byte) bool {
	return opCode(msg) == opMsg && len(msg) >= 20 && binary.LittleEndian.Uint32(msg[16:20])&msgFlagMoreToCome != 0
}

// commandName reads the command name: the first key of the OP_MSG body
// section (kind 0), which follows the header and the flag bits. "" if none.
func commandName(msg []byte) string {
	if opCode(msg) != opMsg {
		return ""
	}
	body := msg[20:]
	for len(body) > 0 {
		kind := body[0]
		body = body[1:]
		if len(body) < 4 {
			return ""
		}
		size := int(int32(binary.LittleEndian.Uint32(body)))
		if size < 5 || size > len(body) {
			return ""
		}
		if kind == 0 {
			doc := body[:size]
			// doc: int32 length, then elements: type byte, cstring name, value.
			if len(doc) < 6 {
				return ""
			}
			name := doc[5:]
			for i, c := range name {
				if c == 0 {
					return string(name[:i])
				}
			}
			return ""
		}
		body = body[size:] // kind 1: a document sequence; the command is in kind 0
	}
	return ""
}
