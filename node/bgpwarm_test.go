package node

import (
	"testing"
	"time"
)

func TestWarmupWaitsForEveryPeerThenSettles(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := &bgpWarmup{started: t0}
	if w.done(t0.Add(time.Second), 1, 2) {
		t.Fatal("done with one of two peers up")
	}
	if w.done(t0.Add(2*time.Second), 2, 2) {
		t.Fatal("done the moment the last peer came up; its table may not have arrived")
	}
	if !w.done(t0.Add(2*time.Second+warmSettle), 2, 2) {
		t.Fatal("not done after every peer has been up for the settle time")
	}
	if !w.done(t0, 0, 5) {
		t.Fatal("a finished warm-up must stay finished")
	}
}

func TestWarmupGivesUpAfterMax(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := &bgpWarmup{started: t0}
	if w.done(t0.Add(warmMax-time.Second), 0, 3) {
		t.Fatal("done before warmMax with no peer up")
	}
	if !w.done(t0.Add(warmMax), 0, 3) {
		t.Fatal("not done at warmMax")
	}
}

func TestWarmupWithoutPeers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := &bgpWarmup{started: t0}
	if w.done(t0.Add(time.Second), 0, 0) || !w.done(t0.Add(warmSettle), 0, 0) {
		t.Fatal("with no peers the warm-up should end after the settle time")
	}
}
