// Package channel provides encrypted, authenticated channels between a
// client and a server, in two profiles of one protocol (spec/channel.md):
//
//   - Seed, the client-server design of the source documents made safe:
//     the server sends a fresh RSA key, the client sends AES-128 and MAC
//     keys wrapped with RSA-OAEP-SHA256, then AES-128-CBC records with a
//     truncated HMAC-SHA256 over direction, sequence number, IV and
//     ciphertext. Its byte layout is fixed for outside clients.
//   - V2 (the default), a three-phase key exchange with the identities'
//     own exchange keys as KEMs (MLKEM768-X25519 by default, every kind
//     of keyblob identity works), an ephemeral key for forward secrecy,
//     key confirmation both ways, AES-256-GCM records and key update.
//
// The protocol core works on messages, bytes in and bytes out: a Session
// produces and consumes handshake messages, then seals and opens records,
// and works over any transport that keeps messages apart. Conn wraps a
// net.Conn: one 4-byte big-endian length frame per message, bounded
// before allocation, full-duplex Read and Write, deadlines, and a close
// record, so that a connection cut short is an error (ErrTruncated), never
// a clean end of stream. Dial, Listen, NewListener, Client and ServerConn
// make them.
//
// Server runs a server as http.Server does: a Handler per established
// session, Serve, Shutdown and Close, within limits on sessions, on
// connections in their handshake (apart from sessions, so that slow or
// idle connections cannot take the slots of real clients) and on the
// handshake rate of each source address (a bounded table), and with the
// Config's handshake and idle timeouts. Only the socket-level files,
// conn.go, channel.go and server.go, import net.
//
// Failures send nothing: a failing end closes the transport, so every
// failure looks the same to the peer. Every authentication failure is
// ErrAuth, whatever its cause.
package channel
