package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/store"
)

// AssignIPArgs asks for one specific address.
type AssignIPArgs struct {
	IP       netip.Addr
	HandleID string
	Attrs    map[string]string
	Hostname string
}

// AssignIP allocates exactly args.IP. The address must lie in a pool, must not be reserved and
// must be free. If its block does not exist yet, the block is claimed for Hostname.
func (a *Allocator) AssignIP(ctx context.Context, args AssignIPArgs) error {
	switch {
	case !args.IP.IsValid():
		return errors.New("IP: is required")
	case args.HandleID == "":
		return errors.New("HandleID: is required")
	case args.Hostname == "":
		return errors.New("Hostname: is required")
	}
	ip := args.IP.Unmap()
	pools, err := a.allPools(ctx)
	if err != nil {
		return err
	}
	p := poolFor(pools, ip)
	if p == nil {
		return fmt.Errorf("IP: %s is not in any configured IP pool", ip)
	}
	res, err := a.reservations(ctx)
	if err != nil {
		return err
	}
	if res != nil && res(ip) {
		return &InUseError{IP: ip.String(), Reason: "is reserved by an IPReservation"}
	}
	cfg, err := a.ReadConfig(ctx)
	if err != nil {
		return err
	}
	attrs := a.withDefaultAttrs(args.Attrs, args.Hostname)
	cidr := p.blockFor(ip)
	ord, _ := addrOrdinal(cidr, ip)
	return a.retry(ctx, "assigning "+ip.String(), func() error {
		kv, b, err := a.getBlock(ctx, cidr)
		if err != nil {
			return err
		}
		if b == nil {
			_, rev, err := a.listAffinities(ctx, args.Hostname, ip.Is6())
			if err != nil {
				return err
			}
			if _, err := a.claimNew(ctx, args.Hostname, cidr, rev); err != nil {
				return err
			}
			return errRetry
		}
		if cfg.StrictAffinity && b.AffinityHost() != args.Hostname {
			return fmt.Errorf("IP: %s is in block %s, which is not affine to host %q and strict affinity is on", ip, b.CIDR, args.Hostname)
		}
		if !b.assignOrdinal(ord, args.HandleID, attrs) {
			return &InUseError{IP: ip.String(), Handle: b.handleOf(ord)}
		}
		b.SequenceNum++
		w := &write{}
		w.add(store.Op{Key: kv.Key, Value: mustJSON(b), ModRevision: kv.ModRevision})
		if err := a.addHandleOp(ctx, w, args.HandleID, b.CIDR, 1); err != nil {
			return err
		}
		return a.commit(ctx, w)
	})
}
