package store

import (
	"context"
	"net"

	"google.golang.org/grpc/credentials"
)

// reloadingCreds are gRPC transport credentials that take the TLS config afresh from
// tlsFiles for every handshake. gRPC's own TLS credentials copy one tls.Config for the
// client's lifetime, and a tls.Config can swap its client certificate
// (GetClientCertificate) but not its CA pool; building the credentials per handshake swaps
// both with ordinary verification (host name included).
type reloadingCreds struct {
	files      *tlsFiles
	serverName string // OverrideServerName's, if it was called
}

func (r *reloadingCreds) tlsCreds() credentials.TransportCredentials {
	conf := r.files.current().Clone()
	if r.serverName != "" {
		conf.ServerName = r.serverName
	}
	return credentials.NewTLS(conf)
}

func (r *reloadingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return r.tlsCreds().ClientHandshake(ctx, authority, conn)
}

func (r *reloadingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return r.tlsCreds().ServerHandshake(conn)
}

func (r *reloadingCreds) Info() credentials.ProtocolInfo { return r.tlsCreds().Info() }

func (r *reloadingCreds) Clone() credentials.TransportCredentials {
	c := *r
	return &c
}

//nolint:staticcheck // part of the interface gRPC still calls
func (r *reloadingCreds) OverrideServerName(name string) error {
	r.serverName = name
	return nil
}
