package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	bhnats "github.com/bluehelm/bluehelm/nats"
	natsgo "github.com/nats-io/nats.go"
)

// clusterFlags make serve one node of a cluster sharing one live picture over
// NATS JetStream (issue 9): --nats joins an external NATS cluster; --nats-listen
// with --nats-routes runs an embedded NATS server joined to the other nodes'.
// Without them the node keeps its in-process hub only.
type clusterFlags struct {
	url      string
	listen   string
	routes   string
	nodeID   string
	name     string
	replicas int
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	host, _ := os.Hostname()
	fs.StringVar(&c.url, "nats", env("nats", ""), "external NATS cluster to share the live picture through, nats://host:port[,…]; empty: in-process hub only [BLUEHELM_NATS]")
	fs.StringVar(&c.listen, "nats-listen", env("nats-listen", ""), "run an embedded NATS server whose cluster routes listen on HOST:PORT [BLUEHELM_NATS_LISTEN]")
	fs.StringVar(&c.routes, "nats-routes", env("nats-routes", ""), "cluster addresses of the nodes, nats://host:port,… (this node's may be included) [BLUEHELM_NATS_ROUTES]")
	fs.StringVar(&c.nodeID, "node-id", env("node-id", host), "this node's name, unique in the cluster and stable across restarts [BLUEHELM_NODE_ID]")
	fs.StringVar(&c.name, "nats-cluster", env("nats-cluster", "bluehelm"), "NATS cluster name of the embedded server [BLUEHELM_NATS_CLUSTER]")
	fs.IntVar(&c.replicas, "nats-replicas", envInt("nats-replicas", 0), "replicas of the shared stream; 0: up to 3, as many as there are nodes [BLUEHELM_NATS_REPLICAS]")
}

func (c *clusterFlags) enabled() bool { return c.url != "" || c.listen != "" }

// clusterNode is the running NATS side of a node, closed in reverse order of
// starting.
type clusterNode struct {
	srv *bhnats.Server
	nc  *natsgo.Conn
	bus *bhnats.Bus
}

func (n *clusterNode) Close() {
	if n.bus != nil {
		n.bus.Close()
	}
	if n.nc != nil {
		// Drain lets the last acknowledgements arrive; bounded by the option below.
		if err := n.nc.Drain(); err != nil {
			n.nc.Close()
		}
	}
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
}

// hook returns what openApp runs before it builds the pipeline: start or join
// NATS and put the bus in front of the hub. The bus starts consuming before the
// picture is loaded from the store, so no change falls between the two.
func (c *clusterFlags) hook(ctx context.Context, dataDir string) func(*app) error {
	return func(a *app) error {
		if !c.enabled() {
			return nil
		}
		if c.url != "" && c.listen != "" {
			return fmt.Errorf("--nats and --nats-listen: join an external NATS cluster or run an embedded server, not both")
		}
		if c.nodeID == "" {
			return fmt.Errorf("--node-id: name this node")
		}
		log := a.log.With("node", c.nodeID)
		node := &clusterNode{}
		fail := func(err error) error { node.Close(); return err }
		replicas := c.replicas
		var err error
		if c.listen != "" {
			routes := splitList(c.routes)
			self := "nats://" + c.listen
			if len(routes) == 0 || (len(routes) == 1 && routes[0] == self) {
				// JetStream would wait for routes forever: one node needs no NATS.
				return fmt.Errorf("--nats-routes: name the other nodes' cluster addresses (a node alone needs no --nats-listen)")
			}
			node.srv, err = bhnats.StartServer(bhnats.ServerOptions{
				Name: c.nodeID, StoreDir: filepath.Join(dataDir, "nats"), ClusterName: c.name,
				ClusterListen: c.listen, Routes: routes, Logger: a.log,
			})
			if err != nil {
				return fail(err)
			}
			node.nc, err = node.srv.Connect(natsgo.MaxReconnects(-1), natsgo.DrainTimeout(5*time.Second))
			if replicas == 0 {
				// The routes name every node; this node's own address may be among them.
				n := len(routes) + 1
				if slices.Contains(routes, self) {
					n--
				}
				replicas = min(3, n)
			}
			log.Info("embedded NATS server started", "cluster", c.name, "listen", node.srv.ClusterURL(), "routes", routes)
		} else {
			node.nc, err = natsgo.Connect(c.url, natsgo.Name("bluehelm "+c.nodeID), natsgo.MaxReconnects(-1),
				natsgo.ReconnectWait(time.Second), natsgo.DrainTimeout(5*time.Second),
				natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) { log.Warn("NATS disconnected", "err", err) }),
				natsgo.ReconnectHandler(func(nc *natsgo.Conn) { log.Info("NATS reconnected", "server", nc.ConnectedUrlRedacted()) }))
			if err != nil {
				return fail(fmt.Errorf("connecting to NATS: %w", err))
			}
			if replicas == 0 {
				// The servers the cluster told us of, this one included.
				replicas = min(3, max(1, len(node.nc.Servers())))
			}
			log.Info("joined the NATS cluster", "url", node.nc.ConnectedUrlRedacted(), "servers", len(node.nc.Servers()))
		}
		if err != nil {
			return fail(fmt.Errorf("connecting to the embedded NATS server: %w", err))
		}
		node.bus, err = bhnats.New(ctx, bhnats.Options{
			NodeID: c.nodeID, Conn: node.nc, Hub: a.hub, Picture: a.picture, Replicas: replicas,
			Logger: a.log, Registerer: a.registry, OnRemote: a.applyRemote,
		})
		if err != nil {
			return fail(err)
		}
		a.out = node.bus
		a.closers = append(a.closers, node.Close)
		return nil
	}
}

// applyRemote keeps this node's geofences in step with areas changed on other
// nodes, so that a track reported here is checked against every node's areas,
// and hands every other node's change to a.remote (the federation links).
func (a *app) applyRemote(ev live.Event) {
	for _, f := range a.remote {
		f(ev)
	}
	if ev.Layer != live.LayerAreas {
		return
	}
	var m struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		a.log.Error("decoding another node's area change", "key", ev.Key, "err", err)
		return
	}
	switch m.Type {
	case "area.deleted":
		var d struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(m.Data, &d); err == nil {
			a.fence.RemoveArea(d.ID)
		}
	case "area":
		var ar bluehelm.Area
		if err := json.Unmarshal(m.Data, &ar); err != nil {
			a.log.Error("decoding another node's area", "key", ev.Key, "err", err)
			return
		}
		a.fence.SetArea(&ar)
	}
}
