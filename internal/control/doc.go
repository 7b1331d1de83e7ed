// Package control is a gateway cluster's control plane on the NATS
// services API (nats.go/micro).
//
// Each replica registers the service "manifold" (Start), with its
// cluster, replica id, address and plan revision and hash in the
// registration's metadata, so that `nats micro ls` and `nats micro info
// manifold` list every replica. Its endpoints are served by every replica
// (no queue group) on manifold.control.<cluster>.<endpoint>:
//
//	status   the replica's Status: plan, uptime, requests in flight, open breakers
//	reload   reload the plan
//	purge    purge the response cache: {"purge": {"all": true} | {"pipeline": P} | {"upstream": U}}
//	breaker  {"upstream": U, "state": "open" | "closed" | "auto"}
//
// A Client fans a request out to every replica: it sends the request and
// the services API's PING at once, and collects answers until every
// replica found (and every one it saw within ClientOptions.Remember) has
// answered, or the deadline. The Result lists the replicas that acted,
// the ones that failed and why, and the ones that did not answer in time.
//
// Requests carry no secret: no admin key, no configuration. Whoever may
// publish on manifold.control.<cluster>.> may act on the cluster, so NATS
// permissions are the boundary. Each replica logs and audits what it does,
// naming the replica (or "cli") that asked.
package control
