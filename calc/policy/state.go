package policy

import (
	"cmp"
	"math"

	"github.com/brindle-net/brindle/api"
)

type itemKind uint8

const (
	kindWorkload itemKind = iota + 1
	kindNetworkSet
	kindGlobalNetworkSet
	kindHostEndpoint
)

type itemKey struct {
	kind            itemKind
	namespace, name string
}

func compareItemKey(a, b itemKey) int {
	return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
}

type policyKey struct {
	namespace, name string
	namespaced      bool
}

// state is the Model's data. Invariants between Flushes: every item is in the sets whose
// selector matches its labels (for active sets only); every local item's pols holds exactly the
// policies whose selector matches it; dirty* hold what the next Flush must look at.
type state struct {
	opts     Options
	cfg      Config
	first    bool
	tiers    map[string]*api.Tier
	policies map[policyKey]*policy
	profiles map[string]*profileState
	items    map[itemKey]*item
	locals   map[itemKey]*item
	byLabel  labelIndex          // every item by each of its labels
	polIdx   selIndex[policyKey] // policies by their selector's required label
	setIdx   selIndex[SetID]     // active sets likewise
	byIface  map[string]map[itemKey]struct{}

	sets      map[SetID]*aset      // active sets
	setRefs   map[SetID]int        // references from active chains
	setSpecs  map[SetID]*setSpec   // specs of referenced sets
	chains    map[ChainID]*achain  // active chains
	chainDefs map[ChainID]chainDef // where each known chain's rules come from

	dirtyIfaces map[string]struct{}
	dirtyChains map[ChainID]struct{}
	dirtySets   map[SetID]*aset
	cfgChanged  bool
	warnings    []Warning

	prog Program
}

// chainDef says where a chain's rules come from: a policy or a profile, one direction.
type chainDef struct {
	pol     policyKey
	profile string
	egress  bool
}

// achain is an active chain: its references from endpoints and the sets it references.
type achain struct {
	refs int
	sets []SetID
}

func (s *state) init(o Options) {
	s.opts = o
	s.cfg = ConfigFrom(nil, nil)
	s.first = true
	s.tiers = map[string]*api.Tier{}
	s.policies = map[policyKey]*policy{}
	s.profiles = map[string]*profileState{}
	s.items = map[itemKey]*item{}
	s.locals = map[itemKey]*item{}
	s.byLabel = labelIndex{}
	s.byIface = map[string]map[itemKey]struct{}{}
	s.sets = map[SetID]*aset{}
	s.setRefs = map[SetID]int{}
	s.setSpecs = map[SetID]*setSpec{}
	s.chains = map[ChainID]*achain{}
	s.chainDefs = map[ChainID]chainDef{}
	s.dirtyIfaces = map[string]struct{}{}
	s.dirtyChains = map[ChainID]struct{}{}
	s.dirtySets = map[SetID]*aset{}
	s.prog = Program{Sets: map[SetID]*Set{}, Chains: map[ChainID]*Chain{}, Endpoints: map[string]*Endpoint{},
		HostEndpoints: map[string]*HostEndpoint{}, Config: s.cfg}
}

func (s *state) families() []uint8 {
	if s.opts.IPv6 {
		return []uint8{4, 6}
	}
	return []uint8{4}
}

func (s *state) setConfig(c Config) {
	if c == s.cfg {
		return
	}
	relog := c.LogPrefix != s.cfg.LogPrefix
	s.cfg = c
	s.cfgChanged = true
	if relog {
		// Log rules carry the expanded prefix: recompile everything that has rules.
		for _, p := range s.policies {
			s.compilePolicy(p)
		}
		for name, pr := range s.profiles {
			if pr.p != nil {
				s.compileProfile(name, pr)
			}
		}
	}
}

// --- tiers ---

func (s *state) setTier(t *api.Tier) {
	s.tiers[t.Name] = t
	s.allLocalsDirty()
}

func (s *state) deleteTier(name string) {
	if _, ok := s.tiers[name]; ok {
		delete(s.tiers, name)
		s.allLocalsDirty()
	}
}

func (s *state) allLocalsDirty() {
	for _, it := range s.locals {
		s.dirtyIfaces[it.iface] = struct{}{}
	}
}

// tierRank orders tiers as felix/calc/policy_sorter.go TierLess: existing tiers first, then by
// order (unset last), then by name. A missing tier's defaultAction is Deny.
type tierRank struct {
	missing bool
	order   float64
	name    string
	pass    bool
}

func (s *state) tierRank(name string) tierRank {
	t := s.tiers[name]
	if t == nil {
		if name == api.DefaultTierName {
			// Calico creates the default tier at start-up; treat it as present until it is.
			return tierRank{order: api.DefaultTierOrder, name: name}
		}
		return tierRank{missing: true, order: math.Inf(1), name: name}
	}
	r := tierRank{order: math.Inf(1), name: name, pass: t.Spec.DefaultAction == api.ActionPass}
	if t.Spec.Order != nil {
		r.order = *t.Spec.Order
	} else if name == api.DefaultTierName {
		r.order = api.DefaultTierOrder
	}
	return r
}

func compareTierRank(a, b tierRank) int {
	if a.missing != b.missing {
		if a.missing {
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.name, b.name))
}
