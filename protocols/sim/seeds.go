package sim

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// RunSeeds runs config(seed) for the seeds [first, first+n) on every core
// and returns the failures found, in no particular order. It stops early
// once stop returns true for a failure; a configuration error (not a
// Failure) panics, since it is a mistake in the caller's config.
func RunSeeds(first uint64, n int, config func(seed uint64) Config, stop func(*Failure) bool) []*Failure {
	var (
		next     atomic.Uint64
		done     atomic.Bool
		mu       sync.Mutex
		failures []*Failure
		wg       sync.WaitGroup
	)
	next.Store(first)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				seed := next.Add(1) - 1
				if seed >= first+uint64(n) {
					return
				}
				_, err := Run(config(seed))
				var f *Failure
				switch {
				case errors.As(err, &f):
					mu.Lock()
					failures = append(failures, f)
					mu.Unlock()
					if stop(f) {
						done.Store(true)
					}
				case err != nil:
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	return failures
}

// FirstFailure is a stop for RunSeeds: stop at the first failure.
func FirstFailure(*Failure) bool { return true }

// FaultMix cycles seeds through fault mixes, for suites that cover them
// all: every fault together most of the time, and each kind alone.
func FaultMix(seed uint64) Faults {
	mixes := []Faults{AllFaults, AllFaults, AllFaults, Loss | Dup | Reorder,
		Crash, Partition, Crash | Partition, NoFaults}
	return mixes[seed%uint64(len(mixes))]
}
