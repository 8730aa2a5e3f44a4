package main

// BIRD 2 (Debian's bird2) for the BGP authentication scenario (test/vm/scenarios/bgpauth_test.go):
// the guest kernel has TCP_MD5SIG, this machine's does not, so MD5 against a real BIRD is
// tested only in the VM. Kept in its own file so that other tool additions do not collide.
func init() {
	guestTools = append(guestTools, "/usr/sbin/bird", "/usr/sbin/birdc")
}
