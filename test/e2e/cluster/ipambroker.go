package cluster

// DatastorePID is the PID of the datastore process (0 if it is not running), for benchmarks
// that account the CPU etcd spends per request.
func (c *Cluster) DatastorePID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.etcd == nil {
		return 0
	}
	return c.etcd.PID
}
