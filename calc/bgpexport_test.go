package calc

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestComputeBGPAdvertisements(t *testing.T) {
	pfx := netip.MustParsePrefix
	in := BGPExportInput{
		Pools: []BGPPool{
			{CIDR: pfx("10.244.0.0/16")},
			{CIDR: pfx("10.99.0.0/16"), DisableBGPExport: true},
			{CIDR: pfx("fd00:244::/48")},
		},
		Affinities: []BGPAffinity{
			{CIDR: pfx("10.244.1.0/26"), State: AffinityConfirmed},
			{CIDR: pfx("10.244.2.0/26")}, // legacy empty value = confirmed
			{CIDR: pfx("10.244.3.0/26"), State: AffinityPending},
			{CIDR: pfx("10.99.1.0/26"), State: AffinityConfirmed},
			{CIDR: pfx("fd00:244::/122"), State: AffinityConfirmed},
		},
		LocalIPs: []netip.Addr{
			ip("10.244.1.5"),   // inside own block: never its own /32
			ip("10.244.7.9"),   // borrowed from another node's block
			ip("10.244.3.4"),   // own block not confirmed yet: the /32 must carry it
			ip("10.99.7.1"),    // pool with disableBGPExport
			ip("192.168.50.1"), // in no pool
			ip("10.244.7.9"),   // duplicate input
		},
	}
	got, skipped := ComputeBGPAdvertisements(in)
	var gotP []string
	for _, a := range got {
		gotP = append(gotP, a.Prefix.String())
	}
	want := []string{"10.244.1.0/26", "10.244.2.0/26", "10.244.3.4/32", "10.244.7.9/32", "fd00:244::/122"}
	if !reflect.DeepEqual(gotP, want) {
		t.Errorf("advertised %q, want %q", gotP, want)
	}
	wantSkip := []string{"address 10.99.7.1", "address 192.168.50.1", "block 10.244.3.0/26", "block 10.99.1.0/26"}
	var gotSkip []string
	for _, d := range skipped {
		gotSkip = append(gotSkip, d.Subject)
	}
	if !reflect.DeepEqual(gotSkip, wantSkip) {
		t.Errorf("skipped %q, want %q", gotSkip, wantSkip)
	}
}
