package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bluehelm/bluehelm/federation"
	"github.com/bluehelm/bluehelm/ingest"
)

// federationFlags join a node to others over NATS leaf links (issue 9): HQ
// listens for camps' leaf connections, a camp connects to its HQ, and the
// link file says what may cross.
type federationFlags struct {
	leafListen string
	federateTo string
	link       string
	// TLS on the leaf link: HQ's certificate and key, the camp's authority.
	tlsCert, tlsKey, tlsCA string
}

func (f *federationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.leafListen, "leaf-listen", env("leaf-listen", ""), "accept camps' federation links (NATS leaf nodes) on HOST:PORT, at HQ [BLUEHELM_LEAF_LISTEN]")
	fs.StringVar(&f.federateTo, "federate-to", env("federate-to", ""), "join HQ's federation as a NATS leaf node, nats-leaf://HOST:PORT, at a camp [BLUEHELM_FEDERATE_TO]")
	fs.StringVar(&f.link, "link", env("link", ""), "federation file (JSON): this node's name and what each link may carry [BLUEHELM_LINK]")
	fs.StringVar(&f.tlsCert, "leaf-tls-cert", env("leaf-tls-cert", ""), "at HQ: certificate (PEM) of the leaf listener; camps must then link with TLS [BLUEHELM_LEAF_TLS_CERT]")
	fs.StringVar(&f.tlsKey, "leaf-tls-key", env("leaf-tls-key", ""), "at HQ: private key (PEM) of --leaf-tls-cert [BLUEHELM_LEAF_TLS_KEY]")
	fs.StringVar(&f.tlsCA, "leaf-tls-ca", env("leaf-tls-ca", ""), "at a camp: authority (PEM) that signed HQ's leaf certificate; the link is then TLS [BLUEHELM_LEAF_TLS_CA]")
}

// leafTLS builds the link's TLS configuration from the flags (nil: none).
func (f *federationFlags) leafTLS(log *slog.Logger) (*tls.Config, error) {
	switch {
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return nil, errors.New("--leaf-tls-cert and --leaf-tls-key go together")
	case f.tlsCert != "" && f.leafListen == "":
		return nil, errors.New("--leaf-tls-cert is for HQ's leaf listener (--leaf-listen); a camp gives --leaf-tls-ca")
	case f.tlsCA != "" && f.federateTo == "":
		return nil, errors.New("--leaf-tls-ca is for a camp (--federate-to); HQ gives --leaf-tls-cert and --leaf-tls-key")
	case f.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--leaf-tls-cert/--leaf-tls-key: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
	case f.tlsCA != "":
		pem, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--leaf-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--leaf-tls-ca %s: no PEM certificate in it", f.tlsCA)
		}
		return &tls.Config{RootCAs: pool}, nil
	}
	if f.leafListen != "" {
		log.Warn("federation: the leaf link is not encrypted (no --leaf-tls-cert); use it only inside an encrypted network")
	}
	return nil, nil
}

// fedNode is a running federation end; nil when the node is not federated.
type fedNode struct {
	srv  *federation.Server
	node *federation.Node
	log  *slog.Logger
	wg   sync.WaitGroup
	stop context.CancelFunc
}

// start starts the embedded NATS server (its JetStream store under the data
// directory) and the node's links; the pipeline joins them in run. The leaf
// passwords come from the environment only (a flag would show them in the
// process list): BLUEHELM_LEAF_PASSWORD, and at HQ BLUEHELM_LEAF_PASSWORD_<PEER>
// for a camp with a secret of its own. A camp logs in with its node name.
func (f *federationFlags) start(ctx context.Context, data string, log *slog.Logger) (*fedNode, error) {
	if f.leafListen == "" && f.federateTo == "" {
		if f.link != "" || f.tlsCert != "" || f.tlsKey != "" || f.tlsCA != "" {
			return nil, errors.New("--link and --leaf-tls-* need --leaf-listen (HQ) or --federate-to (camp)")
		}
		return nil, nil
	}
	if f.link == "" {
		return nil, errors.New("federation needs a link file (--link): this node's name and what each link may carry")
	}
	cfg, err := federation.LoadConfig(f.link)
	if err != nil {
		return nil, err
	}
	if f.federateTo != "" && len(cfg.Links) != 1 {
		return nil, fmt.Errorf("--federate-to: the link file of a camp names one peer (its HQ), not %d", len(cfg.Links))
	}
	leafTLS, err := f.leafTLS(log)
	if err != nil {
		return nil, err
	}
	pw := env("leaf-password", "")
	if pw == "" {
		log.Warn("federation: BLUEHELM_LEAF_PASSWORD is not set; the leaf link uses the lab password")
	}
	var peers []string
	pws := map[string]string{}
	for _, l := range cfg.Links {
		peers = append(peers, l.Peer)
		// BLUEHELM_LEAF_PASSWORD_<PEER> gives a camp its own secret at HQ.
		if v := env("leaf-password-"+strings.ToLower(l.Peer), ""); v != "" {
			pws[l.Peer] = v
		}
	}
	srv, err := federation.StartServer(federation.ServerOptions{
		Node: cfg.Node, StoreDir: filepath.Join(data, "federation"), LeafListen: f.leafListen, FederateTo: f.federateTo,
		LeafPassword: pw, Peers: peers, PeerPasswords: pws, LeafTLS: leafTLS, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	node, err := federation.New(ctx, federation.Options{Config: cfg, Server: srv, Logger: log})
	if err != nil {
		srv.Shutdown()
		return nil, err
	}
	if f.leafListen != "" {
		log.Info("federation: accepting leaf links", "addr", f.leafListen, "node", cfg.Node)
	} else {
		log.Info("federation: joining HQ as a leaf", "hq", f.federateTo, "node", cfg.Node)
	}
	return &fedNode{srv: srv, node: node, log: log}, nil
}

// hook is openApp's hook: the pipeline's changes go through the federation
// tap, which wraps whatever publisher is there already (the cluster bus, or
// the hub), so a change reaches the node's clients and other nodes first.
func (f *fedNode) hook() func(*app) error {
	return func(a *app) error {
		if f == nil {
			return nil
		}
		var out ingest.Publisher = a.hub
		if a.out != nil {
			out = a.out
		}
		a.out = f.node.Tap(out)
		return nil
	}
}

// remoteHook is openApp's hook to run before the cluster's: in a cluster,
// the other nodes' changes cross the links from this node too (the bus
// consumes from the moment it is made, so this is set before).
func (f *fedNode) remoteHook() func(*app) error {
	return func(a *app) error {
		if f != nil {
			a.remote = append(a.remote, f.node.Forward)
		}
		return nil
	}
}

// run starts applying what the peers send, into a's pipeline and store.
func (f *fedNode) run(ctx context.Context, a *app) error {
	if f == nil {
		return nil
	}
	if err := f.node.Register(a.registry); err != nil {
		return err
	}
	ctx, f.stop = context.WithCancel(ctx)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if err := f.node.Run(ctx, federation.Local{Pipeline: a.pipeline, Store: a.store, Changes: a.store, Track: a.picture.Get}); err != nil {
			f.log.Error("federation stopped", "err", err)
		}
	}()
	return nil
}

// close stops the links and the server; call it before the store closes.
func (f *fedNode) close() {
	if f == nil {
		return
	}
	if f.stop != nil {
		f.stop()
	}
	f.wg.Wait()
	f.node.Close()
	f.srv.Shutdown()
	f.srv.WaitForShutdown()
}
