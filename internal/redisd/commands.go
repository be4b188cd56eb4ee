package redisd

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"
)

// Error replies, worded as Redis words them.
const (
	errSyntax     = "ERR syntax error"
	errNotInteger = "ERR value is not an integer or out of range"
	errExpireTime = "ERR invalid expire time in 'set' command"
	errDBIndex    = "ERR DB index is out of range"
	errPersist    = "ERR could not persist the write"
)

// handle answers one command. redcon calls it from each connection's goroutine.
func (s *Server) handle(conn redcon.Conn, cmd redcon.Command) {
	name := strings.ToLower(string(cmd.Args[0]))
	args := cmd.Args[1:]
	c, ok := commands[name]
	switch {
	case !ok:
		conn.WriteError("ERR unknown command '" + string(cmd.Args[0]) + "'")
	case len(args) < c.minArgs || (c.maxArgs >= 0 && len(args) > c.maxArgs):
		conn.WriteError("ERR wrong number of arguments for '" + name + "' command")
	default:
		c.run(s, conn, args)
	}
}

type command struct {
	minArgs, maxArgs int // maxArgs -1: any number
	run              func(s *Server, conn redcon.Conn, args [][]byte)
}

// commands are the ones go-redis sends on connecting and those the services use.
var commands = map[string]command{
	"ping":     {0, 1, ping},
	"echo":     {1, 1, func(_ *Server, conn redcon.Conn, args [][]byte) { conn.WriteBulk(args[0]) }},
	"hello":    {0, -1, func(_ *Server, conn redcon.Conn, _ [][]byte) { conn.WriteError("ERR unknown command 'HELLO'") }},
	"client":   {1, -1, func(_ *Server, conn redcon.Conn, _ [][]byte) { conn.WriteString("OK") }},
	"select":   {1, 1, selectDB},
	"quit":     {0, 0, func(_ *Server, conn redcon.Conn, _ [][]byte) { conn.WriteString("OK"); _ = conn.Close() }},
	"get":      {1, 1, get},
	"mget":     {1, -1, mget},
	"set":      {2, -1, set},
	"setnx":    {2, 2, setnx},
	"del":      {1, -1, del},
	"exists":   {1, -1, exists},
	"expire":   {2, 2, func(s *Server, conn redcon.Conn, args [][]byte) { expire(s, conn, args, time.Second) }},
	"pexpire":  {2, 2, func(s *Server, conn redcon.Conn, args [][]byte) { expire(s, conn, args, time.Millisecond) }},
	"ttl":      {1, 1, func(s *Server, conn redcon.Conn, args [][]byte) { ttl(s, conn, args, time.Second) }},
	"pttl":     {1, 1, func(s *Server, conn redcon.Conn, args [][]byte) { ttl(s, conn, args, time.Millisecond) }},
	"incr":     {1, 1, func(s *Server, conn redcon.Conn, args [][]byte) { incrBy(s, conn, args[0], 1) }},
	"incrby":   {2, 2, incrByArg},
	"dbsize":   {0, 0, func(s *Server, conn redcon.Conn, _ [][]byte) { conn.WriteInt(s.keys.size(time.Now())) }},
	"flushdb":  {0, 1, flushdb},
	"flushall": {0, 1, flushdb}, // there is one database
}

func ping(_ *Server, conn redcon.Conn, args [][]byte) {
	if len(args) == 1 {
		conn.WriteBulk(args[0])
		return
	}
	conn.WriteString("PONG")
}

// selectDB accepts database 0, the only one.
func selectDB(_ *Server, conn redcon.Conn, args [][]byte) {
	if string(args[0]) != "0" {
		conn.WriteError(errDBIndex)
		return
	}
	conn.WriteString("OK")
}

func get(s *Server, conn redcon.Conn, args [][]byte) {
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	if e, ok := s.keys.get(string(args[0]), time.Now()); ok {
		conn.WriteBulk(e.value)
		return
	}
	conn.WriteNull()
}

func mget(s *Server, conn redcon.Conn, args [][]byte) {
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	now := time.Now()
	conn.WriteArray(len(args))
	for _, key := range args {
		if e, ok := s.keys.get(string(key), now); ok {
			conn.WriteBulk(e.value)
		} else {
			conn.WriteNull()
		}
	}
}

// setOptions are SET's options: NX or XX, and EX, PX or KEEPTTL.
type setOptions struct {
	ifAbsent, ifPresent, keepTTL bool
	ttl                          time.Duration
}

func parseSetOptions(args [][]byte) (setOptions, string) {
	var o setOptions
	for i := 0; i < len(args); i++ {
		switch strings.ToLower(string(args[i])) {
		case "nx":
			o.ifAbsent = true
		case "xx":
			o.ifPresent = true
		case "keepttl":
			o.keepTTL = true
		case "ex", "px":
			if i+1 == len(args) || o.ttl != 0 {
				return o, errSyntax
			}
			unit := time.Second
			if strings.EqualFold(string(args[i]), "px") {
				unit = time.Millisecond
			}
			n, err := strconv.ParseInt(string(args[i+1]), 10, 64)
			if err != nil {
				return o, errNotInteger
			}
			if n <= 0 || n > math.MaxInt64/int64(unit) {
				return o, errExpireTime
			}
			o.ttl = time.Duration(n) * unit
			i++
		default:
			return o, errSyntax
		}
	}
	if (o.ifAbsent && o.ifPresent) || (o.keepTTL && o.ttl != 0) {
		return o, errSyntax
	}
	return o, ""
}

