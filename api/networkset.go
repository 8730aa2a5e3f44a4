package api

// NetworkSet is a namespaced, labelled list of networks that rule selectors can match.
type NetworkSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NetworkSetSpec `json:"spec"`
}

// NetworkSetSpec lists the networks.
type NetworkSetSpec struct {
	Nets []string `json:"nets,omitempty"`
}

// GlobalNetworkSet is the cluster-wide NetworkSet.
type GlobalNetworkSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       GlobalNetworkSetSpec `json:"spec"`
}

// GlobalNetworkSetSpec lists the networks.
type GlobalNetworkSetSpec struct {
	Nets []string `json:"nets,omitempty"`
}

// IPReservation keeps IPAM from handing out the listed addresses.
type IPReservation struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       IPReservationSpec `json:"spec"`
}

// IPReservationSpec lists reserved CIDRs or single addresses.
type IPReservationSpec struct {
	ReservedCIDRs []string `json:"reservedCIDRs,omitempty"`
}

// Validate checks each network.
func (n *NetworkSet) Validate() error {
	var e Errs
	checkMeta(&e, &n.ObjectMeta, true)
	checkNoNamespaceLabel(&e, n.Labels)
	checkNetList(&e, "spec.nets", n.Spec.Nets)
	return e.For(n)
}

// Validate checks each network.
func (n *GlobalNetworkSet) Validate() error {
	var e Errs
	checkMeta(&e, &n.ObjectMeta, false)
	checkNoNamespaceLabel(&e, n.Labels)
	checkNetList(&e, "spec.nets", n.Spec.Nets)
	return e.For(n)
}

// Validate checks each reserved network.
func (r *IPReservation) Validate() error {
	var e Errs
	checkMeta(&e, &r.ObjectMeta, false)
	checkNetList(&e, "spec.reservedCIDRs", r.Spec.ReservedCIDRs)
	return e.For(r)
}

// checkNoNamespaceLabel: Calico reserves projectcalico.org/namespace for the namespace it
// derives, so a set cannot carry it as a label (validateNetworkSet).
func checkNoNamespaceLabel(e *Errs, labels Labels) {
	if _, ok := labels["projectcalico.org/namespace"]; ok {
		e.Add("metadata.labels[projectcalico.org/namespace]", nil, "is reserved: Calico sets it from the namespace")
	}
}

func checkNetList(e *Errs, path string, nets []string) {
	for i, n := range nets {
		CheckNet(e, path+"["+itoa(i)+"]", n)
	}
}
