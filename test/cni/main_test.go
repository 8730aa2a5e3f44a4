package cnitest

import (
	"testing"

	"github.com/brindle-net/brindle/test/cni/hostns"
)

const hostNSEnv = hostns.Env

func TestMain(m *testing.M) { hostns.Main(m) }