func set(s *Server, conn redcon.Conn, args [][]byte) {
	o, problem := parseSetOptions(args[2:])
	if problem != "" {
		conn.WriteError(problem)
		return
	}
	key := string(args[0])
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	now := time.Now()
	old, exists := s.keys.get(key, now)
	if (o.ifAbsent && exists) || (o.ifPresent && !exists) {
		conn.WriteNull()
		return
	}
	e := entry{value: bytes.Clone(args[1])} // redcon reuses its read buffer
	switch {
	case o.ttl != 0:
		e.expires = now.Add(o.ttl)
	case o.keepTTL:
		e.expires = old.expires
	}
	if err := s.keys.put(key, e); err != nil {
		s.writeFailed(conn, "set", err)
		return
	}
	conn.WriteString("OK")
}

func setnx(s *Server, conn redcon.Conn, args [][]byte) {
	key := string(args[0])
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if _, exists := s.keys.get(key, time.Now()); exists {
		conn.WriteInt(0)
		return
	}
	if err := s.keys.put(key, entry{value: bytes.Clone(args[1])}); err != nil {
		s.writeFailed(conn, "setnx", err)
		return
	}
	conn.WriteInt(1)
}

func del(s *Server, conn redcon.Conn, args [][]byte) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	now := time.Now()
	deleted := 0
	for _, key := range args {
		if _, held := s.keys.keys[string(key)]; !held {
			continue
		}
		_, live := s.keys.get(string(key), now) // an expired key is removed but not counted
		if err := s.keys.remove(string(key)); err != nil {
			s.writeFailed(conn, "del", err)
			return
		}
		if live {
			deleted++
		}
	}
	conn.WriteInt(deleted)
}

func exists(s *Server, conn redcon.Conn, args [][]byte) {
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	now := time.Now()
	n := 0
	for _, key := range args {
		if _, ok := s.keys.get(string(key), now); ok {
			n++
		}
	}
	conn.WriteInt(n)
}

// expire sets a key's time to live, in unit; a time not in the future deletes the key.
func expire(s *Server, conn redcon.Conn, args [][]byte, unit time.Duration) {
	n, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil || n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		conn.WriteError(errNotInteger)
		return
	}
	key := string(args[0])
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	now := time.Now()
	e, ok := s.keys.get(key, now)
	if !ok {
		conn.WriteInt(0)
		return
	}
	if n <= 0 {
		err = s.keys.remove(key)
	} else {
		e.expires = now.Add(time.Duration(n) * unit)
		err = s.keys.put(key, e)
	}
	if err != nil {
		s.writeFailed(conn, "expire", err)
		return
	}
	conn.WriteInt(1)
}

// ttl answers a key's time to live in unit, -1 when it has none, -2 when there is no key.
func ttl(s *Server, conn redcon.Conn, args [][]byte, unit time.Duration) {
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	now := time.Now()
	e, ok := s.keys.get(string(args[0]), now)
	switch {
	case !ok:
		conn.WriteInt(-2)
	case e.expires.IsZero():
		conn.WriteInt(-1)
	default:
		left := e.expires.Sub(now)
		conn.WriteInt64(int64((left + unit - 1) / unit)) // rounded up, as Redis does
	}
}

// incrByArg is INCRBY key increment.
func incrByArg(s *Server, conn redcon.Conn, args [][]byte) {
	delta, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil {
		conn.WriteError(errNotInteger)
		return
	}
	incrBy(s, conn, args[0], delta)
}

// incrBy adds delta to the integer at key (0 when missing), keeping its time to live.
func incrBy(s *Server, conn redcon.Conn, rawKey []byte, delta int64) {
	key := string(rawKey)
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	e, exists := s.keys.get(key, time.Now())
	n := int64(0)
	if exists {
		var err error
		if n, err = strconv.ParseInt(string(e.value), 10, 64); err != nil {
			conn.WriteError(errNotInteger)
			return
		}
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		conn.WriteError("ERR increment or decrement would overflow")
		return
	}
	n += delta
	e.value = strconv.AppendInt(nil, n, 10)
	if err := s.keys.put(key, e); err != nil {
		s.writeFailed(conn, "incrby", err)
		return
	}
	conn.WriteInt64(n)
}

func flushdb(s *Server, conn redcon.Conn, args [][]byte) {
	if len(args) == 1 && !strings.EqualFold(string(args[0]), "sync") && !strings.EqualFold(string(args[0]), "async") {
		conn.WriteError(errSyntax)
		return
	}
	if err := s.keys.flush(); err != nil {
		s.writeFailed(conn, "flushdb", err)
		return
	}
	conn.WriteString("OK")
}

// writeFailed answers a write that could not be persisted; the key is left as it was.
func (s *Server) writeFailed(conn redcon.Conn, command string, err error) {
	s.log.Error("redisd: write not persisted", "command", command, "err", err)
	conn.WriteError(errPersist)
}
