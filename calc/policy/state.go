package policy

import "github.com/brindle-net/brindle/api"

// The contract commit: the state behind Model is filled in by the following commits.

type itemKind uint8

const (
	kindWorkload itemKind = iota + 1
	kindNetworkSet
	kindGlobalNetworkSet
)

type itemKey struct {
	kind            itemKind
	namespace, name string
}

type policyKey struct {
	namespace, name string
	namespaced      bool
}

type state struct {
	opts Options
	prog Program
}

func (s *state) init(o Options) {
	s.opts = o
	s.prog = Program{Sets: map[SetID]*Set{}, Chains: map[ChainID]*Chain{}, Endpoints: map[string]*Endpoint{}}
}

func (s *state) setTier(*api.Tier)                         {}
func (s *state) deleteTier(string)                         {}
func (s *state) setGNP(*api.GlobalNetworkPolicy)           {}
func (s *state) setNP(*api.NetworkPolicy)                  {}
func (s *state) deletePolicy(policyKey)                    {}
func (s *state) setProfile(*api.Profile)                   {}
func (s *state) deleteProfile(string)                      {}
func (s *state) setNetworkSet(*api.NetworkSet)             {}
func (s *state) setGlobalNetworkSet(*api.GlobalNetworkSet) {}
func (s *state) setWorkload(*api.WorkloadEndpoint)         {}
func (s *state) deleteItem(itemKey)                        {}
func (s *state) setConfig(c Config)                        { s.prog.Config = c }
func (s *state) flush() (*Program, Delta)                  { return &s.prog, Delta{Full: true} }
